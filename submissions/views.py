from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from gallery.models import Clip, IllegalTransition
from submissions import direct
from submissions.forms import SubmissionForm
from submissions.intake import create_web_submission
from submissions.models import Submission

THANKS_SESSION_KEY = "submitted_token"


@require_http_methods(["GET", "POST"])
def submit(request):
    if request.method == "POST":
        # Reading the body runs the upload handler, which flags an upload over the cap.
        data, files = request.POST, request.FILES
        too_large = getattr(request, "upload_too_large", False)
        form = SubmissionForm(data, files, upload_too_large=too_large)
        if form.is_valid():
            upload = form.cleaned_data["video"]
            if upload is not None:
                submission = create_web_submission(
                    form.cleaned_data, language=get_language(),
                    upload_path=upload.temporary_file_path(), upload_name=upload.name,
                )
            else:
                submission = create_web_submission(
                    form.cleaned_data, language=get_language(), stored=form.cleaned_data["upload_ticket"]
                )
            request.session[THANKS_SESSION_KEY] = submission.signed_token
            return redirect("submissions:thanks")
        status = 413 if too_large else 400
    else:
        form = SubmissionForm()
        status = 200
    return TemplateResponse(
        request, "submissions/submit.html",
        {"form": form, "submission_address": settings.SUBMISSION_ADDRESS, "direct_upload": direct.enabled()},
        status=status,
    )


@require_POST
def presign_upload(request):
    """Sign a direct upload to object storage for the submission form's script."""
    if not direct.enabled():
        raise Http404
    try:
        size = int(request.POST.get("size", ""))
    except ValueError:
        size = -1
    content_type = request.POST.get("type", "")
    if size > settings.MAX_UPLOAD_BYTES:
        return JsonResponse({"error": str(SubmissionForm.too_large_message())}, status=400)
    if size <= 0:
        return JsonResponse({"error": gettext("The file is empty.")}, status=400)
    if not content_type.startswith("video/") or len(content_type) > 100:
        return JsonResponse({"error": gettext("This file is not a video we can read.")}, status=400)
    return JsonResponse(direct.presign(filename=request.POST.get("name", ""), content_type=content_type))


@require_safe
def thanks(request):
    token = request.session.get(THANKS_SESSION_KEY)
    submission = Submission.from_signed_token(token) if token else None
    if submission is None:
        return redirect("submissions:submit")
    return TemplateResponse(request, "submissions/thanks.html", {"submission": submission})


@require_http_methods(["GET", "POST"])
def status(request, token):
    submission = Submission.from_signed_token(token)
    if submission is None:
        raise Http404
    clips = submission.clips.prefetch_related("themes").order_by("pk")
    message = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "consent" and request.POST.get("consent"):
            submission.give_consent()
            message = "consented"
        elif action == "withdraw":
            clip = clips.filter(pk=request.POST.get("clip") or 0).first()
            if clip is None:
                raise Http404
            if request.POST.get("confirm"):
                try:
                    clip.withdraw(reason="withdrawn by the owner")
                except IllegalTransition:
                    pass
                message = "withdrawn"
            else:
                return TemplateResponse(
                    request, "submissions/withdraw_confirm.html", {"submission": submission, "clip": clip}
                )
        return redirect(request.path + (f"?done={message}" if message else ""))
    return TemplateResponse(
        request, "submissions/status.html",
        {"submission": submission, "clips": clips, "done": request.GET.get("done"),
         "terms_version": settings.TERMS_VERSION},
    )


@require_safe
def terms(request):
    return TemplateResponse(request, "submissions/terms.html", {"terms_version": settings.TERMS_VERSION})
