import contextlib

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from gallery.models import Clip
from submissions import parse
from submissions.models import (
    REPLIES_PER_MESSAGE,
    STUCK_MINUTES,
    InboundEmail,
    SentReply,
    Submission,
)
from submissions.reply import LABELS as reply_labels


def clip_links(submission):
    if submission is None:
        return "—"
    clips = submission.clips.order_by("pk")
    if not clips:
        return "—"
    items = format_html_join(
        "",
        '<li><a href="{}">{}</a> ({})</li>',
        (
            (reverse("admin:gallery_clip_change", args=[c.pk]), c.title, c.get_status_display())
            for c in clips
        ),
    )
    return format_html('<ul class="inbound-clips">{}</ul>', items)


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    """Every message sent to the submission address, what became of it, and its raw copy."""

    list_display = [
        "received_at", "status", "sender", "subject", "clip_count", "attachments", "spf", "dkim",
        "dmarc", "via",
    ]  # fmt: skip
    list_filter = ["status", "via", "spf", "dkim", "dmarc", "reply"]
    search_fields = ["sender", "subject", "message_id", "=sha256"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    list_per_page = 50
    show_full_result_count = False
    fields = [
        "status", "reason", "sender", "subject", "received_at", "via", "message_id", "sha256",
        "size", "language", "spf", "dkim", "dmarc", "reply", "replied_at", "replies_sent",
        "processed_at",
        "attachments", "submission", "clips", ("body_as_sent", "public_description"), "raw_message",
    ]  # fmt: skip
    readonly_fields = [
        *(name for name in fields if isinstance(name, str)), "body_as_sent", "public_description",
    ]  # fmt: skip

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("submission")
            .annotate(clip_count=Count("submission__clips"))
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # The record is what keeps a message from being processed twice.
        return False

    @admin.display(description=_("clips"), ordering="clip_count")
    def clip_count(self, inbound):
        return inbound.clip_count

    @admin.display(description=_("attachments"))
    def attachments(self, inbound):
        """Arrived of announced, where the provider announced a count; flagged when short."""
        if inbound.attachments_announced is None:
            return "—"
        arrived = "?" if inbound.attachments_arrived is None else inbound.attachments_arrived
        text = gettext("%(arrived)s of %(announced)s") % {
            "arrived": arrived,
            "announced": inbound.attachments_announced,
        }
        if not inbound.attachments_missing:
            return text
        return format_html(
            '<strong class="errornote inbound-missing">{} · {}</strong>',
            text,
            ngettext("%d missing", "%d missing", inbound.attachments_missing)
            % inbound.attachments_missing,
        )

    @admin.display(description=_("replies sent"))
    def replies_sent(self, inbound):
        """Every automatic reply that went, and when: to this message, or, for a reply about
        how the message travelled, to another copy of it (then this one got none)."""
        copies = {SentReply.key_of(inbound, kind) for kind in REPLIES_PER_MESSAGE}
        sent = SentReply.objects.filter(Q(inbound=inbound) | Q(key__in=copies)).order_by("at")
        if not sent:
            return "—"
        rows = []
        for reply in sent:
            elsewhere = ""
            if reply.inbound_id != inbound.pk:
                url = reverse("admin:submissions_inboundemail_change", args=[reply.inbound_id])
                elsewhere = format_html(
                    ' (<a href="{}">{}</a>)', url, gettext("to another copy of this message")
                )
            when = formats.localize(timezone.template_localtime(reply.at))
            rows.append((reply.kind, reply_labels.get(reply.kind, reply.kind), when, elsewhere))
        return format_html(
            '<ul class="inbound-replies">{}</ul>',
            format_html_join("", '<li data-reply="{}">{} · {}{}</li>', rows),
        )

    @admin.display(description=_("clips"))
    def clips(self, inbound):
        return clip_links(inbound.submission)

    def _parsed(self, inbound):
        """The stored message read again (once per page), or None when it is gone or unreadable."""
        if not hasattr(inbound, "_parsed_again"):
            inbound._parsed_again = None
            # A refused message (too many parts...) has no text to show.
            if inbound.raw:
                with contextlib.suppress(Exception), inbound.raw.open("rb") as fh:
                    inbound._parsed_again = parse.parse(fh.read())
        return inbound._parsed_again

    @admin.display(description=_("body as sent"))
    def body_as_sent(self, inbound):
        parsed = self._parsed(inbound)
        if parsed is None:
            return "—"
        return format_html('<pre class="inbound-body">{}</pre>', parsed.body.strip() or "—")

    @admin.display(description=_("public description"))
    def public_description(self, inbound):
        """What visitors will read: the clips' descriptions (staff may have edited them)."""
        submission = inbound.submission
        descriptions = (
            list(
                dict.fromkeys(submission.clips.order_by("pk").values_list("description", flat=True))
            )
            if submission is not None
            else []
        )
        if not descriptions:
            parsed = self._parsed(inbound)
            descriptions = [parsed.description] if parsed is not None else []
        text = "\n\n".join(d for d in descriptions if d)
        return format_html('<pre class="inbound-body">{}</pre>', text or "—")

    @admin.display(description=_("raw message"))
    def raw_message(self, inbound):
        if not inbound.raw:
            return gettext("Deleted after the retention period.")
        url = reverse("admin:submissions_inboundemail_raw", args=[inbound.pk])
        return format_html('<a href="{}" download>{}</a>', url, gettext("Download the .eml file"))

    @admin.action(description=_("Process again"), permissions=["change"])
    def reprocess(self, request, queryset):
        done = 0
        for inbound in queryset:
            if inbound.status != InboundEmail.Status.FAILED and not inbound.is_stuck:
                self.message_user(
                    request,
                    gettext(
                        "%(inbound)s: only failed messages, or messages waiting for more than "
                        "%(minutes)s minutes, are processed again."
                    )
                    % {"inbound": inbound, "minutes": STUCK_MINUTES},
                    messages.WARNING,
                )
                continue
            try:
                done += inbound.reprocess()
            except ValueError:
                self.message_user(
                    request,
                    gettext("%(inbound)s: its raw message was deleted.") % {"inbound": inbound},
                    messages.WARNING,
                )
        if done:
            self.message_user(
                request,
                ngettext(
                    "%d message sent back to processing.",
                    "%d messages sent back to processing.",
                    done,
                )
                % done,
                messages.SUCCESS,
            )

    def get_urls(self):
        raw = self.admin_site.admin_view(self.raw_view)
        return [
            path("<int:pk>/raw/", raw, name="submissions_inboundemail_raw"),
            *super().get_urls(),
        ]

    def raw_view(self, request, pk):
        """The raw message as a download, for staff who may change these records."""
        inbound = get_object_or_404(InboundEmail, pk=pk)
        if not self.has_change_permission(request, inbound):
            raise PermissionDenied
        if not inbound.raw:
            raise Http404
        return FileResponse(
            inbound.raw.open("rb"), as_attachment=True, filename=f"inbound-{inbound.pk}.eml",
            content_type="message/rfc822",
        )  # fmt: skip


class ClipInline(admin.TabularInline):
    model = Clip
    fk_name = "submission"
    fields = ["title", "status", "source", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class InboundInline(admin.TabularInline):
    model = InboundEmail
    fields = ["received_at", "subject", "status", "spf", "dkim", "dmarc"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """What owners sent, read-only: their clips are decided in the clip queue."""

    list_display = ["__str__", "email", "source", "language", "clip_count", "consent", "created_at"]
    list_filter = ["source", "language"]
    search_fields = ["email", "=token"]
    date_hierarchy = "created_at"
    fields = [
        "email",
        "source",
        "language",
        "created_at",
        "consent_version",
        "consented_at",
        "authenticity",
    ]
    readonly_fields = fields
    inlines = [ClipInline, InboundInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(clip_count=Count("clips"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("clips"), ordering="clip_count")
    def clip_count(self, submission):
        return submission.clip_count

    @admin.display(description=_("consent"), boolean=True)
    def consent(self, submission):
        return submission.has_current_consent()

    @admin.display(description=_("sender checks"))
    def authenticity(self, submission):
        return submission.authenticity_summary() or "—"
