"""E-mail providers' inbound webhooks (django-anymail), feeding the same `receive` as IMAP.

Each hook answers 404 until its secret is configured: Mailgun checks its signing key,
Postmark and Amazon SES (which sign nothing we check) HTTP basic auth with
ANYMAIL_WEBHOOK_SECRET. An error while recording answers 500, so the provider retries.

A message with a video is far larger than the forms Django's DATA_UPLOAD_MAX_MEMORY_SIZE
is meant for: once the credentials are checked, a JSON payload up to MAX_PAYLOAD_BYTES is
read whole. Mailgun's raw-MIME route posts the message as one form field, which that limit
still caps; its parsed route (/hooks/mailgun/inbound/) streams attachments as files.
"""

import base64
import binascii
import functools
import logging

from anymail.signals import inbound
from anymail.utils import get_request_basic_auth
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from django.conf import settings
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, re_path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from submissions import receive

log = logging.getLogger(__name__)


def anymail_setting(name):
    return (getattr(settings, "ANYMAIL", None) or {}).get(name) or ""


# Providers cap inbound mail at 25 to 40 MB; base64 in JSON adds a third.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024


def configured(*names, basic_auth=False):
    """Serve the wrapped hook only once the secrets it relies on are set.

    With `basic_auth`, the credentials are checked before a byte of the payload is read.
    """

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def hook(request, *args, **kwargs):
            if not all(anymail_setting(name) for name in names):
                raise Http404("this inbound hook is not configured")
            if basic_auth and not authorized(request):
                # Amazon SNS sends credentials only after this challenge.
                response = HttpResponse(status=401)
                response["WWW-Authenticate"] = 'Basic realm="inbound e-mail"'
                return response
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = MAX_PAYLOAD_BYTES + 1
            if length > MAX_PAYLOAD_BYTES:
                return HttpResponse(status=413)
            if request.content_type == "application/json" or request.content_type.startswith(
                "text/"
            ):
                # What `request.body` would read, past the limit meant for forms.
                request._body = request.read(MAX_PAYLOAD_BYTES + 1)
                if len(request._body) > MAX_PAYLOAD_BYTES:
                    return HttpResponse(status=413)
            return view(request, *args, **kwargs)

        return hook

    return decorate


def authorized(request):
    secrets = anymail_setting("WEBHOOK_SECRET")
    secrets = [secrets] if isinstance(secrets, str) else list(secrets)
    sent = get_request_basic_auth(request) or ""
    return any(secret and constant_time_compare(sent, secret) for secret in secrets)


@receiver(inbound)
def received_by_webhook(sender, event, esp_name, **kwargs):
    receive.receive(
        original_message(event, esp_name),
        via=esp_name.lower().replace(" ", "_")[:30],
        attachments_announced=attachments_announced(event),
    )


def attachments_announced(event):
    """How many attachments the provider said it posted, where it says (Mailgun's parsed route).

    Django drops a posted file whose name is empty before anymail sees it: processing
    compares this count with what arrived, so a lost part shows.
    """
    esp_event = event.esp_event
    if not isinstance(esp_event, HttpRequest) or esp_event.POST.get("body-mime"):
        return None
    try:
        count = int(esp_event.POST.get("attachment-count", ""))
    except ValueError:
        return None
    return count if 0 <= count <= 1000 else None


def original_message(event, esp_name):
    """The message as the provider received it, where it gives it; else anymail's rebuild."""
    esp_event = event.esp_event
    raw = None
    if isinstance(esp_event, HttpRequest):  # Mailgun posts a form
        raw = esp_event.POST.get("body-mime")
    elif isinstance(esp_event, dict):
        if "RawEmail" in esp_event:  # Postmark, with "include raw email content"
            raw = esp_event.get("RawEmail")
        elif esp_event.get("content"):  # Amazon SES through SNS
            action = (esp_event.get("receipt") or {}).get("action") or {}
            raw = esp_event["content"]
            if action.get("encoding") == "BASE64":
                try:
                    return base64.b64decode(raw.encode("ascii"))
                except (binascii.Error, UnicodeEncodeError):
                    raw = None
    if isinstance(raw, str) and raw:
        return raw.encode("utf-8", "surrogateescape")
    try:
        return binary_safe(event.message).as_bytes()
    except Exception:  # a rebuilt message with odd parts
        log.warning("%s inbound message could not be serialised as bytes", esp_name)
        return event.message.as_string().encode("utf-8", "surrogateescape")


def binary_safe(message):
    """Base64 the binary parts anymail rebuilt without an encoding.

    Serialising them raw would turn every CR LF inside a video into LF.
    """
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() in ("text", "message"):
            continue
        encoding = str(part.get("Content-Transfer-Encoding", "")).lower()
        if encoding in ("base64", "quoted-printable"):
            continue
        data = part.get_payload(decode=True) or b""
        del part["Content-Transfer-Encoding"]
        part.set_payload(base64.encodebytes(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "base64"
    return message


urlpatterns = [
    re_path(
        r"^mailgun/inbound(_mime)?/$",
        configured("MAILGUN_WEBHOOK_SIGNING_KEY")(MailgunInboundWebhookView.as_view()),
        name="mailgun_inbound",
    ),
    path(
        "postmark/inbound/",
        configured("WEBHOOK_SECRET", basic_auth=True)(PostmarkInboundWebhookView.as_view()),
        name="postmark_inbound",
    ),
    path(
        "amazon_ses/inbound/",
        configured("WEBHOOK_SECRET", basic_auth=True)(AmazonSESInboundWebhookView.as_view()),
        name="amazon_ses_inbound",
    ),
]
