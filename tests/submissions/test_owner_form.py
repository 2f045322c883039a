"""The form tells the owner what it will not take, in words, instead of cutting or guessing."""

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gallery.models import Clip, Theme
from gallery.synth import synthesize
from submissions import kept
from submissions.models import Submission, UploadClaim
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


def test_the_same_file_sent_again_by_its_owner_is_recognised(
    client, sample_video, settings, media_storage
):
    """Back, then send again: the same bytes from the same address make no second clip."""
    assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    again = post(client, form_data(upload(sample_video, name="renamed.mp4")), lang="en")
    assert again.status_code == 400
    status_url = Submission.objects.get().get_status_url()
    assert again.context["form"].errors["video"] == [
        "This file was already sent: its clip is with our team. "
        f'Follow it on <a href="{status_url}">its page</a>.'
    ]
    assert Submission.objects.count() == 1 and Clip.objects.count() == 1
    # Someone else may send the same file (a friend's copy): its own submission.
    other = form_data(upload(sample_video), email="friend@example.org")
    assert post(client, other, lang="en").status_code == 302
    assert Submission.objects.count() == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_same_file_sent_again_links_to_the_page_this_browser_was_given(
    client, sample_video, media_storage, language
):
    """Sent, then sent again from the same browser: the owner is shown the way to the clip's
    private page (the thanks page gave this browser its link), at the top and at the field."""
    assert post(client, form_data(upload(sample_video)), lang=language).status_code == 302
    status_url = Submission.objects.get().get_status_url()
    again = post(client, form_data(upload(sample_video)), lang=language)
    assert again.status_code == 400
    page = again.content.decode()
    said = said_in(
        language,
        '{name} was already sent: its clip is with our team. Follow it on <a href="{url}">its page</a>.',
    )
    expected = said.format(name=said_in(language, "This file"), url=status_url)
    summary = page[page.index("data-error-summary") : page.index("</section>")]
    assert html.unescape(expected) in html.unescape(summary)
    assert page.count(f'href="{status_url}"') == 2  # the summary and the file's own message
    assert f'<a href="#id_video">{expected}' not in page  # no link inside a link
    assert client.get(status_url).status_code == 200


def test_the_same_file_and_address_from_another_browser_get_no_link(
    client, sample_video, media_storage
):
    """Anyone may type an address: someone else holding a copy of the file and the owner's
    address is told where the link is (the owner's receipt), never given the owner's page."""
    assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    status_url = Submission.objects.get().get_status_url()
    stranger = Client(REMOTE_ADDR="198.51.100.7")
    again = post(stranger, form_data(upload(sample_video)), lang="en")
    assert again.status_code == 400
    assert again.context["form"].errors["video"] == [
        "This file was already sent: its clip is with our team. "
        "The receipt e-mail sent to the address it came from has the link to its page."
    ]
    assert status_url not in again.content.decode()
    # Whoever opened the page with the link from the receipt is given it again.
    assert stranger.get(status_url).status_code == 200
    third = post(stranger, form_data(upload(sample_video)), lang="en")
    assert f'href="{status_url}"' in third.content.decode()
    assert Submission.objects.count() == 1


def test_the_same_file_long_after_is_a_new_submission(client, sample_video, media_storage):
    assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    UploadClaim.objects.update(at=timezone.now() - kept.RESEND_WINDOW - timedelta(minutes=1))
    assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    assert Submission.objects.count() == 2


def test_another_file_from_the_same_owner_is_welcome(client, sample_video, tmp_path):
    other = synthesize(tmp_path / "other.mp4", seconds=1, width=320, height=180, seed=11)
    assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    assert post(client, form_data(upload(other)), lang="en").status_code == 302
    assert Submission.objects.count() == 2
