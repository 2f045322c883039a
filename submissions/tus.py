"""Resumable uploads to the site itself (local storage mode): the core of tus 1.0.

Our own small server because no maintained Django tus server exists (django-tus last
released in 2020); the browser side is the reference client, tus-js-client.

Extensions: creation, expiration, termination. Each upload is two files in a private folder:
``<id>.part`` (the bytes so far: its size is the offset) and ``<id>.json`` (length, file
name and type, creation time, bytes received in all). The id is 128 random bits: knowing it
is what lets a browser continue an upload, as with any tus server.
"""

import base64
import binascii
import fcntl
import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from gallery import geotags
from infra.bodies import accepts_body
from infra.clients import client_ip
from infra.storage import is_s3, private_storage
from submissions import kept, ratelimit

VERSION = "1.0.0"
EXTENSIONS = "creation,expiration,termination"
# An unfinished upload may be continued for a day, then it is removed.
EXPIRES_AFTER = timedelta(hours=24)
FOLDER = "partial-uploads"
READ_SIZE = 1024 * 1024
# What the browser sends per PATCH: a cut costs at most the bytes of one chunk in flight,
# and the server keeps what arrived of it.
CHUNK_BYTES = 8 * 1024 * 1024
ID = re.compile(r"^[0-9a-f]{32}$")
METADATA_BYTES = 4096


def enabled():
    """Uploads to the site itself: local storage (on object storage they go to the bucket)."""
    return not is_s3(private_storage())


def root():
    folder = Path(private_storage().path(FOLDER))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Partial:
    id: str
    length: int
    name: str
    content_type: str
    created: float
    received: int

    @property
    def data(self):
        return root() / f"{self.id}.part"

    @property
    def info(self):
        return root() / f"{self.id}.json"

    @property
    def offset(self):
        try:
            return self.data.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def expires(self):
        return self.created + EXPIRES_AFTER.total_seconds()

    @property
    def finished(self):
        return self.offset == self.length

    def save(self):
        # Written aside, then renamed: a reader never sees a half-written description.
        fresh = self.info.with_suffix(f".{uuid.uuid4().hex}.tmp")
        fresh.write_text(
            json.dumps(
                {
                    "length": self.length,
                    "name": self.name,
                    "type": self.content_type,
                    "created": self.created,
                    "received": self.received,
                }
            )
        )
        fresh.replace(self.info)

    def remove(self):
        self.data.unlink(missing_ok=True)
        self.info.unlink(missing_ok=True)


def create(length, *, name="", content_type=""):
    partial = Partial(uuid.uuid4().hex, length, name[:200], content_type[:100], time.time(), 0)
    partial.data.touch()
    partial.save()
    return partial


def adopt(path, *, name=""):
    """A finished upload holding a copy of the file at `path` (a plain form's upload)."""
    partial = create(path.stat().st_size, name=name)
    shutil.copyfile(path, partial.data)
    geotags.remove_geotags(partial.data)  # it may wait a day for the form to come back
    partial.received = partial.length
    partial.save()
    return partial


def load(upload_id):
    """The upload `upload_id`, or None when unknown, expired or already made into a clip."""
    if not ID.match(upload_id or ""):
        return None
    try:
        info = json.loads((root() / f"{upload_id}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    partial = Partial(
        upload_id, info["length"], info["name"], info["type"], info["created"], info["received"]
    )
    if partial.expires < time.time() or not partial.data.exists():
        return None
    return partial


def parse_metadata(header):
    """Upload-Metadata: comma-separated "key base64value" pairs."""
    metadata = {}
    for pair in (header or "")[:METADATA_BYTES].split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            metadata[key] = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            metadata[key] = ""
    return metadata


def tus_response(status, **headers):
    response = HttpResponse(status=status)
    response["Tus-Resumable"] = VERSION
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = str(value)
    return response


def described(partial, status=200, **headers):
    """The upload's state; once complete, with the token that names it in the form."""
    response = tus_response(
        status,
        Upload_Offset=partial.offset,
        Upload_Length=partial.length,
        Upload_Expires=http_date(partial.expires),
        **headers,
    )
    if partial.finished:
        response["Upload-Token"] = kept.issue(
            kept.LOCAL, partial.id, name=partial.name, size=partial.length
        )
    return response


def parse_number(value):
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@never_cache
@require_http_methods(["POST", "OPTIONS"])
def collection(request):
    """OPTIONS tells what the server does; POST creates an upload."""
    if not enabled():
        raise Http404
    if request.method == "OPTIONS":
        return tus_response(
            204,
            Tus_Version=VERSION,
            Tus_Extension=EXTENSIONS,
            Tus_Max_Size=settings.MAX_UPLOAD_BYTES,
        )
    if request.headers.get("Tus-Resumable") != VERSION:
        return tus_response(412, Tus_Version=VERSION)
    length = parse_number(request.headers.get("Upload-Length"))
    if length is None or length == 0:
        return tus_response(400)
    if length > settings.MAX_UPLOAD_BYTES:
        return tus_response(413)
    if not ratelimit.allow("upload-ip", client_ip(request)):
        return tus_response(429)
    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    partial = create(
        length, name=metadata.get("filename", ""), content_type=metadata.get("filetype", "")
    )
    location = reverse("submissions:tus-upload", args=[partial.id])
    return described(partial, 201, Location=request.build_absolute_uri(location))


@never_cache
@require_http_methods(["HEAD", "PATCH", "DELETE", "OPTIONS"])
@accepts_body(lambda: settings.MAX_UPLOAD_BYTES)
def upload(request, upload_id):
    if not enabled():
        raise Http404
    if request.method == "OPTIONS":
        return tus_response(204, Tus_Version=VERSION, Tus_Extension=EXTENSIONS)
    partial = load(upload_id)
    if partial is None:
        return tus_response(404)
    if request.method == "HEAD":
        return described(partial)
    if request.headers.get("Tus-Resumable") != VERSION:
        return tus_response(412, Tus_Version=VERSION)
    if request.method == "DELETE":
        with locked(partial):
            partial.remove()
        return tus_response(204)
    if request.content_type != "application/offset+octet-stream":
        return tus_response(415)
    offset = parse_number(request.headers.get("Upload-Offset"))
    length = parse_number(request.META.get("CONTENT_LENGTH"))
    if offset is None:
        return tus_response(400)
    with locked(partial) as current:
        if current is None:
            return tus_response(404)
        if offset != current.offset:
            return tus_response(409, Upload_Offset=current.offset)
        room = current.length - offset
        if length is not None and length > room:
            return tus_response(413)
        received = append(current, request, room)
        if current.finished:
            # Whole: its geotags are blanked before it waits for the form.
            geotags.remove_geotags(current.data)
    return described(current, 204) if received is not None else tus_response(500)


class locked:
    """Holds the upload's lock; gives it as read again under the lock (None when gone)."""

    def __init__(self, partial):
        self.partial = partial

    def __enter__(self):
        self.handle = open(root() / f"{self.partial.id}.lock", "a+b")  # noqa: SIM115
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return load(self.partial.id)

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
        if load(self.partial.id) is None:
            (root() / f"{self.partial.id}.lock").unlink(missing_ok=True)


def append(partial, request, room):
    """Write the request body at the end of the upload, as much of it as arrives.

    A connection that breaks keeps the bytes received: the browser continues from there.
    """
    received = 0
    with partial.data.open("ab") as out:
        try:
            while received < room:
                chunk = request.read(min(READ_SIZE, room - received))
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
        except OSError:
            pass  # the client went away: what arrived is kept
        finally:
            out.flush()
            partial.received += received
            partial.save()
    return received


def clean(*, now=None):
    """Remove uploads past their expiry (unfinished, or finished but never sent): a count."""
    now = now or time.time()
    removed = 0
    folder = root()
    for info in folder.glob("*.json"):
        upload_id = info.stem
        try:
            created = json.loads(info.read_text())["created"]
        except (ValueError, KeyError, FileNotFoundError):
            created = info.stat().st_mtime
        if created + EXPIRES_AFTER.total_seconds() < now:
            Partial(upload_id, 0, "", "", created, 0).remove()
            (folder / f"{upload_id}.lock").unlink(missing_ok=True)
            removed += 1
    # Bytes without a description, descriptions never renamed (a crash between writes).
    for data in [*folder.glob("*.part"), *folder.glob("*.tmp")]:
        if not data.with_suffix(".json").exists() and data.stat().st_mtime + 3600 < now:
            data.unlink(missing_ok=True)
            removed += 1
    return removed
