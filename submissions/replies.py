"""Automatic answers to e-mails sent to the submission address, in the sender's language.

Like the owner notices (notifications.py): templates/submissions/emails/<name>.txt, first
line the subject. Marked as automatic (RFC 3834) and threaded under the sender's message.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from submissions.models import InboundEmail
from submissions.notifications import absolute

log = logging.getLogger(__name__)

TEMPLATES = {"receipt": "inbound_receipt", "no_video": "inbound_no_video"}


def send_reply(inbound_id, kind, *, problems=(), references=""):
    inbound = InboundEmail.objects.select_related("submission").get(pk=inbound_id)
    language = inbound.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "problems": [(problem.label, problem.message()) for problem in problems],
            "submit_url": absolute(reverse("submissions:submit")),
            "max_size": filesizeformat(settings.MAX_UPLOAD_BYTES),
            "max_minutes": settings.MAX_CLIP_SECONDS // 60,
            "submission_address": settings.SUBMISSION_ADDRESS,
            "site_url": settings.SITE_URL,
        }
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
        message.send()
    except Exception:
        log.exception("reply %s to inbound e-mail %s could not be sent", kind, inbound.pk)
        InboundEmail.objects.filter(pk=inbound.pk).update(
            reason=(inbound.reason + "\n" + f"The {kind} reply could not be sent.").strip()
        )
        raise
    log.info("sent %s reply to inbound e-mail %s", kind, inbound.pk)
