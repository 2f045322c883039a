"""Signed tokens naming a finished upload, carried by the submission form.

A browser uploads first (tus to the site, or S3 multipart to the bucket) and the form then
names each file by a token: signed (the browser cannot name another file), expiring after a
day, and good for one submission (the claim is recorded with the clips it made).
"""

from dataclasses import dataclass

from django.core import signing
from django.db import IntegrityError, transaction

from submissions.models import UploadClaim

SALT = "submissions.kept-upload"
MAX_AGE = 24 * 3600
LOCAL = "tus"  # an upload to the site: its tus id
S3 = "s3"  # an object sent straight to the bucket: its key


class Refused(Exception):
    """The token is forged, expired, or names nothing we know."""


@dataclass(frozen=True)
class Kept:
    kind: str
    ref: str
    name: str
    size: int
    token: str

    @property
    def claim_key(self):
        return f"{self.kind}:{self.ref}"

    @property
    def used(self):
        return UploadClaim.objects.filter(key=self.claim_key).exists()


def issue(kind, ref, *, name, size):
    return signing.dumps({"k": kind, "r": ref, "n": name, "s": size}, salt=SALT, compress=True)


def read(token):
    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE)
        kept = Kept(value["k"], value["r"], value["n"], int(value["s"]), token)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Refused from None
    if kept.kind not in (LOCAL, S3):
        raise Refused
    return kept


def claim(uploads):
    """Record that `uploads` made clips; False when one of them already did (nothing recorded).

    Call inside the transaction that records the clips: the unique key settles a race.
    """
    try:
        with transaction.atomic():
            for upload in uploads:
                UploadClaim.objects.create(key=upload.claim_key)
    except IntegrityError:
        return False
    return True
