"""Pages are assembled from clip fragments rendered once per clip content and language: a
change to one clip renders that clip again, everywhere at once, and nothing else."""

import os
import re
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.test.signals import template_rendered
from django.utils import translation

from gallery.models import Clip, Theme, recount_themes
from tests.factories import make_clip, redis_cache

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in settings.LANGUAGES]


@contextmanager
def card_renders():
    """(clip id, language) of every clip card rendered meanwhile."""
    from django.utils.translation import get_language

    seen = []

    def record(sender, template, context, **kwargs):
        if template.name == "includes/clip_card.html":
            seen.append((context["clip"].pk, get_language()))

    template_rendered.connect(record)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record)


@contextmanager
def templates_rendered():
    """The name of every template rendered meanwhile."""
    seen = []

    def record(sender, template, context, **kwargs):
        seen.append(template.name)

    template_rendered.connect(record)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record)


def catalogue():
    """A clip shown on many pages: the gallery, a theme's page, its neighbours' pages."""
    others = [make_clip(title=f"Neighbour {i}", themes=["design"]) for i in range(5)]
    edited = make_clip(title="Col du Tourmalet", themes=["design", "weekend"])
    return edited, others


def pages_showing(edited, others, language):
    return [
        f"/{language}/",
        f"/{language}/?theme=design",
        f"/{language}/?theme=weekend",
        f"/{language}/clips/{others[0].pk}/",
        f"/{language}/clips/{others[3].pk}/",
    ]


def visit_all(client, edited, others):
    return {
        url: client.get(url).content.decode()
        for language in LANGUAGES
        for url in pages_showing(edited, others, language)
    }


def test_editing_a_title_renders_that_clip_again_and_no_other(client):
    edited, others = catalogue()
    with card_renders() as first:
        before = visit_all(client, edited, others)
    assert {pk for pk, _ in first} == {edited.pk, *(o.pk for o in others)}
    assert all("Col du Tourmalet" in page for page in before.values())

    edited.title = "Col d'Aubisque"
    edited.save()
    with card_renders() as again:
        after = visit_all(client, edited, others)
    # Only the edited clip's card, in each language (once as the page's first, eager card
    # and once as a later one), no other clip's.
    assert {pk for pk, _ in again} == {edited.pk}
    assert {language for _, language in again} == set(LANGUAGES)
    assert len(again) <= 2 * len(LANGUAGES)
    for url, page in after.items():
        assert "Col d&#x27;Aubisque" in page and "Col du Tourmalet" not in page, url


def test_a_clip_page_body_is_rendered_once_per_language_and_follows_edits(client):
    clip = make_clip(title="Lac de Serre-Ponçon", description="Soleil")
    bodies = []

    def record(sender, template, context, **kwargs):
        if template.name == "gallery/clip_body.html":
            bodies.append(context["clip"].title)

    template_rendered.connect(record)
    try:
        for _ in range(2):
            for language in LANGUAGES:
                client.get(f"/{language}/clips/{clip.pk}/")
            # A new page version (another clip published) re-assembles the pages only.
            make_clip(title="Unrelated newcomer")
        assert bodies == ["Lac de Serre-Ponçon"] * len(LANGUAGES)
        Clip.objects.get(pk=clip.pk).themes.set(Theme.objects.filter(slug="weekend"))
        page = client.get(f"/en/clips/{clip.pk}/").content.decode()
        assert 'href="/en/?theme=weekend"' in page and len(bodies) == len(LANGUAGES) + 1
    finally:
        template_rendered.disconnect(record)


@pytest.mark.parametrize("how", ["unpublish", "withdraw"])
def test_unpublishing_removes_a_clip_everywhere_at_once(client, how):
    edited, others = catalogue()
    before = visit_all(client, edited, others)
    assert all("Col du Tourmalet" in page for page in before.values())
    feeds = [f"/{language}/feed/" for language in LANGUAGES]
    assert all(b"Col du Tourmalet" in client.get(url).content for url in feeds)

    if how == "unpublish":
        edited.unpublish(by=None, reason="Not a Model 3")
    else:
        edited.withdraw()
    after = visit_all(client, edited, others)
    for url, page in after.items():
        assert "Col du Tourmalet" not in page, url
    assert not any(b"Col du Tourmalet" in client.get(url).content for url in feeds)
    for language in LANGUAGES:
        gone = client.get(f"/{language}/clips/{edited.pk}/").status_code
        assert gone == 404
        assert 'class="card"' not in after[f"/{language}/?theme=weekend"]
    counts = dict(Theme.objects.values_list("slug", "published_count"))
    assert counts["weekend"] == 0 and counts["design"] == 5


def test_kept_theme_counts_match_a_recount_after_every_kind_of_change():
    def kept():
        return dict(Theme.objects.values_list("slug", "published_count"))

    def check():
        counts = kept()
        recount_themes()
        assert counts == kept()

    a = make_clip(themes=["design", "weekend"])
    b = make_clip(themes=["design"], status=Clip.Status.REVIEW)
    check()
    b.approve(by=None)
    check()
    a.themes.remove(*Theme.objects.filter(slug__in=["weekend", "autopilot"]))  # one not linked
    check()
    a.themes.add(*Theme.objects.filter(slug__in=["autopilot", "design"]))  # one linked already
    check()
    a.themes.set(Theme.objects.filter(slug="performance"))
    check()
    a.themes.clear()
    check()
    Theme.objects.get(slug="weekend").clips.add(a, b)  # from the theme's side
    check()
    a.set_featured(True)
    a.unpublish(by=None, reason="x")
    check()
    b.delete()
    check()
    assert kept() == dict.fromkeys(kept(), 0)


def test_the_suite_uses_the_cache_it_was_asked_for():
    from django.core.cache import caches

    backend = type(caches["default"]).__name__
    assert backend == ("RedisCache" if os.environ.get("TEST_CACHE") == "redis" else "LocMemCache")


def without_nonce(response):
    """The page with its CSP nonce (its own to each answer) replaced by a fixed word."""
    policy = response.get("Content-Security-Policy", "")
    html = response.content.decode()
    if "nonce-" in policy:
        html = html.replace(policy.split("nonce-")[1].split("'")[0], "NONCE")
    return html


def rendered_by_the_templates(client, monkeypatch, url, **kwargs):
    """The page as the template engine renders it whole (the path for hosts that are not
    kept), asked with an empty cache."""
    from django.core.cache import caches

    from gallery import views

    caches["default"].clear()
    with monkeypatch.context() as patch:
        patch.setattr(views, "page_origin", lambda request: None)
        whole = client.get(url, **kwargs)
    caches["default"].clear()
    return whole


def test_a_page_assembled_from_its_shell_is_the_page_the_templates_render(
    client, settings, monkeypatch
):
    from django.core.cache import caches

    from tests.factories import add_published_clips

    settings.GALLERY_PAGE_SIZE = 2
    add_published_clips(7, ["design", "weekend"])
    star = make_clip(title="Étoile <b>&\"'", themes=["performance", "design"], featured=True)
    star.set_featured(True)
    lonely = make_clip(title="Seul", themes=["technology"])
    # Digits grouped the language's way (12 345, 12,345, 12.345).
    Theme.objects.filter(slug="design").update(published_count=12345)
    queries = [
        {},
        {"page": "2"},
        {"page": "4"},  # the last
        {"page": "99"},  # past the end: the last
        {"theme": ["weekend", "design"], "page": "3"},
        {"theme": "performance"},
        {"theme": "autopilot"},  # no clip
        {"order": "popular", "page": "2"},
    ]
    for language in ("fr", "en", "de"):
        for query in queries:
            for headers in ({}, {"X-Partial": "results"}):
                url = f"/{language}/"
                whole = rendered_by_the_templates(
                    client, monkeypatch, url, query_params=query, headers=headers
                )
                # With the shell rendered, then kept; the first page of a selection from one
                # query, the next ones from the selection's list (gallery.pages.gallery_list).
                for _ in range(2):
                    assembled = client.get(url, query_params=query, headers=headers)
                    assert without_nonce(assembled) == without_nonce(whole), (url, query)
                    caches["default"].clear()
        for clip in (star, lonely):  # with related clips, and with none
            url = f"/{language}/clips/{clip.pk}/"
            whole = rendered_by_the_templates(client, monkeypatch, url)
            assert "nonce-" in whole["Content-Security-Policy"]
            for _ in range(2):
                assembled = client.get(url)
                assert without_nonce(assembled) == without_nonce(whole), url
                assert 'nonce="' in assembled.content.decode()
                assert assembled["Content-Security-Policy"] != whole["Content-Security-Policy"]
                caches["default"].clear()


def test_a_cold_page_whose_shell_and_fragments_are_kept_renders_no_template(client):
    from infra.cache import bump_version

    edited, others = catalogue()
    urls = [u for language in LANGUAGES for u in pages_showing(edited, others, language)]
    for url in urls:
        client.get(url)
    rendered = []

    def record(sender, template, context, **kwargs):
        rendered.append(template.name)

    bump_version()  # every page retired: each visit below is a cold page
    template_rendered.connect(record)
    try:
        for url in urls:
            assert client.get(url).status_code == 200
        assert rendered == []
        # A publish changes the counts on every gallery page, and the pages listing the
        # newcomer: only its card is rendered, the pages around it are their shells.
        newcomer = make_clip(title="Newcomer", themes=["design"])
        for url in urls:
            page = client.get(url).content.decode()
            if "/clips/" not in url:
                assert "Newcomer" in page or "weekend" in url, url
    finally:
        template_rendered.disconnect(record)
    assert set(rendered) == {"includes/clip_card.html"}
    gallery = client.get("/en/").content.decode()
    design = re.search(
        r'value="design"[^>]*>\s*<span>[^<]*<span class="chip__count">(\d+)<', gallery
    )
    assert newcomer.status == Clip.Status.PUBLISHED and design.group(1) == "7"  # 5 + 1 + 1


def test_a_publish_makes_one_catalogue_read_for_every_process_sharing_the_cache(
    client, settings, redis_server
):
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from infra.cache import bump_version, forget_near, forget_version
    from tests.factories import add_published_clips

    settings.CACHES = redis_cache(redis_server.url)
    caches["default"].clear()
    settings.GALLERY_PAGE_SIZE = 2
    add_published_clips(9, ["design", "weekend"])
    newest_first = list(Clip.objects.published().for_gallery().values_list("title", flat=True))
    bump_version()

    def visit(pages):
        """Each page's card titles, and how many times the catalogue (every published clip
        with its themes) was read from the database meanwhile."""
        shown = []
        with CaptureQueriesContext(connection) as queries:
            for page in pages:
                html = client.get("/fr/", {"page": page}).content.decode()
                shown.append(re.findall(r'<span class="card__title"[^>]*>([^<]*)</span>', html))
        return shown, sum("gallery_clip_themes" in q["sql"] for q in queries)

    shown, reads = visit([1, 2, 3])
    assert reads == 1
    forget_version()  # as another process finds it: nothing read under this version
    forget_near()
    shown_elsewhere, reads = visit([4, 5])
    assert reads == 0
    assert shown + shown_elsewhere == [newest_first[i : i + 2] for i in range(0, 10, 2)]


def test_the_process_that_publishes_prepares_the_new_version_for_every_other_process(
    client, settings, redis_server, django_capture_on_commit_callbacks
):
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from infra.cache import forget_near, forget_version
    from tests.factories import add_published_clips

    settings.CACHES = redis_cache(redis_server.url)
    caches["default"].clear()
    settings.PAGE_CACHE_VERSION_TTL = 0  # the version is read on every visit
    settings.GALLERY_PAGE_SIZE = 2
    add_published_clips(30, ["design", "weekend"])
    oldest = Clip.objects.published().for_gallery().last()
    with django_capture_on_commit_callbacks(execute=True):
        oldest.set_featured(True)  # a staff decision: listed first from now on
    # Another process, its first visitor after the publish, on a deep page of two themes.
    forget_version()
    forget_near()
    with CaptureQueriesContext(connection) as queries:
        deep = client.get("/fr/", {"theme": ["design", "weekend"], "page": 12})
        first = client.get("/fr/", {"theme": ["weekend", "design"], "page": 1})
    # The version, then each page's two clips by id: no themes, no catalogue, no count.
    tables = [q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in queries]
    assert tables == ["infra_pageversion", "gallery_clip", "infra_pageversion", "gallery_clip"]
    assert deep.status_code == first.status_code == 200
    titles = re.findall(r'<span class="card__title"[^>]*>([^<]*)</span>', first.content.decode())
    assert titles[0] == oldest.title
    counts = dict(
        re.findall(
            r'value="([a-z]+)"[^>]*>\s*<span>[^<]*<span class="chip__count">(\d+)<',
            deep.content.decode(),
        )
    )
    assert counts["design"] == counts["weekend"] == "30"


def test_a_publish_that_moves_every_page_by_one_renders_the_newcomer_card_only(client, settings):
    from django.template.loader import render_to_string

    settings.GALLERY_PAGE_SIZE = 2
    for i in range(5):
        make_clip(title=f"Clip {i}", themes=["design"])
    urls = [f"/{language}/?page={page}" for language in ("fr", "de") for page in (1, 2, 3)]
    for url in urls:
        client.get(url)
    newcomer = make_clip(title="Newcomer", themes=["design"])
    with card_renders() as rendered:
        pages = [client.get(url).content.decode() for url in urls]
    # Every page now starts with another clip; only the newcomer's card is new.
    assert sorted(rendered) == [(newcomer.pk, "de"), (newcomer.pk, "fr")]
    for page in pages:
        first, *others = re.findall(r'<li class="card">.*?</li>', page, re.S)
        assert 'fetchpriority="high"' in first and 'loading="lazy"' not in first
        assert all('loading="lazy"' in card and "fetchpriority" not in card for card in others)
    # The first card is the one the template gives a card asked to load at once.
    shown = Clip.objects.get(title="Clip 3")
    assert shown.title in pages[1]  # page 2 in French: Clip 3, Clip 2
    with translation.override("fr"):
        eager = render_to_string("includes/clip_card.html", {"clip": shown, "eager": True})
    assert eager.strip() in pages[1]


def test_after_a_publish_a_page_reads_only_the_rows_that_changed(
    client, settings, redis_server, django_capture_on_commit_callbacks
):
    """The catalogue knows each clip's row version (PostgreSQL): the card rows kept under
    the same versions are not read again, and a row changed in any way (here an UPDATE with
    no signal) is."""
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from infra.cache import bump_version, forget_near, forget_version
    from tests.factories import add_published_clips

    settings.CACHES = redis_cache(redis_server.url)
    caches["default"].clear()
    settings.PAGE_CACHE_VERSION_TTL = 0
    settings.GALLERY_PAGE_SIZE = 2
    add_published_clips(6, ["design"])
    client.get("/de/")  # the version's first page: counted by a query, not from the catalogue
    for page in (1, 2, 3):
        client.get("/fr/", {"page": page})
    changed = Clip.objects.published().for_gallery()[3]
    with django_capture_on_commit_callbacks(execute=True):
        Clip.objects.filter(pk=changed.pk).update(title="Renamed by an update")
        bump_version()
    forget_version()  # another process
    forget_near()
    with CaptureQueriesContext(connection) as queries:
        shown = [client.get("/fr/", {"page": page}).content.decode() for page in (1, 2, 3)]
    assert "Renamed by an update" in shown[1] and changed.title not in "".join(shown)
    clip_reads = [q["sql"] for q in queries if 'FROM "gallery_clip"' in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(clip_reads) == 1 and f"IN ({changed.pk})" in clip_reads[0]
    else:  # no row versions: each page reads its rows
        assert len(clip_reads) == 3


def test_after_a_publish_a_clip_page_reads_no_row_unless_its_clip_changed(
    client, settings, monkeypatch, redis_server, django_capture_on_commit_callbacks
):
    """A clip page is told from the catalogue (its themes) and its row version: its shell
    is kept under them, so after a publish a web process that never served it puts it
    together from the cache, rendering nothing; on PostgreSQL, whose catalogue holds row
    versions, reading nothing either (elsewhere it reads its row, which stands for one). A
    clip changed in any way (an UPDATE with no signal) is read and rendered again; one with
    captions is read, as they are rows of their own."""
    from django.core.cache import caches
    from django.core.files.base import ContentFile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery import shells
    from gallery.models import Caption
    from infra.cache import forget_near, forget_version

    settings.CACHES = redis_cache(redis_server.url)
    caches["default"].clear()
    settings.PAGE_CACHE_VERSION_TTL = 0
    kept = make_clip(title="Route des Crêtes", themes=["technology", "weekend"])
    make_clip(title="Voisin", themes=["technology"])  # its related clip, unchanged
    changed = make_clip(title="Col de la Bonette", themes=["autopilot"])
    captioned = make_clip(title="Lac d'Annecy", themes=["performance"])
    caption = Caption(clip=captioned, language="fr")
    caption.file.save("fr.vtt", ContentFile(b"WEBVTT\n\n00:00.000 --> 00:01.000\nSalut\n"))
    other = make_clip(title="Autre", themes=["design"])
    pages = {clip: f"/fr/clips/{clip.pk}/" for clip in (kept, changed, captioned)}
    for url in pages.values():
        assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Clip.objects.filter(pk=changed.pk).update(title="Cime de la Bonette")
        other.set_featured(True)  # a publish: every page retired
    forget_version()  # as another process finds it: nothing kept in its memory
    forget_near()
    shells.forget_near()

    def clip_reads(url, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **kwargs)
        reads = [q["sql"] for q in queries if 'FROM "gallery_clip"' in q["sql"]]
        return response, reads

    def its_row(clip):  # published_clip's query
        return f'"gallery_clip"."id" = {clip.pk}'

    with templates_rendered() as rendered:
        page, reads = clip_reads(pages[kept])
    assert page.status_code == 200
    assert "Route des Crêtes" in page.content.decode()
    assert rendered == []
    if connection.vendor == "postgresql":
        assert reads == []
    else:
        assert len([sql for sql in reads if its_row(kept) in sql]) == 1
    # Its canonical address answers too, another is sent there, from the kept shell.
    slugged, reads = clip_reads(kept.get_absolute_url())
    assert slugged.status_code == 200
    assert any(its_row(kept) in sql for sql in reads) == (connection.vendor != "postgresql")
    moved, _reads = clip_reads(f"/fr/clips/{kept.pk}-not-its-title/")
    assert moved.status_code == 301 and moved["Location"] == kept.get_absolute_url()

    # What the templates give for it now.
    whole = rendered_by_the_templates(client, monkeypatch, pages[kept])
    assert without_nonce(page) == without_nonce(whole)

    with templates_rendered() as rendered:
        page, reads = clip_reads(pages[changed])
    assert "gallery/clip_detail.html" in rendered
    assert "Cime de la Bonette" in page.content.decode()
    assert "Col de la Bonette" not in page.content.decode()
    assert len([sql for sql in reads if its_row(changed) in sql]) == 1
    page, reads = clip_reads(pages[captioned])
    assert "<track" in page.content.decode()
    assert len([sql for sql in reads if its_row(captioned) in sql]) == 1

    # Unpublished: gone at once, though its shell is kept.
    with django_capture_on_commit_callbacks(execute=True):
        kept.unpublish(by=None, reason_code="people")
    assert client.get(pages[kept]).status_code == 404


@pytest.mark.parametrize("first", ["/fr/clips/{pk}-not-its-title/", "/fr/clips/{pk}/"])
def test_a_clip_page_built_from_another_address_links_its_canonical_one(
    client, settings, redis_server, first
):
    """A clip page is kept for every address of the clip (its shell): whichever address
    built it (a wrong slug, which is sent on; none), its language switcher names the
    clip's canonical address in each language, as its canonical and hreflang links do."""
    from django.core.cache import caches

    settings.CACHES = redis_cache(redis_server.url)
    caches["default"].clear()
    clip = make_clip(title="Route des Crêtes", themes=["design"])
    make_clip(title="Voisin", themes=["design"])
    client.get(first.format(pk=clip.pk))
    html = client.get(clip.get_absolute_url()).content.decode()
    switcher = re.findall(r'href="(/[a-z]{2}/clips/[^"]*)" hreflang', html)
    assert switcher == [f"/{code}/clips/{clip.pk}-route-des-cretes/" for code in LANGUAGES]
