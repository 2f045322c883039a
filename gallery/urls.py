from django.urls import path

from gallery import views

app_name = "gallery"

urlpatterns = [
    path("", views.gallery, name="index"),
    path("clips/<int:pk>/", views.clip_detail, name="clip"),
    path("clips/<int:pk>-<slug:slug>/", views.clip_detail, name="clip"),
]
