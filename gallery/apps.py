from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = _("Gallery")

    def ready(self):
        from gallery import lockout  # noqa: F401 - counts failed staff log-ins
