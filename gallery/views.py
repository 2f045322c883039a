from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from gallery import fragments, shells
from gallery.filters import POPULAR, gallery_order, page_number
from gallery.models import Camera, Clip
from gallery.pages import (
    first_gallery_page_of_version,
    gallery_page,
    gallery_themes,
    listed_clip,
    published_clip,
    related_clips,
    selected_themes,
)
from gallery.plays import gallery_page_query
from gallery.preview import clip_pk_from, with_private_media
from gallery.seo import canonical_gallery_query
from infra.cache import cached_page, page_origin
from infra.delivery import serve_file
from infra.storage import private_storage, public_storage, signature_is_valid

PRIVATE_CACHE = "private, no-store"


@require_safe
@cached_page(query=gallery_page_query, partials=("results",))
def gallery(request):
    # The first page of a page version in this process reads the themes; the next ones read
    # the catalogue once (gallery.pages.gallery_list): at most 3 queries a page either way.
    first_of_version = first_gallery_page_of_version()
    themes = gallery_themes()
    # What GalleryFilter reads, without building a form on every page.
    selected = selected_themes(request)
    order = gallery_order(request.GET)
    page = gallery_page(
        selected, page_number(request.GET), order, may_read_catalogue=not first_of_version
    )
    context = {
        "themes": themes,
        "selected": selected,
        "page": page,
        "order": order,
        "canonical_query": canonical_gallery_query(selected, page.number, order),
        "theme_query": canonical_gallery_query(selected, 1),
        "popular_query": canonical_gallery_query(selected, 1, POPULAR),
        # Pager links in the canonical spelling too: the page depends on nothing the visitor
        # typed beyond its themes and number (see gallery_query).
        "previous_query": page.has_previous()
        and canonical_gallery_query(selected, page.number - 1, order),
        "next_query": page.has_next() and canonical_gallery_query(selected, page.number + 1, order),
    }
    template = "gallery/gallery.html"
    if request.headers.get("X-Partial") == "results":
        template += "#results"
    if (origin := page_origin(request)) is not None:
        return HttpResponse(shells.gallery(request, origin, template, context))
    context["cards"] = fragments.cards(page.object_list, eager_first=True)
    return TemplateResponse(request, template, context)


def angle_query(request):
    """The clip page's cache key query: the camera it opens on (?angle=back), if one."""
    camera = request.GET.get("angle", "")
    return f"?angle={camera}" if camera in Camera.values else ""


@require_safe
@cached_page(query=angle_query)
def clip_detail(request, pk, slug=None):
    origin = page_origin(request)
    if origin is not None and (listed := listed_clip(pk)) is not None:
        # Told from the catalogue and its row version: nothing rendered unless its shell or a
        # related card is not kept, and on PostgreSQL no query either.
        related = related_clips(pk, listed.themes)
        canonical, html = shells.listed_clip_page(
            request, origin, listed, related, lambda: published_clip(pk, listed.row)
        )
        if slug is not None and slug != canonical:
            return redirect("gallery:clip", pk=pk, slug=canonical, permanent=True)
        return HttpResponse(html)
    try:
        clip = published_clip(pk)
    except Http404:
        if Clip.objects.filter(pk=pk).once_public_then_withdrawn().exists():
            return clip_gone(request)
        raise
    if slug is not None and slug != clip.slug:
        return redirect(clip, permanent=True)
    related = related_clips(clip.pk, clip.themes.all())
    angle = clip.angle_named(request.GET.get("angle"))
    if origin is not None:
        return HttpResponse(shells.clip_page(request, origin, clip, related, angle=angle))
    context = {
        "clip": clip,
        "canonical_path": clip.get_absolute_url(),
        "body": fragments.body(request, clip, origin, angle=angle),
        "related": related,
        "related_cards": fragments.cards(related),
    }
    return TemplateResponse(request, "gallery/clip_detail.html", context)


def clip_gone(request):
    """The page of a clip its owner withdrew after it was public: it says the clip is no longer
    available. A 404, as for every clip visitors cannot see (DESIGN.md, clip status). Never
    kept by the page cache (it keeps 200s only)."""
    response = TemplateResponse(request, "gallery/clip_gone.html", status=404)
    add_never_cache_headers(response)
    return response


@require_safe
def clip_preview(request, token):
    """A clip's public page before it is published, for staff holding a signed link."""
    pk = clip_pk_from(token)
    if pk is None or not request.user.has_perm("gallery.view_clip"):
        raise Http404
    clip = get_object_or_404(Clip.objects.prefetch_related("themes", "captions", "angles"), pk=pk)
    if clip.status == Clip.Status.PUBLISHED:
        return redirect(clip)
    clip = with_private_media(clip)
    # Rendered for this request only: private links never reach the fragment cache.
    context = {
        "clip": clip,
        "body": fragments.body(
            request, clip, None, angle=clip.angle_named(request.GET.get("angle"))
        ),
        "related": [],
        "related_cards": [],
        "preview": True,
    }
    response = TemplateResponse(request, "gallery/clip_detail.html", context)
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def clip_media(request, pk, name):
    """A clip's rendition, poster, thumbnail or caption file.

    Visitors get the public copy of a published clip's files. A signed link (issued to staff
    and to the owner) opens the private copy, whatever the clip's state, until it expires.
    """
    clip = get_object_or_404(Clip, pk=pk)
    stored = f"clips/{pk}/{name}"
    if stored not in clip.media_names:
        raise Http404
    expires, signature = request.GET.get("exp"), request.GET.get("sig")
    if expires or signature:
        if not signature_is_valid(stored, expires or "", signature or ""):
            raise Http404
        return serve_file(request, private_storage(), stored, cache_control=PRIVATE_CACHE)
    if clip.status != Clip.Status.PUBLISHED:
        raise Http404
    return serve_file(
        request, public_storage(), stored, cache_control=settings.PUBLIC_MEDIA_CACHE_CONTROL
    )
