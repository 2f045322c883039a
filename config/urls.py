from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path
from django.views.decorators.http import require_safe

from gallery import converters, embed, plays, sitemaps  # noqa: F401  (converters registers clip_id)
from gallery import views as gallery_views
from infra import views as infra_views

urlpatterns = [
    path("healthz", infra_views.healthz, name="healthz"),
    path("favicon.ico", infra_views.favicon, name="favicon"),
    path("media/clips/<clip_id:pk>/<path:name>", gallery_views.clip_media, name="clip-media"),
    # The play beacon: no language, no cookie, nothing about the visitor kept.
    path("plays/<clip_id:pk>", plays.play, name="clip-play"),
    path("admin/", admin.site.urls),
    # Not language-prefixed: crawlers and other sites' players ask for these.
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    path(
        "sitemap.xml",
        require_safe(sitemap_views.sitemap),
        {"sitemaps": sitemaps.SITEMAPS, "template_name": "gallery/sitemap.xml"},
        name="sitemap",
    ),
    path("embed/<clip_id:pk>/", embed.player, name="embed"),
    path("oembed", embed.oembed, name="oembed"),
    # E-mail providers' inbound webhooks: machines, not people, so no language prefix.
    path("hooks/", include(("submissions.hooks", "hooks"))),
]
urlpatterns += i18n_patterns(
    path("", include("gallery.urls")),
    path("", include("submissions.urls")),
)
