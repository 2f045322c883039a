"""Request bodies are read only once the request is allowed.

Django parses a body the first time anything asks for ``request.POST``: the CSRF check
does, for every POST, before the view can say whether it wants the body at all. So a body
is capped by route before it is read (a view that takes uploads says how large with
``accepts_body``; every other view takes what a form needs), and for the views that take
uploads the CSRF token is checked before the body is parsed: from the X-CSRFToken header
(the upload script), or from the first field of a multipart body (the plain form, whose
``{% csrf_token %}`` comes first: browsers send fields in the form's order). Only the
first PEEK_BYTES are read for it, and given again to the parser; the rest waits until the
view has allowed and counted the request. The token is never taken from the address: it
would land in access logs, the browser's history and the address bar.
"""

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.middleware import csrf
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters

# The field a large-body view takes its token from (first in a multipart body), besides
# Django's X-CSRFToken header.
TOKEN_PARAMETER = "csrfmiddlewaretoken"  # noqa: S105  # nosec B105: a field name, not a secret
# What is read of a multipart body to find that field: a boundary (70 bytes at most), the
# part's header and a 64-character token fit many times over.
PEEK_BYTES = 2048
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


class PeekedStream:
    """A body stream whose first bytes were already read: they are given again first."""

    def __init__(self, head, stream):
        self.head, self.stream = head, stream

    def read(self, size=-1):
        if not self.head:
            return self.stream.read(size)
        if size is None or size < 0:
            data, self.head = self.head + self.stream.read(), b""
        else:
            data, self.head = self.head[:size], self.head[size:]
        return data

    def readline(self, size=-1):
        if not self.head:
            return self.stream.readline(size)
        end = self.head.find(b"\n") + 1 or len(self.head)
        if size is not None and size >= 0:
            end = min(end, size)
        return self.read(end)


def first_field_token(request):
    """The token a multipart body gives as its first field, or "" (then the check fails).

    Reads at most PEEK_BYTES of the body and puts them back in front of the rest."""
    content_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    boundary = params.get("boundary", "").encode("latin-1", "replace")
    if content_type != "multipart/form-data" or not boundary:
        return ""
    head, stream = b"", request._stream
    while len(head) < PEEK_BYTES:
        data = stream.read(PEEK_BYTES - len(head))
        if not data:
            break
        head += data
    request._stream = PeekedStream(head, stream)
    opening = b"--" + boundary + b"\r\n"
    headers_end = head.find(b"\r\n\r\n", len(opening))
    if not head.startswith(opening) or headers_end < 0:
        return ""
    header = head[len(opening) : headers_end].decode("latin-1")
    name, _, value = header.partition(":")
    disposition, fields = parse_header_parameters(value)
    if (
        name.strip().lower() != "content-disposition"
        or disposition != "form-data"
        or fields.get("name") != TOKEN_PARAMETER
        or "filename" in fields
    ):
        return ""
    value_end = head.find(b"\r\n--" + boundary, headers_end + 4)
    if value_end < 0:
        return ""
    return head[headers_end + 4 : value_end].decode("ascii", "replace")


class TokenOutsideBody(csrf.CsrfViewMiddleware):
    """Django's CSRF check with the token taken from the X-CSRFToken header or the first
    field of a multipart body: a forged upload is refused before its body is read."""

    def _check_token(self, request):
        if not request.META.get(settings.CSRF_HEADER_NAME):
            token = first_field_token(request)
            if token:
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
