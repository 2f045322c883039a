from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from gallery.models import Clip, ClipTransition, IllegalTransition, Theme


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "order"]
    list_editable = ["order"]


class TransitionInline(admin.TabularInline):
    model = ClipTransition
    fields = ["at", "from_status", "to_status", "by", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ["title", "poster_thumb", "status", "featured", "credit_name", "credit_country", "created_at"]
    list_filter = ["status", "themes", "featured", "source"]
    search_fields = ["title"]
    filter_horizontal = ["themes"]
    readonly_fields = ["status", "published_at", "failure_reason", "duration", "width", "height"]
    fields = [
        "title", "description", "themes", "credit_name", "credit_country", "language",
        "status", "published_at", "failure_reason", "duration", "width", "height",
    ]
    inlines = [TransitionInline]
    actions = ["approve", "reject", "feature", "unfeature", "retry"]
    list_per_page = 50

    @admin.display(description=_("poster"))
    def poster_thumb(self, clip):
        if not clip.thumbnails:
            return "—"
        return format_html('<img src="{}" alt="" width="96" loading="lazy">', clip.thumbnail_url)

    def _apply(self, request, queryset, decide, done_message):
        done = 0
        for clip in queryset:
            try:
                decide(clip)
                done += 1
            except IllegalTransition as refused:
                self.message_user(request, f"{clip}: {refused}", messages.WARNING)
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Approve and publish"), permissions=["change"])
    def approve(self, request, queryset):
        self._apply(
            request, queryset, lambda clip: clip.approve(by=request.user),
            lambda n: ngettext("%d clip published.", "%d clips published.", n) % n,
        )

    @admin.action(description=_("Reject"), permissions=["change"])
    def reject(self, request, queryset):
        reason = str(_("Does not meet the gallery's guidelines."))
        self._apply(
            request, queryset, lambda clip: clip.reject(by=request.user, reason=reason),
            lambda n: ngettext("%d clip rejected.", "%d clips rejected.", n) % n,
        )

    @admin.action(description=_("Feature"), permissions=["change"])
    def feature(self, request, queryset):
        self._apply(
            request, queryset, lambda clip: clip.set_featured(True, by=request.user),
            lambda n: ngettext("%d clip featured.", "%d clips featured.", n) % n,
        )

    @admin.action(description=_("Stop featuring"), permissions=["change"])
    def unfeature(self, request, queryset):
        self._apply(
            request, queryset, lambda clip: clip.set_featured(False, by=request.user),
            lambda n: ngettext("%d clip no longer featured.", "%d clips no longer featured.", n) % n,
        )

    @admin.action(description=_("Retry processing"), permissions=["change"])
    def retry(self, request, queryset):
        self._apply(
            request, queryset, lambda clip: clip.retry(by=request.user),
            lambda n: ngettext("%d clip sent back to processing.", "%d clips sent back to processing.", n) % n,
        )
