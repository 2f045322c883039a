import contextlib
import contextvars
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import models, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed, pre_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language, gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_countries import Countries
from django_countries.fields import CountryField

from gallery import deletion, failures, signals
from gallery import regions as region_sets
from gallery.captions import caption_path, validate_webvtt
from gallery.deletion import delete_after_commit, prune_clip_folders
from gallery.seo import language_name
from infra.cache import bumps_coalesced
from infra.storage import private_storage, publish_files, unpublish_files

# The European countries by ISO 3166-1 code; Kosovo (XK, in common use, not in ISO yet) apart.
EUROPE = (
    "AL AD AT BE BA BG HR CY CZ DK EE FI FR DE GR HU IS IE IT LV LI LT LU MT MD MC ME NL MK NO "
    "PL PT RO SM RS SK SI ES SE CH TR UA GB"
)


class EuropeanCountries(Countries):
    """The countries an owner may credit, named in the visitor's language by django-countries."""

    only = [*EUROPE.split(), ("XK", _("Kosovo"))]


class Theme(models.Model):
    slug = models.SlugField(unique=True)
    # The name staff know it by; visitors read `label`, the name in their language.
    name = models.CharField(_("name"), max_length=60, blank=True)
    name_fr = models.CharField(_("name in French"), max_length=60, blank=True)
    name_en = models.CharField(_("name in English"), max_length=60, blank=True)
    name_de = models.CharField(_("name in German"), max_length=60, blank=True)
    name_nl = models.CharField(_("name in Dutch"), max_length=60, blank=True)
    name_it = models.CharField(_("name in Italian"), max_length=60, blank=True)
    name_es = models.CharField(_("name in Spanish"), max_length=60, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    # Published clips having this theme, kept current as clips are published, unpublished,
    # deleted or given other themes (see keep_theme_counts), so no visit counts them.
    published_count = models.PositiveIntegerField(default=0, editable=False)

    # Where a name is missing in the visitor's language: English, then French.
    FALLBACK = ("en", "fr")

    class Meta:
        ordering = ["order", "slug"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self):
        return self.label

    @property
    def label(self):
        language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        for code in (language, *self.FALLBACK):
            if name := getattr(self, f"name_{code}", ""):
                return name
        return gettext(self.name) if self.name else self.slug

    @property
    def missing_languages(self):
        return [code for code, _name in settings.LANGUAGES if not getattr(self, f"name_{code}")]


class ClipQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Clip.Status.PUBLISHED)

    def delete(self):
        with deleting(self):
            return super().delete()

    def once_public_then_withdrawn(self):
        """Clips whose owner took them back after visitors could see them (their page says so)."""
        return self.filter(status=Clip.Status.WITHDRAWN, published_at__isnull=False)

    def with_any_theme(self, slugs):
        if not slugs:
            return self
        # EXISTS rather than a join keeps one row per clip without DISTINCT, and lets the
        # database walk the gallery's index in order, checking each clip's themes.
        return self.filter(
            Exists(
                Clip.themes.through.objects.filter(clip_id=OuterRef("pk"), theme__slug__in=slugs)
            )
        )

    def for_gallery(self):
        return self.order_by("-featured", "-published_at", "-pk")

    def with_recent_plays(self, *, since=None):
        """Annotate `recent_plays`: plays since `since`, by default over PLAY_RANKING_DAYS days."""
        since = since or timezone.localdate() - timedelta(days=settings.PLAY_RANKING_DAYS - 1)
        # The day's condition goes into the join: only the window's rows are summed.
        window = FilteredRelation("play_days", condition=Q(play_days__day__gte=since))
        return self.annotate(recent_window=window).annotate(
            recent_plays=Coalesce(Sum("recent_window__plays"), 0)
        )

    def most_watched(self):
        """The most played first over the ranking window; then the newest."""
        return self.with_recent_plays().order_by("-recent_plays", "-published_at", "-pk")


class RejectionReason(models.TextChoices):
    """Reasons staff pick from; owners read them in their own language."""

    NOT_MODEL3 = "not_model3", _("The clip does not show a Model 3.")
    QUALITY = "quality", _("The picture or the sound is not good enough to publish.")
    PEOPLE = "people", _("People or number plates can be recognised in it.")
    UNSAFE = "unsafe", _("It shows driving that is unsafe or against the law.")
    RIGHTS = "rights", _("It contains music or footage that we cannot publish.")
    OFF_TOPIC = "off_topic", _("It does not fit the everyday life this gallery is about.")
    DUPLICATE = "duplicate", _("We already have this clip.")
    OTHER = "other", _("Another reason, explained below.")


class OutputsNewer(Exception):
    """A render's outputs were not swapped in: outputs made from staff's later regions are
    already in place (two renders of one clip ran at once, and the older one ended last)."""


class IllegalTransition(Exception):
    """The clip is not in a state that allows the change (or someone else changed it first)."""

    def __init__(self, clip, to, current, message=""):
        self.clip, self.to, self.current = clip, to, current
        super().__init__(message or f"clip {clip.pk}: cannot go from {current} to {to}")


class ClipStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    REVIEW = "review", _("Waiting for review")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Processing failed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ClipSource(models.TextChoices):
    WEB = "web", _("Web form")
    EMAIL = "email", _("E-mail")
    DEMO = "demo", _("Demo")


class Camera(models.TextChoices):
    """The car's own cameras, in the order the player and the mosaic show them."""

    FRONT = "front", _("Front")
    BACK = "back", _("Rear")
    LEFT_REPEATER = "left_repeater", _("Left side, facing back")
    RIGHT_REPEATER = "right_repeater", _("Right side, facing back")
    LEFT_PILLAR = "left_pillar", _("Left pillar")
    RIGHT_PILLAR = "right_pillar", _("Right pillar")


class Clip(models.Model):
    Status = ClipStatus
    Source = ClipSource

    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    themes = models.ManyToManyField(Theme, related_name="clips", verbose_name=_("themes"))
    credit_name = models.CharField(_("first name"), max_length=60)
    credit_country = CountryField(_("country"), countries=EuropeanCountries, blank=True)
    language = models.CharField(max_length=8, default="fr", choices=settings.LANGUAGES)
    source = models.CharField(max_length=10, choices=Source, default=Source.WEB)
    status = models.CharField(
        max_length=12, choices=Status, default=Status.PROCESSING, editable=False
    )
    featured = models.BooleanField(_("featured"), default=False)
    # Declared by name: the gallery never imports the intake app, which holds the owner's data.
    submission = models.ForeignKey(
        "submissions.Submission",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clips",
        editable=False,
    )

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    # Processings taken up (a worker started one) and queues the watchdog found lost: it
    # gives up after PROCESSING_MAX_ATTEMPTS.
    processing_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # When a worker took the processing up: a second task for the same clip then does
    # nothing (Clip.claim_processing). A worker killed mid-way leaves it behind, and the
    # watchdog, finding no sign of life since, clears it and queues the clip again.
    processing_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Why processing (or the last render) failed: a code of gallery/failures.py and its
    # parameters, put in words when shown (failure_text); else free text (an error the
    # worker did not foresee, or a row older than the codes).
    failure_code = models.CharField(max_length=20, blank=True, editable=False)
    failure_params = models.JSONField(default=dict, blank=True, editable=False)
    failure_reason = models.TextField(blank=True, editable=False)

    # Originals are private; everything else is written by processing.
    original = models.FileField(storage=private_storage, upload_to="originals/", blank=True)
    video = models.FileField(blank=True, editable=False)
    video_hd = models.FileField(blank=True, editable=False)
    poster = models.FileField(blank=True, editable=False)
    # [{"width": 320, "webp": name, "jpeg": name}, ...], narrowest first.
    thumbnails = models.JSONField(default=list, blank=True, editable=False)
    duration = models.FloatField(null=True, blank=True, editable=False)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Bytes of the main (720p) rendition: the length feeds announce for the enclosure.
    size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    # Sent before? Written by processing (gallery/fingerprint.py), shown to staff.
    original_sha256 = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    fingerprint = models.JSONField(default=list, blank=True, editable=False)
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        editable=False,
        verbose_name=_("copy of"),
    )
    # 1.0 for the same original bytes; else the share of sampled frames found in the other.
    duplicate_score = models.FloatField(null=True, blank=True, editable=False)

    # The car's own telemetry (dashcam SEI), columns sampled 4 times a second, no location:
    # shape in gallery/telemetry.py (read_series). Shown only when the owner chose to and
    # staff did not hide it (speed can be sensitive).
    telemetry = models.JSONField(null=True, blank=True, editable=False)
    telemetry_public = models.BooleanField(_("owner shows the drive's data"), default=False)
    telemetry_hidden = models.BooleanField(
        _("drive's data hidden by staff"),
        default=False,
        help_text=_("Hide the speed and Autopilot strip, whatever the owner chose."),
    )

    # A dashcam event with several angles (ClipAngle): every angle side by side, what the
    # gallery card and the embed show.
    mosaic = models.FileField(blank=True, editable=False)
    # Cameras of the event left out because their files could not be read:
    # [[camera, why]], why a MediaError code ("corrupt", "cut_off"...). Staff and the owner
    # are told (left_out_notes); the other cameras make the clip.
    left_out = models.JSONField(default=list, blank=True, editable=False)
    # Recorded by Sentry Mode (the car parked, people walking by): likely to show bystanders.
    sentry = models.BooleanField(
        _("Sentry event"),
        default=False,
        editable=False,
        help_text=_("Recorded by the parked car’s Sentry Mode: likely to show bystanders."),
    )

    # Faces and number plates found by processing and edited by staff (gallery/regions.py
    # gives the format); every public output has them blurred unless staff turn it off,
    # saying who and why (the people filmed agreed).
    regions = models.JSONField(default=dict, blank=True, editable=False)
    blurring = models.BooleanField(_("blur faces and plates"), default=True, editable=False)
    blurring_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    blurring_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    blurring_reason = models.TextField(blank=True, editable=False)
    # The regions or the blurring changed since the outputs were made; a render is queued.
    outputs_outdated = models.BooleanField(default=False, editable=False)
    # Counts staff's changes to the regions and the blurring: a render clears
    # outputs_outdated only if none came while it worked (processing.render).
    regions_version = models.PositiveIntegerField(default=0, editable=False)
    # The regions_version the outputs in place were rendered from (null: made by processing,
    # before any change of staff's): a render that read older regions never replaces them.
    outputs_regions_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    rendering_queued = models.BooleanField(default=False, editable=False)
    # Counts the renders staff queued: a render clears rendering_queued only if none was
    # queued while it worked (that one is still to run).
    renders_queued = models.PositiveIntegerField(default=0, editable=False)
    # When a worker took up the render (and last said it was still at it): a worker killed
    # mid-render leaves it behind, and the watchdog queues the render again once it is older
    # than RENDER_STALE_SECONDS (gallery/tasks.py). Cleared when the render ends.
    render_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the render was last queued: a task lost before any worker took it up (its enqueue
    # failed, its row was lost) leaves the render queued and unclaimed, and the watchdog
    # queues it again once it is older than RENDER_STALE_SECONDS and its task is no longer
    # in the queue (gallery/tasks.py).
    render_queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A render queued (and not yet ended) was asked to detect faces and plates again: the
    # render the watchdog queues in place of a lost or stopped one asks the same.
    render_detect = models.BooleanField(default=False, editable=False)
    # Renders taken up since the last one ended, and queues the watchdog found lost: it
    # gives up after a few.
    render_attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    objects = ClipQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("clip")
        verbose_name_plural = _("clips")
        permissions = [("moderate_clip", _("Can approve, reject, feature and unpublish clips"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ClipStatus]), name="clip_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(published_at__isnull=False) | ~Q(status="published"),
                name="clip_published_has_date",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-featured", "-published_at", "-id"],
                condition=Q(status="published"),
                name="clip_gallery_order",
            ),
            # Feeds and sitemaps list the newest first, featured or not.
            models.Index(
                fields=["-published_at", "-id"],
                condition=Q(status="published"),
                name="clip_newest_published",
            ),
            models.Index(fields=["status", "status_changed_at"], name="clip_status_since"),
            # The campaign dashboard counts arrivals per day and source.
            models.Index(fields=["created_at", "source"], name="clip_arrivals"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("gallery:clip", kwargs={"pk": self.pk, "slug": self.slug})

    def delete(self, *args, **kwargs):
        with deleting(Clip.objects.filter(pk=self.pk)):
            return super().delete(*args, **kwargs)

    @property
    def slug(self):
        return slugify(self.title)[:60] or "clip"

    @property
    def is_portrait(self):
        return bool(self.width and self.height and self.height > self.width)

    def _url(self, name):
        return storages["default"].url(name)

    def private_url(self, name):
        """A short-lived signed link to one of this clip's files, for staff and the owner."""
        return private_storage().url(name) if name else ""

    @property
    def review_video_url(self):
        return self.private_url(self.video.name)

    @property
    def review_mosaic_url(self):
        return self.private_url(self.mosaic.name)

    @property
    def review_poster_url(self):
        return self.private_url(self.poster.name)

    @property
    def review_thumbnail_url(self):
        return self.private_url(self.thumbnails[0]["jpeg"]) if self.thumbnails else ""

    @property
    def thumbnail_url(self):
        """The narrowest JPEG thumbnail: the fallback `src` for every browser."""
        return self._url(self.thumbnails[0]["jpeg"]) if self.thumbnails else ""

    def srcset(self, fmt):
        return ", ".join(
            f"{self._url(t[fmt])} {t['width']}w" for t in self.thumbnails if t.get(fmt)
        )

    @property
    def srcset_webp(self):
        return self.srcset("webp")

    @property
    def srcset_jpeg(self):
        return self.srcset("jpeg")

    @property
    def thumbnail_size(self):
        """Width and height of the narrowest thumbnail, for layout without shifts."""
        first = self.thumbnails[0] if self.thumbnails else {}
        return first.get("width", 320), first.get("height", 180)

    @property
    def left_out_notes(self):
        """A sentence per camera left out of this dashcam event, in the active language."""
        return left_out_sentences(self.left_out)

    @property
    def decision_reason(self):
        """Why the clip is in its current state, in the active language."""
        last = self.transitions.filter(to_status=self.status).order_by("-at", "-pk").first()
        return last.reason_text if last else ""

    @property
    def media_names(self):
        """Every stored public file of this clip (renditions, poster, thumbnails, captions)."""
        names = [f.name for f in (self.video, self.video_hd, self.poster, self.mosaic) if f]
        for thumb in self.thumbnails:
            names += [thumb["webp"], thumb["jpeg"]]
        if self.pk:
            names += [caption.file.name for caption in self.captions.all() if caption.file]
            names += [
                angle.video.name
                for angle in self.angles.all()
                if angle.video and angle.video.name not in names
            ]
        return names

    @property
    def originals(self):
        """Every private original: the clip's, and each angle's minutes."""
        names = [self.original.name] if self.original else []
        if self.pk:
            for angle in self.angles.all():
                names += [name for name in angle.originals if name not in names]
        return names

    @property
    def angle_list(self):
        """The angles visitors can switch between (none unless there are two or more)."""
        angles = [angle for angle in self.angles.all() if angle.video]
        return angles if len(angles) > 1 else []

    def angle_named(self, camera):
        """The angle of that camera visitors can switch to; None for the leading one or none."""
        angles = self.angle_list
        return next((a for a in angles[1:] if a.camera == camera), None) if camera else None

    @property
    def mosaic_url(self):
        return self._url(self.mosaic.name) if self.mosaic else ""

    # --- Status transitions. `status` changes here and nowhere else. ---

    def _transition(
        self, to, *, allowed_from, by=None, reason="", reason_code="", reason_params=None, **fields
    ):
        """Move to `to` if the row is still in one of `allowed_from`; record it."""
        now = timezone.now()
        fields |= {"status": to, "status_changed_at": now}
        with transaction.atomic():
            current = (
                Clip.objects.select_for_update()
                .filter(pk=self.pk)
                .values_list("status", flat=True)
                .first()
            )
            if current not in allowed_from:
                raise IllegalTransition(self, to, current, self._refusal(to, current))
            # The status guard in the UPDATE makes concurrent transitions safe even
            # where SELECT ... FOR UPDATE is a no-op (SQLite).
            updated = Clip.objects.filter(pk=self.pk, status=current).update(**fields)
            if not updated:
                raise IllegalTransition(self, to, current, self._refusal(to, current))
            ClipTransition.objects.create(
                clip=self,
                from_status=current,
                to_status=to,
                by=by,
                reason=reason,
                reason_code=reason_code,
                reason_params=reason_params or {},
                at=now,
            )
            if Clip.Status.PUBLISHED in (current, to) and current != to:
                count_in_themes(self.pk, +1 if to == Clip.Status.PUBLISHED else -1)
            if Clip.Status.PUBLISHED in (current, to):
                signals.catalogue_changed.send(sender=Clip)
        for name, value in fields.items():
            setattr(self, name, value)
        return current

    def _refusal(self, to, current):
        last = self.transitions.select_related("by").order_by("-at", "-pk").first()
        if last and last.to_status == current and current != Clip.Status.PROCESSING:
            who = last.by.get_username() if last.by else gettext("the system")
            return gettext("This clip is already “%(status)s” (by %(who)s, %(when)s).") % {
                "status": Clip.Status(current).label,
                "who": who,
                "when": timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M"),
            }
        current_label = Clip.Status(current).label if current else gettext("deleted")
        return gettext("A clip that is “%(current)s” cannot become “%(to)s”.") % {
            "current": current_label,
            "to": Clip.Status(to).label,
        }

    def mark_processed(
        self,
        *,
        video,
        poster,
        thumbnails,
        duration,
        width,
        height,
        size,
        video_hd="",
        mosaic="",
        reason="",
        reason_code="",
        reason_params=None,
    ):
        self._transition(
            self.Status.REVIEW,
            allowed_from={self.Status.PROCESSING},
            reason=reason,
            reason_code=reason_code,
            reason_params=reason_params,
            video=video,
            video_hd=video_hd,
            poster=poster,
            thumbnails=thumbnails,
            duration=duration,
            width=width,
            height=height,
            size=size,
            mosaic=mosaic,
            outputs_regions_version=None,
            failure_reason="",
            failure_code="",
            failure_params={},
        )

    def mark_failed(self, reason="", *, code="", params=None):
        """Processing failed: why is a code of gallery/failures.py (with its `params`), put
        in words when shown, or free `reason` text."""
        params = params or {}
        self._transition(
            self.Status.FAILED,
            allowed_from={self.Status.PROCESSING},
            reason=reason,
            reason_code=code,
            reason_params=params,
            failure_reason=reason,
            failure_code=code,
            failure_params=params,
        )

    @property
    def failure_text(self):
        """Why processing or the last render failed, in the active language."""
        if self.failure_code:
            return failures.describe(self.failure_code, self.failure_params)
        return self.failure_reason

    def retry(self, *, by=None):
        """Send a failed clip back to processing (the task runs once this commits)."""
        self._transition(
            self.Status.PROCESSING,
            allowed_from={self.Status.FAILED},
            by=by,
            processing_attempts=0,
            processing_claimed_at=None,
            failure_reason="",
            failure_code="",
            failure_params={},
        )
        self.queue_processing()

    def queue_processing(self):
        """Have the clip processed once the transaction commits (gallery/tasks.py listens)."""
        signals.processing_requested.send(sender=Clip, clip=self)

    def claim_processing(self):
        """A worker takes the processing up, unless another one has (or the clip is no longer
        waiting for it); returns whether this one did. The guarded UPDATE is the claim on
        SQLite and PostgreSQL alike: of two tasks for one clip, one does the work."""
        now = timezone.now()
        claimed = Clip.objects.filter(
            pk=self.pk, status=self.Status.PROCESSING, processing_claimed_at__isnull=True
        ).update(
            processing_claimed_at=now,
            processing_attempts=F("processing_attempts") + 1,
            status_changed_at=now,
        )
        if claimed:
            self.processing_claimed_at = now
        return bool(claimed)

    def processing_taken_over(self):
        """Whether the clip, still waiting for processing, went to another worker since this
        one claimed it (the watchdog found this one silent for too long)."""
        return (
            Clip.objects.filter(pk=self.pk, status=self.Status.PROCESSING)
            .exclude(processing_claimed_at=self.processing_claimed_at)
            .exists()
        )

    # --- Blurring: staff edit the regions; the outputs are made again from the original. ---

    def _save_regions(self, region_set, **fields):
        self.regions = region_set
        fields |= {"regions": region_set, "outputs_outdated": True}
        Clip.objects.filter(pk=self.pk).update(regions_version=F("regions_version") + 1, **fields)
        for name, value in fields.items():
            setattr(self, name, value)
        self.refresh_from_db(fields=["regions_version"])

    def remove_region(self, track_id, *, removed=True):
        """Stop (or start again) blurring one region track; KeyError if there is none."""
        self._save_regions(region_sets.set_removed(dict(self.regions), track_id, removed))

    def add_region(self, t, box):
        """A box staff drew on the frame at `t`; the next render carries it along the clip."""
        region_set = dict(self.regions) if self.regions.get("tracks") is not None else None
        if region_set is None:
            region_set = region_sets.empty(self.source_width or 1, self.source_height or 1)
        track = region_sets.add_box(region_set, t, box)
        self._save_regions(region_set)
        return track

    @property
    def source_width(self):
        return self.regions.get("width") or self.width

    @property
    def source_height(self):
        return self.regions.get("height") or self.height

    def set_blurring(self, on, *, by, reason=""):
        """Blur faces and plates, or not (the people agreed): who and why are kept, every
        change in BlurringChange, the last one on the clip too."""
        reason = reason.strip()
        if not on and not reason:
            raise ValueError(gettext("Say why the faces and plates may be shown."))
        now = timezone.now()
        with transaction.atomic():
            self._save_regions(
                self.regions,
                blurring=bool(on),
                blurring_changed_by=by,
                blurring_changed_at=now,
                blurring_reason=reason,
            )
            BlurringChange.objects.create(clip=self, on=bool(on), by=by, at=now, reason=reason)

    def queue_rendering(self, *, detect=False):
        """Make the outputs again from the original and the stored regions (re-detecting them
        only when asked), once the transaction commits (gallery/tasks.py listens)."""
        Clip.objects.filter(pk=self.pk).update(
            rendering_queued=True,
            renders_queued=F("renders_queued") + 1,
            render_queued_at=timezone.now(),
            # Asked by this render, or by one still queued (the row's values before this
            # UPDATE): whichever task runs, or is queued again, detects.
            render_detect=Value(True)
            if detect
            else Case(When(rendering_queued=True, then=F("render_detect")), default=Value(False)),
        )
        self.rendering_queued = True
        self.refresh_from_db(fields=["renders_queued", "render_queued_at", "render_detect"])
        signals.rendering_requested.send(sender=Clip, clip=self, detect=detect)

    def replace_outputs(
        self,
        *,
        video,
        poster,
        thumbnails,
        video_hd="",
        mosaic=None,
        angles=None,
        regions_version=None,
        renders_queued=None,
    ):
        """Swap in outputs made again; a published clip's public copies follow. Returns the
        names of the files replaced, for the caller to delete.

        For a dashcam event, `mosaic` is the new mosaic's name and `angles` maps each other
        angle's ClipAngle pk to its new video's name. `regions_version` is the one the
        outputs were made from: staff changed the regions since, they stay outdated.
        `renders_queued` is the count read when the render began: a render queued since is
        still to run, so the clip stays marked as rendering. Raises OutputsNewer, swapping
        nothing, when the outputs in place come from later regions than `regions_version`,
        and Clip.DoesNotExist when the clip was deleted.
        """
        not_older = Q()
        if regions_version is not None:
            not_older = Q(outputs_regions_version__isnull=True) | Q(
                outputs_regions_version__lte=regions_version
            )
            # Before its files are published: a render that lost never shows them.
            if Clip.objects.filter(pk=self.pk).exclude(not_older).exists():
                raise OutputsNewer(f"clip {self.pk}: outputs of later regions are in place")
        old = self.media_names
        up_to_date = (
            Value(False)
            if regions_version is None
            else Case(
                When(regions_version=regions_version, then=Value(False)),
                default=F("outputs_outdated"),
            )
        )
        still_queued = (
            Value(False) if renders_queued is None else self._still_queued(renders_queued)
        )
        fields = {
            "video": video,
            "video_hd": video_hd,
            "poster": poster,
            "thumbnails": thumbnails,
            "outputs_outdated": up_to_date,
            "outputs_regions_version": regions_version,
            "rendering_queued": still_queued,
            # a render that failed before: this one made them
            "failure_reason": "",
            "failure_code": "",
            "failure_params": {},
        }
        if renders_queued is not None:
            fields |= self._render_ended(renders_queued)
        if mosaic is not None:
            fields["mosaic"] = mosaic
        angles = angles or {}
        published = Clip.objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists()
        if published:
            publish_files(
                [
                    video,
                    video_hd,
                    poster,
                    mosaic or "",
                    *angles.values(),
                    *(t[f] for t in thumbnails for f in ("webp", "jpeg")),
                ]
            )
        with transaction.atomic():
            if not Clip.objects.filter(not_older, pk=self.pk).update(**fields):
                if Clip.objects.filter(pk=self.pk).exists():  # the other render won meanwhile
                    raise OutputsNewer(f"clip {self.pk}: outputs of later regions are in place")
                raise Clip.DoesNotExist(f"clip {self.pk} was deleted")
            for pk, name in angles.items():
                ClipAngle.objects.filter(pk=pk, clip=self).update(video=name)
        for name, value in fields.items():
            setattr(self, name, value)
        self.refresh_from_db(
            fields=["outputs_outdated", "rendering_queued", "render_claimed_at", "render_attempts"]
        )
        if angles and hasattr(self, "_prefetched_objects_cache"):
            self._prefetched_objects_cache.pop("angles", None)
        if published:
            unpublish_files([name for name in old if name and name not in self.media_names])
            signals.catalogue_changed.send(sender=Clip)
        return [name for name in old if name not in self.media_names]

    @staticmethod
    def _still_queued(renders_queued):
        """rendering_queued once the render that read `renders_queued` ended: cleared, unless
        staff queued another since (that one is still to run and clears it)."""
        return Case(
            When(renders_queued=renders_queued, then=Value(False)),
            default=F("rendering_queued"),
        )

    @staticmethod
    def _render_ended(renders_queued):
        """The claim of the render that read `renders_queued`, gone as it ends (unless
        staff queued another since: that one's claim, or the wait for it, stands)."""
        return {
            "render_claimed_at": Case(
                When(renders_queued=renders_queued, then=Value(None)),
                default=F("render_claimed_at"),
                output_field=models.DateTimeField(),
            ),
            "render_attempts": Case(
                When(renders_queued=renders_queued, then=Value(0)),
                default=F("render_attempts"),
                output_field=models.PositiveSmallIntegerField(),
            ),
            "render_detect": Case(
                When(renders_queued=renders_queued, then=Value(False)),
                default=F("render_detect"),
                output_field=models.BooleanField(),
            ),
        }

    def claim_render(self):
        """A worker takes the render up (Clip.render_claimed_at says why it is recorded)."""
        Clip.objects.filter(pk=self.pk).update(
            render_claimed_at=timezone.now(), render_attempts=F("render_attempts") + 1
        )

    def end_rendering(self, *, renders_queued, failure="", failure_code="", failure_params=None):
        """A render that swapped in no outputs (none were due, or it failed: `failure_code`
        and its params, or free `failure` text, say why, for staff on the review screen) is
        no longer announced; the status stays."""
        fields = {"rendering_queued": self._still_queued(renders_queued)}
        fields |= self._render_ended(renders_queued)
        if failure or failure_code:
            fields |= {
                "failure_reason": failure,
                "failure_code": failure_code,
                "failure_params": failure_params or {},
            }
        if Clip.objects.filter(pk=self.pk).update(**fields):
            self.refresh_from_db(
                fields=[
                    "rendering_queued",
                    "render_claimed_at",
                    "render_attempts",
                    "failure_reason",
                    "failure_code",
                    "failure_params",
                ]
            )

    @property
    def render_failure(self):
        """Why the last render of the outputs failed, if it did, in the active language (a
        failed clip's failure says why processing failed)."""
        if self.status in (self.Status.PROCESSING, self.Status.FAILED):
            return ""
        return self.failure_text

    def approve(self, *, by):
        if not self.has_consent():
            raise IllegalTransition(
                self,
                self.Status.PUBLISHED,
                self.status,
                gettext("The owner has not accepted the current licence terms yet."),
            )
        if self.status != self.Status.REVIEW:
            raise IllegalTransition(
                self,
                self.Status.PUBLISHED,
                self.status,
                self._refusal(self.Status.PUBLISHED, self.status),
            )
        if self.source == self.Source.EMAIL and not self.themes.exists():
            # A clip under no theme appears under no filter; the web form asks for one.
            raise IllegalTransition(
                self,
                self.Status.PUBLISHED,
                self.status,
                gettext("Choose at least one theme for this clip before publishing it."),
            )
        fields = {} if self.published_at else {"published_at": timezone.now()}
        # The public copies exist before anyone can see the clip listed.
        publish_files(self.media_names)
        try:
            self._transition(
                self.Status.PUBLISHED, allowed_from={self.Status.REVIEW}, by=by, **fields
            )
        except IllegalTransition:
            if Clip.objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists() is False:
                unpublish_files(self.media_names)
            raise
        signals.clip_published.send(sender=Clip, clip=self, by=by)

    def approve_featured(self, *, by):
        """Publish a clip in review and list it first in the gallery."""
        self.approve(by=by)
        self.set_featured(True, by=by)

    def reject(self, *, by, reason="", reason_code=""):
        """Refuse a clip in review; the owner is told why (a listed reason, free text, or both)."""
        reason_code, reason = self._check_reason(reason_code, reason)
        self._transition(
            self.Status.REJECTED,
            allowed_from={self.Status.REVIEW},
            by=by,
            reason=reason,
            reason_code=reason_code,
        )
        signals.clip_rejected.send(sender=Clip, clip=self, by=by, reason=self.decision_reason)

    def unpublish(self, *, by, reason="", reason_code=""):
        """Take a published clip off the site; like a rejection, it needs a reason."""
        reason_code, reason = self._check_reason(reason_code, reason)
        self._transition(
            self.Status.REJECTED,
            allowed_from={self.Status.PUBLISHED},
            by=by,
            reason=reason,
            reason_code=reason_code,
            featured=False,
        )
        names = self.media_names

        def remove():
            unpublish_files(names)
            prune_clip_folders(self.pk, names)

        transaction.on_commit(remove)
        signals.clip_rejected.send(sender=Clip, clip=self, by=by, reason=self.decision_reason)

    @staticmethod
    def _check_reason(reason_code, reason):
        reason = (reason or "").strip()
        if reason_code and reason_code not in RejectionReason.values:
            raise ValueError(f"unknown rejection reason {reason_code!r}")
        if not reason and reason_code in ("", RejectionReason.OTHER):
            raise ValueError("a rejection needs a reason")
        return reason_code, reason

    def withdraw(self, *, by=None, reason=""):
        """The owner takes the clip back: off the site, media deleted."""
        self._transition(
            self.Status.WITHDRAWN,
            allowed_from=set(self.Status) - {self.Status.WITHDRAWN},
            by=by,
            reason=reason,
            featured=False,
        )
        self.delete_media(original=True)
        signals.clip_withdrawn.send(sender=Clip, clip=self, by=by)

    def has_consent(self):
        # The submission (a lazily declared relation) knows the owner's consent;
        # clips without one (demo data) need none.
        submission = getattr(self, "submission", None)
        return submission is None or submission.has_current_consent()

    @property
    def shows_telemetry(self):
        """The strip under the player: the owner turned it on and staff did not hide it."""
        return bool(self.telemetry) and self.telemetry_public and not self.telemetry_hidden

    def set_telemetry_public(self, public):
        """The owner's choice, from the status page."""
        Clip.objects.filter(pk=self.pk).update(telemetry_public=public)
        self.telemetry_public = public
        if self.status == self.Status.PUBLISHED:
            signals.catalogue_changed.send(sender=Clip)

    def set_featured(self, featured, *, by=None):
        """Feature a published clip (or stop): it is listed first in the gallery."""
        if featured and self.status != self.Status.PUBLISHED:
            raise IllegalTransition(
                self, self.status, self.status, gettext("Only a published clip can be featured.")
            )
        Clip.objects.filter(pk=self.pk).update(featured=featured)
        self.featured = featured
        signals.catalogue_changed.send(sender=Clip)

    def delete_media(self, *, original=False):
        """Delete the stored files (after commit, so a rollback loses nothing)."""
        public = [name for name in self.media_names]
        private = self.originals if original else []
        if private and Clip.objects.filter(original=private[0]).exclude(pk=self.pk).exists():
            private = []  # another clip was made of the same upload: it keeps its original
        cleared = {"video": "", "video_hd": "", "poster": "", "thumbnails": [], "mosaic": ""}
        if original:
            cleared["original"] = ""
            self.angles.update(originals=[])
        Clip.objects.filter(pk=self.pk).update(**cleared)
        self.angles.update(video="")
        for name, value in cleared.items():
            setattr(self, name, value)
        # Their files are in `public`, deleted below.
        self.captions.all().delete()

        def remove():
            hidden = private_storage()
            unpublish_files(public)
            for name in public + private:
                hidden.delete(name)
            prune_clip_folders(self.pk, public + private)

        transaction.on_commit(remove)


def left_out_sentences(left_out):
    """A sentence per camera of `left_out` ([[camera, MediaError code]]), in the active
    language."""
    notes = []
    for camera, why in left_out:
        label = Camera(camera).label if camera in Camera.values else camera
        if why == "cut_off":
            text = gettext(
                "The “%(camera)s” camera was left out: its recording was cut off and could "
                "not be saved. The clip is made of the other cameras."
            )
        else:
            text = gettext(
                "The “%(camera)s” camera was left out: its file is damaged or cannot be "
                "read. The clip is made of the other cameras."
            )
        notes.append(text % {"camera": label})
    return notes


# The reason_code of a transition to review that left cameras out of a dashcam event
# (reason_params {"left_out": Clip.left_out}): staff read why in their language.
LEFT_OUT = "left_out"


class ClipAngle(models.Model):
    """One camera of a dashcam event: its minutes (private originals) and its rendition.

    The leading angle (order 0, the front camera when sent) shares the clip's own video.
    """

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="angles")
    camera = models.CharField(_("camera"), max_length=20, choices=Camera)
    order = models.PositiveSmallIntegerField(default=0)
    # Private storage names of the camera's minutes, in order.
    originals = models.JSONField(default=list, blank=True, editable=False)
    video = models.FileField(blank=True, editable=False)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("angle")
        verbose_name_plural = _("angles")
        constraints = [
            models.UniqueConstraint(fields=["clip", "camera"], name="clip_angle_once"),
            models.CheckConstraint(
                condition=Q(camera__in=Camera.values), name="clip_angle_camera_valid"
            ),
        ]

    def __str__(self):
        return self.get_camera_display()

    @property
    def url(self):
        # Through the clip: a preview swaps its clip's storage for the private one.
        return self.clip._url(self.video.name) if self.video else ""

    @property
    def review_url(self):
        return private_storage().url(self.video.name) if self.video else ""


class BlurringChange(models.Model):
    """Staff turned a clip's blurring of faces and plates off or on: who, when and why."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="blurring_changes")
    on = models.BooleanField(_("blurring on"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("blurring change")
        verbose_name_plural = _("blurring changes")

    def __str__(self):
        return f"{self.clip_id} {'on' if self.on else 'off'} {self.at:%Y-%m-%d %H:%M}"


class ClipTransition(models.Model):
    """One recorded change of a clip's status: who, when, from, to and why."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=Clip.Status)
    to_status = models.CharField(max_length=12, choices=Clip.Status)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(default=timezone.now)
    # A listed rejection reason; for a clip that failed, the failure's code
    # (gallery/failures.py), and for one that left cameras out, LEFT_OUT; with their
    # parameters. Put in words when read (reason_text).
    reason_code = models.CharField(max_length=20, choices=RejectionReason, blank=True)
    reason_params = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        # The campaign dashboard counts decisions per day.
        indexes = [models.Index(fields=["to_status", "at"], name="transition_decisions")]
        verbose_name = pgettext_lazy("status change", "transition")
        verbose_name_plural = pgettext_lazy("status change", "transitions")

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"

    @property
    def reason_text(self):
        """The listed reason (or failure) in the active language, then the free text."""
        if self.reason_code in failures.MESSAGES:
            listed = failures.describe(self.reason_code, self.reason_params)
        elif self.reason_code == LEFT_OUT:
            listed = "\n".join(left_out_sentences(self.reason_params.get("left_out", [])))
        else:
            listed = RejectionReason(self.reason_code).label if self.reason_code else ""
        if self.reason_code == RejectionReason.OTHER:
            listed = ""
        return "\n".join(part for part in (str(listed), self.reason) if part)


class Caption(models.Model):
    """Subtitles of a clip in one language (a WebVTT file), added by staff."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="captions")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    label = models.CharField(
        _("label"),
        max_length=60,
        blank=True,
        help_text=_("Shown in the player's subtitle menu; the language's own name when empty."),
    )
    # Stored privately like the renditions; copied to public storage while the clip is published.
    file = models.FileField(
        _("WebVTT file"),
        storage=private_storage,
        upload_to=caption_path,
        max_length=200,
        validators=[validate_webvtt],
    )

    class Meta:
        ordering = ["language"]
        verbose_name = _("caption")
        verbose_name_plural = _("captions")
        constraints = [
            models.UniqueConstraint(
                fields=["clip", "language"],
                name="caption_one_per_language",
                violation_error_message=_("This clip already has captions in this language."),
            ),
            models.CheckConstraint(
                condition=Q(language__in=[code for code, _name in settings.LANGUAGES]),
                name="caption_language_valid",
            ),
        ]

    def __str__(self):
        return self.display_label

    @property
    def display_label(self):
        return self.label or language_name(self.language)

    @property
    def public_url(self):
        return storages["default"].url(self.file.name)


def theme_counts():
    """Themes with the number of published clips in each (kept on the row, not counted)."""
    return Theme.objects.order_by("order", "slug")


def count_in_themes(clip_id, delta, theme_ids=None):
    """Add `delta` to the kept counts of the clip's themes (or of `theme_ids`)."""
    if theme_ids is None:
        theme_ids = Clip.themes.through.objects.filter(clip_id=clip_id).values("theme_id")
    Theme.objects.filter(pk__in=theme_ids).update(published_count=F("published_count") + delta)


def recount_themes():
    """Count every theme's published clips again: after rows were written in bulk."""
    published = Clip.themes.through.objects.filter(
        theme_id=OuterRef("pk"), clip__status=Clip.Status.PUBLISHED
    )
    Theme.objects.update(
        published_count=Coalesce(
            Subquery(
                published.values("theme_id").annotate(n=Count("pk")).values("n"),
                output_field=models.PositiveIntegerField(),
            ),
            0,
        )
    )


def _is_published(clip_id):
    return Clip.objects.filter(pk=clip_id, status=Clip.Status.PUBLISHED).exists()


@receiver(m2m_changed, sender=Clip.themes.through, dispatch_uid="gallery-theme-counts")
def keep_theme_counts(sender, instance, action, reverse, pk_set, **kwargs):
    """A published clip given or taken a theme moves that theme's kept count."""
    if reverse:  # a theme's clips were changed (rare, by staff): count that theme again
        if action.startswith("post_"):
            published = sender.objects.filter(
                theme_id=instance.pk, clip__status=Clip.Status.PUBLISHED
            ).count()
            Theme.objects.filter(pk=instance.pk).update(published_count=published)
        return
    if not _is_published(instance.pk):
        return
    if action == "post_add" and pk_set:  # pk_set holds only the themes really added
        count_in_themes(instance.pk, +1, theme_ids=pk_set)
    elif action == "pre_remove" and pk_set:
        linked = sender.objects.filter(clip_id=instance.pk, theme_id__in=pk_set)
        count_in_themes(instance.pk, -1, theme_ids=list(linked.values_list("theme_id", flat=True)))
    elif action == "pre_clear":
        count_in_themes(instance.pk, -1)


# Set while deleting() has lowered the counts of the clips being deleted.
_counted_out = contextvars.ContextVar("clips_counted_out", default=False)


@contextlib.contextmanager
def deleting(clips):
    """Delete `clips` (a queryset) inside: their themes' kept counts lowered in one query,
    their files looked up together, the cached pages retired once when it commits; a few
    queries in all, not a few a clip (the admin deletes hundreds at once)."""
    if _counted_out.get():  # an outer deletion counted these out too
        yield
        return
    with transaction.atomic(), deletion.together(), bumps_coalesced():
        per_theme = dict(
            Clip.themes.through.objects.filter(clip__in=clips, clip__status=ClipStatus.PUBLISHED)
            .values_list("theme_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        if per_theme:
            lowered = Case(*(When(pk=pk, then=Value(n)) for pk, n in per_theme.items()))
            Theme.objects.filter(pk__in=per_theme).update(
                published_count=F("published_count") - lowered
            )
        token = _counted_out.set(True)
        try:
            yield
        finally:
            _counted_out.reset(token)


@receiver(pre_delete, sender=Clip, dispatch_uid="gallery-theme-counts-delete")
def uncount_deleted_clip(sender, instance, **kwargs):
    if _counted_out.get():
        return
    if _is_published(instance.pk):
        count_in_themes(
            instance.pk, -1, theme_ids=list(instance.themes.values_list("pk", flat=True))
        )


@receiver(pre_delete, sender=Clip, dispatch_uid="gallery-clip-files-delete")
def delete_files_with_clip(sender, instance, **kwargs):
    """A deleted clip (one or many at once in the admin) takes its files along once the
    deletion commits: outputs, captions, angles, mosaic, originals; not those another row
    still names (clips of one upload share its original)."""
    delete_after_commit([*instance.media_names, *instance.originals], f"clips/{instance.pk}")


class PlayDay(models.Model):
    """How many times a clip was played on one day: a count, nothing about who played it."""

    # Looked up by (clip, day), which the unique constraint indexes: no index of its own.
    clip = models.ForeignKey(
        Clip, on_delete=models.CASCADE, related_name="play_days", db_index=False
    )
    day = models.DateField()
    plays = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily plays")
        verbose_name_plural = _("daily plays")
        constraints = [
            models.UniqueConstraint(fields=["clip", "day"], name="play_day_once_per_clip"),
        ]
        # The ranking and the staff's weekly charts read a range of days for every clip.
        indexes = [models.Index(fields=["day", "clip", "plays"], name="play_day_range")]

    def __str__(self):
        return f"{self.clip_id} {self.day}: {self.plays}"
