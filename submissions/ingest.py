"""Clips e-mailed to the submission address.

Every message, whichever way it came (IMAP, a file, stdin, a provider's webhook), goes
through `receive`: its raw bytes are kept and an InboundEmail recorded before anything
else, once per message. `process` (run by the task) then turns the videos it holds into
clips in processing and answers the sender.
"""

import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from gallery import media
from gallery.models import Clip, Theme
from gallery.processing import media_error_message, probe_limits, recovery_message
from gallery.storage import private_storage
from gallery.tasks import process_clip
from submissions import parse, replies
from submissions.intake import store_original
from submissions.models import InboundEmail, Submission, inbound_raw_path

log = logging.getLogger(__name__)

# Bounds on what one message may cost: parts probed, clips made.
MAX_PARTS_PROBED = 20
MAX_CLIPS_PER_MESSAGE = 10
VIDEO_SUFFIXES = {
    ".mp4", ".m4v", ".mov", ".qt", ".webm", ".mkv", ".avi", ".3gp", ".3g2", ".mts", ".m2ts",
    ".ts", ".mpg", ".mpeg", ".wmv", ".asf", ".flv", ".ogv",
}  # fmt: skip


# --------------------------------------------------------------------------- receive


def receive(raw: bytes, *, via: str) -> InboundEmail:
    """Record one message (once, however often it arrives) and queue its processing.

    Returns its InboundEmail; `.newly_received` tells a first arrival from a repeat.
    """
    checksum = parse.sha256(raw)
    head = parse.summary(raw)
    existing = InboundEmail.objects.filter(message_id=head.message_id, sha256=checksum).first()
    if existing is not None:
        return _seen_again(existing)
    name, saved = store_raw(raw, checksum)
    with transaction.atomic():
        inbound, created = InboundEmail.objects.get_or_create(
            message_id=head.message_id,
            sha256=checksum,
            defaults={
                "sender": head.sender,
                "subject": head.subject,
                "via": via[:30],
                "size": len(raw),
                "raw": name,
            },
        )
        if created:
            transaction.on_commit(lambda: enqueue(inbound.pk))
    if not created:
        # Another process recorded it between our look and our write.
        if saved and name != inbound.raw.name:
            private_storage().delete(name)
        return _seen_again(inbound)
    log.info("inbound e-mail %s received via %s from %s", inbound.pk, via, head.sender or "?")
    inbound.newly_received = True
    return inbound


def _seen_again(inbound):
    log.info("inbound e-mail %s arrived again; recorded once", inbound.pk)
    if inbound.status == InboundEmail.Status.RECEIVED:
        # Its first task may have been lost with the process that recorded it; a second
        # run does nothing if the first one finished.
        transaction.on_commit(lambda: enqueue(inbound.pk))
    inbound.newly_received = False
    return inbound


def enqueue(inbound_id):
    from submissions.tasks import process_inbound_email

    process_inbound_email.enqueue(inbound_id)


def store_raw(raw: bytes, checksum: str):
    """Keep the raw message privately under a name made from its checksum.

    Returns (name, saved): `saved` is False when an identical copy was already there.
    """
    storage = private_storage()
    name = inbound_raw_path(checksum)
    if storage.exists(name):
        if storage.size(name) == len(raw):
            return name, False
        storage.delete(name)  # a copy cut short by a crash
    return storage.save(name, ContentFile(raw)), True


# --------------------------------------------------------------------------- process


@dataclass
class Problem:
    """An attachment we could not use, and why (a MediaError code or "too_big")."""

    label: str
    code: str

    def message(self):
        if self.code == "too_big":
            return gettext("This file is too large: at most %(size)s.") % {
                "size": filesizeformat(settings.MAX_UPLOAD_BYTES)
            }
        return media_error_message(media.MediaError(self.code))


@dataclass
class Video:
    attachment: parse.Attachment
    path: Path
    stored: str = ""


def process(inbound_id):
    """Turn one received message into clips (or record why not) and answer its sender.

    Safe to run twice: the record leaves "received" exactly once, under a row lock.
    """
    inbound = InboundEmail.objects.filter(pk=inbound_id).first()
    if inbound is None or inbound.status != InboundEmail.Status.RECEIVED:
        log.info("inbound e-mail %s is not waiting for processing", inbound_id)
        return
    videos = []
    committed = False
    try:
        with tempfile.TemporaryDirectory(prefix="inbound-") as tmp:
            parsed = parse.parse(read_raw(inbound), trusted_authserv_ids=trusted_authserv_ids())
            problems, ignored = [], []
            if not ignore_reason(inbound, parsed):
                videos, problems, ignored = examine(parsed, Path(tmp))
            for index, video in enumerate(videos):
                video.stored = store_original(
                    video.path, name=original_name(video.attachment, index)
                )
            committed = record(inbound, parsed, videos, problems, ignored)
    except Exception as error:
        if isinstance(error, parse.Unreadable):
            log.warning("inbound e-mail %s refused: %s", inbound_id, error)
        else:
            log.exception("inbound e-mail %s could not be processed", inbound_id)
        if not committed:
            _forget(videos)
            with transaction.atomic():
                locked = InboundEmail.objects.select_for_update().filter(pk=inbound_id).first()
                if locked is not None:
                    reason = (
                        str(error)
                        if isinstance(error, parse.Unreadable)
                        else f"{type(error).__name__}: {error}"
                    )
                    locked.mark_failed(reason)
        return
    if not committed:
        _forget(videos)


def read_raw(inbound):
    if not inbound.raw:
        raise FileNotFoundError("the raw message is no longer stored")
    with inbound.raw.open("rb") as fh:
        return fh.read()


def trusted_authserv_ids():
    return [name.strip() for name in settings.MAIL_AUTHSERV_ID.split(",") if name.strip()]


def examine(parsed, folder):
    """Probe every attachment by its content: (videos, problems, ignored labels)."""
    videos, problems, ignored = [], [], []
    cut_off = []
    for index, attachment in enumerate(parsed.attachments):
        label = attachment.filename or attachment.content_type
        if index >= MAX_PARTS_PROBED or len(videos) >= MAX_CLIPS_PER_MESSAGE:
            ignored.append(label)
            continue
        if attachment.size > settings.MAX_UPLOAD_BYTES:
            problems.append(Problem(label, "too_big"))
            continue
        path = folder / f"part-{index}{original_suffix(attachment)}"
        path.write_bytes(attachment.data)
        try:
            media.probe(path, **probe_limits())
        except media.MediaError as error:
            if error.code == "cut_off":
                cut_off.append(Video(attachment, path))  # a sibling may rebuild it below
                continue
            if error.code == "not_video" and not claims_video(attachment):
                ignored.append(label)  # a signature logo, a PDF: not meant as a clip
            else:
                problems.append(Problem(label, error.code))
            path.unlink()
            continue
        videos.append(Video(attachment, path))
    if cut_off:
        rescued, unsaved = rescue_cut_off(cut_off, videos)
        videos += rescued[: max(0, MAX_CLIPS_PER_MESSAGE - len(videos))]
        problems += unsaved
    return videos, problems, ignored


def rescue_cut_off(cut_off, healthy):
    """Rebuild cut-off recordings from a healthy file of the same camera sent alongside.

    Returns (rescued videos, problems for those that could not be saved).
    """
    paths = [v.path for v in cut_off + healthy]
    names = {v.path: v.attachment.filename or v.path.name for v in cut_off + healthy}
    rescued, unsaved = [], []
    for video, (_, recovery) in zip(
        cut_off, media.recover_with_siblings(paths, names=names), strict=True
    ):
        label = video.attachment.filename or video.attachment.content_type
        try:
            if recovery is None:
                raise media.MediaError("cut_off")
            media.probe(recovery.path, **probe_limits())
        except media.MediaError as error:
            unsaved.append(Problem(label, error.code))
            video.path.unlink(missing_ok=True)
            continue
        recovery.path.replace(video.path)
        log.info("%s: %s", label, recovery_message(recovery))
        rescued.append(video)
    return rescued, unsaved


def claims_video(attachment):
    suffix = Path(attachment.filename).suffix.lower() if attachment.filename else ""
    return attachment.content_type.startswith("video/") or suffix in VIDEO_SUFFIXES


def original_suffix(attachment):
    """The file's own suffix if it names a video, else one guessed from its first bytes."""
    suffix = Path(attachment.filename).suffix.lower() if attachment.filename else ""
    if suffix in VIDEO_SUFFIXES:
        return suffix
    head = attachment.data[:16]
    if head[4:8] == b"ftyp":
        return ".mov" if head[8:12] == b"qt  " else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".mkv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    return ".bin"


def original_name(attachment, index):
    return f"email-{index}{original_suffix(attachment)}"


def _forget(videos):
    for video in videos:
        if video.stored:
            private_storage().delete(video.stored)


def record(inbound, parsed, videos, problems, ignored):
    """Write the outcome in one transaction; False if another run got there first."""
    language = parsed.language or settings.LANGUAGE_CODE
    checks = {
        "language": language,
        "spf": parsed.authentication.spf,
        "dkim": parsed.authentication.dkim,
        "dmarc": parsed.authentication.dmarc,
    }
    notes = describe(problems, ignored, parsed.defects)
    with transaction.atomic():
        locked = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
        if locked.status != InboundEmail.Status.RECEIVED:
            return False
        skip = ignore_reason(locked, parsed)
        if skip:
            locked.mark_ignored(skip, **checks)
            # Another copy was handled while this one was being examined.
            transaction.on_commit(lambda: _forget(videos))
            return True
        if videos:
            submission = create_submission(parsed, videos, language=language)
            reason = "\n".join(
                [
                    ngettext("%(count)d clip imported.", "%(count)d clips imported.", len(videos))
                    % {"count": len(videos)},
                    *notes,
                ]
            )
            kind = "receipt"
            locked.mark_processed(submission=submission, reason=reason, **checks)
        else:
            reason = "\n".join([gettext("No usable video."), *notes])
            kind = "no_video"
            locked.mark_ignored(reason, **checks)
        why_not = reply_refusal(locked, parsed)
        if why_not:
            log.info("inbound e-mail %s: no reply (%s)", locked.pk, why_not)
        else:
            now = timezone.now()
            InboundEmail.objects.filter(pk=locked.pk).update(reply=kind, replied_at=now)
            transaction.on_commit(
                lambda: replies.send_reply(
                    locked.pk, kind, problems=problems, references=parsed.references
                ),
                robust=True,
            )
    return True


def ignore_reason(inbound, parsed):
    """Why the message must not become clips whatever it holds, or ""."""
    if parsed.automatic:
        return gettext("Automatic message (%(why)s).") % {"why": parsed.automatic}
    if not parsed.sender:
        return gettext("The message has no sender address.")
    earlier = earlier_copy(inbound)
    if earlier is not None:
        return gettext("The same message (Message-ID) was already handled as #%(pk)s.") % {
            "pk": earlier.pk
        }
    return ""


def describe(problems, ignored, defects):
    notes = [f"{p.label}: {p.message()}" for p in problems]
    if ignored:
        notes.append(gettext("Not videos, ignored: %(names)s") % {"names": ", ".join(ignored)})
    if defects:
        notes.append(
            gettext("Damaged MIME structure: %(defects)s") % {"defects": ", ".join(defects)}
        )
    return notes


def earlier_copy(inbound):
    """Another copy of the same message already handled (e.g. from two routes), or None."""
    if inbound.message_id_derived:
        return None
    return (
        InboundEmail.objects.filter(message_id=inbound.message_id, sender=inbound.sender)
        .exclude(pk=inbound.pk)
        .filter(status__in=[InboundEmail.Status.PROCESSED, InboundEmail.Status.IGNORED])
        .order_by("pk")
        .first()
    )


def create_submission(parsed, videos, *, language):
    submission = Submission.objects.create(
        email=parsed.sender, language=language, source=Submission.Source.EMAIL
    )
    themes = list(Theme.objects.filter(slug__in=parsed.themes))
    for index, video in enumerate(videos):
        clip = Clip.objects.create(
            title=clip_title(parsed, video.attachment, index, len(videos)),
            description=parsed.description,
            credit_name=parsed.credit_name,
            language=language,
            source=Clip.Source.EMAIL,
            submission=submission,
            original=video.stored,
        )
        if themes:
            clip.themes.set(themes)
        # Robust: the clips exist once this commits; the watchdog requeues a lost task.
        transaction.on_commit(lambda pk=clip.pk: process_clip.enqueue(pk), robust=True)
    return submission


def clip_title(parsed, attachment, index, count):
    title = parsed.title or attachment.stem or gettext("Clip sent by e-mail")
    if parsed.title and count > 1:
        title = f"{title} ({index + 1}/{count})"
    return title[:120]


def reply_refusal(inbound, parsed):
    """Why no automatic reply may go to this sender now, or ""."""
    if parsed.no_reply:
        return parsed.no_reply
    ours = {
        parseaddr(settings.SUBMISSION_ADDRESS)[1].lower(),
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower(),
    }
    if parsed.sender in ours:
        return "sent from our own address"
    since = timezone.now() - timedelta(hours=1)
    if (
        InboundEmail.objects.replies_to(parsed.sender, since=since).count()
        >= settings.MAIL_REPLIES_PER_HOUR
    ):
        return f"already {settings.MAIL_REPLIES_PER_HOUR} replies to this sender within the hour"
    return ""
