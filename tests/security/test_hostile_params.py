"""Hostile query strings and form fields on every public page: an answer, never a 500.

Property-based (hypothesis): each test draws a bounded number of examples, and the test
client re-raises any exception a view lets escape, so a failure shrinks to the input."""

import os
import string
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gallery.models import Clip
from gallery.themes import DEFAULT_THEMES
from submissions.models import Submission
from tests.factories import make_clip

pytestmark = pytest.mark.django_db

# Function-scoped fixtures (the database, a few clips) are shared by the examples of a test on
# purpose: they are set up once and nothing the examples do needs undoing.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Pages that cost more to render get fewer examples.
FEWER = settings(FUZZ, max_examples=30)

LANGUAGES = [code for code, _name in django_settings.LANGUAGES]
THEMES = [slug for slug, _name in DEFAULT_THEMES]

# Any text a browser can send (no lone surrogates: they cannot be encoded at all).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "0",
        "-1",
        "+3",
        " 2 ",
        "2\n",
        "0x10",
        "1_000",
        "1e309",
        "-1e309",
        "NaN",
        "inf",
        "٣",
        "１２",
        "²",
        "99999999999999999999999999",
        "9" * 5000,
        "%",
        "%00",
        "%FF",
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "{{ 7*7 }}",
        "\u2028",
        "\ufeff",
        "a" * 3000,
    ]
)
NUMBERS = st.one_of(st.integers(), st.integers(min_value=2**31, max_value=10**40)).map(str)
VALUE = st.one_of(NASTY, ANY_TEXT, NUMBERS)
# Raw query strings, including broken percent escapes and stray separators.
RAW_QUERY = st.text(
    st.sampled_from(string.ascii_letters + string.digits + "%&=+;?#/.-_[]~"), max_size=60
)


def get(client, path, pairs=(), allowed=(), **headers):
    response = client.get(f"{path}?{urlencode(list(pairs))}" if pairs else path, headers=headers)
    assert response.status_code < 500 or response.status_code in allowed, (
        path,
        pairs,
        response.status_code,
    )
    return response


@pytest.fixture
def catalogue(settings):
    """A few published clips, and limits that do not stop the fuzzing early."""
    settings.RATE_LIMITS = {name: "1000000/3600" for name in settings.RATE_LIMITS}
    clips = [make_clip(themes=THEMES[i : i + 2], title=f"Clip {i}") for i in range(3)]
    assert all(clip.themes.count() == 2 for clip in clips)
    return clips


@FUZZ
@given(
    language=st.sampled_from(LANGUAGES),
    themes=st.lists(st.one_of(st.sampled_from(THEMES), VALUE), max_size=6),
    page=st.one_of(st.none(), VALUE),
    extra=st.lists(st.tuples(VALUE, VALUE), max_size=3),
    partial=st.booleans(),
)
def test_gallery_filters(client, catalogue, language, themes, page, extra, partial):
    pairs = [("theme", t) for t in themes] + ([("page", page)] if page is not None else []) + extra
    response = get(client, f"/{language}/", pairs, **({"X-Partial": "results"} if partial else {}))
    assert response.status_code == 200


@FUZZ
@given(language=st.sampled_from(LANGUAGES), raw=RAW_QUERY)
def test_gallery_raw_query_strings(client, catalogue, language, raw):
    assert client.get(f"/{language}/?{raw}").status_code < 500


@FEWER
@given(
    language=st.sampled_from(LANGUAGES),
    atom=st.booleans(),
    themes=st.lists(st.one_of(st.sampled_from(THEMES), VALUE), max_size=5),
)
def test_feeds(client, catalogue, language, atom, themes):
    path = f"/{language}/feed/" + ("atom/" if atom else "")
    response = get(client, path, [("theme", t) for t in themes])
    assert response.status_code == 200


# Stands for the pk of a published clip, which the strategies cannot know in advance.
PUBLISHED = "<published>"
PKS = st.one_of(st.just(PUBLISHED), NUMBERS, NASTY)
CLIP_URLS = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["http", "https", "javascript", "file", ""]),
    st.sampled_from(
        [
            "testserver",
            "testserver:80",
            "evil.example",
            "testserver@evil.example",
            "[::1",
            "[::1]",
            "[testserver]",
            "",
            "TESTSERVER",
            "testserver.",
        ]
    ),
    st.one_of(
        st.builds(
            "/{}/clips/{}-{}/".format,
            st.sampled_from([*LANGUAGES, "xx", ""]),
            PKS,
            ANY_TEXT.map(lambda slug: quote(slug, safe="")),
        ),
        st.builds("/embed/{}/".format, PKS),
        ANY_TEXT,
    ),
)
LIMITS = st.one_of(st.none(), VALUE, st.sampled_from(["1", "320", "0", "-5"]))


@FUZZ
@given(
    url=st.one_of(CLIP_URLS, VALUE),
    maxwidth=LIMITS,
    maxheight=LIMITS,
    fmt=st.one_of(st.none(), st.just("json"), VALUE),
)
@example(url="http://[::1/en/clips/1/", maxwidth=None, maxheight=None, fmt=None)
@example(
    url=f"http://testserver/en/clips/{PUBLISHED}-x/", maxwidth="1", maxheight="9" * 5000, fmt="json"
)
def test_oembed(client, catalogue, url, maxwidth, maxheight, fmt):
    url = url.replace(PUBLISHED, str(catalogue[0].pk))
    pairs = [("url", url)] + [
        (name, value)
        for name, value in [("maxwidth", maxwidth), ("maxheight", maxheight), ("format", fmt)]
        if value is not None
    ]
    # oEmbed's answer to a format it does not offer is 501 (https://oembed.com, 2.3.4).
    response = get(client, "/oembed", pairs, allowed=(501,) if fmt not in (None, "json") else ())
    if response.status_code == 200:
        assert response.json()["type"] == "video"


@FEWER
@given(page=st.one_of(VALUE, st.sampled_from(["1", "2"])), repeated=st.booleans())
def test_sitemap_pages(client, catalogue, page, repeated):
    get(client, "/sitemap.xml", [("p", page)] + ([("p", "1")] if repeated else []))


@FUZZ
@given(
    language=st.sampled_from(LANGUAGES),
    pk=st.integers(min_value=0, max_value=10**30),
    slug=ANY_TEXT,
)
def test_clip_and_embed_addresses(client, catalogue, language, pk, slug):
    get(client, f"/{language}/clips/{pk}-{quote(slug, safe='')}/")
    get(client, f"/{language}/clips/{pk}/")
    get(client, f"/embed/{pk}/")


@pytest.fixture
def small_video(tmp_path_factory):
    from gallery.synth import synthesize

    path = synthesize(
        tmp_path_factory.mktemp("fuzz") / "tiny.mp4", seconds=1, width=64, height=36, fps=10
    )
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_submission_form(client, catalogue, small_video, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def maybe(strategy, name):
        return data.draw(st.one_of(st.none(), strategy), label=name)

    fields = {
        "title": maybe(st.one_of(VALUE, st.just("Col de la Bonette")), "title"),
        "description": maybe(VALUE, "description"),
        "credit_name": maybe(st.one_of(VALUE, st.just("Camille")), "credit_name"),
        "credit_country": maybe(
            st.one_of(VALUE, st.sampled_from(["FR", "DE", "fr", "XX"])), "country"
        ),
        "email": maybe(st.one_of(VALUE, st.just("camille@example.org")), "email"),
        "themes": maybe(st.lists(st.one_of(st.sampled_from(THEMES), VALUE), max_size=7), "themes"),
        "consent": maybe(st.one_of(VALUE, st.just("on")), "consent"),
        "website": maybe(VALUE, "website"),
        "upload_ticket": maybe(VALUE, "upload_ticket"),
    }
    video = maybe(st.sampled_from(["good", "junk", "empty"]), "video")
    if video is not None:
        content = {"good": small_video, "junk": b"not a video at all", "empty": b""}[video]
        name = data.draw(st.one_of(st.just("clip.mp4"), ANY_TEXT), label="filename")
        # The test client sends the base name only, and cannot build a file named "", "." or
        # ".." (the server's parser drops such names itself).
        name = os.path.basename(name)
        if name in ("", ".", ".."):
            name = "x"
        fields["video"] = SimpleUploadedFile(name, content, content_type="video/mp4")
    language = data.draw(st.sampled_from(LANGUAGES), label="language")
    response = client.post(
        f"/{language}/submit/", {k: v for k, v in fields.items() if v is not None}
    )
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert response.context["form"].errors


@pytest.fixture
def owner(catalogue):
    submission = Submission.objects.create(email="owner@example.org", language="en")
    clip = make_clip(status=Clip.Status.REVIEW)
    Clip.objects.filter(pk=clip.pk).update(submission=submission)
    return submission, clip


@FUZZ
@given(data=st.data())
def test_status_page_tokens(client, owner, data):
    good = owner[0].signed_token
    token = data.draw(
        st.one_of(
            VALUE,
            st.builds(lambda extra: good + extra, ANY_TEXT.filter(bool)),
            st.just(good[:-1]),
            st.just(good.upper()),
            st.just(good.split(":")[0]),
        ),
        label="token",
    )
    path = f"/{data.draw(st.sampled_from(LANGUAGES), label='language')}/my/{quote(token, safe='')}/"
    get(client, path, [("done", data.draw(VALUE, label="done"))])
    response = client.post(path, {"action": "withdraw", "clip": str(owner[1].pk), "confirm": "1"})
    assert response.status_code == 404, (token, response.status_code)
    owner[1].refresh_from_db()
    assert owner[1].status == Clip.Status.REVIEW


@FUZZ
@given(
    language=st.sampled_from(LANGUAGES),
    done=st.one_of(st.none(), st.sampled_from(["withdrawn", "consented"]), VALUE),
    action=st.one_of(st.none(), st.sampled_from(["consent", "withdraw"]), VALUE),
    clip=st.one_of(st.none(), VALUE),
    consent=st.one_of(st.none(), VALUE),
    confirm=st.one_of(st.none(), VALUE),
)
@example(language="en", done=None, action="withdraw", clip="abc", consent=None, confirm=None)
@example(language="en", done=None, action="withdraw", clip="9" * 5000, consent=None, confirm="1")
def test_status_page_fields(client, owner, language, done, action, clip, consent, confirm):
    """The owner's own link, whatever the form fields say."""
    path = f"/{language}/my/{owner[0].signed_token}/"
    get(client, path, [("done", done)] if done is not None else [])
    fields = {"action": action, "clip": clip, "consent": consent, "confirm": confirm}
    response = client.post(path, {k: v for k, v in fields.items() if v is not None})
    assert response.status_code in (200, 302, 404), response.status_code
