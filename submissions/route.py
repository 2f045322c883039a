"""Where a received message goes: on to become clips, or set aside with the reason why."""

from django.utils.translation import gettext

from submissions.models import InboundEmail


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
