from django.urls import path
from django.views.decorators.http import require_safe

from gallery import converters, feeds, views  # noqa: F401  (converters registers clip_id)
from gallery.pages import feed_query
from infra.cache import cached_page

app_name = "gallery"

urlpatterns = [
    path("", views.gallery, name="index"),
    path("clips/<clip_id:pk>/", views.clip_detail, name="clip"),
    path("clips/<clip_id:pk>-<slug:slug>/", views.clip_detail, name="clip"),
    # Never cached: staff only, signed and expiring (gallery/preview.py).
    path("preview/<str:token>/", views.clip_preview, name="preview"),
    # Feeds are views of their own (syndication): only reading is allowed.
    path("feed/", require_safe(cached_page(feeds.ClipFeed(), query=feed_query)), name="feed"),
    path(
        "feed/atom/",
        require_safe(cached_page(feeds.AtomClipFeed(), query=feed_query)),
        name="feed-atom",
    ),
]
