"""What each page answers to each method, and which pages no shared cache may keep."""

import pytest
from django.test import Client

from tests.factories import make_clip, owned_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    submission, clip = owned_clip()
    return submission, clip


def test_submit_and_status_pages_answer_head(client, owner):
    submission, _clip = owner
    for url in ("/en/submit/", submission.get_status_url()):
        response = client.head(url)
        assert response.status_code == 200, url
        assert response.content == b""


def test_an_owners_pages_are_kept_by_no_cache(client, owner):
    """Status, withdrawal and thanks pages hold an owner's clips and buttons: private,
    no-store, so no proxy or shared browser cache keeps them."""
    submission, clip = owner
    url = submission.get_status_url()
    confirm = client.post(url, {"action": "withdraw", "clip": clip.pk})
    assert b"withdraw" in confirm.content.lower()
    for response in (client.get(url), confirm, client.head(url)):
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, response["Cache-Control"]


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH"])
def test_feeds_and_pages_refuse_methods_they_do_not_serve(client, owner, sample_video, method):
    clip = make_clip(title="Clip", video=sample_video)
    submission, _ = owner
    browser = Client()
    urls = (
        "/en/feed/",
        "/en/feed/atom/",
        "/en/",
        clip.get_absolute_url(),
        clip.video.url,
        f"/embed/{clip.pk}/",
        "/oembed?url=" + clip.get_absolute_url(),
        "/en/submit/",
        "/en/submit/upload/",
        "/en/terms/",
        submission.get_status_url(),
        "/healthz",
        "/robots.txt",
        "/sitemap.xml",
    )
    for url in urls:
        response = browser.generic(method, url)
        assert response.status_code == 405, (method, url, response.status_code)
        assert method not in response["Allow"]
