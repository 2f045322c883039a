"""E-mail providers' inbound webhooks (django-anymail), feeding the same `receive` as IMAP.

Each hook answers 404 until its secret is configured: Mailgun checks its signing key,
Postmark and Amazon SES (which sign nothing we check) HTTP basic auth with
ANYMAIL_WEBHOOK_SECRET. An error while recording answers 500, so the provider retries.

A message with a video is far larger than the forms Django's DATA_UPLOAD_MAX_MEMORY_SIZE
is meant for: once the credentials are checked, a JSON payload up to MAX_PAYLOAD_BYTES is
read whole. A payload that is not a JSON object, or that anymail cannot read, answers 400.
Mailgun's raw-MIME route posts the message as one form field, which that limit still caps;
its parsed route (/hooks/mailgun/inbound/) streams attachments as files.
"""

import base64
import binascii
import functools
import json
import logging

from anymail.signals import inbound
from anymail.utils import get_request_basic_auth
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from django.conf import settings
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import path, re_path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from infra.bodies import accepts_body, declared_length
from submissions import receive

log = logging.getLogger(__name__)


def anymail_setting(name):
    return (getattr(settings, "ANYMAIL", None) or {}).get(name) or ""


# Providers cap inbound mail at 25 to 40 MB; base64 in JSON adds a third.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def configured(*names, basic_auth=False, forms_only=False):
    """Serve the wrapped hook only once the secrets it relies on are set.

    Credentials (with `basic_auth`, or whenever WEBHOOK_SECRET is set, which anymail then
    checks too) are checked before a byte of the payload is read; the size is checked on
    its declared length and on what is read. With `forms_only` (Mailgun, whose signature is
    a form field) nothing else is read: form fields are held in memory only up to Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE and attachments go to disk, before the signature is checked.
    """

    def decorate(view):
        @csrf_exempt
        @accepts_body(lambda: MAX_PAYLOAD_BYTES)
        @functools.wraps(view)
        def hook(request, *args, **kwargs):
            if not all(anymail_setting(name) for name in names):
                raise Http404("this inbound hook is not configured")
            if (basic_auth or anymail_setting("WEBHOOK_SECRET")) and not authorized(request):
                # Amazon SNS sends credentials only after this challenge.
                response = HttpResponse(status=401)
                response["WWW-Authenticate"] = 'Basic realm="inbound e-mail"'
                return response
            length = declared_length(request)
            if length is not None and not 0 <= length <= MAX_PAYLOAD_BYTES:
                return HttpResponse(status=413)
            is_form = request.content_type in FORM_TYPES
            if forms_only and not is_form:
                return HttpResponse(status=415)
            if not is_form:
                # What `request.body` would read, past the limit meant for forms.
                request._body = request.read(MAX_PAYLOAD_BYTES + 1)
                if len(request._body) > MAX_PAYLOAD_BYTES:
                    return HttpResponse(status=413)
                # Every provider here posts JSON (Amazon SNS as text/plain): anything else
                # is a malformed request, not our error.
                try:
                    payload = json.loads(request._body.decode("utf-8"))
                except ValueError:
                    payload = None
                if not isinstance(payload, dict):
                    return HttpResponseBadRequest("malformed JSON")
            try:
                return view(request, *args, **kwargs)
            except RecordingFailed as failure:
                raise failure.__cause__ from None  # ours: 500, and the provider retries
            except Exception:  # noqa: BLE001 - anymail found the payload unusable
                log.warning(
                    "%s: an inbound payload that cannot be read", request.path, exc_info=True
                )
                return HttpResponseBadRequest("malformed payload")

        return hook

    return decorate


def authorized(request):
    secrets = anymail_setting("WEBHOOK_SECRET")
    secrets = [secrets] if isinstance(secrets, str) else list(secrets)
    sent = get_request_basic_auth(request) or ""
    return any(secret and constant_time_compare(sent, secret) for secret in secrets)


class RecordingFailed(Exception):
    """Recording a message that arrived failed: the provider should retry, unlike a payload
    that anymail cannot read (400)."""


@receiver(inbound)
def received_by_webhook(sender, event, esp_name, **kwargs):
    raw = original_message(event, esp_name)
    try:
        receive.receive(
            raw,
            via=esp_name.lower().replace(" ", "_")[:30],
            attachments_announced=attachments_announced(event),
        )
    except Exception as error:
        raise RecordingFailed from error


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
        configured("MAILGUN_WEBHOOK_SIGNING_KEY", forms_only=True)(
            MailgunInboundWebhookView.as_view()
        ),
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
