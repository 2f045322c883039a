from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from gallery import views as gallery_views

urlpatterns = [
    path("healthz", gallery_views.healthz, name="healthz"),
    path("media/clips/<int:pk>/<path:name>", gallery_views.clip_media, name="clip-media"),
    path("admin/", admin.site.urls),
]
urlpatterns += i18n_patterns(
    path("", include("gallery.urls")),
    path("", include("submissions.urls")),
)
