"""Media files and the health check are the same in every language: no `Vary:
Accept-Language` (a cache would keep a copy per language); pages chosen by language keep it."""

import pytest

from gallery.models import Clip
from tests.factories import make_clip

pytestmark = pytest.mark.django_db

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def varies_with_language(response):
    return "accept-language" in response.get("Vary", "").lower()


@pytest.fixture
def clip():
    return make_clip(status=Clip.Status.PUBLISHED)


def test_the_health_check_does_not_vary_with_language(client):
    response = client.get("/healthz", headers=FRENCH)
    assert response.status_code == 200 and not varies_with_language(response)


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-3"}])
def test_published_media_does_not_vary_with_language(client, clip, headers):
    response = client.get(clip.video.url, headers=FRENCH | headers)
    assert response.status_code in (200, 206)
    assert not varies_with_language(response), response.get("Vary")
    again = client.get(clip.video.url, headers=FRENCH | {"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and not varies_with_language(again)


def test_a_signed_private_media_link_does_not_vary_with_language(client, clip):
    url = clip.review_video_url
    assert "sig=" in url
    response = client.get(url, headers=FRENCH)
    assert response.status_code == 200 and not varies_with_language(response)


def test_pages_chosen_by_language_keep_it(client, clip):
    # The address without a language sends each visitor to their own language's gallery.
    response = client.get("/", headers=FRENCH)
    assert response.status_code == 302 and varies_with_language(response)
    # So does a missing media file's page, which speaks the visitor's language.
    missing = client.get(f"/media/clips/{clip.pk}/nothing.mp4", headers=FRENCH)
    assert missing.status_code == 404 and varies_with_language(missing)
