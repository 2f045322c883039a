"""Request bodies are read only once the request is allowed.

Django parses a body the first time anything asks for ``request.POST``: the CSRF check
does, for every POST, before the view can say whether it wants the body at all. So a body
is capped by route before it is read (a view that takes uploads says how large with
``accepts_body``; every other view takes what a form needs), and for the views that take
uploads the CSRF token comes in the query string or a header, never from the body: the
form's action carries it, so the page works without JavaScript.
"""

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.middleware import csrf
from django.utils.datastructures import MultiValueDict

# Where a large-body view takes its token from, besides Django's X-CSRFToken header.
TOKEN_PARAMETER = "csrfmiddlewaretoken"  # noqa: S105  # nosec B105: a field name, not a secret
# A length header longer than this is no size this site would ever accept.
MAX_LENGTH_DIGITS = 18


def accepts_body(max_bytes):
    """Let a view take a body up to `max_bytes` (a number, or a callable reading settings)."""

    def decorate(view):
        view.max_body_bytes = max_bytes
        return view

    return decorate


def body_limit(view):
    """The largest body `view` takes."""
    limit = getattr(view, "max_body_bytes", None)
    if limit is None:
        # Django's own limit for forms; None turns it off, and then ours too.
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit() if callable(limit) else limit


def declared_length(request):
    """Content-Length as a number; None when absent, -1 when it is not a plain number."""
    value = request.META.get("CONTENT_LENGTH", "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value.lstrip("0")) > MAX_LENGTH_DIGITS:
        return -1
    return int(value)


def too_large():
    # No "Connection: close": WSGI forbids hop-by-hop headers from the application; the
    # server closes the connection on the unread body itself.
    return HttpResponse(status=413)


class TokenOutsideBody(csrf.CsrfViewMiddleware):
    """Django's CSRF check with the token taken from the query string or the X-CSRFToken
    header only: a forged upload is refused before a byte of its body is read."""

    def _check_token(self, request):
        token = request.GET.get(TOKEN_PARAMETER, "")
        if token and not request.META.get(settings.CSRF_HEADER_NAME):
            request.META[settings.CSRF_HEADER_NAME] = token
        # Django's check looks in the POST data first: show it none, and leave the real
        # body to be parsed later, once the view has counted the request.
        if hasattr(request, "_post"):
            return super()._check_token(request)
        request._post, request._files = QueryDict(), MultiValueDict()
        try:
            return super()._check_token(request)
        finally:
            del request._post, request._files


class BodyLimitMiddleware:
    """Refuse a body larger than its view takes, by its declared length, and read no more;
    for views taking large bodies, check CSRF before the body (Django's middleware, later
    in MIDDLEWARE, then sees the check done)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csrf = TokenOutsideBody(get_response)

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        limit = body_limit(view)
        takes_uploads = getattr(view, "max_body_bytes", None) is not None
        length = declared_length(request)
        if length == -1:
            return HttpResponseBadRequest()
        # A view that takes uploads answers an oversize one itself, once it has allowed and
        # counted the request (the form then says the file is too large).
        if limit is not None:
            if length is not None and length > limit and not takes_uploads:
                return too_large()
            # Django reads no more than Content-Length; this holds whatever a server passes.
            request._stream = LimitedStream(request._stream, limit)
        if takes_uploads:
            return self.csrf.process_view(request, view, args, kwargs)
        return None
