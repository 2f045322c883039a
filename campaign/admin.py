import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
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
        every = dashboard.charts(today)
        wanted = request.GET.get("csv")
        if wanted is not None:
            chart = next((chart for chart in every if chart.name == wanted), None)
            if chart is None:
                raise Http404
            return csv_response(chart, today)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Campaign dashboard"),
            "opts": self.opts,
            "today": today,
            "queue": dashboard.processing_queue(),
            "charts": [
                {"chart": chart, "svg": charts.render(chart), "table": chart.table()}
                for chart in every
            ],
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/campaign/dashboard.html", context)


def csv_response(chart, today):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{chart.name}-{today.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    header, rows = chart.table()
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        cells = ["" if cell is None else cell for cell in row["cells"]]
        writer.writerow([spreadsheet_safe(row["label"]), *cells])
    return response


def spreadsheet_safe(text):
    """A label as text, even in a spreadsheet that would take "=..." for a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
