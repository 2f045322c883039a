"""E-mails to owners: the receipt, and each decision about their clip, in their language."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import translation

from gallery import signals

log = logging.getLogger(__name__)


def absolute(path):
    return settings.SITE_URL.rstrip("/") + path


def send_now(message):
    """Send one EmailMessage on a connection of its own, closed when done or refused.

    Returns 1. Raises what the mail server's refusal raises (OSError, smtplib.SMTPException).
    A refused log-in otherwise keeps its connection open until the backend is collected.
    """
    with mailers.default as mailer:
        return mailer.send_messages([message])


def send_to_owner(submission, template, **context):
    """Render templates/submissions/emails/<template>.txt (first line: subject) and send it."""
    with translation.override(submission.language):
        if "clip" in context:
            context["clip_url"] = absolute(context["clip"].get_absolute_url())
        context |= {
            "submission": submission,
            "status_url": absolute(submission.get_status_url()),
            "site_url": settings.SITE_URL,
            "submission_address": settings.SUBMISSION_ADDRESS,
        }
        subject, _, body = (
            render_to_string(f"submissions/emails/{template}.txt", context).strip().partition("\n")
        )
    send_now(EmailMessage(subject.strip(), body.strip() + "\n", to=[submission.email]))
    log.info("sent %s to submission %s", template, submission.pk)


def send_receipt(submission):
    send_to_owner(submission, "receipt", clips=list(submission.clips.all()))


def after_commit(send):
    # A decision stands even if the mail server is down; the failure is logged.
    transaction.on_commit(send, robust=True)


@receiver(signals.clip_published)
def tell_published(sender, clip, **kwargs):
    if clip.submission_id:
        after_commit(lambda: send_to_owner(clip.submission, "published", clip=clip))


@receiver(signals.clip_rejected)
def tell_rejected(sender, clip, reason, **kwargs):
    if clip.submission_id:
        after_commit(lambda: send_to_owner(clip.submission, "rejected", clip=clip, reason=reason))
