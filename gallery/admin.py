from django import forms
from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from gallery import deletion
from gallery.captions import sync_caption_files
from gallery.decisions import DECISIONS, DecisionForm, Then
from gallery.models import (
    Caption,
    Clip,
    ClipTransition,
    IllegalTransition,
    RejectionReason,
    Theme,
)
from gallery.preview import preview_url
from gallery.templatetags.gallery import duration

admin.site.site_header = _("La vie en Model 3: review")
admin.site.site_title = _("La vie en Model 3")


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_fr", "name_en", "missing", "order"]
    list_editable = ["order"]
    fieldsets = [
        (None, {"fields": ["slug", "order"]}),
        (
            _("Name in each language"),
            {
                "fields": ["name_fr", "name_en", "name_de", "name_nl", "name_it", "name_es"],
                "description": _(
                    "Where a language has no name, visitors read the English one, else the "
                    "French one."
                ),
            },
        ),
    ]

    @admin.display(description=_("missing languages"))
    def missing(self, theme):
        return ", ".join(code.upper() for code in theme.missing_languages) or "—"


class TransitionInline(admin.TabularInline):
    model = ClipTransition
    fields = ["at", "from_status", "to_status", "by", "reason_code", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("history")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaptionInline(admin.TabularInline):
    """WebVTT subtitles, one file a language; checked on upload (see gallery/captions.py)."""

    model = Caption
    fields = ["language", "label", "file"]
    extra = 0


class StatusFilter(SimpleListFilter):
    """The list opens on the review queue; "all" shows every clip."""

    title = _("status")
    parameter_name = "status"
    default = Clip.Status.REVIEW

    def lookups(self, request, model_admin):
        return [*Clip.Status.choices, ("all", _("All"))]

    def value(self):
        return super().value() or self.default

    def queryset(self, request, queryset):
        value = self.value()
        if value in Clip.Status.values:
            return queryset.filter(status=value)
        return queryset

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


# A decision whose reason was missing, kept in the session for the page it returns to.
UNFINISHED_DECISION = "gallery_unfinished_decision"
# Clips a moderator skipped in this session: the queue offers them again only at its end.
SKIPPED = "gallery_skipped_clips"


class RegionForm(forms.Form):
    """One change to what is blurred in a clip (the review page's regions panel)."""

    ACTIONS = ["remove", "restore", "add", "blur_off", "blur_on", "render"]

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    track = forms.IntegerField(required=False)
    time = forms.FloatField(label=_("At (seconds)"), required=False, min_value=0)
    x1 = forms.FloatField(label=_("Left"), required=False, min_value=0)
    y1 = forms.FloatField(label=_("Top"), required=False, min_value=0)
    x2 = forms.FloatField(label=_("Right"), required=False, min_value=0)
    y2 = forms.FloatField(label=_("Bottom"), required=False, min_value=0)
    reason = forms.CharField(
        label=_("Why may faces and plates be shown?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    detect = forms.BooleanField(label=_("Detect faces and plates again"), required=False)
    render_now = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        needed = {
            "remove": ["track"],
            "restore": ["track"],
            "add": ["time", "x1", "y1", "x2", "y2"],
        }.get(action, [])
        if any(data.get(name) is None for name in needed):
            raise forms.ValidationError(gettext("Some values are missing."))
        return data


def region_rows(clip):
    """The clip's regions as the review page lists them: kind, times, who, removed."""
    kinds = {"face": _("Face"), "plate": _("Number plate"), "manual": _("Box drawn by staff")}
    rows = []
    for track in (clip.regions or {}).get("tracks", []):
        keys = track.get("keys") or [[0]]
        rows.append(
            {
                "id": track["id"],
                "kind": kinds.get(track["kind"], track["kind"]),
                "start": keys[0][0],
                "end": keys[-1][0],
                "staff": track.get("source") == "staff",
                "removed": track.get("removed", False),
            }
        )
    return rows


def camera_texts(clip):
    """What the review page says of a dashcam event's players: which camera the first one
    shows, and where each camera sits in the mosaic (gallery/mosaic.py's `layout`)."""
    angles = list(clip.angles.all()) if clip else []
    if not angles:
        return {}
    names = [angle.get_camera_display() for angle in angles]
    texts = {"lead_camera": gettext("Camera shown: %(camera)s") % {"camera": names[0]}}
    if clip.mosaic and len(names) > 1:
        if len(names) <= 4:
            texts["mosaic_layout"] = gettext(
                "%(lead)s large on the left; on its right, from top to bottom: %(others)s"
            ) % {"lead": names[0], "others": " · ".join(names[1:])}
        else:
            texts["mosaic_layout"] = gettext(
                "%(lead)s large at the top left; on its right, from top to bottom: %(right)s; "
                "below it, from left to right: %(below)s"
            ) % {"lead": names[0], "right": " · ".join(names[1:4]), "below": " · ".join(names[4:])}
    return texts


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = [
        "poster_thumb",
        "title",
        "waited",
        "length",
        "source_and_checks",
        "consent",
        "status",
        "featured",
    ]
    list_display_links = ["poster_thumb", "title"]
    list_filter = [StatusFilter, "themes", "featured", "source", "sentry"]
    search_fields = ["title", "credit_name"]
    filter_horizontal = ["themes"]
    fields = [
        "title",
        "description",
        "themes",
        "credit_name",
        "credit_country",
        "language",
        "telemetry_hidden",
    ]
    inlines = [CaptionInline, TransitionInline]
    list_per_page = 50
    change_form_template = "admin/gallery/clip/change_form.html"
    show_full_result_count = False

    class Media:
        css = {"all": ["css/admin-review.css"]}

    def changelist_view(self, request, extra_context=None):
        # The queue needs the width: at 1366 px the side menu squeezed titles to four lines
        # and pushed the Featured column off screen (the breadcrumbs still lead everywhere).
        extra = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("submission")
        inbound = getattr(Clip.submission.field.related_model, "inbound_emails", None)
        if inbound is not None:
            queryset = queryset.prefetch_related("submission__inbound_emails")
        return queryset

    def delete_queryset(self, request, queryset):
        # The clips' files named once for all (their captions and angles read together) and
        # looked up together, not with a dozen queries a clip.
        with deletion.together():
            super().delete_queryset(request, queryset.prefetch_related("captions", "angles"))

    def save_related(self, request, form, formsets, change):
        before = set(Caption.objects.filter(clip=form.instance).values_list("file", flat=True))
        super().save_related(request, form, formsets, change)
        sync_caption_files(form.instance, before)

    def get_ordering(self, request):
        # The queue is worked oldest first; elsewhere the newest matter most.
        if request.GET.get("status", StatusFilter.default) == Clip.Status.REVIEW:
            return ["status_changed_at", "pk"]
        return ["-created_at", "-pk"]

    def has_moderate_permission(self, request):
        return request.user.has_perm("gallery.moderate_clip")

    def view_on_site(self, clip):
        # In the admin user's language; a clip visitors cannot see yet opens as a preview.
        if clip.status == Clip.Status.PUBLISHED:
            return clip.get_absolute_url()
        return preview_url(clip)

    # --- columns ---

    @admin.display(description=_("poster"))
    def poster_thumb(self, clip):
        # A Sentry event is marked under its picture: no column of its own (the queue's width).
        sentry = (
            format_html(
                '<br><span class="sentry-pill" title="{}">{}</span>',
                gettext("Recorded by the parked car’s Sentry Mode: likely to show bystanders."),
                gettext("Sentry"),
            )
            if clip.sentry
            else ""
        )
        if not clip.thumbnails:
            return format_html("—{}", sentry)
        return format_html(
            '<img src="{}" alt="" width="80" height="45" loading="lazy" class="queue-thumb">{}',
            clip.review_thumbnail_url,
            sentry,
        )

    @admin.display(description=_("waiting for"), ordering="status_changed_at")
    def waited(self, clip):
        return timesince(clip.status_changed_at, timezone.now())

    @admin.display(description=_("duration"), ordering="duration")
    def length(self, clip):
        return duration(clip.duration) or "—"

    @admin.display(description=_("source"), ordering="source")
    def source_and_checks(self, clip):
        # The sender checks only exist for e-mail: under the source, not a column of their own.
        summary = (
            getattr(clip.submission, "authenticity_summary", None) if clip.submission_id else None
        )
        checks = summary() if callable(summary) else ""
        if not checks:
            return clip.get_source_display()
        return format_html(
            '{}<br><span class="queue-checks"><span class="visually-hidden">{}: </span>{}</span>',
            clip.get_source_display(),
            gettext("Sender checks"),
            checks,
        )

    @admin.display(description=_("consent"), boolean=True)
    def consent(self, clip):
        return clip.has_consent()

    # --- decisions: actions, buttons and the view, all made from gallery.decisions ---

    decisions = DECISIONS

    @property
    def actions(self):
        return [decision.as_admin_action() for decision in self.decisions]

    def decision_named(self, name):
        return next((d for d in self.decisions if d.name == name), None)

    def decide_many(self, request, queryset, decision):
        """The bulk action: ask for the reason first when the decision needs one."""
        reason = None
        if decision.needs_reason:
            form = DecisionForm(request.POST if "apply" in request.POST else None)
            if not form.is_valid():
                return self.reason_page(request, queryset, decision, form)
            reason = form.cleaned_data
        done = 0
        for clip in queryset:
            try:
                decision.apply(clip, by=request.user, reason=reason)
                done += 1
            except IllegalTransition as refused:
                self.message_user(request, f"{clip}: {refused}", messages.WARNING)
        if done:
            self.message_user(request, decision.done_message(done), messages.SUCCESS)
        return None

    def reason_page(self, request, queryset, decision, form):
        context = {
            **self.admin_site.each_context(request),
            "title": decision.reason_title,
            "clips": queryset,
            "form": form,
            "action": decision.name,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/gallery/clip/reason_form.html", context)

    # --- the clip page: player, details and decision buttons ---

    def get_urls(self):
        decide = self.admin_site.admin_view(require_POST(self.decide_view))
        skip = self.admin_site.admin_view(require_POST(self.skip_view))
        blur = self.admin_site.admin_view(require_POST(self.regions_view))
        return [
            path("<int:pk>/decide/", decide, name="gallery_clip_decide"),
            path("<int:pk>/regions/", blur, name="gallery_clip_regions"),
            path("<int:pk>/skip/", skip, name="gallery_clip_skip"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        clip = self.get_object(request, object_id)
        offered = [d for d in self.decisions if clip and d.offered_for(clip)]
        unfinished = request.session.pop(UNFINISHED_DECISION, None)
        sent = unfinished["data"] if unfinished and clip and unfinished["clip"] == clip.pk else None
        extra = {
            "clip": clip,
            "decision_form": DecisionForm(sent),
            "decisions": [d for d in offered if not d.needs_reason],
            "reason_decisions": [d for d in offered if d.needs_reason],
            "can_moderate": self.has_moderate_permission(request),
            "submission": clip.submission if clip else None,
            "reasons": list(enumerate(RejectionReason.choices, start=1)),
            "other_reason": RejectionReason.OTHER,
            "preview_url": clip and clip.status != Clip.Status.PUBLISHED and preview_url(clip),
            "duplicate_percent": round((clip.duplicate_score or 0) * 100) if clip else 0,
            "region_tracks": region_rows(clip) if clip else [],
            "regions_form": RegionForm(),
            "blurring_changes": list(clip.blurring_changes.select_related("by")) if clip else [],
            **camera_texts(clip),
        }
        return super().change_view(
            request, object_id, form_url, extra_context={**extra, **(extra_context or {})}
        )

    def decide_view(self, request, pk):
        """One decision on one clip, from a button on its page."""
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        clip = get_object_or_404(Clip, pk=pk)
        decision = self.decision_named(request.POST.get("decision"))
        here = reverse("admin:gallery_clip_change", args=[clip.pk])
        if decision is None:
            self.message_user(request, gettext("Unknown decision."), messages.ERROR)
            return HttpResponseRedirect(here)
        reason = None
        if decision.needs_reason:
            form = DecisionForm(request.POST)
            if not form.is_valid():
                # The page shows the form again as it was sent, with its errors.
                sent = {name: request.POST.get(name, "") for name in DecisionForm.base_fields}
                request.session[UNFINISHED_DECISION] = {"clip": clip.pk, "data": sent}
                return HttpResponseRedirect(f"{here}#decision-reason")
            reason = form.cleaned_data
        try:
            decision.apply(clip, by=request.user, reason=reason)
        except IllegalTransition as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(here)
        self.message_user(request, f"{clip}: {decision.done}", messages.SUCCESS)
        if decision.then is Then.NEXT_IN_QUEUE:
            return HttpResponseRedirect(self.next_in_queue_url(clip, request))
        return HttpResponseRedirect(here)

    def regions_view(self, request, pk):
        """Staff's say on what is blurred: remove or put back a region, add a box, turn
        blurring off (with a reason) or on, and have the outputs made again."""
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        clip = get_object_or_404(Clip, pk=pk)
        here = reverse("admin:gallery_clip_change", args=[clip.pk]) + "#regions"
        form = RegionForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                self.message_user(request, " ".join(errors), messages.ERROR)
            return HttpResponseRedirect(here)
        data, action = form.cleaned_data, form.cleaned_data["action"]
        try:
            if action in ("remove", "restore"):
                clip.remove_region(data["track"], removed=action == "remove")
                done = (
                    gettext("Region removed.")
                    if action == "remove"
                    else gettext("Region put back.")
                )
            elif action == "add":
                clip.add_region(data["time"], (data["x1"], data["y1"], data["x2"], data["y2"]))
                done = gettext("Box added; it will be followed along the clip.")
            elif action in ("blur_off", "blur_on"):
                clip.set_blurring(action == "blur_on", by=request.user, reason=data["reason"])
                done = (
                    gettext("Blurring turned on.")
                    if action == "blur_on"
                    else gettext("Blurring turned off.")
                )
            else:
                done = ""
        except (KeyError, ValueError) as refused:
            message = refused.args[0] if isinstance(refused, ValueError) else ""
            self.message_user(request, str(message) or gettext("No such region."), messages.ERROR)
            return HttpResponseRedirect(here)
        if action == "render" or data.get("render_now"):
            clip.queue_rendering(detect=data["detect"])
            done = " ".join(filter(None, [done, gettext("The outputs are being made again.")]))
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(here)

    def skip_view(self, request, pk):
        """Leave a clip for later (or for someone else): the next one opens."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        clip = get_object_or_404(Clip, pk=pk)
        skipped = request.session.get(SKIPPED, [])
        request.session[SKIPPED] = [*skipped[-499:], clip.pk]
        self.message_user(request, gettext("%(title)s: skipped.") % {"title": clip}, messages.INFO)
        return HttpResponseRedirect(self.next_in_queue_url(clip, request))

    def next_in_queue_url(self, decided, request=None):
        """After a decision, the next clip waiting (the oldest not skipped), else the queue."""
        skipped = request.session.get(SKIPPED, []) if request is not None else []
        following = Clip.objects.filter(status=Clip.Status.REVIEW).exclude(pk=decided.pk)
        following = following.exclude(pk__in=skipped).order_by("status_changed_at", "pk").first()
        if following:
            return reverse("admin:gallery_clip_change", args=[following.pk])
        return reverse("admin:gallery_clip_changelist")
