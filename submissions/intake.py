"""Turn what an owner sent into a Submission and clips waiting for processing."""

import logging
import uuid
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from gallery.models import Clip
from gallery.tasks import process_clip
from infra.storage import private_storage
from submissions import notifications
from submissions.models import Submission

log = logging.getLogger(__name__)


def store_original(path, *, name):
    """Copy an owner's file into private storage; returns the stored name."""
    suffix = "".join(c for c in Path(name).suffix.lower()[:8] if c.isalnum() or c == ".") or ".bin"
    # A unique name by construction: "exists, then save" races between web nodes on S3.
    with open(path, "rb") as fh:
        return private_storage().save(
            f"originals/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}", File(fh)
        )


def create_web_submission(data, *, language, upload_path=None, upload_name=None, stored=None):
    """Store the upload privately (unless the browser already put it in storage: `stored`),
    then record the submission and its clip in one transaction."""
    if stored is None:
        stored = store_original(upload_path, name=upload_name)
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                email=data["email"], language=language, source=Submission.Source.WEB
            )
            submission.give_consent()
            clip = Clip.objects.create(
                title=data["title"],
                description=data["description"],
                credit_name=data["credit_name"],
                credit_country=data["credit_country"],
                language=language,
                source=Clip.Source.WEB,
                submission=submission,
                original=stored,
            )
            clip.themes.set(data["themes"])
            transaction.on_commit(lambda: process_clip.enqueue(clip.pk))
            transaction.on_commit(lambda: notifications.send_receipt(submission), robust=True)
    except BaseException:
        # Nothing half-made stays behind: the row is rolled back, so the file goes too.
        private_storage().delete(stored)
        raise
    return submission
