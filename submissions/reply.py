"""Automatic answers to e-mails sent to the submission address: whether one may go, and it.

In the sender's language, like the owner notices (notifications.py):
templates/submissions/emails/<name>.txt, first line the subject. Marked as automatic
(RFC 3834) and threaded under the sender's message.
"""

import logging
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from submissions.models import PERSONAL_LINK_DAYS, InboundEmail, SentReply
from submissions.notifications import absolute, send_now

log = logging.getLogger(__name__)

TEMPLATES = {
    "receipt": "inbound_receipt",
    "no_video": "inbound_no_video",
    # A message the parser could not read (parse.Unreadable): how to send the clip instead.
    "unreadable": "inbound_unreadable",
    # A message cut off on its way (process.cut_short): its video arrived only in part.
    "incomplete": "inbound_incomplete",
}
# What each kind is called for staff (the admin lists the replies a message was sent).
LABELS = {
    "receipt": _("receipt"),
    "no_video": _("no video found"),
    "unreadable": _("message could not be read"),
    "incomplete": _("message arrived cut off"),
}


def answer(inbound, parsed, kind, *, problems=(), found=None, incomplete=()):
    """Send a `kind` reply once the outcome commits, unless none may go (then log why).

    Called in the transaction that records the outcome: the reply is claimed there
    (SentReply), once per message whatever the number of processing attempts.
    """
    why_not = refusal(parsed) or told_before(inbound, kind)
    if why_not:
        log.info("inbound e-mail %s: no reply (%s)", inbound.pk, why_not)
        # For staff, beside what became of the message: in the site's language.
        with translation.override(settings.STAFF_LANGUAGE_CODE):
            note = gettext("No reply sent: %(why)s.") % {"why": why_not}
        inbound.reason = "\n".join(filter(None, [inbound.reason, note]))[:4000]
        InboundEmail.objects.filter(pk=inbound.pk).update(reason=inbound.reason)
        return
    InboundEmail.objects.filter(pk=inbound.pk).update(reply=kind, replied_at=timezone.now())
    transaction.on_commit(
        lambda: send(
            inbound.pk,
            kind,
            problems=problems,
            references=parsed.references,
            found=found,
            incomplete=incomplete,
        ),
        robust=True,
    )


def refusal(parsed):
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


def told_before(inbound, kind):
    """Why a `kind` reply must not go again, or "" (and then it is claimed): the message was
    answered so before its processing was run again (sent back by staff, retried after a
    crash, or run by two workers at once), or, for a reply about how it travelled, another
    copy of it (by another route, or its sender's server retrying) was."""
    if not SentReply.claim(inbound, kind):
        return "this message was already answered"
    return ""


def in_cut_off(problem, incomplete):
    """Whether the file is (or is inside) an attachment the message was cut off in."""
    return problem.label in incomplete or problem.label.split(" › ")[0] in incomplete


def said(problem, incomplete):
    """What to tell the sender about a file we could not use: that it arrived cut off, when
    the message was cut inside it, rather than what the cut part looks like."""
    if in_cut_off(problem, incomplete):
        return gettext("It arrived incomplete: it was cut off on its way to us.")
    return problem.message()


def send(inbound_id, kind, *, problems=(), references="", found=None, incomplete=()):
    inbound = InboundEmail.objects.select_related("submission").get(pk=inbound_id)
    language = inbound.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "problems": [(problem.label, said(problem, incomplete)) for problem in problems],
            # Attachments cut off on the way: the sender's file is not to blame.
            "incomplete": list(incomplete),
            "submit_url": absolute(reverse("submissions:submit")),
            "max_size": filesizeformat(settings.MAX_UPLOAD_BYTES),
            "max_minutes": settings.MAX_CLIP_SECONDS // 60,
            "submission_address": settings.SUBMISSION_ADDRESS,
            "site_url": settings.SITE_URL,
            "found": sorted((found or {}).items()),
            "shared_via": (inbound.draft or {}).get("shared_via", []),
        }
        if inbound.submission is None and inbound.sender:
            # The form, filled from this message, for the file it did not carry.
            context["personal_url"] = absolute(inbound.get_personal_link(language=language))
            context["personal_days"] = PERSONAL_LINK_DAYS
        submission = inbound.submission
        if submission is not None:
            status_url = absolute(submission.get_status_url(language=language))
            context |= {
                "submission": submission,
                "clips": list(submission.clips.order_by("pk")),
                "status_url": status_url,
                # The status page holds the consent form.
                "consent_url": status_url,
                "needs_consent": not submission.has_current_consent(),
                "needs_credit": submission.needs_credit,
            }
        rendered = render_to_string(f"submissions/emails/{TEMPLATES[kind]}.txt", context)
        subject, _, body = rendered.strip().partition("\n")
    headers = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
    if not inbound.message_id_derived:
        headers["In-Reply-To"] = inbound.message_id
        headers["References"] = references or inbound.message_id
    message = EmailMessage(
        subject.strip(), body.strip() + "\n", to=[inbound.sender], headers=headers
    )
    try:
        send_now(message)
    except Exception:
        log.exception("reply %s to inbound e-mail %s could not be sent", kind, inbound.pk)
        SentReply.release(inbound, kind)
        with translation.override(settings.STAFF_LANGUAGE_CODE):  # for staff
            note = gettext("The %(kind)s reply could not be sent.") % {"kind": kind}
        InboundEmail.objects.filter(pk=inbound.pk).update(
            reason=(inbound.reason + "\n" + note).strip()
        )
        raise
    log.info("sent %s reply to inbound e-mail %s", kind, inbound.pk)
