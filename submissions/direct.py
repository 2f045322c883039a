"""Direct uploads: with object storage the browser sends the file straight to the bucket.

The site signs a POST policy that fixes the key, caps the size and restricts the type; the
bytes never pass through a web node. A signed ticket then names the object in the form.
"""

import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files.storage import storages

from gallery.models import Clip
from infra.s3 import RangeFile
from infra.storage import is_s3

TICKET_SALT = "submissions.direct-upload"
TICKET_MAX_AGE = 24 * 3600
UPLOAD_PREFIX = "uploads/"
POLICY_SECONDS = 6 * 3600  # a slow phone connection may take a while


class UploadMissing(Exception):
    pass


def enabled():
    return is_s3(storages["private"])


def presign(*, filename, content_type):
    """A presigned POST for one upload, plus the ticket that later names it."""
    storage = storages["private"]
    suffix = (
        "".join(c for c in Path(filename or "").suffix.lower()[:8] if c.isalnum() or c == ".")
        or ".bin"
    )
    key = f"{UPLOAD_PREFIX}{uuid.uuid4().hex}{suffix}"
    post = storage.connection.meta.client.generate_presigned_post(
        Bucket=storage.bucket_name,
        Key=storage._normalize_name(key),
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, settings.MAX_UPLOAD_BYTES],
        ],
        ExpiresIn=POLICY_SECONDS,
    )
    return {
        "url": post["url"],
        "fields": post["fields"],
        "ticket": signing.dumps(key, salt=TICKET_SALT),
    }


@dataclass
class Upload:
    key: str
    file: RangeFile

    @property
    def size(self):
        return self.file.size


def open_upload(ticket):
    """The uploaded object a ticket names, readable by ranges (nothing is downloaded whole)."""
    try:
        key = signing.loads(ticket, salt=TICKET_SALT, max_age=TICKET_MAX_AGE)
    except signing.BadSignature:
        raise UploadMissing from None
    storage = storages["private"]
    client = storage.connection.meta.client
    try:
        head = client.head_object(Bucket=storage.bucket_name, Key=storage._normalize_name(key))
    except client.exceptions.ClientError:
        raise UploadMissing from None
    file = RangeFile(
        client, storage.bucket_name, storage._normalize_name(key), size=head["ContentLength"]
    )
    return Upload(key=key, file=file)


def used(key):
    """Whether a clip was already made of the upload `key` (a ticket is good for one)."""
    return Clip.objects.filter(original=key).exists()


def discard(key):
    storages["private"].delete(key)
