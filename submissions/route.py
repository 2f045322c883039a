"""Where a received message goes: on to become clips, or set aside with the reason why."""

import logging

from django.utils.translation import gettext

from submissions import parse
from submissions.models import InboundEmail, Submission

log = logging.getLogger(__name__)


def ignore_reason(inbound, parsed):
    """Why the message must not become clips whatever it holds, or ""."""
    if parsed.automatic:
        return gettext("Automatic message (%(why)s).") % {"why": parsed.automatic}
    if not parsed.sender:
        return gettext("The message has no sender address.")
    earlier = earlier_copy(inbound, parsed)
    if earlier is not None:
        return gettext("The same message (Message-ID) was already handled as #%(pk)s.") % {
            "pk": earlier.pk
        }
    return ""


def earlier_copy(inbound, parsed):
    """Another copy of the same message already handled (e.g. from two routes), or None.

    The same Message-ID AND the same content: a client that reuses Message-IDs must not
    have its next clip ignored unexamined.
    """
    if inbound.message_id_derived:
        return None
    candidates = (
        InboundEmail.objects.filter(message_id=inbound.message_id, sender=inbound.sender)
        .exclude(pk=inbound.pk)
        .filter(status__in=[InboundEmail.Status.PROCESSED, InboundEmail.Status.IGNORED])
        .order_by("pk")
    )
    for candidate in candidates:
        if candidate.sha256 == inbound.sha256 or _fingerprint(candidate) in (
            parsed.fingerprint,
            None,  # its raw copy is gone: the Message-ID is all there is to compare
        ):
            return candidate
    return None


def _fingerprint(inbound):
    if not inbound.raw:
        return None
    try:
        with inbound.raw.open("rb") as fh:
            return parse.parse(fh.read()).fingerprint
    except Exception:
        log.warning("inbound e-mail %s could not be read again for comparison", inbound.pk)
        return None


def sender_language(sender):
    """The language of the sender's earlier messages or web submissions, or ""."""
    if not sender:
        return ""
    earlier = (
        InboundEmail.objects.filter(sender=sender)
        .exclude(language="")
        .order_by("-received_at", "-pk")
        .values_list("language", flat=True)
        .first()
    )
    if earlier:
        return earlier
    return (
        Submission.objects.filter(email__iexact=sender, source=Submission.Source.WEB)
        .order_by("-created_at")
        .values_list("language", flat=True)
        .first()
        or ""
    )
