from django.conf import settings
from django.core.files.storage import storages
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from gallery.delivery import serve_file
from gallery.filters import GalleryFilter
from gallery.models import Clip, theme_counts

# Published media names change whenever a clip is processed again, so they can be cached for good.
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-store"


@require_safe
def gallery(request):
    themes = list(theme_counts())
    filters = GalleryFilter(request.GET, themes=themes)
    selected = filters.selected()
    clips = Clip.objects.published().with_any_theme(selected).for_gallery().prefetch_related("themes")
    page = Paginator(clips, settings.GALLERY_PAGE_SIZE).get_page(filters.page_number())
    context = {"themes": themes, "selected": selected, "page": page, "filters": filters}
    template = "gallery/gallery.html"
    if request.headers.get("X-Partial") == "results":
        template += "#results"
    return TemplateResponse(request, template, context)


@require_safe
def clip_detail(request, pk, slug=None):
    clip = get_object_or_404(Clip.objects.published().prefetch_related("themes"), pk=pk)
    if slug is not None and slug != clip.slug:
        return redirect(clip, permanent=True)
    related = Clip.objects.related_to(clip).prefetch_related("themes")[:4]
    return TemplateResponse(request, "gallery/clip_detail.html", {"clip": clip, "related": related})


@require_safe
def clip_media(request, pk, name):
    """A clip's rendition, poster or thumbnail; only published clips' media for visitors."""
    clip = get_object_or_404(Clip, pk=pk)
    stored = f"clips/{pk}/{name}"
    if stored not in clip.media_names:
        raise Http404
    if clip.status == Clip.Status.PUBLISHED:
        cache = PUBLIC_CACHE
    elif request.user.is_active and request.user.is_staff:
        cache = PRIVATE_CACHE
    else:
        raise Http404
    return serve_file(request, storages["default"], stored, cache_control=cache)


@require_safe
def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = f"error: {type(error).__name__}"
    try:
        storages["default"].exists("healthz-probe")
        checks["storage"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["storage"] = f"error: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


