"""Signed tokens naming a finished upload, carried by the submission form.

A browser uploads first (tus to the site, or S3 multipart to the bucket) and the form then
names each file by a token: signed (the browser cannot name another file), expiring after a
day, and good for one submission (the claim is recorded with the clips it made).
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from submissions.models import UploadClaim

SALT = "submissions.kept-upload"
# The same file from the same address within this time is the same form sent twice (back,
# then send again: the browser restores the file and sends it under a new token, or plainly).
RESEND_WINDOW = timedelta(hours=6)
SAMPLE_BYTES = 1024 * 1024
MAX_AGE = 24 * 3600
# How long a claim is kept: a token (MAX_AGE), a tus upload and an S3 session all last a day
# at most from before the claim, and a content claim counts for RESEND_WINDOW; after that no
# one can meet the claim again. A day more for clocks that differ between web nodes.
CLAIM_KEPT = max(RESEND_WINDOW, timedelta(seconds=MAX_AGE)) + timedelta(days=1)
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


def record(keys, submission):
    """Note which submission the claimed keys (claim_key, content_key) made."""
    UploadClaim.objects.filter(key__in=keys).update(submission=submission)


def earlier(keys):
    """The submission the latest of these claims made, or None (unknown, or claimed before
    claims noted it)."""
    found = (
        UploadClaim.objects.filter(key__in=keys, submission__isnull=False)
        .select_related("submission")
        .order_by("-at")
        .first()
    )
    return found.submission if found else None


def content_key(email, file, size):
    """A key naming one file's content sent from one address: its size and three samples
    (start, middle, end), so a big upload or an object in the bucket is not read whole.
    Salted: the key tells nothing of the address."""
    digest = hashlib.sha256(str(size).encode())
    for offset in sorted({0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}):
        file.seek(offset)
        digest.update(file.read(SAMPLE_BYTES))
    owner = salted_hmac(SALT, f"{email.strip().lower()}|{digest.hexdigest()}", algorithm="sha256")
    return "content:" + owner.hexdigest()


def claim_content(keys, *, now=None):
    """Record that files of these contents made clips; False when one of them did so within
    RESEND_WINDOW (nothing recorded). Call inside the transaction that records the clips."""
    now = now or timezone.now()
    if UploadClaim.objects.filter(key__in=keys, at__gte=now - RESEND_WINDOW).exists():
        return False
    try:
        with transaction.atomic():
            for key in dict.fromkeys(keys):
                UploadClaim.objects.update_or_create(key=key, defaults={"at": now})
    except IntegrityError:  # the same content claimed at this very moment by another request
        return False
    return True


def prune(*, now=None):
    """Delete the claims older than CLAIM_KEPT, which nothing checks any more: a count."""
    cutoff = (now or timezone.now()) - CLAIM_KEPT
    deleted, _ = UploadClaim.objects.filter(at__lt=cutoff).delete()
    return deleted
