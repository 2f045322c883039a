"""What search engines and feed readers get: robots.txt, the video sitemap, canonical and
hreflang links, JSON-LD, Open Graph and the RSS / Atom feeds."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

from gallery.models import Clip
from gallery.seo import canonical_gallery_query, iso_duration
from infra.storage import public_storage
from tests.factories import head, make_clip

pytestmark = pytest.mark.django_db

NS = {
    "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "video": "http://www.google.com/schemas/sitemap-video/1.1",
    "atom": "http://www.w3.org/2005/Atom",
}
LANGUAGES = ["fr", "en", "de", "nl", "it", "es"]


def parse_xml(response):
    return ET.fromstring(response.content)  # noqa: S314 - our own server's answer


def test_robots_txt_allows_all_but_private_pages_and_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Allow: /" in lines
    for private in ("/admin/", "/*/my/", "/*/submit/thanks/"):
        assert f"Disallow: {private}" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


def test_sitemap_lists_pages_and_published_clips_with_video_entries_in_every_language(client):
    clip = make_clip(
        title="Col <de> l'Iseran & co", description="Lever de soleil.", themes=["weekend"]
    )
    hidden = make_clip(title="Still in review", status=Clip.Status.REVIEW)

    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = parse_xml(response)
    urls = {u.find("s:loc", NS).text: u for u in root.findall("s:url", NS)}

    for lang in LANGUAGES:
        assert f"http://testserver/{lang}/" in urls
        assert f"http://testserver/{lang}/submit/" in urls
    clip_urls = [loc for loc in urls if "/clips/" in loc]
    assert sorted(clip_urls) == sorted(
        f"http://testserver/{lang}{clip.get_absolute_url()[3:]}" for lang in LANGUAGES
    )
    assert not any(f"/clips/{hidden.pk}" in loc for loc in urls)

    entry = urls[f"http://testserver/de/clips/{clip.pk}-{clip.slug}/"]
    alternates = {a.get("hreflang"): a.get("href") for a in entry.findall("xhtml:link", NS)}
    assert set(alternates) == {*LANGUAGES, "x-default"}
    assert (
        alternates["x-default"]
        == alternates["fr"]
        == f"http://testserver/fr/clips/{clip.pk}-{clip.slug}/"
    )

    video = entry.find("video:video", NS)
    assert video.find("video:title", NS).text == "Col <de> l'Iseran & co"
    assert video.find("video:description", NS).text == "Lever de soleil."
    assert video.find("video:thumbnail_loc", NS).text == f"http://testserver{clip.poster.url}"
    assert video.find("video:content_loc", NS).text == f"http://testserver{clip.video.url}"
    assert video.find("video:player_loc", NS).text == f"http://testserver/embed/{clip.pk}/"
    assert video.find("video:duration", NS).text == "12"
    published = datetime.fromisoformat(video.find("video:publication_date", NS).text)
    assert published.tzinfo is not None and published == clip.published_at.replace(microsecond=0)
    # Plain pages carry no video.
    assert urls["http://testserver/fr/"].find("video:video", NS) is None


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ({}, "http://testserver/en/"),
        ({"page": "1"}, "http://testserver/en/"),
        (
            {"theme": ["weekend", "autopilot", "weekend", "nope"]},
            "http://testserver/en/?theme=autopilot&theme=weekend",
        ),
        (
            {"theme": ["weekend", "autopilot"], "page": "2"},
            "http://testserver/en/?theme=autopilot&theme=weekend&page=2",
        ),
        # A page past the end shows the last one, and says so.
        ({"theme": "weekend", "page": "99"}, "http://testserver/en/?theme=weekend&page=2"),
    ],
)
def test_gallery_canonical_keeps_sorted_themes_and_pages_after_the_first(
    client, settings, query, canonical
):
    settings.GALLERY_PAGE_SIZE = 2
    for _ in range(3):
        make_clip(themes=["weekend", "autopilot"])
    page = head(client.get("/en/", query))
    assert [link["href"] for link in page.link("canonical")] == [canonical]
    # The same filtered page in each language, and x-default (the default language).
    alternates = {
        link["hreflang"]: link["href"] for link in page.link("alternate") if "hreflang" in link
    }
    assert set(alternates) == {*LANGUAGES, "x-default"}
    assert alternates["de"] == canonical.replace("/en/", "/de/")
    assert alternates["x-default"] == canonical.replace("/en/", "/fr/")


def test_canonical_gallery_query_is_one_spelling():
    assert canonical_gallery_query(["b", "a", "b"], 1) == "?theme=a&theme=b"
    assert canonical_gallery_query([], 3) == "?page=3"
    assert canonical_gallery_query([], 1) == ""


def test_clip_page_canonical_is_its_slugged_url(client):
    clip = make_clip(title="Frunk picnic")
    for path in (f"/it/clips/{clip.pk}/", f"/it/clips/{clip.pk}-frunk-picnic/"):
        page = head(client.get(path))
        assert [link["href"] for link in page.link("canonical")] == [
            f"http://testserver/it/clips/{clip.pk}-frunk-picnic/"
        ]
        assert (
            page.link("alternate", hreflang="nl")[0]["href"]
            == f"http://testserver/nl/clips/{clip.pk}-frunk-picnic/"
        )


def test_iso_durations():
    assert iso_duration(65.4) == "PT1M5S"
    assert iso_duration(12) == "PT12S"
    assert iso_duration(3600) == "PT1H"
    assert iso_duration(3725) == "PT1H2M5S"
    assert iso_duration(0) == "PT0S"
    assert iso_duration(None) == "PT0S"


def test_clip_page_has_a_video_object_in_json_ld_with_the_csp_nonce(client):
    clip = make_clip(
        title="Night drive </script><script>alert(1)</script>",
        description="Lisbon & the bridge",
        language="nl",
    )
    clip.duration = 65.4
    Clip.objects.filter(pk=clip.pk).update(duration=65.4)
    response = client.get(f"/en/clips/{clip.pk}/")
    html = response.content.decode()
    assert "</script><script>alert(1)" not in html

    (script,) = head(response).json_ld
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert script["attrs"]["nonce"] == nonce
    data = json.loads(script["text"])
    assert data["@context"] == "https://schema.org" and data["@type"] == "VideoObject"
    assert data["name"] == clip.title
    assert data["description"] == "Lisbon & the bridge"
    assert data["duration"] == "PT1M5S"
    assert data["inLanguage"] == "nl"
    assert data["contentUrl"] == f"http://testserver{clip.video.url}"
    assert data["embedUrl"] == f"http://testserver/embed/{clip.pk}/"
    assert data["thumbnailUrl"][0] == f"http://testserver{clip.poster.url}"
    assert all(url.startswith("http://testserver/media/") for url in data["thumbnailUrl"])
    uploaded = datetime.fromisoformat(data["uploadDate"])
    assert uploaded.tzinfo is not None and uploaded == clip.published_at.replace(microsecond=0)


def test_clip_page_has_open_graph_and_a_twitter_player_card(client):
    clip = make_clip(title="Glass roof", description="Noon in Seville.")
    page = head(client.get(f"/es/clips/{clip.pk}/"))
    assert page.meta("og:type") == ["video.other"]
    assert page.meta("og:title") == ["Glass roof"]
    assert page.meta("og:description") == ["Noon in Seville."]
    assert page.meta("og:url") == [f"http://testserver/es/clips/{clip.pk}-glass-roof/"]
    assert page.meta("og:locale") == ["es_ES"]
    assert "fr_FR" in page.meta("og:locale:alternate")
    assert page.meta("og:image") == [f"http://testserver{clip.poster.url}"]
    assert page.meta("og:video") == [f"http://testserver{clip.video.url}"]
    assert page.meta("og:video:type") == ["video/mp4"]
    assert page.meta("og:video:width") == ["1280"] and page.meta("og:video:height") == ["720"]
    assert page.meta("twitter:card") == ["player"]
    assert page.meta("twitter:player") == [f"http://testserver/embed/{clip.pk}/"]
    assert page.meta("twitter:player:width") == ["640"] and page.meta("twitter:player:height") == [
        "360"
    ]


def rss_items(response):
    channel = parse_xml(response).find("channel")
    return channel, channel.findall("item")


def test_rss_feed_lists_newest_published_clips_with_enclosures(client, media_storage):
    old = make_clip(title="Old one", themes=["design"])
    new = make_clip(title="New one", themes=["weekend"], description="Sunday.")
    make_clip(title="Hidden", status=Clip.Status.REVIEW)

    response = client.get("/en/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel, items = rss_items(response)
    assert channel.find("language").text == "en"
    assert channel.find("link").text == "http://testserver/en/"
    assert [item.find("title").text for item in items] == ["New one", "Old one"]
    first = items[0]
    assert first.find("link").text == f"http://testserver/en/clips/{new.pk}-new-one/"
    assert first.find("description").text == "Sunday."
    enclosure = first.find("enclosure")
    assert enclosure.get("url") == f"http://testserver{new.video.url}"
    assert enclosure.get("type") == "video/mp4"
    assert int(enclosure.get("length")) == public_storage().size(new.video.name) > 0
    assert [c.text for c in first.findall("category")] == ["Weekend"]
    assert old.pk


def test_feeds_honour_the_theme_filter_with_or(client):
    make_clip(title="Fast", themes=["performance"])
    make_clip(title="Auto", themes=["autopilot"])
    make_clip(title="Roof", themes=["design"])

    _channel, items = rss_items(
        client.get("/fr/feed/", {"theme": ["performance", "autopilot", "bogus"]})
    )
    assert sorted(item.find("title").text for item in items) == ["Auto", "Fast"]

    response = client.get("/de/feed/atom/", {"theme": "design"})
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = parse_xml(response)
    entries = feed.findall("atom:entry", NS)
    assert [entry.find("atom:title", NS).text for entry in entries] == ["Roof"]
    enclosure = entries[0].find("atom:link[@rel='enclosure']", NS)
    assert enclosure.get("type") == "video/mp4" and int(enclosure.get("length")) > 0
    assert enclosure.get("href").startswith("http://testserver/media/clips/")
    self_link = feed.find("atom:link[@rel='self']", NS)
    assert self_link.get("href") == "http://testserver/de/feed/atom/?theme=design"


def test_gallery_advertises_its_feeds_with_the_current_filter(client):
    make_clip(themes=["weekend"])
    page = head(client.get("/en/", {"theme": "weekend"}))
    assert (
        page.link("alternate", type="application/rss+xml")[0]["href"] == "/en/feed/?theme=weekend"
    )
    assert (
        page.link("alternate", type="application/atom+xml")[0]["href"]
        == "/en/feed/atom/?theme=weekend"
    )
