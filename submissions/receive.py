"""Keep what arrived, privately, before anything else is done with it.

Every e-mail, whichever way it came (IMAP, a file, stdin, a provider's webhook), goes
through `receive`: its raw bytes are kept and an InboundEmail recorded, once per message,
and its processing queued (process.py). An owner's video file is kept by `store_original`.
"""

import logging
import uuid
from pathlib import Path

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from infra.storage import private_storage
from submissions import parse
from submissions.models import InboundEmail, inbound_raw_path

log = logging.getLogger(__name__)


def receive(raw: bytes, *, via: str, attachments_announced=None) -> InboundEmail:
    """Record one message (once, however often it arrives) and queue its processing.

    `attachments_announced`: how many attachments the provider said it sent, when it says.
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
                "attachments_announced": attachments_announced,
            },
        )
        if created:
            inbound.queue_processing()
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
        inbound.queue_processing()
    inbound.newly_received = False
    return inbound


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


def store_original(source, *, name):
    """Copy an owner's file (a path, or bytes taken out of an archive) into private storage.

    Returns the stored name.
    """
    suffix = "".join(c for c in Path(name).suffix.lower()[:8] if c.isalnum() or c == ".") or ".bin"
    # A unique name by construction: "exists, then save" races between web nodes on S3.
    stored = f"originals/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"
    if isinstance(source, bytes):
        return private_storage().save(stored, ContentFile(source))
    with open(source, "rb") as fh:
        return private_storage().save(stored, File(fh))
