"""WebVTT captions: checked on upload in the admin, stored like the clip's other media, offered
by the players as <track> elements."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gallery.captions import MAX_CAPTION_BYTES, parse_webvtt, sync_caption_files
from gallery.models import Caption, Clip
from tests.factories import make_clip

pytestmark = pytest.mark.django_db

VTT = (
    "WEBVTT\n\n00:00.000 --> 00:02.500\nBonjour !\n\n"
    "1\n00:00:02.500 --> 00:00:05.000 align:start\nÀ bientôt.\n"
)


def add_caption(clip, language, text=VTT, label=""):
    """A caption as the admin would leave it (stored, published with a published clip)."""
    caption = Caption(clip=clip, language=language, label=label)
    caption.file.save("upload.vtt", ContentFile(text.encode()), save=True)
    sync_caption_files(clip, before=set())
    return caption


# --- the checks ---


def test_a_valid_file_gives_its_cues():
    cues = parse_webvtt(VTT.encode())
    assert [(c.start, c.end) for c in cues] == [(0, 2.5), (2.5, 5)]
    # A byte order mark, CRLF line ends, hours and a header comment are fine.
    assert (
        len(
            parse_webvtt(
                b"\xef\xbb\xbfWEBVTT - made by hand\r\n\r\n01:00:00.000 --> 01:00:01.000\r\nHi\r\n"
            )
        )
        == 1
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "its first line must be “WEBVTT”"),
        (b"1\n00:00.000 --> 00:01.000\nHi\n", "its first line must be “WEBVTT”"),
        (b"WEBVTTX\n\n00:00.000 --> 00:01.000\nHi\n", "its first line must be “WEBVTT”"),
        (
            b"WEBVTT\n\n00:00,000 --> 00:01,000\nHi\n",
            "Line 3: “00:00,000 --> 00:01,000” is not a cue timing",
        ),
        (b"WEBVTT\n\n00:00.000 --> 00:61.000\nHi\n", "Line 3:"),
        (b"WEBVTT\n\n00:05.000 --> 00:01.000\nHi\n", "Line 3: the cue ends before it starts."),
        (b"WEBVTT\n\nNOTE nothing here\n", "holds no cue"),
        ("WEBVTT\n\n00:00.000 --> 00:01.000\nÉté\n".encode("latin-1"), "must be UTF-8 text"),
        (b"WEBVTT\n\n00:00.000 --> 00:01.000\n" + b"x" * MAX_CAPTION_BYTES, "too large: 512"),
    ],
)
def test_invalid_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ValidationError) as refused:
        parse_webvtt(data)
    text = " ".join(refused.value.messages)
    assert message in text, text


# --- storage and delivery ---


def test_captions_are_served_with_the_clip_and_only_while_it_is_published(
    client, media_storage, django_capture_on_commit_callbacks
):
    clip = make_clip()
    caption = add_caption(clip, "de")
    assert caption.file.name.startswith(
        f"clips/{clip.pk}/captions/de-"
    ) and caption.file.name.endswith(".vtt")
    assert caption.file.name in clip.media_names
    assert (media_storage / "private" / caption.file.name).exists()

    response = client.get(caption.public_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vtt"
    assert b"".join(response.streaming_content).decode() == VTT

    with django_capture_on_commit_callbacks(execute=True):
        clip.unpublish(by=None, reason="Owner asked")
    assert client.get(caption.public_url).status_code == 404
    assert not (media_storage / "public" / caption.file.name).exists()


def test_captions_added_in_review_are_published_with_the_clip(client):
    clip = make_clip(status=Clip.Status.REVIEW)
    caption = add_caption(clip, "fr")
    assert client.get(caption.public_url).status_code == 404
    clip.approve(by=None)
    assert client.get(caption.public_url).status_code == 200


def test_withdrawal_deletes_the_captions(media_storage, django_capture_on_commit_callbacks):
    clip = make_clip()
    caption = add_caption(clip, "en")
    assert (media_storage / "private" / caption.file.name).exists()
    assert (media_storage / "public" / caption.file.name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        clip.withdraw()
    assert not Caption.objects.filter(clip=clip).exists()
    assert not (media_storage / "public" / caption.file.name).exists()
    assert not (media_storage / "private" / caption.file.name).exists()


# --- the players ---


def test_clip_and_embed_pages_offer_tracks_defaulting_to_the_page_language(client):
    clip = make_clip()
    add_caption(clip, "fr")
    add_caption(clip, "de", label="Deutsch (Untertitel)")
    add_caption(clip, "es")
    for path in (f"/de/clips/{clip.pk}/", f"/embed/{clip.pk}/"):
        html = client.get(path, headers={"Accept-Language": "de"}).content.decode()
        tracks = re.findall(r"<track ([^>]*)>", html)
        assert len(tracks) == 3, path
        by_lang = {re.search(r'srclang="(\w+)"', t).group(1): t for t in tracks}
        assert (
            'kind="subtitles"' in by_lang["de"] and 'label="Deutsch (Untertitel)"' in by_lang["de"]
        )
        assert by_lang["de"].rstrip().endswith("default")
        assert 'label="Español"' in by_lang["es"] and "default" not in by_lang["es"]
        assert 'label="Français"' in by_lang["fr"] and "default" not in by_lang["fr"]
        src = re.search(r'src="([^"]+)"', by_lang["es"]).group(1)
        assert client.get(src).status_code == 200
    # No caption matches English: none is on by default.
    assert " default" not in "".join(
        re.findall(r"<track [^>]*>", client.get(f"/en/clips/{clip.pk}/").content.decode())
    )


def test_clip_page_queries_do_not_grow_with_captions(client):
    clip = make_clip()
    add_caption(clip, "fr")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/fr/clips/{clip.pk}/")
    for language in ("en", "de", "nl", "it"):
        add_caption(clip, language)
    with CaptureQueriesContext(connection) as five:
        client.get(f"/fr/clips/{clip.pk}/")
    assert len(five) == len(one)


# --- the admin ---


class FormFields(HTMLParser):
    """The values the admin's change form would send as it stands."""

    def __init__(self, html, form_id):
        super().__init__()
        self.form_id, self.inside, self.data, self._select, self._textarea = (
            form_id,
            False,
            [],
            None,
            None,
        )
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "__prefix__" not in name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value", "on")))
            elif kind not in ("file", "submit", "button"):
                self.data.append((name, attrs.get("value", "")))
        elif tag == "select" and name and "__prefix__" not in name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.append((self._select, attrs.get("value", "")))
        elif tag == "textarea" and name and "__prefix__" not in name:
            self._textarea = name
            self.data.append((name, ""))

    def handle_data(self, data):
        if self._textarea:
            self.data[-1] = (self._textarea, self.data[-1][1] + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@pytest.fixture
def moderator_client():
    user = User.objects.create(username="mona", is_staff=True)  # no password to hash: force_login
    user.groups.add(Group.objects.get(name="Moderators"))
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def admin_clip(**kwargs):
    return make_clip(themes=["weekend"], **kwargs)  # the admin form requires a theme


def save_captions(client, clip, rows, *, delete=()):
    """Post the clip's change form with the caption rows given [(language, label, file)]."""
    url = f"/admin/gallery/clip/{clip.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {}
    for name, value in FormFields(page.content.decode(), "clip_form").data:
        data.setdefault(name, []).append(value)
    existing = int(data["captions-INITIAL_FORMS"][0])
    for index in delete:
        data[f"captions-{index}-DELETE"] = ["on"]
    for offset, (language, label, upload) in enumerate(rows):
        index = existing + offset
        data |= {
            f"captions-{index}-language": [language],
            f"captions-{index}-label": [label],
            f"captions-{index}-file": [upload],
        }
    data["captions-TOTAL_FORMS"] = [str(existing + len(rows))]
    return client.post(url, data)


def vtt_upload(text=VTT, name="subs.vtt"):
    return SimpleUploadedFile(
        name, text.encode() if isinstance(text, str) else text, content_type="text/vtt"
    )


def test_moderator_adds_a_caption_in_the_admin_and_it_is_online_at_once(
    moderator_client, client, django_capture_on_commit_callbacks
):
    clip = admin_clip(title="Snow in the Alps")
    assert (
        "captions-TOTAL_FORMS"
        in moderator_client.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = save_captions(moderator_client, clip, [("it", "", vtt_upload())])
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    caption = Caption.objects.get(clip=clip)
    assert caption.language == "it" and caption.display_label == "Italiano"
    assert client.get(caption.public_url).status_code == 200
    assert f'src="{caption.public_url}"' in client.get(f"/it/clips/{clip.pk}/").content.decode()


def test_replacing_a_caption_file_removes_the_old_one(
    moderator_client, client, media_storage, django_capture_on_commit_callbacks
):
    clip = admin_clip()
    old = add_caption(clip, "nl")
    page = moderator_client.get(f"/admin/gallery/clip/{clip.pk}/change/")
    data = {}
    for name, value in FormFields(page.content.decode(), "clip_form").data:
        data.setdefault(name, []).append(value)
    data["captions-0-file"] = [vtt_upload(VTT.replace("Bonjour", "Hallo"))]
    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(f"/admin/gallery/clip/{clip.pk}/change/", data)
    assert response.status_code == 302
    new = Caption.objects.get(clip=clip)
    assert new.file.name != old.file.name
    assert "Hallo" in b"".join(client.get(new.public_url).streaming_content).decode()
    assert client.get(old.public_url).status_code == 404
    assert not (media_storage / "private" / old.file.name).exists()


def test_deleting_a_caption_removes_its_files(
    moderator_client, client, media_storage, django_capture_on_commit_callbacks
):
    clip = admin_clip()
    old = add_caption(clip, "es")
    assert (media_storage / "private" / old.file.name).exists()
    assert (media_storage / "public" / old.file.name).exists()  # a published clip's caption
    with django_capture_on_commit_callbacks(execute=True):
        response = save_captions(moderator_client, clip, [], delete=[0])
    assert response.status_code == 302
    assert not Caption.objects.filter(clip=clip).exists()
    assert not (media_storage / "public" / old.file.name).exists()
    assert not (media_storage / "private" / old.file.name).exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [("fr", "", vtt_upload(b"1\n00:00.000 --> 00:01.000\nHi\n"))],
            "its first line must be “WEBVTT”",
        ),
        (
            [("fr", "", vtt_upload("WEBVTT\n\n00:02.000 --> 00:01.000\nHi\n"))],
            "Line 3: the cue ends before it starts.",
        ),
        (
            [("fr", "", vtt_upload()), ("fr", "Bis", vtt_upload())],
            "Please correct the duplicate data for language",
        ),
    ],
)
def test_the_admin_refuses_bad_captions_and_says_why(moderator_client, rows, message):
    clip = admin_clip()
    response = save_captions(moderator_client, clip, rows)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Caption.objects.filter(clip=clip).exists()


def test_a_second_caption_in_the_same_language_is_refused(moderator_client):
    clip = admin_clip()
    add_caption(clip, "de")
    response = save_captions(moderator_client, clip, [("de", "", vtt_upload())])
    assert response.status_code == 200
    assert "This clip already has captions in this language." in response.content.decode()
    assert Caption.objects.filter(clip=clip).count() == 1
