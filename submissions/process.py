"""Turn a received e-mail into a submission, or a refusal with its reason; answer the sender.

receive (receive.py) -> parse -> route -> unpack -> probe -> Submission.objects.create_with_clips
-> reply. Run by the `process_inbound_email` task; safe to run twice.
"""

import io
import logging
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext, ngettext

from gallery import geotags, telemetry
from infra.storage import private_storage
from submissions import dashcam, parse, probe, reply, route, unpack
from submissions.models import ClipDraft, InboundEmail, Submission
from submissions.receive import store_original

log = logging.getLogger(__name__)


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
            problems, ignored, found, sentry, located = [], [], {}, set(), False
            if not route.ignore_reason(inbound, parsed):
                pieces = list(unpack.unpack(parsed.parts))
                # A phone's geotag in any video, kept or refused, holds a place too.
                located = dashcam.carries_place(pieces) or any(map(geotagged, pieces))
                pieces, sentry = dashcam.set_aside(pieces)
                found = unpack.found_inside(pieces)
                videos, problems, ignored = probe.examine(pieces, Path(tmp))
                # The car's telemetry may carry its position: such a message is not kept
                # either (its clips' originals are rewritten without it).
                located = located or any(telemetry.carries_location(v.path) for v in videos)
            for index, video in enumerate(videos):
                video.stored = store_original(
                    video.path, name=probe.original_name(video.piece, index)
                )
            committed = record(
                inbound, parsed, videos, problems, ignored, found=found, sentry=sentry
            )
    except Exception as error:
        if isinstance(error, parse.Unreadable):
            log.warning(
                "inbound e-mail %s refused: %s",
                inbound_id,
                error.code,
                exc_info=error.code == "undecodable",
            )
        else:
            log.exception("inbound e-mail %s could not be processed", inbound_id)
        if not committed:
            _forget(videos)
            fail(inbound, error)
        return
    if not committed:
        _forget(videos)
    elif located:
        # A dashcam event.json, or the car's telemetry, holds its position: the message is
        # not kept for the retention period like others (what it made of it is recorded).
        inbound.delete_raw()


def geotagged(piece):
    """Whether an attached video holds its container geotag (gallery/geotags.py)."""
    if piece.data:
        return bool(geotags.find_geotags(io.BytesIO(piece.data)))
    return piece.path is not None and geotags.carries_geotags(piece.path)


def fail(inbound, error):
    """Record why the message failed; tell the sender of one we could not read how to send
    the clip instead (nothing a user sent is lost unsaid)."""
    head = unreadable_head(inbound, error)
    with transaction.atomic():
        locked = InboundEmail.objects.select_for_update().filter(pk=inbound.pk).first()
        if locked is None:
            return
        with translation.override(settings.STAFF_LANGUAGE_CODE):  # for staff (see record)
            reason = failure_reason(error)
        if head is None:
            locked.mark_failed(reason)
            return
        checks = {
            "language": head.language or route.sender_language(head.sender),
            "spf": head.authentication.spf,
            "dkim": head.authentication.dkim,
            "dmarc": head.authentication.dmarc,
        }
        if locked.mark_failed(reason, **checks):
            reply.answer(locked, head, "unreadable")


def unreadable_head(inbound, error):
    """What the headers of a message refused as unreadable say (parse.headers_only), or None
    for any other failure (ours: a missing file, the database) or headers beyond reading."""
    if not isinstance(error, parse.Unreadable):
        return None
    try:
        return parse.headers_only(read_raw(inbound), trusted_authserv_ids=trusted_authserv_ids())
    except Exception:
        log.exception("inbound e-mail %s: its headers could not be read either", inbound.pk)
        return None


def failure_reason(error):
    if not isinstance(error, parse.Unreadable):
        return f"{type(error).__name__}: {error}"
    if error.code == "too_many_parts":
        return (
            gettext("This message has too many parts (%(count)s; at most %(max)s).") % error.params
        )
    if error.code == "undecodable":
        return gettext("This message could not be read (%(error)s).") % error.params
    return gettext("This message is nested too deeply to be read.")


def read_raw(inbound):
    if not inbound.raw:
        raise FileNotFoundError("the raw message is no longer stored")
    with inbound.raw.open("rb") as fh:
        return fh.read()


def trusted_authserv_ids():
    return [name.strip() for name in settings.MAIL_AUTHSERV_ID.split(",") if name.strip()]


def _forget(videos):
    for video in videos:
        if video.stored:
            private_storage().delete(video.stored)


def record(inbound, parsed, videos, problems, ignored, *, found=None, sentry=()):
    """Write the outcome in one transaction; False if another run got there first.

    Its reasons are notes for staff: in settings.STAFF_LANGUAGE_CODE (the site's), whatever
    language the worker or the request that runs it speaks; the reply speaks the sender's.
    """
    found = found or {}
    # The message's own language, else the sender's earlier one; "" (then French) if neither.
    language = parsed.language or route.sender_language(parsed.sender)
    checks = {
        "language": language,
        "spf": parsed.authentication.spf,
        "dkim": parsed.authentication.dkim,
        "dmarc": parsed.authentication.dmarc,
    }
    owner = language or settings.LANGUAGE_CODE
    clips = drafts(parsed, videos, sentry=sentry, language=owner) if videos else []
    with translation.override(settings.STAFF_LANGUAGE_CODE):
        incomplete = cut_short(parsed, videos)
        # A file cut off in transit is said so once: what the video check or the MIME
        # parser found in its cut end is detail for the log, not another reason.
        checked, defects = _beside_the_cut(inbound, problems, parsed.defects, incomplete)
        notes = [*describe(checked, ignored, defects), *describe_found(found)]
        if incomplete:
            # First: the reason nothing (or not everything) could be used is the transit.
            notes[:0] = [describe_cut_short(incomplete)]
        outcome = {"draft": draft_of(parsed)}
        if inbound.attachments_announced is not None:
            outcome["attachments_arrived"] = len(parsed.parts)
            notes[:0] = describe_missing(inbound.attachments_announced, parsed.parts)
        with transaction.atomic():
            locked = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
            if locked.status != InboundEmail.Status.RECEIVED:
                return False
            skip = route.ignore_reason(locked, parsed)
            if skip:
                locked.mark_ignored(skip, **checks)
                # Another copy was handled while this one was being examined.
                transaction.on_commit(lambda: _forget(videos))
                return True
            if clips:
                submission = Submission.objects.create_with_clips(
                    email=parsed.sender,
                    language=owner,
                    source=Submission.Source.EMAIL,
                    clips=clips,
                )
                reason = "\n".join(
                    [
                        ngettext(
                            "%(count)d clip imported.", "%(count)d clips imported.", len(clips)
                        )
                        % {"count": len(clips)},
                        *notes,
                    ]
                )
                kind = "receipt"
                locked.mark_processed(submission=submission, reason=reason, **checks, **outcome)
            else:
                if incomplete:
                    reason = "\n".join([*notes[:1], gettext("No usable video."), *notes[1:]])
                    kind = "incomplete"
                else:
                    reason = "\n".join([gettext("No usable video."), *notes])
                    kind = "no_video"
                locked.mark_ignored(reason, **checks, **outcome)
            reply.answer(
                locked, parsed, kind, problems=problems, found=found, incomplete=incomplete
            )
    return True


def drafts(parsed, videos, *, sentry=(), language=None):
    """What the message says about each clip: one per video, or per dashcam event; a title
    the message does not give is written in `language` (the owner's), as it is public."""
    groups = dashcam.group(
        [video.piece.name for video in videos],
        folders=[video.piece.folder for video in videos],
        sentry_folders=sentry,
    )
    return [
        ClipDraft.of(
            group,
            [video.stored for video in videos],
            title=clip_title(parsed, videos[group.lead].piece, index, len(groups), language),
            description=parsed.description or gateway_text(parsed),
            themes=parsed.themes,
            credit_name=parsed.credit_name,
            left_out=probe.left_out_of(group, videos),
        )
        for index, group in enumerate(groups)
    ]


def describe(problems, ignored, defects):
    notes = [f"{p.label}: {p.message()}" for p in problems]
    if ignored:
        notes.append(gettext("Not videos, ignored: %(names)s") % {"names": ", ".join(ignored)})
    if defects:
        notes.append(
            gettext("Damaged MIME structure: %(defects)s") % {"defects": ", ".join(defects)}
        )
    return notes


def _beside_the_cut(inbound, problems, defects, incomplete):
    """(problems, defects) the cut does not explain; those it does are logged."""
    if not incomplete:
        return problems, defects
    cut = [problem for problem in problems if reply.in_cut_off(problem, incomplete)]
    explained = [d for d in defects if d in parse.CUT_OFF_DEFECTS | parse.CUT_PAYLOAD_DEFECTS]
    for problem in cut:
        log.info(
            "inbound e-mail %s: cut-off attachment %s: %s (%s)",
            inbound.pk,
            problem.label,
            problem.code,
            problem.details or "",
        )
    if explained:
        log.info("inbound e-mail %s: cut off in transit: %s", inbound.pk, ", ".join(explained))
    return (
        [problem for problem in problems if not reply.in_cut_off(problem, incomplete)],
        [d for d in defects if d not in explained],
    )


def cut_short(parsed, videos):
    """The attachments the message was cut off inside on its way (parse.cut_off) that gave no
    video: cut short, not bad files. One that still made a clip was whole after all (a
    client that left its last boundary open) or was recovered."""
    used = {(video.piece.inside or (video.piece.label,))[0] for video in videos}
    return [label for label in parsed.cut_off if label not in used]


def describe_cut_short(labels):
    """The first line for staff: the message arrived incomplete (the status stays Ignored or
    Processed; this says why)."""
    return gettext(
        "Arrived incomplete: the message was cut off on its way (its end is missing); "
        "cut-off attachment: %(names)s."
    ) % {"names": ", ".join(labels)}


def describe_found(found):
    return [
        gettext("Found in %(archive)s: %(names)s") % {"archive": archive, "names": ", ".join(names)}
        for archive, names in found.items()
    ]


def describe_missing(announced, parts):
    """A line for staff when fewer attachments arrived than the provider announced."""
    if len(parts) >= announced:
        return []
    names = ", ".join(part.label for part in parts) or "—"
    return [
        gettext(
            "Attachments missing: the provider announced %(announced)d; %(arrived)d arrived "
            "(%(names)s)."
        )
        % {"announced": announced, "arrived": len(parts), "names": names}
    ]


def draft_of(parsed):
    """What the message said, to fill the web form its personal link opens."""
    return {
        "title": message_title(parsed)[:120],
        "description": parsed.description or gateway_text(parsed),
        "themes": list(parsed.themes),
        "credit_name": parsed.credit_name,
        "shared_via": list(parsed.shared_via),
    }


# A phone number as the sender (+33612345678@mms.example): a carrier's MMS gateway.
PHONE_SENDER = re.compile(r"^\+?\d{6,15}$")
# Subjects that gateways and phones write themselves: not the owner's title.
GENERIC_SUBJECTS = {
    "", "mms", "multimedia message", "multimedia msg", "message multimedia",
    "message multimédia", "multimedia-nachricht", "mensaje multimedia", "messaggio multimediale",
    "no subject", "(no subject)", "sans objet", "(sans objet)", "kein betreff", "video", "vidéo",
}  # fmt: skip


def from_gateway(parsed):
    phone = PHONE_SENDER.match(parsed.sender.split("@")[0])
    return bool(phone) or any(part.content_type == "application/smil" for part in parsed.parts)


def gateway_text(parsed):
    """The words of an MMS: gateways send them as a text file beside the video."""
    if not from_gateway(parsed):
        return ""
    for part in parsed.parts:
        if part.content_type == "text/plain" and part.data:
            return " ".join(part.data[:2000].decode("utf-8", "replace").split())
    return ""


def message_title(parsed):
    """The owner's title: the subject, unless a phone or gateway wrote it; then the MMS text."""
    if parsed.title.strip().casefold() not in GENERIC_SUBJECTS:
        return parsed.title
    return gateway_text(parsed)[:120]


def clip_title(parsed, piece, index, count, language=None):
    given = message_title(parsed)
    with translation.override(language or translation.get_language()):
        title = given or piece.stem or gettext("Clip sent by e-mail")
    if given and count > 1:
        title = f"{title} ({index + 1}/{count})"
    return title[:120]
