"""Error pages speak the visitor's language, keep the site's header and offer a way back."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
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
    clip = make_clip(title="Col du Galibier")
    url = clip.get_absolute_url()
    assert client.get(url).status_code == 200
    clip.withdraw()
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.WITHDRAWN
    response = client.get(url)
    assert response.status_code == 404
    assert (
        said_in(
            "en",  # the clip's address is in the language active here
            "This page does not exist, or the clip it showed is no longer available: "
            "its owner may have withdrawn it.",
        )
        in response.content.decode()
    )
    assert "Col du Galibier" not in response.content.decode()


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
