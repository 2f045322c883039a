"""The form tells the owner what it will not take, in words, instead of cutting or guessing."""

import html

import pytest

from gallery.models import Clip, Theme
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


@pytest.mark.parametrize(
    "themes, message",
    [
        (["weekend", "weekend"], "Choose each theme only once."),
        (
            ["weekend", "design", "weekend", "design", "weekend", "design"],
            "Choose each theme only once.",
        ),
        ([], "Choose at least one theme."),
    ],
)
def test_themes_posted_twice_or_none_are_refused_in_words(client, sample_video, themes, message):
    response = post(client, form_data(upload(sample_video), themes=themes), lang="de")
    assert response.status_code == 400
    assert response.context["form"].errors["themes"] == [said_in("de", message)]
    assert said_in("de", message) in html.unescape(response.content.decode())
    assert Clip.objects.count() == 0


def test_more_than_five_themes_are_refused(client, sample_video):
    for index in range(3):
        Theme.objects.create(slug=f"extra-{index}", name=f"Extra {index}")
    slugs = list(Theme.objects.values_list("slug", flat=True))
    assert len(slugs) > 5
    response = post(client, form_data(upload(sample_video), themes=slugs[:6]), lang="it")
    assert response.status_code == 400
    assert response.context["form"].errors["themes"] == [
        said_in("it", "Choose at most five themes.")
    ]
    assert Clip.objects.count() == 0
    five = post(client, form_data(upload(sample_video), themes=slugs[:5]), lang="it")
    assert five.status_code == 302 and Clip.objects.count() == 1
