"""Anonymous pages are cached per catalogue version: fast, and never stale."""

import logging
import re

import pytest
from django.contrib.auth.models import User

from gallery.models import Clip
from tests.factories import cache_entries, make_clip, redis_cache

pytestmark = pytest.mark.django_db


def test_a_cached_page_costs_no_query_during_a_burst(client, settings, django_assert_num_queries):
    # A burst is what comes within PAGE_CACHE_VERSION_TTL; on a loaded machine the first
    # page (templates compiled) alone can take longer than the default second.
    settings.PAGE_CACHE_VERSION_TTL = 30
    make_clip(themes=["design"])
    first = client.get("/en/", {"theme": "design"})
    with django_assert_num_queries(0):
        again = client.get("/en/", {"theme": "design"})
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "public, max-age=0, must-revalidate"


def test_a_change_made_on_another_node_is_seen_once_the_version_is_read_again(
    client, settings, django_assert_num_queries
):
    from django.db.models import F

    from infra.models import PageVersion

    settings.PAGE_CACHE_VERSION_TTL = 0
    clip = make_clip(title="Shown")
    assert b"Shown" in client.get("/en/").content
    with django_assert_num_queries(1):  # only the version
        client.get("/en/")
    # Another web node unpublishes: only the shared row tells this one.
    Clip.objects.filter(pk=clip.pk).update(title="Renamed elsewhere")
    PageVersion.objects.filter(pk=1).update(version=F("version") + 1)
    assert b"Renamed elsewhere" in client.get("/en/").content


def test_revalidation_answers_304_until_something_changes(client):
    clip = make_clip(title="Before")
    etag = client.get(clip.get_absolute_url())["ETag"]
    unchanged = client.get(clip.get_absolute_url(), headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and not unchanged.content
    # What a 200 would carry for caches (RFC 9110, 15.4.5).
    assert unchanged["ETag"] == etag and "must-revalidate" in unchanged["Cache-Control"]
    assert "Cookie" in unchanged["Vary"]
    # Not the policy of an answer without a nonce, to be merged into the stored page's.
    assert "Content-Security-Policy" not in unchanged
    assert "nonce-" in client.get(clip.get_absolute_url())["Content-Security-Policy"]
    gallery_etag = client.get("/en/")["ETag"]

    other = make_clip(title="Newcomer", status=Clip.Status.REVIEW)
    other.approve(by=None)
    response = client.get("/en/", headers={"If-None-Match": gallery_etag})
    assert response.status_code == 200 and b"Newcomer" in response.content
    assert client.get(clip.get_absolute_url(), headers={"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize("change", ["edit", "unpublish", "withdraw", "feature", "themes"])
def test_every_visible_change_shows_at_once(client, change, django_assert_num_queries):
    clip = make_clip(title="Original title", themes=["design"])
    before = client.get("/en/").content
    assert b"Original title" in before and b"card__badge" not in before
    filtered_before = client.get("/en/", {"theme": "design"})
    assert b"Original title" in filtered_before.content
    # Both pages are now cached: a second visit reads nothing.
    with django_assert_num_queries(0):
        assert client.get("/en/").content == before
    if change == "edit":
        clip.title = "Edited title"
        clip.save()
    elif change == "unpublish":
        clip.unpublish(by=None, reason="x")
    elif change == "withdraw":
        clip.withdraw()
    elif change == "feature":
        clip.set_featured(True)
    elif change == "themes":
        clip.themes.set([])
    page = client.get("/en/").content
    filtered = client.get("/en/", {"theme": "design"})
    if change == "edit":
        assert b"Edited title" in page and b"Original title" not in page
    elif change in ("unpublish", "withdraw"):
        assert b"Original title" not in page
        gone = client.get(clip.get_absolute_url()).status_code
        assert gone == 404
    elif change == "feature":
        assert b"card__badge" in page
    elif change == "themes":
        assert b"Original title" not in filtered.content


def test_signed_in_staff_never_get_cached_pages(client):
    clip = make_clip(title="Seen by all")
    assert "Seen by all" in client.get("/en/").content.decode()
    # A change that retires no cached page (an update behind the models' back).
    Clip.objects.filter(pk=clip.pk).update(title="Changed quietly")
    assert "Seen by all" in client.get("/en/").content.decode()  # visitors: the cached page
    staff = User.objects.create_user("mod", is_staff=True)
    client.force_login(staff)
    response = client.get("/en/")
    assert "Changed quietly" in response.content.decode() and "ETag" not in response


def test_each_answer_keeps_its_own_csp_nonce(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse
    from django.middleware.csp import ContentSecurityPolicyMiddleware, get_nonce

    from infra.cache import cached_page

    @cached_page
    def page_with_inline_script(request):
        return HttpResponse(f'<script nonce="{get_nonce(request)}">1</script>')

    middleware = ContentSecurityPolicyMiddleware(page_with_inline_script)
    answers = []
    for _ in range(2):
        request = rf.get("/en/nonce-test/")
        request.user = AnonymousUser()
        answers.append(middleware(request))
    nonces = [a["Content-Security-Policy"].split("nonce-")[1].split("'")[0] for a in answers]
    assert nonces[0] != nonces[1]
    for answer, nonce in zip(answers, nonces, strict=True):
        assert answer.content == f'<script nonce="{nonce}">1</script>'.encode()
    assert answers[0]["ETag"] == answers[1]["ETag"]  # the second came from the cache


def test_stray_or_reordered_parameters_share_one_cached_page(client, django_assert_num_queries):
    make_clip(title="Only one", themes=["design", "weekend"])
    first = client.get("/en/", {"theme": ["weekend", "design"]})
    entries = cache_entries()
    variants = [
        {"theme": ["design", "weekend"]},
        {"theme": ["design", "weekend", "design", "nonsense"], "utm_source": "x"},
        {"theme": ["weekend", "design"], "page": "1", "fbclid": "y" * 200},
    ]
    for params in variants:
        with django_assert_num_queries(0):
            again = client.get("/en/", params)
        assert again.content == first.content and again["ETag"] == first["ETag"]
    assert cache_entries() == entries
    # Links on the page (language switcher, canonical) carry the canonical spelling only.
    assert b"utm_source" not in again.content and b"fbclid" not in again.content
    assert b'href="/de/?theme=design&amp;theme=weekend"' in again.content


def test_a_clip_page_ignores_its_query_string(client, django_assert_num_queries):
    clip = make_clip(title="Quiet")
    first = client.get(clip.get_absolute_url())
    with django_assert_num_queries(0):
        again = client.get(clip.get_absolute_url(), {"ref": "<script>", "t": "12"})
    assert (
        again["ETag"] == first["ETag"]
        and b"?ref=" not in again.content
        and b"&amp;t=12" not in again.content
    )


def test_a_title_spelling_a_nonce_placeholder_is_shown_as_typed_on_cached_pages(client, settings):
    from infra.cache import nonce_placeholder

    # What stands for the nonce is derived from the secret key: a visitor cannot know it.
    nonce_placeholder.cache_clear()
    mine, key = nonce_placeholder(), settings.SECRET_KEY
    settings.SECRET_KEY = "another-site's-key"
    nonce_placeholder.cache_clear()
    assert nonce_placeholder() != mine and len(mine) >= 32
    settings.SECRET_KEY = key
    nonce_placeholder.cache_clear()

    # Spellings a guessable placeholder would have: shown as typed, the second (cached) time.
    guesses = "placeholder NONCE {{nonce}} __CSP_NONCE__ csp-nonce"
    clip = make_clip(title=f"Col {guesses}")
    first = client.get(clip.get_absolute_url())
    cached = client.get(clip.get_absolute_url())
    assert cached["ETag"] == first["ETag"]
    for answer in (first, cached):
        nonce = answer["Content-Security-Policy"].split("nonce-")[1].split("'")[0]
        page = answer.content.decode()
        assert f"Col {guesses}" in page.replace("&#x27;", "'")
        assert page.count(nonce) == page.count(f'nonce="{nonce}"') >= 1


def test_an_upload_processing_and_a_refusal_leave_cached_pages_alone(
    client, settings, sample_video, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from gallery import processing

    settings.PAGE_CACHE_VERSION_TTL = 0  # read the version on every visit: a change would show
    make_clip(title="Already there", themes=["design"])
    visitor = Client()
    first = visitor.get("/en/", {"theme": "design"})
    etag = first["ETag"]

    def still_cached():
        with django_assert_num_queries(1):  # the version only: nothing is rendered again
            again = visitor.get("/en/", {"theme": "design"})
        assert again["ETag"] == etag and again.content == first.content
        revalidated = visitor.get("/en/", {"theme": "design"}, headers={"If-None-Match": etag})
        assert revalidated.status_code == 304

    video = SimpleUploadedFile("drive.mp4", Path(sample_video).read_bytes(), "video/mp4")
    form = {
        "video": video,
        "title": "Col de la Bonette",
        "themes": ["design"],
        "credit_name": "Camille",
        "credit_country": "FR",
        "email": "camille@example.org",
        "consent": "on",
        "website": "",
    }
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post("/en/submit/", form).status_code == 302
    uploaded = Clip.objects.get(title="Col de la Bonette")
    still_cached()

    processing.process(uploaded)
    uploaded.refresh_from_db()
    assert uploaded.status == Clip.Status.REVIEW
    still_cached()

    refused = make_clip(title="Too dark", status=Clip.Status.REVIEW, themes=["design"])
    refused.reject(by=None, reason="Too dark")
    still_cached()

    uploaded.approve(by=None)
    published = visitor.get("/en/", {"theme": "design"})
    assert published["ETag"] != etag and b"Col de la Bonette" in published.content
    assert visitor.get("/en/", headers={"If-None-Match": etag}).status_code == 200


def test_captions_and_themes_of_unpublished_clips_leave_cached_pages_alone(client, settings):
    from django.core.files.base import ContentFile

    from gallery.models import Caption, Theme

    settings.PAGE_CACHE_VERSION_TTL = 0
    make_clip(title="Shown")
    etag = client.get("/en/")["ETag"]
    waiting = make_clip(title="Waiting", status=Clip.Status.REVIEW)
    waiting.themes.set(Theme.objects.filter(slug="weekend"))
    Caption.objects.create(
        clip=waiting, language="en", file=ContentFile(b"WEBVTT\n\n", name="en.vtt")
    )
    assert client.get("/en/")["ETag"] == etag
    Theme.objects.filter(slug="weekend").get().save()  # a theme shows on every page
    assert client.get("/en/")["ETag"] != etag


def test_pages_are_still_served_when_the_shared_cache_is_unreachable(client, settings):
    from tests.factories import free_port

    port = free_port()  # a port nothing listens on
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    clip = make_clip(title="Without a cache", themes=["design"])
    for url in ("/en/", "/en/?theme=design", clip.get_absolute_url()):
        for _ in range(2):
            response = client.get(url)
            assert response.status_code == 200 and b"Without a cache" in response.content


def test_a_redis_error_reply_leaves_no_reply_behind_for_the_next_read(settings, redis_server):
    """Redis refuses writes when full (maxmemory with noeviction answers -OOM to each SET of
    a batch). The batch is lost, and what is read next is still each key's own value, never
    a reply the refused batch left unread."""
    import redis
    from django.core.cache import caches

    from infra.cache import forget_near, keep_many, read_many

    settings.CACHES = redis_cache(redis_server.url)
    caches["default"].clear()
    keep_many({"first": "one", "second": "two"}, timeout=60)
    admin = redis.Redis.from_url(redis_server.url)
    policy = admin.config_get("maxmemory-policy")["maxmemory-policy"]
    limit = admin.config_get("maxmemory")["maxmemory"]
    try:
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", 1)  # every write refused
        keep_many({"third": "x" * 1000, "fourth": "y" * 1000, "fifth": "z"}, timeout=60)
    finally:
        admin.config_set("maxmemory", limit)
        admin.config_set("maxmemory-policy", policy)
    forget_near()
    assert read_many(["first"]) == {"first": "one"}
    forget_near()
    assert read_many(["second", "third"]) == {"second": "two"}


def test_pages_kept_near_do_not_evict_the_fragments_kept_near(settings, redis_server):
    """Each process keeps whole pages apart from fragments (NEAR_PAGES_MB, NEAR_CACHE_MB): a
    crawler's walk through pages asked once evicts older pages, not the cards that every
    cold page is made of, which then need no Redis round trip."""
    from django.core.cache import caches

    from infra.cache import PAGE_TIMEOUT, _page_tiers, keep_many, read_many

    settings.CACHES = redis_cache(redis_server.url)
    settings.CACHES["near"]["OPTIONS"] = {"MAX_BYTES": 200_000}
    settings.CACHES["near-pages"]["OPTIONS"] = {"MAX_BYTES": 100_000}
    caches["default"].clear()
    cards = {f"frag:card:{i}": f"<li>card {i}</li>" * 50 for i in range(100)}  # 90 KB
    keep_many(cards, timeout=60)
    for i in range(40):  # 1.2 MB of pages, twelve times their budget
        page = {"content": b"x" * 30_000, "type": "text/html", "headers": {}, "uses_nonce": False}
        keep_many({f"page:{i}": page}, timeout=PAGE_TIMEOUT, tiers=_page_tiers())
    kept_pages = read_many([f"page:{i}" for i in range(40)], tiers=_page_tiers())
    assert 0 < len(kept_pages) <= 3 and "page:39" in kept_pages
    caches["default"].clear()  # Redis empty: what is found is kept in this process
    assert read_many(list(cards)) == cards


def nonce_of(response):
    policy = response["Content-Security-Policy"]
    return re.search(r"'nonce-([^']+)'", policy).group(1)


@pytest.mark.parametrize("page", ["/en/", "/en/?theme=design&page=1", "clip", "/en/feed/"])
def test_a_page_asked_again_is_answered_as_the_whole_stack_answered_it(client, caplog, page):
    """The second visitor asking the very same page gets it without the middleware, the URL
    resolving or the view: the same headers and page, with a nonce of its own."""
    clip = make_clip(title="Asked twice", themes=["design"])
    url = clip.get_absolute_url() if page == "clip" else page
    first = client.get(url)
    with caplog.at_level(logging.DEBUG, logger="infra.cache"):
        again = client.get(url)
        head = client.head(url)
    assert [r.getMessage() for r in caplog.records] == [
        f"serving page again {url.split('?')[0]}"
    ] * 2
    assert again.status_code == head.status_code == 200
    uses_nonce = "'nonce-" in first.get("Content-Security-Policy", "")
    if uses_nonce:
        assert nonce_of(first) != nonce_of(again) != nonce_of(head)
        assert nonce_of(again).encode() in again.content
        assert nonce_of(first).encode() not in again.content

    def same(response):
        headers = dict(response.items())
        content = response.content
        if uses_nonce:
            nonce = nonce_of(response)
            headers = {k: v.replace(nonce, "N") for k, v in headers.items()}
            content = content.replace(nonce.encode(), b"N")
        return headers, content

    assert same(again) == same(first)
    assert int(again["Content-Length"]) == len(again.content)
    assert same(head)[0] == same(first)[0]


@pytest.mark.parametrize("page", ["/en/", "/fr/?theme=design", "clip", "/en/feed/"])
def test_pages_are_sent_gzip_encoded_to_those_who_accept_it(client, page):
    """Built, answered again or after a condition failed: the page a browser asking for
    gzip decodes (its length and CRC checked) is the page sent unencoded, its nonce the one
    its policy names; a client that does not ask for gzip gets it unencoded."""
    import gzip

    clip = make_clip(title="Sent small", themes=["design"])
    url = clip.get_absolute_url() if page == "clip" else page
    accepts = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    plain = client.get(url)
    assert "Content-Encoding" not in plain and "Accept-Encoding" in plain["Vary"]
    answers = [
        client.get(url, headers=accepts),  # answered again
        client.get(url, headers=accepts | {"If-None-Match": '"stale"'}),  # through the stack
        client.get(url, headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8, *;q=0.1"}),
    ]
    from infra.cache import bump_version

    bump_version()
    answers.append(client.get(url, headers=accepts))  # built again
    uses_nonce = "'nonce-" in plain.get("Content-Security-Policy", "")
    for response in answers:
        assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
        assert int(response["Content-Length"]) == len(response.content)
        assert response["ETag"].startswith('W/"') and "Accept-Encoding" in response["Vary"]
        decoded = gzip.decompress(response.content)
        assert b"Sent small" in decoded
        if uses_nonce:
            nonce = nonce_of(response)
            assert f'nonce="{nonce}"'.encode() in decoded
            assert decoded.replace(nonce.encode(), b"N") == plain.content.replace(
                nonce_of(plain).encode(), b"N"
            )
        else:
            assert decoded == plain.content
    # An HTML page of one card, a third; a one-item feed, less.
    assert len(answers[0].content) < len(plain.content) / (1 if page.endswith("feed/") else 3)
    # Revalidated with the weak ETag a gzip answer carried.
    revalidated = client.get(url, headers=accepts | {"If-None-Match": answers[-1]["ETag"]})
    assert revalidated.status_code == 304
    for refused in ("identity", "br, zstd", ""):
        response = client.get(url, headers={"Accept-Encoding": refused} if refused else {})
        assert "Content-Encoding" not in response and b"Sent small" in response.content


def test_a_version_set_back_never_sends_the_encoded_page_its_key_named_before(client, settings):
    """A restored database may set the page version back: a page's key then names another
    page than the one this process compressed under it before."""
    import gzip

    from django.core.cache import caches

    from infra.models import PageVersion

    settings.PAGE_CACHE_VERSION_TTL = 0
    accepts = {"Accept-Encoding": "gzip"}
    make_clip(title="Before the restore", themes=["design"])
    version = PageVersion.objects.get(pk=1).version
    assert b"Before the restore" in gzip.decompress(client.get("/en/", headers=accepts).content)
    Clip.objects.all().delete()
    make_clip(title="After the restore", themes=["design"])
    PageVersion.objects.filter(pk=1).update(version=version)  # set back
    for cache in caches.all(initialized_only=True):
        cache.clear()  # the kept pages aged out
    response = client.get("/en/", headers=accepts)
    page = gzip.decompress(response.content)
    assert b"After the restore" in page and b"Before the restore" not in page


def test_a_publish_retires_pages_answered_again_at_once(client, caplog):
    make_clip(title="Before", themes=["design"])
    client.get("/en/")
    assert b"Before" in client.get("/en/").content
    make_clip(title="Just published", themes=["design"])
    with caplog.at_level(logging.DEBUG, logger="infra.cache"):
        response = client.get("/en/")
    assert b"Just published" in response.content
    assert "serving page again /en/" not in caplog.text


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_IF_NONE_MATCH": "*"},
        {"HTTP_COOKIE": "sessionid=nothing-signed-in"},
        {"HTTP_COOKIE": "messages=waiting"},
    ],
    ids=["condition", "session", "messages"],
)
def test_conditions_sessions_and_messages_go_through_the_whole_stack(client, caplog, extra):
    make_clip(title="Through the stack", themes=["design"])
    first = client.get("/en/")
    with caplog.at_level(logging.DEBUG, logger="infra.cache"):
        again = client.get("/en/", **extra)
    assert "serving page again" not in caplog.text
    if "HTTP_IF_NONE_MATCH" in extra:
        assert again.status_code == 304 and again["ETag"] == first["ETag"]
    else:
        assert again.status_code == 200 and b"Through the stack" in again.content


def test_a_page_that_varies_with_the_visitors_language_is_never_answered_again(rf):
    """A page whose language the visitor's Accept-Language chose (outside the prefixed
    addresses) goes through the stack each time: the next visitor may read another."""
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse
    from django.utils.cache import patch_vary_headers

    from infra.cache import cached_page, served_again

    @cached_page(query=lambda request: request.headers.get("Accept-Language", ""))
    def view(request):
        return HttpResponse(f"in {request.headers.get('Accept-Language')}")

    def stack(request):
        request.user = AnonymousUser()
        response = view(request)
        patch_vary_headers(response, ["Accept-Language"])
        return response

    middleware = served_again(stack)
    for language in ("de", "fr", "de", "fr"):
        response = middleware(rf.get("/embed/1/", HTTP_ACCEPT_LANGUAGE=language))
        assert response.content == f"in {language}".encode()


def test_a_page_one_process_built_is_served_by_another_while_the_database_is_away(
    client, settings, redis_server, monkeypatch
):
    """Pages are kept in each process's memory and, for the others, in Redis: a process (or
    node) that never built a page still serves it while the database is away; a page no one
    built answers 503."""
    from django.core.cache import caches
    from django.db import OperationalError

    from gallery import views
    from infra import cache

    settings.CACHES = redis_cache(redis_server.url)
    settings.PAGE_CACHE_VERSION_TTL = 3600
    caches["default"].clear()
    clip = make_clip(title="Kept for all", themes=["design"])
    built = {url: client.get(url) for url in ("/en/", clip.get_absolute_url())}

    # Another process: its memory holds no page, and the database is away.
    cache.forget_near()
    cache._seen.update(version=None, answers={})

    def away(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "published_clip", away)
    monkeypatch.setattr(views, "gallery_page", away)
    for url, first in built.items():
        again = client.get(url)
        assert again.status_code == 200 and b"Kept for all" in again.content
        assert again["ETag"] == first["ETag"]
    assert client.get("/en/?theme=weekend").status_code == 503  # built by no one


def test_a_process_started_while_the_database_is_away_serves_the_pages_others_kept(
    client, settings, redis_server
):
    """A process that has read nothing yet (no page version, no known themes, no page) when
    every query fails: what a page's cache key is made of comes from the shared cache too."""
    from django.core.cache import caches
    from django.db import OperationalError, connection
    from django.db.backends.base.base import BaseDatabaseWrapper

    from infra import cache

    settings.CACHES = redis_cache(redis_server.url)
    settings.PAGE_CACHE_VERSION_TTL = 0
    caches["default"].clear()
    make_clip(title="Kept for all", themes=["design", "weekend"])
    make_clip(title="Never shown", themes=["autopilot"])
    urls = ["/en/?theme=weekend", "/en/?theme=weekend&theme=design", "/fr/?theme=design"]
    built = {url: client.get(url) for url in urls}
    assert all(response.status_code == 200 for response in built.values())

    cache.forget_near()
    cache.forget_version()  # the page version, the values read per version, the answers

    def away(*args, **kwargs):
        raise OperationalError("connection refused")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "cursor", away)
        again = {
            url: client.get(url) for url in [*urls, "/en/?theme=design", "/en/?theme=autopilot"]
        }
    for url, first in built.items():
        assert again[url].status_code == 200 and b"Kept for all" in again[url].content, url
        assert again[url]["ETag"] == first["ETag"]
    # Built by no one, of clips whose rows no page read: nothing to make it of.
    assert again["/en/?theme=autopilot"].status_code == 503
    unbuilt = again["/en/?theme=design"]
    if connection.vendor == "postgresql":
        # The catalogue knows each clip's row version: the rows and cards kept for the other
        # pages make this one, with no query.
        assert unbuilt.status_code == 200 and b"Kept for all" in unbuilt.content
        assert b"Never shown" not in unbuilt.content
    else:
        assert unbuilt.status_code == 503
