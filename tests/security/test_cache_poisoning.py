"""Nobody's request changes the page others are served, nor fills the cache with copies."""

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.factories import cache_entries, make_clip

pytestmark = pytest.mark.django_db


def plain_visit(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("page", ["gallery", "clip"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "localhost"},
        {"X-Forwarded-Proto": "https"},
        {"Host": "localhost", "X-Forwarded-Proto": "https"},
        {"Host": "testserver:8443"},
    ],
    ids=["other-host", "forwarded-https", "both", "other-port"],
)
def test_another_host_or_scheme_never_changes_what_a_plain_visitor_gets(client, page, headers):
    clip = make_clip(title="Col du Galibier", themes=["design"])
    url = "/en/" if page == "gallery" else clip.get_absolute_url()
    before = plain_visit(client, url)
    client.get(url, headers=headers)  # the poisoner goes first on an empty cache...
    from django.core.cache import caches

    caches["default"].clear()
    client.get(url, headers=headers)
    after = plain_visit(client, url)
    # ...and the plain visitor still gets links to this host, in this scheme.
    for answer in (before, after):
        assert "http://testserver/" in answer
        assert "localhost" not in answer and "https://testserver" not in answer
        assert "testserver:8443" not in answer


def test_a_forwarded_scheme_is_believed_only_behind_a_configured_proxy(client, settings):
    clip = make_clip(title="Col de l'Iseran")
    page = client.get(clip.get_absolute_url(), headers={"X-Forwarded-Proto": "https"})
    assert b'<link rel="canonical" href="http://testserver/' in page.content
    settings.TRUSTED_PROXIES = 1
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    behind_proxy = client.get(
        clip.get_absolute_url(), headers={"X-Forwarded-Proto": "https", "Host": "testserver"}
    )
    assert b'<link rel="canonical" href="https://testserver/' in behind_proxy.content
    # The https page is kept apart: a plain http visitor still gets http links.
    assert (
        b'<link rel="canonical" href="http://testserver/'
        in client.get(clip.get_absolute_url()).content
    )


def test_junk_partial_headers_and_padded_ids_add_no_cache_entries(client):
    clip = make_clip(title="Stelvio", themes=["design"])
    full = client.get("/en/")
    partial = client.get("/en/", headers={"X-Partial": "results"})
    client.get(clip.get_absolute_url())
    client.get(f"/embed/{clip.pk}/")
    entries = cache_entries()
    for n in range(1000):
        answer = client.get("/en/", headers={"X-Partial": f"junk-{n}"})
        assert answer.status_code == 200 and answer.content == full.content
    padded = [f"/en/clips/{'0' * n}{clip.pk}/" for n in range(1, 200)]
    padded += [f"/embed/{'0' * n}{clip.pk}/" for n in range(1, 200)]
    padded += [f"/en/clips/{'0' * n}{clip.pk}-stelvio/" for n in range(1, 200)]
    padded += [f"/media/clips/{'0' * n}{clip.pk}/poster.jpg" for n in range(1, 50)]
    for url in padded:
        assert client.get(url).status_code == 404, url
    assert cache_entries() == entries
    assert len(partial.content) < len(full.content)


def test_host_names_a_wildcard_allows_are_served_but_not_kept(client, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".example.org"]
    make_clip(title="Furka")
    client.get("/en/")
    # A second gallery page reads the page version's catalogue (kept once, with Redis).
    client.get("/en/", {"page": 2})
    entries = cache_entries()
    for n in range(100):
        answer = client.get("/en/", headers={"Host": f"x{n}.example.org"})
        assert answer.status_code == 200 and f"http://x{n}.example.org/" in answer.text
    assert cache_entries() == entries


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    partial=HEADER_TEXT,
    proto=st.sampled_from(["https", "http", "HTTPS", "", "https, http"]),
    host=st.sampled_from(["localhost", "LocalHost", "127.0.0.1", "testserver:81", "evil.test"]),
)
def test_no_header_a_visitor_sends_adds_entries_or_changes_the_plain_page(
    client, partial, proto, host
):
    # The database (one clip) is shared by the examples; the cache starts empty each time.
    from django.core.cache import caches

    from gallery.models import Clip

    if not Clip.objects.exists():
        make_clip(title="Cormet de Roselend", themes=["design"])
    caches["default"].clear()
    plain = client.get("/en/").content
    # A second gallery page reads the page version's catalogue (kept once, with Redis).
    client.get("/en/", {"page": 2})
    entries = cache_entries()
    headers = {"X-Partial": partial, "X-Forwarded-Proto": proto, "Host": host}
    for _ in range(3):
        client.get("/en/", headers=headers)
        client.get("/en/", headers={"X-Partial": partial})
    # At most one page more, with its shell (gallery/shells.py): the same page for another
    # host the settings name exactly.
    assert cache_entries() <= entries + 2
    assert client.get("/en/").content == plain
