"""The form tells the owner what it will not take, in words, instead of cutting or guessing."""

import html

import pytest

from gallery.models import Clip
from tests.factories import form_data, post, said_in, upload

pytestmark = pytest.mark.django_db

LANGUAGES = ["fr", "en", "de", "nl", "it", "es"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_title_longer_than_it_may_be_is_refused_with_its_length(client, sample_video, language):
    """A client that sends more than fits (no script, no `maxlength`) hears how long it is."""
    response = post(client, form_data(upload(sample_video), title="x" * 1600), lang=language)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    expected = said_in(
        language,
        "At most %(limit_value)d characters, this one has %(show_value)d: please shorten it.",
        limit_value=120,
        show_value=1600,
    )
    assert expected in page
    assert response.context["form"].errors["title"] == [expected]
    assert Clip.objects.count() == 0


def test_the_title_field_cuts_nothing_and_says_its_limit(client):
    page = html.unescape(client.get("/en/submit/").content.decode())
    title = page[page.index('name="title"') - 200 : page.index('name="title"') + 300]
    assert "maxlength" not in title and 'data-max-length="120"' in title
    assert "At most 120 characters." in page
