"""Direct uploads: with object storage the browser sends the file straight to the bucket.

S3 multipart upload with presigned part URLs: the site starts the upload, signs one URL per
part (each for its exact length), and completes it itself from ``list_parts`` (so the
browser never needs to read ETag headers). A broken part is simply sent again; after a
reload the browser asks which parts the bucket has (``list_parts``) and sends the rest. The
bytes never pass through a web node. Parts never completed are removed by the bucket's
AbortIncompleteMultipartUpload lifecycle rule (docs/deploy.md).
"""

import contextlib
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import storages
from django.utils import timezone

from gallery import geotags
from gallery.models import Clip
from infra.s3 import RangeFile
from infra.storage import is_s3
from submissions import kept

SESSION_SALT = "submissions.s3-multipart"
SESSION_MAX_AGE = 24 * 3600
UPLOAD_PREFIX = "uploads/"
PART_SIZE = 8 * 1024 * 1024  # S3 wants at least 5 MiB for every part but the last
URL_SECONDS = 6 * 3600  # a slow phone connection may take a while for a part
MAX_URLS = 20  # part URLs signed per request


class UploadMissing(Exception):
    pass


def enabled():
    return is_s3(storages["private"])


def _client():
    storage = storages["private"]
    return storage, storage.connection.meta.client


def part_size():
    return max(PART_SIZE, math.ceil(settings.MAX_UPLOAD_BYTES / 10_000))


@dataclass(frozen=True)
class Session:
    key: str
    upload_id: str
    size: int
    name: str

    @property
    def parts(self):
        return max(1, math.ceil(self.size / part_size()))

    def part_length(self, number):
        return min(part_size(), self.size - (number - 1) * part_size())

    def signed(self):
        return signing.dumps(
            {"k": self.key, "u": self.upload_id, "s": self.size, "n": self.name},
            salt=SESSION_SALT,
        )


def read_session(value):
    try:
        data = signing.loads(value, salt=SESSION_SALT, max_age=SESSION_MAX_AGE)
        return Session(data["k"], data["u"], int(data["s"]), data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise UploadMissing from None


def start(*, filename, size, content_type):
    """Start a multipart upload of `size` bytes; what the browser needs to send its parts."""
    storage, client = _client()
    key = new_key(filename)
    answer = client.create_multipart_upload(
        Bucket=storage.bucket_name, Key=storage._normalize_name(key), ContentType=content_type
    )
    session = Session(key, answer["UploadId"], size, (filename or "")[:200])
    return {"session": session.signed(), "partSize": part_size(), "parts": session.parts}


def uploaded_parts(session):
    """{part number: size} of the parts the bucket holds."""
    storage, client = _client()
    parts, marker = {}, 0
    while True:
        page = client.list_parts(
            Bucket=storage.bucket_name,
            Key=storage._normalize_name(session.key),
            UploadId=session.upload_id,
            PartNumberMarker=marker,
        )
        for part in page.get("Parts", []):
            parts[part["PartNumber"]] = part
        if not page.get("IsTruncated"):
            return parts
        marker = page["NextPartNumberMarker"]


def part_urls(session, numbers):
    """Presigned URLs for the parts `numbers`, each signed for its exact length."""
    storage, client = _client()
    urls = {}
    for number in numbers[:MAX_URLS]:
        if not 1 <= number <= session.parts:
            continue
        urls[number] = client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": storage.bucket_name,
                "Key": storage._normalize_name(session.key),
                "UploadId": session.upload_id,
                "PartNumber": number,
                "ContentLength": session.part_length(number),
            },
            ExpiresIn=URL_SECONDS,
        )
    return urls


def done_parts(session):
    """The numbers of the parts already received whole."""
    return sorted(
        number
        for number, part in uploaded_parts(session).items()
        if number <= session.parts and part["Size"] == session.part_length(number)
    )


class Incomplete(Exception):
    pass


class TooLarge(Exception):
    pass


def complete(session):
    """Join the parts (from list_parts) into the object; a token naming it for the form."""
    storage, client = _client()
    name = storage._normalize_name(session.key)
    try:
        parts = uploaded_parts(session)
    except client.exceptions.ClientError:
        # Completed already (the answer to the first call was lost on the way): the object.
        head = client.head_object(Bucket=storage.bucket_name, Key=name)
        if head["ContentLength"] != session.size:
            raise
        return kept.issue(kept.S3, session.key, name=session.name, size=session.size)
    wanted = range(1, session.parts + 1)
    if any(n not in parts or parts[n]["Size"] != session.part_length(n) for n in wanted):
        raise Incomplete
    client.complete_multipart_upload(
        Bucket=storage.bucket_name,
        Key=name,
        UploadId=session.upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": parts[n]["ETag"]} for n in wanted]},
    )
    size = client.head_object(Bucket=storage.bucket_name, Key=name)["ContentLength"]
    if size > settings.MAX_UPLOAD_BYTES or size != session.size:
        storage.delete(session.key)
        raise TooLarge
    return kept.issue(kept.S3, session.key, name=session.name, size=size)


def abort(session):
    """Cancel the upload: its parts, or the object if finished and no clip was made of it."""
    storage, client = _client()
    with contextlib.suppress(client.exceptions.ClientError):  # already completed or gone
        client.abort_multipart_upload(
            Bucket=storage.bucket_name,
            Key=storage._normalize_name(session.key),
            UploadId=session.upload_id,
        )
    if not Clip.objects.filter(original=session.key).exists():
        storage.delete(session.key)


def store(path, filename):
    """Put a file posted with the plain form where direct uploads go (its geotags blanked:
    it may wait there for the form to come back); its key."""
    with geotags.opened_without_geotags(path) as (fh, _removed):
        return storages["private"].save(new_key(filename), File(fh))


def new_key(filename):
    suffix = (
        "".join(c for c in Path(filename or "").suffix.lower()[:8] if c.isalnum() or c == ".")
        or ".bin"
    )
    return f"{UPLOAD_PREFIX}{uuid.uuid4().hex}{suffix}"


def open_upload(key):
    """The uploaded object `key`, readable by ranges (nothing is downloaded whole)."""
    storage, client = _client()
    try:
        head = client.head_object(Bucket=storage.bucket_name, Key=storage._normalize_name(key))
    except client.exceptions.ClientError:
        raise UploadMissing from None
    return RangeFile(
        client, storage.bucket_name, storage._normalize_name(key), size=head["ContentLength"]
    )


def discard(key):
    storages["private"].delete(key)


UNSENT_DAYS = 2


def clean_unsent(*, now=None):
    """Delete finished uploads no clip uses after UNSENT_DAYS (the form was never sent).

    The bucket's AbortIncompleteMultipartUpload rule removes unfinished ones.
    """
    storage, client = _client()
    cutoff = (now or timezone.now()) - timedelta(days=UNSENT_DAYS)
    prefix = storage._normalize_name(UPLOAD_PREFIX)
    removed = 0
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=storage.bucket_name, Prefix=prefix
    ):
        for item in page.get("Contents", []):
            key = UPLOAD_PREFIX + item["Key"][len(prefix) :]
            if item["LastModified"] < cutoff and not Clip.objects.filter(original=key).exists():
                storage.delete(key)
                removed += 1
    return removed
