import pytest
from django.test import Client

from gallery.synth import synthesize
from submissions.models import Submission
from tests.factories import form_data, owned_clip, post, upload

pytestmark = pytest.mark.django_db


def test_submitting_too_often_from_one_address_gets_a_translated_429(client, settings, tmp_path):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"submit-ip": "3/3600"}
    junk = tmp_path / "x.mp4"
    junk.write_text("not a video")
    for _ in range(3):
        assert post(client, form_data(upload(junk)), lang="en").status_code == 400
    refused = post(client, form_data(upload(junk)), lang="fr")
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "<h1>Trop de demandes</h1>" in page and "Too many requests" not in page
    assert '<html lang="fr"' in page and "Veuillez réessayer dans 60 minutes." in page
    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.post("/en/submit/", form_data(upload(junk))).status_code == 400


def test_one_e_mail_address_cannot_flood_from_many_addresses(settings, sample_video, tmp_path):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"submit-email": "2/3600"}
    for n in range(2):
        # Two different clips: the same one twice is a resend (test_owner_form.py).
        video = synthesize(tmp_path / f"clip-{n}.mp4", seconds=1, width=320, height=180, seed=n)
        accepted = Client(REMOTE_ADDR=f"203.0.113.{n}").post(
            "/en/submit/", form_data(upload(video), email="Same@Example.org")
        )
        assert accepted.status_code == 302
    refused = Client(REMOTE_ADDR="203.0.113.99").post(
        "/en/submit/", form_data(upload(sample_video), email="same@example.org")
    )
    assert refused.status_code == 429
    assert Submission.objects.count() == 2


def test_an_address_limit_is_untouched_by_invalid_submissions(settings, sample_video, tmp_path):
    """Anyone may type someone else's e-mail address into a form that fails: only accepted
    submissions count against the address, so its owner can still send."""
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"submit-email": "2/3600"}
    junk = tmp_path / "x.mp4"
    junk.write_text("not a video")
    for n in range(10):
        spoiler = Client(REMOTE_ADDR=f"203.0.113.{n}")
        invalid = spoiler.post(
            "/en/submit/", form_data(upload(junk), email="owner@example.org", title="")
        )
        assert invalid.status_code == 400
    owner = Client(REMOTE_ADDR="198.51.100.30")
    sent = owner.post("/en/submit/", form_data(upload(sample_video), email="owner@example.org"))
    assert sent.status_code == 302
    assert Submission.objects.get().email == "owner@example.org"


def test_guessing_status_links_is_limited(client, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"status-ip": "5/3600"}
    submission, _ = owned_clip()
    for n in range(4):
        assert client.get(f"/en/my/guess{n}/").status_code == 404
    assert client.get(submission.get_status_url()).status_code == 200
    assert client.get(submission.get_status_url()).status_code == 429
