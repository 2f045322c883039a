from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignConfig(AppConfig):
    """The staff's view of the whole campaign: it reads the catalogue and the submissions,
    and neither of them knows it exists."""

    name = "campaign"
    verbose_name = _("Campaign")
    default_auto_field = "django.db.models.BigAutoField"
