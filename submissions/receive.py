"""Keep what arrived, privately, before anything else is done with it.

Every e-mail, whichever way it came (IMAP, a file, stdin, a provider's webhook), goes
through `receive`: its raw bytes are kept and an InboundEmail recorded, once per message,
and its processing queued (process.py). An owner's video file is kept by `store_original`,
without the place its phone or camera wrote in the container (gallery/geotags.py).
"""

import contextlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from gallery import geotags
from infra.storage import private_storage
from submissions import parse
from submissions.models import InboundEmail, inbound_raw_path

log = logging.getLogger(__name__)

# A raw copy of the wrong size this old was cut short by a crash; a younger one may still be
# being written by a delivery of the same message running in another process.
CUT_COPY_AGE = timedelta(minutes=15)


class Unavailable(Exception):
    """The database or the storage is down: nothing was recorded, try again later.

    The only failure a message's sender should wait out (a mail server's pipe keeps the
    message, the IMAP poller leaves it in the inbox); nothing in a message's content raises it.
    """


def receive(
    raw: bytes, *, via: str, envelope_sender: str | None = None, attachments_announced=None
) -> InboundEmail:
    """Record one message (once, however often it arrives) and queue its processing.

    `envelope_sender` is the SMTP sender as a relay gives it ("" for a bounce); it is kept
    as the Return-Path header a delivery agent writes. `attachments_announced`: how many
    attachments the provider said it sent, when it says. Returns its InboundEmail;
    `.newly_received` tells a first arrival from a repeat. Raises `Unavailable` when the
    database or storage is down.
    """
    if envelope_sender is not None:
        raw = with_return_path(raw, envelope_sender)
    checksum = parse.sha256(raw)
    head = parse.summary(raw)
    try:
        existing = InboundEmail.objects.filter(message_id=head.message_id, sha256=checksum).first()
    except (OperationalError, InterfaceError) as error:
        raise Unavailable(f"database: {error}") from error
    if existing is not None:
        return _seen_again(existing)
    try:
        name, saved = store_raw(raw, checksum)
    except Exception as error:  # a full disk, an unreachable bucket: never the message's bytes
        raise Unavailable(f"storage: {type(error).__name__}: {error}") from error
    try:
        inbound, created = _record(raw, head, checksum, name, via, attachments_announced)
    except BaseException as error:
        # No raw file without its row: the next delivery stores it again.
        if saved:
            with contextlib.suppress(Exception):
                private_storage().delete(name)
        if isinstance(error, (OperationalError, InterfaceError)):
            raise Unavailable(f"database: {error}") from error
        raise
    if not created:
        # Another process recorded it between our look and our write.
        if saved and name != inbound.raw.name:
            private_storage().delete(name)
        return _seen_again(inbound)
    if name != inbound_raw_path(checksum):
        drop_cut_copy(checksum)
    log.info("inbound e-mail %s received via %s from %s", inbound.pk, via, head.sender or "?")
    inbound.newly_received = True
    return inbound


def with_return_path(raw: bytes, envelope_sender: str) -> bytes:
    """The message as a final delivery agent hands it over: with the envelope sender on top."""
    if raw[:12].lower() == b"return-path:":
        return raw
    address = "".join(c for c in envelope_sender if c.isprintable() and c not in "<>\r\n ")
    return b"Return-Path: <" + address.encode("utf-8", "replace") + b">\r\n" + raw


def _record(raw, head, checksum, name, via, attachments_announced):
    fields = {
        "via": via[:30],
        "size": len(raw),
        "raw": name,
        "attachments_announced": attachments_announced,
    }
    try:
        return _create(
            head.message_id, checksum, fields | {"sender": head.sender, "subject": head.subject}
        )
    except (OperationalError, InterfaceError):
        raise
    except DatabaseError:
        # Something in what the headers said that this database refuses: the message is
        # recorded all the same, under its checksum, and read in full by the processing.
        log.exception("inbound e-mail recorded without its headers' summary")
        return _create(parse.derived_message_id(checksum), checksum, fields)


def _create(message_id, checksum, fields):
    with transaction.atomic():
        inbound, created = InboundEmail.objects.get_or_create(
            message_id=message_id, sha256=checksum, defaults=fields
        )
        if created:
            inbound.queue_processing()
    return inbound, created


def _seen_again(inbound):
    log.info("inbound e-mail %s arrived again; recorded once", inbound.pk)
    if inbound.status == InboundEmail.Status.RECEIVED:
        # Its first task may have been lost with the process that recorded it; a second
        # run does nothing if the first one finished.
        inbound.queue_processing()
    inbound.newly_received = False
    return inbound


def store_raw(raw: bytes, checksum: str):
    """Keep the raw message privately under a name made from its checksum.

    Returns (name, saved): `saved` is False when a whole copy was already there. A copy of
    the wrong size is never touched here: it may be another delivery's, still being written
    (deleting it would fail that delivery). This one is then kept under a name of its own
    (the storage's available-name suffix); once its record is made, `drop_cut_copy` removes
    the other copy if a crash left it. Raises what the storage raises (OSError, the S3
    client's errors).
    """
    storage = private_storage()
    name = inbound_raw_path(checksum)
    if storage.exists(name) and storage.size(name) == len(raw):
        return name, False
    return storage.save(name, ContentFile(raw)), True


def drop_cut_copy(checksum: str, *, now=None):
    """Delete the raw copy under `checksum`'s own name if it is a crash's leftover: a file
    that no record names and unchanged for `CUT_COPY_AGE`. Returns True if one was deleted.
    Never raises: a leftover that stays is only a wasted file.
    """
    storage = private_storage()
    name = inbound_raw_path(checksum)
    try:
        if InboundEmail.objects.filter(raw=name).exists() or not storage.exists(name):
            return False
        if storage.get_modified_time(name) > (now or timezone.now()) - CUT_COPY_AGE:
            return False  # perhaps still being written; that delivery deletes it if it loses
        storage.delete(name)
    except Exception:
        log.warning("inbound copy %s, cut by a crash, could not be removed", name, exc_info=True)
        return False
    log.info("inbound copy %s cut short by a crash removed", name)
    return True


def store_original(source, *, name):
    """Copy an owner's file (a path, or bytes taken out of an archive) into private storage,
    its container geotags blanked (the file is otherwise byte for byte the same).

    Returns the stored name.
    """
    suffix = "".join(c for c in Path(name).suffix.lower()[:8] if c.isalnum() or c == ".") or ".bin"
    # A unique name by construction: "exists, then save" races between web nodes on S3.
    stored = f"originals/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"
    if isinstance(source, bytes):
        return private_storage().save(stored, ContentFile(geotags.without_geotags(source)))
    with geotags.opened_without_geotags(source) as (fh, removed):
        saved = private_storage().save(stored, File(fh))
    if removed:
        log.info("%s: geotags removed (%s)", saved, ", ".join(removed))
    return saved
