from django.urls import path

from gallery import feeds, views

app_name = "gallery"

urlpatterns = [
    path("", views.gallery, name="index"),
    path("clips/<int:pk>/", views.clip_detail, name="clip"),
    path("clips/<int:pk>-<slug:slug>/", views.clip_detail, name="clip"),
    path("feed/", feeds.ClipFeed(), name="feed"),
    path("feed/atom/", feeds.AtomClipFeed(), name="feed-atom"),
]
