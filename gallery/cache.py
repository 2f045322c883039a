"""Anonymous pages served from a per-node cache, keyed by the catalogue's version.

A visit costs one indexed read of the version row when the page is cached. Any change that
visitors could see bumps the version (transitions, staff edits, captions), which retires
every cached page on every node at once; the ETag carries the version, so browsers and
proxies revalidate with a 304.
"""

import hashlib
from functools import wraps

from django.core.cache import caches
from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.middleware.csp import get_nonce
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import quote_etag
from django.utils.translation import get_language

NONCE_PLACEHOLDER = "__csp_nonce_placeholder__"


def current_version():
    from gallery.models import CatalogueState

    version = CatalogueState.objects.filter(pk=1).values_list("version", flat=True).first()
    return version or 0


def _bump():
    from gallery.models import CatalogueState

    if not CatalogueState.objects.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now()):
        CatalogueState.objects.get_or_create(pk=1, defaults={"version": 2})


def bump_version():
    """Retire every cached page: now, and again once the change commits, since a page
    rendered from the old rows in between would otherwise be kept under the new version."""
    _bump()
    transaction.on_commit(_bump)


def cached_page(view):
    """Cache a public GET view's 200 answers for anonymous visitors, with ETag and 304."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        version = current_version()
        fingerprint = "|".join([
            str(version), get_language() or "", request.get_full_path(), request.headers.get("X-Partial", ""),
        ])
        key = "page:" + hashlib.blake2s(fingerprint.encode(), digest_size=16).hexdigest()
        etag = quote_etag(f"v{version}-{key[5:21]}")
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            from django.http import HttpResponseNotModified

            response = HttpResponseNotModified()
            response["ETag"] = etag
            return response

        pages = caches["default"]
        stored = pages.get(key)
        if stored is None:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            if response.status_code != 200 or response.streaming or response.cookies:
                return response
            content = response.content
            nonce = get_nonce(request)
            if nonce:  # keep each answer's CSP nonce its own: store a placeholder
                content = content.replace(str(nonce).encode(), NONCE_PLACEHOLDER.encode())
            stored = {"content": content, "type": response["Content-Type"],
                      "headers": {h: response[h] for h in ("Content-Language", "Link") if h in response},
                      "uses_nonce": bool(nonce)}
            pages.set(key, stored, timeout=3600)
        else:
            response = None
        from django.http import HttpResponse

        content = stored["content"]
        if stored["uses_nonce"]:
            content = content.replace(NONCE_PLACEHOLDER.encode(), str(get_nonce(request)).encode())
        response = HttpResponse(content, content_type=stored["type"], headers=stored["headers"])
        response["ETag"] = etag
        # Shared caches may keep it, but must ask again before reuse: publication is immediate.
        response["Cache-Control"] = "public, max-age=0, must-revalidate"
        patch_vary_headers(response, ["X-Partial"])
        return response

    return wrapper


def _changed(sender, **kwargs):
    bump_version()


def connect():
    from gallery.models import Caption, Clip, Theme

    for model in (Clip, Theme, Caption):
        post_save.connect(_changed, sender=model, dispatch_uid=f"cache-{model.__name__}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"cache-{model.__name__}-delete")
    m2m_changed.connect(_changed, sender=Clip.themes.through, dispatch_uid="cache-clip-themes")


