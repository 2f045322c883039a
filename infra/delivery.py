"""Serve stored files with HTTP Range support: players need 206 answers to seek.

Our own code because Django answers no Range request (FileResponse sends the whole file) and
whitenoise serves only files present at start-up, not uploads made while it runs.
"""

import hashlib
import mimetypes
import re

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag

from infra.middleware import same_in_every_language

CHUNK = 256 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")

mimetypes.add_type("video/mp4", ".mp4")
mimetypes.add_type("image/webp", ".webp")
mimetypes.add_type("text/vtt", ".vtt")


# More digits than any file's size has: the number means "beyond the end". Converting
# thousands of digits would cost time and, past 4,300, raise (Python's int-string limit).
MAX_DIGITS = 18
BEYOND = 10**MAX_DIGITS


def bounded(digits):
    digits = digits.lstrip("0") or "0"
    return BEYOND if len(digits) > MAX_DIGITS else int(digits)


def parse_range(header, size):
    """Return (start, end) inclusive for a single byte range, None to send everything, or
    "unsatisfiable"."""
    match = RANGE_RE.match(header.replace(" ", "")) if header else None
    if not match:
        # Absent, malformed or multi-range: RFC 9110 lets us answer with the whole file.
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        length = bounded(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = bounded(first)
    if start >= size:
        return "unsatisfiable"
    end = min(bounded(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end


def read_span(fh, start, length):
    try:
        fh.seek(start)
        while length > 0:
            chunk = fh.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        fh.close()


def serve_file(request, storage, name, *, cache_control):
    """Stream `name` from `storage`, answering Range requests with 206 or 416.

    The same bytes in every language: no `Vary: Accept-Language` (infra.middleware).
    """
    return same_in_every_language(_serve_file(request, storage, name, cache_control))


def _serve_file(request, storage, name, cache_control):
    try:
        size = storage.size(name)
    except FileNotFoundError:
        raise Http404 from None
    try:
        modified_at = int(storage.get_modified_time(name).timestamp())
        last_modified = http_date(modified_at)
    except NotImplementedError:
        modified_at = last_modified = None
    fingerprint = hashlib.blake2s(f"{name}|{last_modified}".encode(), digest_size=8).hexdigest()
    etag = quote_etag(f"{size:x}-{fingerprint}")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"

    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if last_modified:
        headers["Last-Modified"] = last_modified

    # Django's precondition rules (If-None-Match, If-Modified-Since, If-Match: 304 or 412).
    whole = HttpResponse(headers=headers)
    conditional = get_conditional_response(
        request, etag=etag, last_modified=modified_at, response=whole
    )
    if conditional is not whole:
        return conditional

    span = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if if_range and if_range not in (etag, last_modified):
        span = None  # the file changed since the client's partial copy: send it whole
    if span == "unsatisfiable":
        return HttpResponse(status=416, headers=headers | {"Content-Range": f"bytes */{size}"})

    start, end = span or (0, size - 1)
    length = max(end - start + 1, 0)
    headers["Content-Length"] = str(length)
    status = 200
    if span:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD":
        return HttpResponse(status=status, content_type=content_type, headers=headers)
    body = read_span(storage.open(name, "rb"), start, length)
    return StreamingHttpResponse(body, status=status, content_type=content_type, headers=headers)
