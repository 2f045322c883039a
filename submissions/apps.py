from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = _("Submissions")

    def ready(self):
        # Connect their receivers (the usual place: models must be loaded first).
        from submissions import hooks, notifications, tasks  # noqa: F401
