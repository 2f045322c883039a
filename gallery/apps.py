from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = _("Gallery")

    def ready(self):
        # Receivers of the gallery's own signals: the page cache and the processing queue.
        from gallery import pages, tasks  # noqa: F401
