from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = _("Submissions")

    def ready(self):
        from submissions import hooks, notifications  # noqa: F401 - connect their receivers
