"""Error pages speak the visitor's language, keep the site's header and offer a way back."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.utils import translation
from django.views import defaults

from gallery.models import Clip
from tests.factories import make_clip, said_in

pytestmark = pytest.mark.django_db

LANGUAGES = ["fr", "en", "de", "nl", "it", "es"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_missing_page_is_a_404_in_the_visitors_language(client, language):
    response = client.get(f"/{language}/clips/999999/")
    page = response.content.decode()
    assert response.status_code == 404
    assert f'<html lang="{language}">' in page
    assert said_in(language, "Page not found") in page
    assert f'href="/{language}/"' in page  # the way back to the gallery
    assert 'class="site-header"' in page and 'name="robots" content="noindex"' in page


def test_a_withdrawn_clip_says_it_is_no_longer_available(client):
    """Still a 404 (DESIGN.md: only published clips exist for visitors), but the page says
    what became of the clip instead of "Page not found"."""
    clip = make_clip(title="Col du Galibier")
    url = clip.get_absolute_url()
    assert client.get(url).status_code == 200  # and now in the page cache
    media = clip.video.url
    assert client.get(media).status_code == 200
    clip.withdraw()
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.WITHDRAWN
    for _ in range(2):  # the page cache keeps neither the clip nor its absence
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 404
        assert said_in("en", "This clip is no longer available.") in page
        assert said_in("en", "Its owner has withdrawn it from the gallery.") in page
        assert "Col du Galibier" not in page and branded(page, "en")
        assert "no-cache" in response["Cache-Control"] and "ETag" not in response
    # Its media stays a plain 404, as for any clip visitors cannot see.
    assert client.get(media).status_code == 404


@pytest.mark.parametrize("status", [Clip.Status.REVIEW, Clip.Status.WITHDRAWN])
def test_a_clip_never_public_stays_a_404_even_when_withdrawn(client, status):
    clip = make_clip(title="Col du Galibier", status=status)
    for _ in range(2):
        response = client.get(clip.get_absolute_url())
        assert response.status_code == 404
        assert said_in("en", "Page not found") in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_refusals_and_server_errors_are_branded_and_translated(language):
    request = RequestFactory().get(f"/{language}/")
    with translation.override(language):
        refused = defaults.permission_denied(request, PermissionDenied())
        failed = defaults.server_error(request)  # rendered with no context at all
    assert refused.status_code == 403
    assert said_in(language, "Access refused") in refused.content.decode()
    assert failed.status_code == 500
    page = failed.content.decode()
    assert said_in(language, "Something went wrong") in page
    assert f'<html lang="{language}">' in page and f'href="/{language}/"' in page


@pytest.mark.parametrize("path", ["/fr/nope/", "/de/clips/01/", "/it/preview/forged/", "/xyz"])
def test_addresses_that_match_nothing_get_the_same_page(client, path):
    response = client.get(path, follow=True)  # /xyz goes to the visitor's language first
    assert response.status_code == 404
    page = response.content.decode()
    language = page.split('<html lang="')[1][:2]
    assert said_in(language, "Page not found") in page


def branded(page, language):
    """The site's header, in `language`, with a way back to the gallery."""
    return (
        f'<html lang="{language}">' in page
        and 'class="site-header"' in page
        and f'href="/{language}/"' in page
        and said_in(language, "Back to the gallery") in page
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rate_limiters_refusal_is_the_branded_429(client, settings, language):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"submit-ip": "0/600"}
    refused = client.post(f"/{language}/submit/", {"title": "Col"})
    page = refused.content.decode()
    assert refused.status_code == 429 and refused["Retry-After"] == "600"
    assert said_in(language, "Too many requests") in page
    with translation.override(language):
        later = translation.ngettext(
            "You have sent a lot in a short time. Please try again in %(minutes)s minute.",
            "You have sent a lot in a short time. Please try again in %(minutes)s minutes.",
            10,
        ) % {"minutes": 10}
    assert later in page and branded(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_locked_out_log_in_gets_the_branded_429(settings, language):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    User.objects.create_user("mona", password="a-long-secret-42", is_staff=True)
    browser = Client(headers={"Accept-Language": language})
    for _ in range(2):
        assert browser.post("/admin/login/", {"username": "mona", "password": "no"}).status_code
    refused = browser.post("/admin/login/", {"username": "mona", "password": "a-long-secret-42"})
    page = refused.content.decode()
    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    with translation.override(language):
        message = translation.ngettext(
            "Too many failed attempts. Please try again in %(minutes)d minute.",
            "Too many failed attempts. Please try again in %(minutes)d minutes.",
            15,
        ) % {"minutes": 15}
    assert language == "en" or "Too many failed attempts" not in message
    assert message in page and said_in(language, "Too many requests") in page
    assert branded(page, language)
    assert "_auth_user_id" not in browser.session


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("taken_off", ["withdrawn", "unpublished", "never published"])
def test_a_clip_no_longer_on_the_site_says_so_in_the_visitors_language(client, language, taken_off):
    clip = make_clip(title="Col du Galibier", status=Clip.Status.PUBLISHED)
    if taken_off == "never published":
        clip = make_clip(title="Col du Galibier", status=Clip.Status.REVIEW)
    url = f"/{language}/clips/{clip.pk}-{clip.slug}/"
    if taken_off != "never published":
        assert client.get(url).status_code == 200  # and now in the page cache
    if taken_off == "withdrawn":
        clip.withdraw()
    elif taken_off == "unpublished":
        clip.unpublish(by=None, reason="Shows a number plate.")
    for _ in range(2):  # neither answer is kept by the page cache
        response = client.get(url)
        page = response.content.decode()
        if taken_off == "withdrawn":
            assert response.status_code == 404
            assert said_in(language, "This clip is no longer available.") in page
            assert said_in(language, "Its owner has withdrawn it from the gallery.") in page
        else:
            assert response.status_code == 404
            assert said_in(
                language,
                "This page does not exist, or the clip it showed is no longer available: "
                "its owner may have withdrawn it.",
            ) in page  # fmt: skip
        assert "Col du Galibier" not in page and branded(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_withdrawn_clip_still_framed_on_another_site_says_so_in_the_frame(language):
    clip = make_clip(title="Col du Galibier")
    visitor = Client(headers={"Accept-Language": language})
    assert visitor.get(f"/embed/{clip.pk}/").status_code == 200
    clip.withdraw()
    response = visitor.get(f"/embed/{clip.pk}/")
    page = response.content.decode()
    assert response.status_code == 404
    assert said_in(language, "This clip is no longer available.") in page
    assert f'<html lang="{language}">' in page and f'href="/{language}/"' in page
    assert "Col du Galibier" not in page
    # Framed like the player itself, where the site's other pages refuse to be.
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_withdrawn_clip_s_frame_says_what_its_page_says_and_is_never_cached(language):
    clip = make_clip(title="Col du Galibier")
    visitor = Client(headers={"Accept-Language": language})
    clip.withdraw()
    page_said = visitor.get(f"/{language}/clips/{clip.pk}/").content.decode()
    response = visitor.get(f"/embed/{clip.pk}/")
    frame = response.content.decode()
    assert response.status_code == 404
    for text in (
        "This clip is no longer available.",
        "Its owner has withdrawn it from the gallery.",
    ):
        assert said_in(language, text) in page_said and said_in(language, text) in frame
    # Not kept by a browser or a shared cache: the owner may publish it again.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    # The embed's own minimal layout: no site header, no script.
    assert "site-header" not in frame and "<script" not in frame
    assert "embed.css" in frame


def test_the_frame_of_a_clip_never_published_does_not_say_its_owner_withdrew_it(client):
    clip = make_clip(status=Clip.Status.REVIEW)
    response = client.get(f"/embed/{clip.pk}/", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "withdrawn" not in response.content.decode()
    assert "no-store" in response["Cache-Control"]
