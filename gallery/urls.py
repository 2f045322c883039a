from django.urls import path

from gallery import feeds, views
from gallery.pages import feed_query
from infra.cache import cached_page

app_name = "gallery"

urlpatterns = [
    path("", views.gallery, name="index"),
    path("clips/<int:pk>/", views.clip_detail, name="clip"),
    path("clips/<int:pk>-<slug:slug>/", views.clip_detail, name="clip"),
    # Never cached: staff only, signed and expiring (gallery/preview.py).
    path("preview/<str:token>/", views.clip_preview, name="preview"),
    path("feed/", cached_page(feeds.ClipFeed(), query=feed_query), name="feed"),
    path("feed/atom/", cached_page(feeds.AtomClipFeed(), query=feed_query), name="feed-atom"),
]
