"""Other sites showing our clips: the embeddable player page and the oEmbed endpoint
(https://oembed.com) that hands out its <iframe>."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language_from_path, override
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe

from gallery import seo
from gallery.models import Clip

# The one page any site may frame; every other page keeps frame-ancestors 'none'.
EMBED_CSP = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


@require_safe
@xframe_options_exempt
@csp_override(EMBED_CSP)
def player(request, pk):
    clip = Clip.objects.published().prefetch_related("captions").filter(pk=pk).first()
    if clip is None:
        return gone(request, pk)
    return TemplateResponse(request, "gallery/embed.html", {"clip": clip})


def gone(request, pk):
    """Other sites keep framing a clip after it is withdrawn: the frame says so as the clip
    page does (the site's 404 page may not be framed, and would show as a broken frame).
    A 404 all the same, never kept by a cache: the clip may come back."""
    withdrawn = Clip.objects.filter(pk=pk).once_public_then_withdrawn().exists()
    response = TemplateResponse(
        request, "gallery/embed_gone.html", {"withdrawn": withdrawn}, status=404
    )
    add_never_cache_headers(response)
    return response


@require_safe
def oembed(request):
    if request.GET.get("format", "json") != "json":
        return HttpResponse("Only format=json is supported.", status=501, content_type="text/plain")
    clip = clip_for_url(request, request.GET.get("url", ""))
    if clip is None:
        raise Http404
    limits = {"maxwidth": _limit(request, "maxwidth"), "maxheight": _limit(request, "maxheight")}
    html, width, height = seo.embed_html(request, clip, **limits)
    data = {
        "version": "1.0",
        "type": "video",
        "provider_name": seo.SITE_NAME,
        "provider_url": request.build_absolute_uri("/"),
        "title": clip.title,
        "author_name": clip.credit_name,
        "width": width,
        "height": height,
        "html": html,
        "cache_age": 86400,
    }
    thumbnail = _thumbnail(clip, width, height)
    if thumbnail:
        data |= {
            "thumbnail_url": request.build_absolute_uri(clip._url(thumbnail["jpeg"])),
            "thumbnail_width": thumbnail["width"],
            "thumbnail_height": thumbnail["height"],
        }
    # Consumers may ask from a browser on another site.
    return JsonResponse(data, headers={"Access-Control-Allow-Origin": "*"})


def clip_for_url(request, url):
    """The published clip that a clip page or embed URL of this site points at, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1/"
        return None
    if parts.scheme not in ("http", "https") or parts.netloc != request.get_host():
        return None
    # Language-prefixed URLs resolve only in their own language.
    with override(get_language_from_path(parts.path) or settings.LANGUAGE_CODE):
        try:
            match = resolve(parts.path)
        except Resolver404:
            return None
    if match.view_name not in ("gallery:clip", "embed"):
        return None
    return Clip.objects.published().filter(pk=match.kwargs["pk"]).first()


def _limit(request, name):
    """maxwidth / maxheight: a positive whole number, else no limit (a bad value is ignored)."""
    try:
        value = int(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _thumbnail(clip, width, height):
    """The widest JPEG thumbnail that fits the player, else the narrowest."""
    thumbs = [t for t in clip.thumbnails if t.get("jpeg") and t.get("width") and t.get("height")]
    fitting = [t for t in thumbs if t["width"] <= width and t["height"] <= height]
    if fitting:
        return fitting[-1]
    return thumbs[0] if thumbs else None
