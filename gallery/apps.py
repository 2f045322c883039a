from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = _("Gallery")

    def ready(self):
        from gallery import cache, lockout  # noqa: F401 - lockout counts failed staff log-ins

        cache.connect()
