"""Turn a received e-mail into a submission, or a refusal with its reason; answer the sender.

receive (receive.py) -> parse -> route -> unpack -> probe -> Submission.objects.create_with_clips
-> reply. Run by the `process_inbound_email` task; safe to run twice.
"""

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, ngettext

from infra.storage import private_storage
from submissions import parse, probe, reply, route, unpack
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
            problems, ignored = [], []
            if not route.ignore_reason(inbound, parsed):
                pieces = unpack.unpack(parsed.parts)
                videos, problems, ignored = probe.examine(pieces, Path(tmp))
            for index, video in enumerate(videos):
                video.stored = store_original(
                    video.path, name=probe.original_name(video.piece, index)
                )
            committed = record(inbound, parsed, videos, problems, ignored)
    except Exception as error:
        if isinstance(error, parse.Unreadable):
            log.warning("inbound e-mail %s refused: %s", inbound_id, error.code)
        else:
            log.exception("inbound e-mail %s could not be processed", inbound_id)
        if not committed:
            _forget(videos)
            with transaction.atomic():
                locked = InboundEmail.objects.select_for_update().filter(pk=inbound_id).first()
                if locked is not None:
                    locked.mark_failed(failure_reason(error))
        return
    if not committed:
        _forget(videos)


def failure_reason(error):
    if not isinstance(error, parse.Unreadable):
        return f"{type(error).__name__}: {error}"
    if error.code == "too_many_parts":
        return (
            gettext("This message has too many parts (%(count)s; at most %(max)s).") % error.params
        )
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


def record(inbound, parsed, videos, problems, ignored):
    """Write the outcome in one transaction; False if another run got there first."""
    # The message's own language, else the sender's earlier one; "" (then French) if neither.
    language = parsed.language or route.sender_language(parsed.sender)
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
        skip = route.ignore_reason(locked, parsed)
        if skip:
            locked.mark_ignored(skip, **checks)
            # Another copy was handled while this one was being examined.
            transaction.on_commit(lambda: _forget(videos))
            return True
        if videos:
            submission = Submission.objects.create_with_clips(
                email=parsed.sender,
                language=language or settings.LANGUAGE_CODE,
                source=Submission.Source.EMAIL,
                clips=drafts(parsed, videos),
            )
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
        reply.answer(locked, parsed, kind, problems=problems)
    return True


def drafts(parsed, videos):
    """What the message says about each clip: one per video."""
    return [
        ClipDraft(
            original=video.stored,
            title=clip_title(parsed, video.piece, index, len(videos)),
            description=parsed.description,
            themes=parsed.themes,
            credit_name=parsed.credit_name,
        )
        for index, video in enumerate(videos)
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


def clip_title(parsed, piece, index, count):
    title = parsed.title or piece.stem or gettext("Clip sent by e-mail")
    if parsed.title and count > 1:
        title = f"{title} ({index + 1}/{count})"
    return title[:120]
