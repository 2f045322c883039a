"""Upload claims (what keeps a file sent twice from making two clips) are pruned by the hourly
`clean_uploads` once nothing can meet them again; until then a resend is still recognised."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from submissions import direct, kept, tus
from submissions.models import Submission, UploadClaim
from tests.factories import form_data, post, upload

pytestmark = pytest.mark.django_db


def clean_uploads():
    out = io.StringIO()
    call_command("clean_uploads", stdout=out)
    return out.getvalue()


def test_claims_stay_while_a_resend_can_come_and_go_once_none_can(
    client, sample_video, media_storage
):
    assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    claims = UploadClaim.objects.count()
    assert claims >= 1

    # Still within the resend window: kept, and the same file again is recognised.
    UploadClaim.objects.update(at=timezone.now() - kept.RESEND_WINDOW + timedelta(minutes=5))
    assert "Removed 0 expired upload claim(s)." in clean_uploads()
    again = post(client, form_data(upload(sample_video)), lang="en")
    assert again.status_code == 400 and "already sent" in again.content.decode()

    # Just short of their time: kept.
    UploadClaim.objects.update(at=timezone.now() - kept.CLAIM_KEPT + timedelta(minutes=1))
    assert "Removed 0 expired upload claim(s)." in clean_uploads()
    assert UploadClaim.objects.count() == claims

    # Past it: gone, and a claim made since stays.
    UploadClaim.objects.update(at=timezone.now() - kept.CLAIM_KEPT - timedelta(minutes=1))
    fresh = UploadClaim.objects.create(key="tus:" + "0" * 32)
    assert f"Removed {claims} expired upload claim(s)." in clean_uploads()
    assert list(UploadClaim.objects.all()) == [fresh]
    assert Submission.objects.count() == 1


def test_claims_outlive_every_token_and_the_resend_window():
    """When a claim goes, no token naming its upload is accepted any more, and no new one can
    be had (a tus upload and an S3 session both end sooner)."""
    longest = max(
        kept.RESEND_WINDOW,
        timedelta(seconds=kept.MAX_AGE),
        tus.EXPIRES_AFTER,
        timedelta(seconds=direct.SESSION_MAX_AGE),
    )
    assert longest < kept.CLAIM_KEPT


def test_the_hourly_prune_reads_the_claims_by_an_index_on_their_time():
    table = UploadClaim._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert any(c["index"] and c["columns"] == ["at"] for c in constraints.values()), constraints
    if connection.vendor == "sqlite":  # the plan names it (PostgreSQL may scan a small table)
        cutoff = timezone.now() - kept.CLAIM_KEPT
        plan = UploadClaim.objects.filter(at__lt=cutoff).explain()
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
