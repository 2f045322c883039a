import re

import pytest
from django.urls import reverse

from gallery.models import Clip
from tests.factories import add_published_clips, make_clip

pytestmark = pytest.mark.django_db


def titles(response):
    """The titles of the cards shown, in order (HTML-escaped as the page has them)."""
    html = response.content.decode()
    return re.findall(r'<span class="card__title"[^>]*>([^<]*)</span>', html)


def theme_counts(response):
    """{slug: the count shown beside the theme's box}, in the order shown."""
    html = response.content.decode()
    found = re.findall(
        r'value="([a-z-]+)"[^>]*>\s*<span>[^<]*<span class="chip__count">([^<]*)</span>', html
    )
    return {slug: int(re.sub(r"\D", "", count)) for slug, count in found}


def total_shown(response):
    """The number of clips the results say match."""
    count = re.search(r'<p class="results__count">([^<]*)</p>', response.content.decode())
    return int(re.sub(r"\D", "", count.group(1)))


def test_gallery_shows_only_published_clips_featured_first_then_newest(client):
    old = make_clip(title="Old")
    make_clip(title="Hidden", status=Clip.Status.REVIEW)
    make_clip(title="Rejected", status=Clip.Status.REJECTED)
    new = make_clip(title="New")
    star = make_clip(title="Star", featured=True)
    star.set_featured(True)

    response = client.get("/fr/")
    assert response.status_code == 200
    assert titles(response) == [star.title, new.title, old.title]
    assert b"Hidden" not in response.content and b"Rejected" not in response.content


def test_ticking_themes_ors_them_and_counts_published_clips(client):
    make_clip(title="Fast", themes=["performance"])
    make_clip(title="Auto", themes=["autopilot"])
    make_clip(title="Both", themes=["performance", "autopilot"])
    make_clip(title="Weekend", themes=["weekend"])
    make_clip(title="Unpublished fast", themes=["performance"], status=Clip.Status.REVIEW)

    response = client.get("/fr/", {"theme": ["performance", "autopilot"]})
    assert sorted(titles(response)) == ["Auto", "Both", "Fast"]
    counts = theme_counts(response)
    assert list(counts) == ["performance", "autopilot", "technology", "weekend", "design"]
    assert counts == {"performance": 2, "autopilot": 2, "technology": 0, "weekend": 1, "design": 0}
    html = response.content.decode()
    assert re.search(r'value="performance"\s+checked', html)
    assert not re.search(r'value="weekend"\s+checked', html)


def test_empty_result_says_so_and_offers_to_clear(client):
    make_clip(themes=["design"])
    response = client.get("/en/", {"theme": "weekend"})
    assert titles(response) == []
    assert "No clip matches these themes yet." in response.content.decode()
    assert 'href="/en/">Clear filter' in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"theme": "nope"},
        {"theme": "<script>"},
        {"page": "abc"},
        {"page": "-3"},
        {"page": "999999999999999999999"},
        {"page": "9999"},
        {"theme": ["performance", "performance"], "page": "2.5"},
    ],
)
def test_bad_parameters_never_fail(client, query):
    make_clip(themes=["performance"])
    response = client.get("/fr/", query)
    assert response.status_code == 200
    assert len(titles(response)) == 1


def test_pagination_24_a_page_and_links_keep_the_filter(client, settings):
    for _ in range(30):
        make_clip(themes=["design"])
    response = client.get("/fr/", {"theme": "design"})
    assert len(titles(response)) == 24
    assert "?theme=design&amp;page=2" in response.content.decode()
    second = client.get("/fr/", {"theme": "design", "page": 2})
    assert len(titles(second)) == 6
    # Past the end: the last page rather than an error.
    assert len(titles(client.get("/fr/", {"page": 99}))) == 6


def test_partial_request_renders_only_the_results(client):
    make_clip(title="Partial", themes=["design"])
    response = client.get("/fr/", {"theme": "design"}, headers={"X-Partial": "results"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "Partial" in html and "<html" not in html


@pytest.mark.parametrize(
    "selection", [{}, {"theme": "design"}, {"theme": ["design", "weekend"]}], ids=str
)
def test_a_cold_gallery_page_costs_three_queries_from_10_to_1000_clips(
    client, settings, django_assert_max_num_queries, selection
):
    from infra.cache import bump_version

    settings.PAGE_CACHE_VERSION_TTL = 0  # the version is read on every visit
    add_published_clips(10, ["design", "weekend"])
    for size in (10, 1000):
        if size == 1000:
            add_published_clips(990, ["design", "weekend"])
        bump_version()
        # The version, the themes with their kept counts, the page's clips with their total.
        for page in (1, 2, 1, 3):
            with django_assert_max_num_queries(3):
                response = client.get("/fr/", {**selection, "page": page})
            assert response.status_code == 200
        counts = theme_counts(response)
        assert counts["design"] == counts["weekend"] == size
        assert total_shown(response) == size
        assert len(titles(response)) == (24 if size == 1000 else 10)


def test_clip_page_shows_the_player_and_details(client):
    clip = make_clip(
        title="Lever de soleil", themes=["weekend", "design"], description="Beau matin"
    )
    related = make_clip(title="Other weekend", themes=["weekend"])
    make_clip(title="Unrelated", themes=["performance"])

    response = client.get(f"/fr/clips/{clip.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    # Controls come when the visitor starts the video (static/js/player.js).
    assert re.search(
        r"<video playsinline preload=\"none\" poster=\"/media/clips/\d+/t/poster.jpg\"", html
    )
    assert f'src="/media/clips/{clip.pk}/t/720p.mp4"' in html
    assert "Beau matin" in html and "Camille" in html
    assert 'href="/fr/?theme=weekend"' in html
    assert titles(response) == [related.title]
    assert 'class="related"' in html and related.title in html.split('class="related"')[1]


def test_clip_url_may_carry_its_slug_and_a_wrong_slug_redirects(client):
    clip = make_clip(title="Night drive")
    assert clip.get_absolute_url() == f"/en/clips/{clip.pk}-night-drive/"
    assert client.get(clip.get_absolute_url()).status_code == 200
    wrong = client.get(f"/en/clips/{clip.pk}-something-else/")
    assert wrong.status_code == 301 and wrong["Location"] == clip.get_absolute_url()


@pytest.mark.parametrize(
    "status",
    [
        Clip.Status.PROCESSING,
        Clip.Status.REVIEW,
        Clip.Status.REJECTED,
        Clip.Status.FAILED,
        Clip.Status.WITHDRAWN,
    ],
)
def test_unpublished_clip_page_is_404(client, status):
    clip = make_clip(status=status)
    assert client.get(f"/fr/clips/{clip.pk}/").status_code == 404
    assert client.get("/fr/clips/999999/").status_code == 404


def test_unpublished_media_is_404_without_a_valid_signed_link(
    client, sample_video, settings, media_storage
):
    clip = make_clip(status=Clip.Status.REVIEW, video=sample_video)
    url = clip.video.url
    assert client.get(url).status_code == 404
    assert client.get(clip.poster.url).status_code == 404
    assert not (media_storage / "public" / clip.video.name).exists()  # nothing public yet

    signed = clip.review_video_url
    assert client.get(signed).status_code == 200
    assert client.get(signed.replace("sig=", "sig=x")).status_code == 404
    other = make_clip(status=Clip.Status.REVIEW, video=sample_video)
    assert (
        client.get(
            signed.replace(clip.video.name, other.video.name).replace(
                f"/clips/{clip.pk}/", f"/clips/{other.pk}/"
            )
        ).status_code
        == 404
    )  # a signature is for one file
    settings.PRIVATE_MEDIA_URL_SECONDS = -1
    assert client.get(signed).status_code == 404  # expired

    clip.approve(by=None)
    assert client.get(url).status_code == 200
    assert (media_storage / "public" / clip.video.name).exists()


def test_unpublishing_removes_the_public_copies(
    client, sample_video, media_storage, django_capture_on_commit_callbacks
):
    clip = make_clip(video=sample_video)
    public = [media_storage / "public" / name for name in clip.media_names]
    assert all(p.exists() for p in public)
    with django_capture_on_commit_callbacks(execute=True):
        clip.unpublish(by=None, reason="Owner asked by phone")
    assert not any(p.exists() for p in public)
    assert client.get(clip.video.url).status_code == 404
    assert client.get(clip.review_video_url).status_code == 200  # staff can still look


def test_originals_are_never_served(client, sample_video):
    clip = make_clip(video=sample_video)
    original = clip.original.name
    for guess in (
        f"/media/{original}",
        f"/media/clips/{clip.pk}/{original}",
        f"/media/clips/{clip.pk}/../../private/{original}",
        f"/media/private/{original}",
    ):
        assert client.get(guess).status_code == 404, guess


def test_root_redirects_to_a_language(client):
    response = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert response.status_code == 302 and response["Location"] == "/de/"
    assert client.get("/").headers["Location"] == "/fr/"


def test_themes_are_labelled_in_french_by_default(client):
    html = client.get("/fr/").content.decode()
    assert "Performances" in html and "Technologie" in html
    # The car maker's words stay as they are in French.
    assert "Autopilot" in html and "Design" in html
    assert "Pilotage automatique" not in html and "Conception" not in html
    assert reverse("gallery:index") == "/fr/"


def test_a_cold_clip_page_costs_one_query_once_its_themes_are_read(
    client, settings, django_assert_max_num_queries
):
    from infra.cache import bump_version

    settings.PAGE_CACHE_VERSION_TTL = 0  # the version is read on every visit
    first, second, third = (make_clip(title=f"Col {i}", themes=["design"]) for i in range(3))
    bump_version()
    assert client.get(first.get_absolute_url()).status_code == 200
    # The version and the clip: its themes, its related clips' cards and the page around
    # them were read or kept by the first visit.
    with django_assert_max_num_queries(2):
        response = client.get(second.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200 and "Col 1</h1>" in html
    assert titles(response) == ["Col 2", "Col 0"]  # the related clips, newest first
    assert '/?theme=design"' in html  # its themes, shown
