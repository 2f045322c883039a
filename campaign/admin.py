import csv

from django.conf import settings
from django.contrib import admin
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from campaign import charts, dashboard
from campaign.models import Dashboard


def may_see_campaign(user):
    """Staff who may see clips may see the campaign's shape (aggregates, no owner's data)."""
    return user.is_active and user.is_staff and user.has_perm("gallery.view_clip")


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    """The campaign dashboard, in the admin's own page frame and behind its log-in.

    It takes the place of the change list: the admin's index links to it, and the admin's
    view wrapper sends anyone not logged in as staff to the log-in page.
    """

    def has_module_permission(self, request):
        return may_see_campaign(request.user)

    def has_view_permission(self, request, obj=None):
        return may_see_campaign(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        # Only the dashboard: no object pages for this stand-in model.
        return super().get_urls()[:1]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        figures = panels(today)
        wanted = request.GET.get("csv")
        if wanted is not None:
            panel = next((panel for panel in figures["charts"] if panel["name"] == wanted), None)
            if panel is None:
                raise Http404
            return csv_response(panel, today)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Campaign dashboard"),
            "opts": self.opts,
            "today": today,
            "computed_at": figures["at"],
            "renewed_every": settings.CAMPAIGN_DASHBOARD_SECONDS // 60,
            # The queue is one cheap count and changes by the second: never cached.
            "queue": dashboard.processing_queue(),
            "charts": figures["charts"],
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/campaign/dashboard.html", context)


def panels(today):
    """Every chart drawn, with its table: computed at most once per
    CAMPAIGN_DASHBOARD_SECONDS and language (drawing the charts costs more than the queries)."""
    key = f"campaign:panels:{get_language()}:{today.isoformat()}"
    figures = caches["default"].get(key)
    if figures is None:
        figures = {"at": timezone.now(), "charts": [panel(c) for c in dashboard.charts(today)]}
        caches["default"].set(key, figures, settings.CAMPAIGN_DASHBOARD_SECONDS)
    return figures


def panel(chart):
    header, rows = chart.table()
    return {
        "name": chart.name,
        "kind": chart.kind,
        "title": str(chart.title),
        "description": str(chart.description),
        "svg": charts.render(chart),
        "header": header,
        "rows": rows,
    }


def csv_response(panel, today):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{panel['name']}-{today.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    writer = csv.writer(response)
    writer.writerow(panel["header"])
    for row in panel["rows"]:
        cells = ["" if cell is None else cell for cell in row["cells"]]
        writer.writerow([spreadsheet_safe(row["label"]), *cells])
    return response


def spreadsheet_safe(text):
    """A label as text, even in a spreadsheet that would take "=..." for a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
