"""Hostile request headers and webhook payloads: an answer, never a 500.

Property-based (hypothesis) like test_hostile_params.py, over the headers whose values the
site reads (Range, Content-Length, X-Forwarded-For, Accept-Language, If-None-Match, Host and
their neighbours), on every kind of page; and the numbers and formats a client sends are
bounded: a Range number of thousands of digits is 416, not Python's int-string limit."""

import base64
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.factories import make_clip, owned_clip

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("\t\xe9\xff"),
    max_size=60,
)
HUGE = "9" * 5000
DIGITS = st.one_of(
    st.integers(min_value=0, max_value=10**30).map(str),
    st.sampled_from(
        ["", "0", "00000000000000000001", HUGE, "1" + "0" * 4400, "-1", "1e9", "\xb2", "1\xb9"]
    ),
)
RANGES = st.one_of(
    st.builds(lambda a, b: f"bytes={a}-{b}", DIGITS, DIGITS),
    st.builds(lambda a, b, c, d: f"bytes={a}-{b},{c}-{d}", DIGITS, DIGITS, DIGITS, DIGITS),
    st.builds(lambda a: f"bytes=-{a}", DIGITS),
    HEADER_TEXT,
)
LENGTHS = st.one_of(DIGITS, HEADER_TEXT)
FORWARDED = st.one_of(
    HEADER_TEXT,
    st.lists(st.ip_addresses().map(str) | HEADER_TEXT, max_size=5).map(", ".join),
)
LANGUAGE_TAGS = st.one_of(
    HEADER_TEXT,
    st.sampled_from(["fr", "en-GB,en;q=0.9", "*", "de;q=" + HUGE, "xx-" + "a" * 500, "en;q=-1"]),
)
ETAGS = st.one_of(
    HEADER_TEXT, st.sampled_from(['"abc"', "*", 'W/"x", "y"', '"' + "a" * 2000 + '"', HUGE])
)
HOSTS = st.one_of(
    HEADER_TEXT,
    st.sampled_from(
        ["testserver", "localhost", "127.0.0.1", "localhost:" + HUGE, "[::1]", "evil.example"]
    ),
)
DATES = st.one_of(HEADER_TEXT, st.sampled_from(["Sun, 06 Nov 1994 08:49:37 GMT", HUGE]))


@pytest.fixture
def pages(settings, client, sample_video):
    """One address of each kind of page, with the limits out of the way."""
    settings.RATE_LIMITS = {name: "1000000/3600" for name in settings.RATE_LIMITS}
    settings.TRUSTED_PROXIES = 1
    clip = make_clip(video=sample_video, title="Clip")
    submission, _ = owned_clip()
    return [
        "/en/",
        f"/fr/clips/{clip.pk}/",
        f"/embed/{clip.pk}/",
        "/en/feed/",
        "/oembed?url=" + clip.get_absolute_url(),
        clip.video.url,
        submission.get_status_url(),
        "/en/submit/",
        "/healthz",
        "/sitemap.xml",
        "/admin/login/",
    ]


@FUZZ
@given(
    page=st.integers(min_value=0, max_value=10),
    method=st.sampled_from(["GET", "HEAD", "POST"]),
    range_=st.none() | RANGES,
    if_range=st.none() | ETAGS | DATES,
    length=st.none() | LENGTHS,
    forwarded=st.none() | FORWARDED,
    language=st.none() | LANGUAGE_TAGS,
    if_none_match=st.none() | ETAGS,
    if_modified_since=st.none() | DATES,
    host=st.none() | HOSTS,
)
@example(page=5, method="GET", range_="bytes=" + HUGE + "-", if_range=None, length=None,
         forwarded=None, language=None, if_none_match=None, if_modified_since=None,
         host=None)  # fmt: skip
@example(page=0, method="POST", range_=None, if_range=None, length="\xb2", forwarded=None,
         language=None, if_none_match=None, if_modified_since=None, host=None)  # fmt: skip
@example(page=7, method="POST", range_=None, if_range=None, length=HUGE, forwarded=None,
         language=None, if_none_match=None, if_modified_since=None, host=None)  # fmt: skip
def test_headers_never_give_a_server_error(
    client, pages, page, method, range_, if_range, length, forwarded, language, if_none_match,
    if_modified_since, host,
):  # fmt: skip
    headers = {
        "Range": range_,
        "If-Range": if_range,
        "Content-Length": length,
        "X-Forwarded-For": forwarded,
        "Accept-Language": language,
        "If-None-Match": if_none_match,
        "If-Modified-Since": if_modified_since,
        "Host": host,
    }
    headers = {name: value for name, value in headers.items() if value is not None}
    response = client.generic(method, pages[page], headers=headers)
    assert response.status_code < 500, (pages[page], headers, response.status_code)


@pytest.fixture
def video_url(client, sample_video):
    return make_clip(video=sample_video).video.url


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={HUGE}-",
        f"bytes=0-{HUGE}",
        f"bytes={HUGE}-{HUGE}",
        f"bytes=-{HUGE}",
        "bytes=" + "0" * 5000 + "1-2",
    ],
)
def test_range_numbers_of_any_length_are_bounded(client, video_url, header):
    response = client.get(video_url, headers={"Range": header})
    size = int(client.head(video_url)["Content-Length"])
    if header.startswith(f"bytes={HUGE}"):
        # Starts past the end of any file.
        assert response.status_code == 416 and response["Content-Range"] == f"bytes */{size}"
    elif header == f"bytes=0-{HUGE}" or header == f"bytes=-{HUGE}":
        assert response.status_code == 206  # to the end: the whole file
        assert response["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    else:  # leading zeros are only zeros
        assert response.status_code == 206 and response["Content-Range"] == f"bytes 1-2/{size}"


# Inbound hooks, once their credentials are right: what the payload holds is never a 500.
SECRET = "hooks:s3cr3t-passphrase"
AUTH = {"Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode()}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)


@pytest.fixture
def hooks(settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key", "WEBHOOK_SECRET": SECRET}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/hooks/postmark/inbound/", "application/json"),
        ("/hooks/amazon_ses/inbound/", "text/plain"),
    ],
)
@pytest.mark.parametrize(
    "body",
    [b"{", b"not json", b"\xff\xfe{}", b"[]", b'"text"', b"1" * 5000, b""],
)
def test_an_authenticated_hook_with_malformed_json_is_400(client, hooks, path, content_type, body):
    response = client.post(path, body, content_type=content_type, headers=AUTH)
    assert response.status_code == 400


def test_the_mailgun_hook_takes_forms_only(client, hooks):
    response = client.post(
        "/hooks/mailgun/inbound_mime/", b"{}", content_type="application/json", headers=AUTH
    )
    assert response.status_code == 415


@FUZZ
@given(payload=st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6))
@example(payload={})
@example(payload={"RawEmail": 5})
@example(payload={"Type": "Notification", "Message": "{"})
def test_authenticated_hooks_never_give_a_server_error_on_a_payload(client, hooks, payload):
    # The answer a provider gets: anymail refuses what it cannot validate with a
    # SuspiciousOperation, which Django answers 400 (the test client would re-raise it).
    client.raise_request_exception = False
    body = json.dumps(payload)
    for path, content_type in (
        ("/hooks/postmark/inbound/", "application/json"),
        ("/hooks/amazon_ses/inbound/", "text/plain"),
    ):
        response = client.post(path, body, content_type=content_type, headers=AUTH)
        assert response.status_code < 500, (path, payload, response.status_code)


def test_a_failure_to_record_is_still_500_so_the_provider_retries(
    client, hooks, tiny_video, monkeypatch
):
    from django.db import OperationalError

    from submissions import receive
    from tests.factories import clip_mail

    def broken(raw, *, via):
        raise OperationalError("the database went away")

    monkeypatch.setattr(receive, "receive", broken)
    client.raise_request_exception = False
    payload = {"MessageID": "m-1", "RawEmail": clip_mail(tiny_video).decode()}
    response = client.post(
        "/hooks/postmark/inbound/", json.dumps(payload), content_type="application/json",
        headers=AUTH,
    )  # fmt: skip
    assert response.status_code == 500
