from django.utils.translation import gettext_lazy as _

from gallery.models import Clip


class Dashboard(Clip):
    """No table of its own: the admin's entry for the campaign dashboard (see admin.py)."""

    class Meta:
        proxy = True
        # Staff who may see clips may see the campaign: no permission of its own.
        default_permissions = ()
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboard")
