import logging
from contextlib import suppress

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import get_language, gettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from gallery.models import Clip, IllegalTransition
from infra.bodies import accepts_body
from infra.clients import client_ip
from submissions import direct, ratelimit, tus
from submissions.forms import AlreadySent, CreditForm, PersonalLinkForm, SubmissionForm
from submissions.models import PERSONAL_LINK_DAYS, InboundEmail, Submission
from submissions.uploads import ENVELOPE

THANKS_SESSION_KEY = "submitted_token"
# The submissions whose private page this browser was given (thanks page, status link): sent
# again, a file is answered with that page's link (SubmissionForm.already_sent_message).
SENT_SESSION_KEY = "sent_submissions"
SENT_REMEMBERED = 20
# What a storage outage looks like: a disk error, or the object store out of reach.
# What stops a clip from being kept for now (the file storage or the database out of reach):
# the owner is told that nothing was kept and to send it again in a few minutes.
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError, OperationalError, InterfaceError)
log = logging.getLogger(__name__)


@require_http_methods(["GET", "HEAD", "POST"])
@accepts_body(lambda: settings.MAX_UPLOAD_BYTES + ENVELOPE)
def submit(request):
    if request.method == "POST":
        # Counted before the body is read (its CSRF token was its first field or a header).
        if not ratelimit.allow("submit-ip", client_ip(request)):
            return ratelimit.too_many(request, "submit-ip")
        # Reading the body runs the upload handler, which flags an upload over the cap.
        data, files = request.POST, request.FILES
        # Only accepted submissions count against an e-mail address: anyone may type
        # someone else's address into a form that then fails.
        email = data.get("email", "").strip().lower()
        if ratelimit.exceeded("submit-email", email):
            return ratelimit.too_many(request, "submit-email")
        too_large = getattr(request, "upload_too_large", False)
        form = SubmissionForm(
            data, files, upload_too_large=too_large, shown=request.session.get(SENT_SESSION_KEY, ())
        )
        try:
            if form.is_valid():
                submission = form.save(language=get_language())
                ratelimit.record("submit-email", email)
                given_page(request, submission)
                return redirect("submissions:thanks")
        except AlreadySent as sent:
            form.add_error("video", form.already_sent_message(sent.earlier))
        except STORAGE_ERRORS:
            return storage_unavailable(request, form)
        finally:
            form.cleanup()
        return render_form(request, form, status=413 if too_large else 400)
    return render_form(request, SubmissionForm(), status=200)


def given_page(request, submission):
    """This browser holds the link to the submission's private page (shown on the thanks page)."""
    request.session[THANKS_SESSION_KEY] = submission.signed_token
    remember_page(request, submission)


def remember_page(request, submission):
    shown = request.session.get(SENT_SESSION_KEY, [])
    if submission.pk not in shown:
        request.session[SENT_SESSION_KEY] = [*shown, submission.pk][-SENT_REMEMBERED:]


def storage_unavailable(request, form, *, inbound=None):
    log.exception("storage or database unavailable while receiving a clip")
    form.add_error(
        None,
        gettext(
            "We could not store your clip just now. Nothing was kept: please try again "
            "in a few minutes."
        ),
    )
    return render_form(request, form, status=503, inbound=inbound)


def render_form(request, form, *, status, inbound=None):
    return TemplateResponse(
        request,
        "submissions/submit.html",
        {
            "form": form,
            "submission_address": settings.SUBMISSION_ADDRESS,
            "direct_upload": direct.enabled(),
            "upload_chunk_bytes": tus.CHUNK_BYTES,
            "inbound": inbound,
            "personal_days": PERSONAL_LINK_DAYS,
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@accepts_body(lambda: settings.MAX_UPLOAD_BYTES + ENVELOPE)
def personal(request, token):
    """The form a personal upload link opens, filled from the e-mail; it records one clip."""
    if request.method == "POST" and not ratelimit.allow("submit-ip", client_ip(request)):
        return ratelimit.too_many(request, "submit-ip")
    inbound, why_not = InboundEmail.from_personal_token(token)
    if why_not:
        return link_refused(request, why_not)
    if request.method != "POST":
        form = PersonalLinkForm(initial=PersonalLinkForm.initial_from(inbound.draft or {}))
        return render_form(request, form, status=200, inbound=inbound)
    too_large = getattr(request, "upload_too_large", False)
    form = PersonalLinkForm(
        request.POST,
        request.FILES,
        upload_too_large=too_large,
        shown=request.session.get(SENT_SESSION_KEY, ()),
        sender=inbound.sender,
    )
    try:
        if form.is_valid():
            with transaction.atomic():
                locked = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
                if locked.submission_id is not None:
                    return link_refused(request, "used")
                # The link came to this address: the round trip verified the sender.
                submission = form.save(
                    language=get_language(), email=locked.sender, source=Submission.Source.EMAIL
                )
                if not locked.attach_submission(submission):
                    transaction.set_rollback(True)
                    return link_refused(request, "used")
            given_page(request, submission)
            return redirect("submissions:thanks")
    except AlreadySent as sent:
        form.add_error("video", form.already_sent_message(sent.earlier))
    except STORAGE_ERRORS:
        return storage_unavailable(request, form, inbound=inbound)
    finally:
        form.cleanup()
    return render_form(request, form, status=413 if too_large else 400, inbound=inbound)


def link_refused(request, why_not):
    return TemplateResponse(
        request,
        "submissions/link_refused.html",
        {"why_not": why_not, "submission_address": settings.SUBMISSION_ADDRESS},
        status=404 if why_not == "invalid" else 410,
    )


@require_POST
def direct_start(request):
    """Start a multipart upload straight to the bucket for the submission form's script."""
    if not direct.enabled():
        raise Http404
    if not ratelimit.allow("upload-ip", client_ip(request)):
        return ratelimit.too_many(request, "upload-ip")
    try:
        size = int(request.POST.get("size", ""))
    except ValueError:
        size = -1
    content_type = request.POST.get("type", "") or "application/octet-stream"
    if size > settings.MAX_UPLOAD_BYTES:
        name = request.POST.get("name", "")[:200]
        return JsonResponse({"error": str(SubmissionForm.too_large_message(name))}, status=400)
    if size <= 0:
        return JsonResponse({"error": gettext("The file is empty.")}, status=400)
    if len(content_type) > 100 or "/" not in content_type:
        return JsonResponse({"error": gettext("This file is not a video we can read.")}, status=400)
    return JsonResponse(
        direct.start(filename=request.POST.get("name", ""), size=size, content_type=content_type)
    )


def direct_session(view):
    """The upload a signed session names; 404 when forged or too old."""

    def wrapped(request):
        if not direct.enabled():
            raise Http404
        try:
            session = direct.read_session(request.POST.get("session", ""))
        except direct.UploadMissing:
            return JsonResponse(
                {"error": gettext("Your file did not arrive. Please send it again.")}, status=404
            )
        try:
            return view(request, session)
        except ClientError as error:
            log.warning("direct upload refused by the bucket: %s", error)
            # The bucket no longer knows the upload (aborted, completed, or cleaned up).
            return JsonResponse(
                {"error": gettext("Your file did not arrive. Please send it again.")}, status=404
            )

    wrapped.__name__ = view.__name__
    return require_POST(wrapped)


@direct_session
def direct_parts(request, session):
    """Presigned URLs for the parts asked for, and the parts the bucket already holds."""
    numbers = []
    for value in request.POST.getlist("part")[: direct.MAX_URLS]:
        with suppress(ValueError):
            numbers.append(int(value))
    urls = direct.part_urls(session, numbers)
    return JsonResponse(
        {"urls": {str(n): url for n, url in urls.items()}, "done": direct.done_parts(session)}
    )


@direct_session
def direct_complete(request, session):
    try:
        token = direct.complete(session)
    except direct.Incomplete:
        return JsonResponse({"done": direct.done_parts(session)}, status=409)
    except direct.TooLarge:
        return JsonResponse(
            {"error": str(SubmissionForm.too_large_message(session.name))}, status=400
        )
    return JsonResponse({"token": token, "name": session.name, "size": session.size})


@direct_session
def direct_abort(request, session):
    direct.abort(session)
    return JsonResponse({})


@require_safe
@cache_control(private=True, no_store=True)
def thanks(request):
    token = request.session.get(THANKS_SESSION_KEY)
    submission = Submission.from_signed_token(token) if token else None
    if submission is None:
        return redirect("submissions:submit")
    return TemplateResponse(request, "submissions/thanks.html", {"submission": submission})


@require_http_methods(["GET", "HEAD", "POST"])
# The page holds the owner's clips and withdrawal buttons: for no one else's cache.
@cache_control(private=True, no_store=True)
def status(request, token):
    ip = client_ip(request)
    if not ratelimit.allow("status-ip", ip):
        return ratelimit.too_many(request, "status-ip")
    if request.method == "POST" and not ratelimit.allow("status-change-ip", ip):
        return ratelimit.too_many(request, "status-change-ip")
    submission = Submission.from_signed_token(token)
    if submission is None:
        raise Http404
    if request.method == "GET":
        remember_page(request, submission)  # the one holding the link may be told it again
    clips = submission.clips.prefetch_related("themes").order_by("pk")
    message = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "consent" and request.POST.get("consent"):
            submission.give_consent()
            message = "consented"
        elif action == "credit":
            credit = CreditForm(request.POST)
            if not credit.is_valid():
                return status_page(request, submission, clips, credit=credit, status=400)
            submission.set_credit(
                name=credit.cleaned_data["credit_name"],
                country=credit.cleaned_data["credit_country"],
            )
            message = "credited"
        elif action == "telemetry":
            clip = posted_clip(request, clips)
            show = request.POST.get("show") == "1"
            if clip.telemetry and clip.status != Clip.Status.WITHDRAWN:
                clip.set_telemetry_public(show)
            message = "telemetry_on" if show else "telemetry_off"
        elif action == "withdraw":
            clip = posted_clip(request, clips)
            if request.POST.get("confirm"):
                with suppress(IllegalTransition):  # already withdrawn: say so all the same
                    clip.withdraw(reason="withdrawn by the owner")
                message = "withdrawn"
            else:
                return TemplateResponse(
                    request,
                    "submissions/withdraw_confirm.html",
                    {"submission": submission, "clip": clip},
                )
        return redirect(request.path + (f"?done={message}" if message else ""))
    return status_page(request, submission, clips)


def posted_clip(request, clips):
    """The owner's clip named in the form, or a 404."""
    number = request.POST.get("clip", "")
    # Not a whole number a row could have: no clip of theirs.
    valid = number.isascii() and number.isdigit() and len(number) <= 18
    clip = clips.filter(pk=int(number)).first() if valid else None
    if clip is None:
        raise Http404
    return clip


def status_page(request, submission, clips, *, credit=None, status=200):
    if credit is None:
        first = clips[0] if clips else None
        credit = CreditForm(
            initial={
                "credit_name": first.credit_name if first else "",
                "credit_country": first.credit_country if first else "",
            }
        )
    return TemplateResponse(
        request,
        "submissions/status.html",
        {
            "submission": submission,
            "clips": clips,
            "done": request.GET.get("done"),
            "terms_version": settings.TERMS_VERSION,
            "credit": credit,
        },
        status=status,
    )


@require_safe
def terms(request):
    return TemplateResponse(
        request, "submissions/terms.html", {"terms_version": settings.TERMS_VERSION}
    )
