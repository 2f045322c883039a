"""The owners' side: what they sent (Submission), the e-mails that reached us (InboundEmail).

Imports point one way: these models use gallery's models (a clip queues its own processing);
nothing in this app that imports the models is imported here. Our own tasks import the
models, never the reverse: the models announce work through signals.py instead.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from gallery.models import Clip, ClipAngle, Theme
from infra.storage import private_storage
from submissions import signals

STATUS_SALT = "submissions.status"
PERSONAL_LINK_SALT = "submissions.personal-link"
PERSONAL_LINK_DAYS = 7


def new_token():
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class ClipDraft:
    """One clip to make: its original, already in private storage, and what the owner said."""

    original: str
    title: str
    description: str = ""
    themes: tuple[str, ...] = ()  # theme slugs
    credit_name: str = ""
    credit_country: str = ""
    # A dashcam event: (camera, its minutes' stored originals in order), leading camera
    # first; `original` is the lead's first minute. Empty for an ordinary clip.
    angles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sentry: bool = False  # recorded by Sentry Mode: likely to show bystanders
    # Cameras of the event whose files could not be used: ((camera, MediaError code), ...).
    left_out: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, group, originals, **fields):
        """The clip a dashcam.Group makes of files stored as `originals` (by index)."""
        return cls(
            original=originals[group.lead],
            angles=tuple(
                (camera, tuple(originals[i] for i in indices)) for camera, indices in group.angles
            ),
            sentry=group.sentry,
            **fields,
        )

    @property
    def originals(self):
        names = [self.original]
        for _camera, minutes in self.angles:
            names += [name for name in minutes if name not in names]
        return names


class SubmissionManager(models.Manager):
    def create_with_clips(self, *, email, language, source, clips, consent=False):
        """The one way in: record a submission and its clips, queue their processing on commit.

        Every road calls it (the web form, a direct upload, an e-mail). `clips` are
        `ClipDraft`s; `consent` records the current licence terms. Should recording fail,
        their originals are deleted: nothing half-made stays behind.
        """
        try:
            with transaction.atomic():
                submission = self.create(email=email, language=language, source=source)
                if consent:
                    submission.give_consent()
                themes = {
                    draft.themes: list(Theme.objects.filter(slug__in=draft.themes))
                    for draft in clips
                    if draft.themes
                }
                for draft in clips:
                    clip = Clip.objects.create(
                        title=draft.title,
                        description=draft.description,
                        credit_name=draft.credit_name,
                        credit_country=draft.credit_country,
                        language=language,
                        source=Clip.Source(source),
                        submission=submission,
                        original=draft.original,
                        sentry=draft.sentry,
                        left_out=[list(pair) for pair in draft.left_out],
                    )
                    ClipAngle.objects.bulk_create(
                        ClipAngle(clip=clip, camera=camera, order=order, originals=list(minutes))
                        for order, (camera, minutes) in enumerate(draft.angles)
                    )
                    if draft.themes:
                        clip.themes.set(themes[draft.themes])
                    clip.queue_processing()
        except BaseException:
            for draft in clips:
                for name in draft.originals:
                    private_storage().delete(name)
            raise
        return submission


class Submission(models.Model):
    """What an owner sent, with their private data: never shown to visitors."""

    class Source(models.TextChoices):
        WEB = "web", _("Web form")
        EMAIL = "email", _("E-mail")

    email = models.EmailField(_("e-mail"))
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="fr")
    source = models.CharField(max_length=8, choices=Source, default=Source.WEB)
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    consent_version = models.CharField(max_length=20, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = SubmissionManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")

    def __str__(self):
        return f"#{self.pk} ({self.get_source_display()}, {self.created_at:%Y-%m-%d})"

    def has_current_consent(self):
        return bool(self.consented_at) and self.consent_version == settings.TERMS_VERSION

    def give_consent(self):
        self.consent_version = settings.TERMS_VERSION
        self.consented_at = timezone.now()
        self.save(update_fields=["consent_version", "consented_at"])

    @property
    def signed_token(self):
        return signing.Signer(salt=STATUS_SALT).sign(self.token)

    @classmethod
    def from_signed_token(cls, value):
        """The submission a status link points at, or None for a forged or unknown link."""
        try:
            token = signing.Signer(salt=STATUS_SALT).unsign(value)
        except signing.BadSignature:
            return None
        return cls.objects.filter(token=token).first()

    def authenticity_summary(self):
        """The sender checks (SPF, DKIM, DMARC) of the e-mail it came in; "" for the web form."""
        # .all(): staff lists prefetch the messages.
        for inbound in sorted(self.inbound_emails.all(), key=lambda m: m.received_at, reverse=True):
            if inbound.authenticity_summary:
                return inbound.authenticity_summary
        return ""

    def _clips_before_review_ends(self):
        # Once a moderator decided, what the public sees changes only through them.
        return self.clips.filter(
            status__in=[Clip.Status.PROCESSING, Clip.Status.REVIEW, Clip.Status.FAILED]
        )

    def set_credit(self, *, name, country):
        """The first name and country shown with its clips (an e-mail may not have said them)."""
        self._clips_before_review_ends().update(credit_name=name[:60], credit_country=country)

    @property
    def awaits_publication(self):
        """Whether a clip of it may still be published (its consent is asked before that)."""
        return self._clips_before_review_ends().exists()

    @property
    def awaits_consent(self):
        """Whether the licence terms still matter: a clip may be or is published."""
        return self.clips.filter(
            status__in=[
                Clip.Status.PROCESSING,
                Clip.Status.REVIEW,
                Clip.Status.FAILED,
                Clip.Status.PUBLISHED,
            ]
        ).exists()

    @property
    def needs_credit(self):
        """Whether a clip still waiting for review lacks the first name or country to show."""
        return (
            self._clips_before_review_ends()
            .filter(models.Q(credit_name="") | models.Q(credit_country=""))
            .exists()
        )

    def get_status_url(self, *, language=None):
        with translation.override(language or self.language):
            return reverse("submissions:status", kwargs={"token": self.signed_token})


class Throttle(models.Model):
    """One counted request for a rate limit (the key is a keyed hash of an address)."""

    scope = models.CharField(max_length=30)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "at"])]

    def __str__(self):
        return f"{self.scope} {self.at:%Y-%m-%d %H:%M}"


# Minutes after which a message still waiting for processing counts as stuck.
STUCK_MINUTES = 10


def _address_digest(address):
    """The address a personal link is bound to, without writing it in the link in clear."""
    return salted_hmac(PERSONAL_LINK_SALT, address.lower(), algorithm="sha256").hexdigest()[:24]


def inbound_raw_path(sha256):
    """Where a received message's raw bytes live: named by content, so a retry finds its file."""
    return f"inbound/{sha256[:2]}/{sha256}.eml"


class InboundEmailQuerySet(models.QuerySet):
    def replies_to(self, sender, *, since):
        """Messages from `sender` that we answered since `since` (for the hourly cap)."""
        return self.filter(sender=sender.lower(), replied_at__gte=since)

    def raw_expired(self, *, before):
        """Finished messages whose raw copy is older than the retention period."""
        return (
            self.exclude(status=InboundEmail.Status.RECEIVED)
            .exclude(raw="")
            .filter(processed_at__lt=before)
        )


class InboundEmail(models.Model):
    """One message that reached the submission address, recorded before anything else.

    The raw bytes stay in private storage until INBOUND_RETENTION_DAYS after processing;
    the row stays, with what became of the message.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    message_id = models.CharField(_("Message-ID"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    # How it came: imap, file, stdin, or the provider of a webhook.
    via = models.CharField(_("received through"), max_length=30)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    raw = models.FileField(_("raw message"), storage=private_storage, max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.RECEIVED, editable=False
    )
    reason = models.TextField(_("reason"), blank=True, editable=False)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True, editable=False)
    submission = models.ForeignKey(
        Submission,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_emails",
        verbose_name=_("submission"),
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    # Results of the receiving server's checks (Authentication-Results), e.g. "pass".
    spf = models.CharField("SPF", max_length=16, blank=True)
    dkim = models.CharField("DKIM", max_length=16, blank=True)
    dmarc = models.CharField("DMARC", max_length=16, blank=True)
    # How many attachments the provider said it sent (Mailgun's attachment-count), and how
    # many reached us: Django drops a posted file whose name is empty, silently.
    attachments_announced = models.PositiveSmallIntegerField(
        _("attachments announced"), null=True, blank=True, editable=False
    )
    attachments_arrived = models.PositiveSmallIntegerField(
        _("attachments arrived"), null=True, blank=True, editable=False
    )
    # What the message said (title, description, themes, first name), to fill the web form
    # its personal upload link opens when it carried no usable video.
    draft = models.JSONField(_("what the message said"), default=dict, blank=True, editable=False)
    # The automatic answer we sent ("receipt", "no_video", "incomplete", "unreadable"), for
    # the hourly cap.
    reply = models.CharField(_("reply"), max_length=20, blank=True, editable=False)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True, editable=False)

    objects = InboundEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")
        constraints = [
            models.UniqueConstraint(fields=["message_id", "sha256"], name="inbound_email_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=["received", "processed", "ignored", "failed"]),
                name="inbound_email_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["sender", "replied_at"], name="inbound_email_replies"),
            models.Index(fields=["status", "processed_at"], name="inbound_email_status"),
        ]

    def __str__(self):
        return f"{self.sender or '?'}: {self.subject or self.message_id}"

    @property
    def message_id_derived(self):
        """True when the message had no Message-ID and we made one from its checksum."""
        return self.message_id.endswith("@sha256.invalid>")

    @property
    def attachments_missing(self):
        """How many announced attachments never reached us (0 when none is known missing)."""
        if self.attachments_announced is None or self.attachments_arrived is None:
            return 0
        return max(self.attachments_announced - self.attachments_arrived, 0)

    # --- The personal upload link: signed, bound to the sender, single-use, 7 days. ---

    @property
    def personal_token(self):
        return signing.dumps(
            {"m": self.pk, "to": _address_digest(self.sender)}, salt=PERSONAL_LINK_SALT
        )

    def get_personal_link(self, *, language=None):
        with translation.override(language or self.language or settings.LANGUAGE_CODE):
            return reverse("submissions:personal", kwargs={"token": self.personal_token})

    @classmethod
    def from_personal_token(cls, value):
        """(message, "") for a valid unused link; else (None or the message, why not).

        Why not: "invalid" (altered or unknown), "expired", "used".
        """
        try:
            data = signing.loads(
                value, salt=PERSONAL_LINK_SALT, max_age=timedelta(days=PERSONAL_LINK_DAYS)
            )
        except signing.SignatureExpired:
            return None, "expired"
        except signing.BadSignature:
            return None, "invalid"
        if not isinstance(data, dict):
            return None, "invalid"
        inbound = cls.objects.filter(pk=data.get("m")).first()
        bound_to = str(data.get("to", ""))
        if not inbound or not inbound.sender or bound_to != _address_digest(inbound.sender):
            return None, "invalid"
        if inbound.submission_id is not None:
            return inbound, "used"
        return inbound, ""

    def attach_submission(self, submission):
        """Link the clip finished through the personal link; False if the link was used."""
        updated = InboundEmail.objects.filter(pk=self.pk, submission__isnull=True).update(
            submission=submission
        )
        if updated:
            self.submission = submission
        return bool(updated)

    @property
    def authenticity_summary(self):
        checks = (("SPF", self.spf), ("DKIM", self.dkim), ("DMARC", self.dmarc))
        return ", ".join(f"{name} {value}" for name, value in checks if value)

    # --- Status changes: only from "received" (and back, to reprocess). ---

    def _finish(self, status, *, reason="", **fields):
        """Leave "received" for good; False if another run finished it first."""
        now = timezone.now()
        fields |= {"status": status, "reason": reason[:4000], "processed_at": now}
        waiting = InboundEmail.objects.filter(pk=self.pk, status=self.Status.RECEIVED)
        updated = waiting.update(**fields)
        if updated:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(updated)

    def mark_processed(self, *, submission, reason="", **fields):
        return self._finish(self.Status.PROCESSED, submission=submission, reason=reason, **fields)

    def mark_ignored(self, reason, **fields):
        return self._finish(self.Status.IGNORED, reason=reason, **fields)

    def mark_failed(self, reason, **fields):
        return self._finish(self.Status.FAILED, reason=reason, **fields)

    @property
    def is_stuck(self):
        """Still waiting long after it came: its task was lost (e.g. a worker killed mid-run)."""
        waited = timezone.now() - self.received_at
        return self.status == self.Status.RECEIVED and waited > timedelta(minutes=STUCK_MINUTES)

    def queue_processing(self):
        """Announce, once this commits, that the message waits for processing (signals.py)."""
        transaction.on_commit(
            lambda: signals.inbound_email_waiting.send(sender=InboundEmail, inbound_id=self.pk)
        )

    def reprocess(self):
        """Send a failed message back to processing, or queue a stuck one again (on commit)."""
        if not self.raw:
            raise ValueError("the raw message was deleted")
        if self.is_stuck:
            # Safe even if its first task still runs: processing happens once.
            self.queue_processing()
            return True
        updated = InboundEmail.objects.filter(pk=self.pk, status=self.Status.FAILED).update(
            status=self.Status.RECEIVED, reason="", processed_at=None
        )
        if not updated:
            return False
        self.status, self.reason, self.processed_at = self.Status.RECEIVED, "", None
        self.queue_processing()
        return True

    def delete_raw(self):
        """Delete the stored raw message (retention); the row stays."""
        name = self.raw.name
        # What the message said (kept for its personal link) goes with it.
        InboundEmail.objects.filter(pk=self.pk).update(raw="", draft={})
        self.raw, self.draft = "", {}
        if name and not InboundEmail.objects.filter(raw=name).exists():
            transaction.on_commit(lambda: private_storage().delete(name))


# Replies about how a message travelled (it could not be read, it arrived cut off): said once
# to the sender whichever copy of it (same Message-ID, same sender) arrives or is processed
# again. The others answer what one copy held: once per copy.
REPLIES_PER_MESSAGE = {"unreadable", "incomplete"}


class SentReply(models.Model):
    """An automatic reply sent to a message's sender (reply.py): claimed in the transaction
    that records the message's outcome, so that however often the message is processed, and
    by however many workers at once, each kind of reply goes once."""

    inbound = models.ForeignKey(InboundEmail, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    # What is answered (see `key`): a message (all its copies), or one copy.
    key = models.CharField(max_length=80)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "kind"], name="sent_reply_once")]

    def __str__(self):
        return f"{self.kind} reply to inbound e-mail {self.inbound_id}"

    @staticmethod
    def key_of(inbound, kind):
        if kind in REPLIES_PER_MESSAGE and not inbound.message_id_derived:
            message = f"{inbound.message_id}\n{inbound.sender.lower()}"
            return "message:" + hashlib.sha256(message.encode("utf-8", "replace")).hexdigest()
        return f"inbound:{inbound.pk}"

    @classmethod
    def claim(cls, inbound, kind):
        """Record that a `kind` reply goes to this message's sender; False if one went before."""
        key = cls.key_of(inbound, kind)
        if cls.objects.filter(key=key, kind=kind).exists():
            return False
        try:
            with transaction.atomic():
                cls.objects.create(inbound=inbound, kind=kind, key=key)
        except IntegrityError:  # another worker claimed it meanwhile
            return False
        return True

    @classmethod
    def release(cls, inbound, kind):
        """Forget a claim whose reply could not be sent: nothing reached the sender."""
        cls.objects.filter(inbound=inbound, kind=kind, key=cls.key_of(inbound, kind)).delete()


class UploadClaim(models.Model):
    """An upload (named by a form token) that clips were made of: a token works once."""

    key = models.CharField(max_length=200, unique=True)
    # Filtered on by the hourly prune (kept.prune) and the resend window.
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # What the upload made: a second try is told where that submission's page is.
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return self.key
