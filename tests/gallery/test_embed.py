"""Sharing and embedding: the share box, the embeddable player, oEmbed and framing headers."""

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from gallery.models import Clip
from tests.factories import head, make_clip

pytestmark = pytest.mark.django_db


def oembed(client, url, **params):
    return client.get("/oembed", {"url": url, **params})


def test_embed_page_may_be_framed_by_any_site_and_plays_the_clip(client):
    clip = make_clip(title="Ferry to Corsica", language="it")
    response = client.get(f"/embed/{clip.pk}/", headers={"Accept-Language": "de"})
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert (
        "frame-ancestors *" in csp and "'none'" not in csp.split("frame-ancestors")[1].split(";")[0]
    )
    assert "default-src 'self'" in csp  # the rest of the policy stays
    assert "X-Frame-Options" not in response

    html = response.content.decode()
    assert '<html lang="de">' in html
    assert re.search(rf'<video playsinline preload="none" poster="{clip.poster.url}"', html)
    # Until started, a link to the video file (for browsers without JavaScript) covers the poster.
    assert f'<a class="player__start" href="{clip.video.url}" data-player-start>' in html
    assert f'<source src="{clip.video.url}" type="video/mp4">' in html
    assert "autoplay" not in html
    # The title links back to the clip page, in its own language.
    assert re.search(
        rf'<a href="http://testserver/de/clips/{clip.pk}-ferry-to-corsica/" target="_blank" '
        r'rel="noopener">'
        r'<span lang="it">Ferry to Corsica</span>',
        html,
    )
    assert (
        head(response).link("canonical")[0]["href"]
        == f"http://testserver/de/clips/{clip.pk}-ferry-to-corsica/"
    )
    # Minimal: no site header, only the player's own script.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/player.js" defer>']
    assert "site-header" not in html


@pytest.mark.parametrize(
    "status", [Clip.Status.REVIEW, Clip.Status.REJECTED, Clip.Status.WITHDRAWN]
)
def test_embed_of_an_unpublished_clip_is_404(client, status):
    clip = make_clip(status=status)
    assert client.get(f"/embed/{clip.pk}/").status_code == 404


@pytest.mark.parametrize(
    "path", ["/fr/", "/en/submit/", "/en/terms/", "/sitemap.xml", "/oembed?url=x", "CLIP"]
)
def test_every_other_page_refuses_to_be_framed(client, path):
    clip = make_clip()
    response = client.get(clip.get_absolute_url() if path == "CLIP" else path)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_oembed_answers_with_a_video_iframe_of_the_embed_page(client):
    clip = make_clip(title='Cap "Ferret" <low tide>', credit_name="Émile")
    url = f"http://testserver/fr/clips/{clip.pk}-{clip.slug}/"
    response = oembed(client, url, format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    data = response.json()
    assert data["version"] == "1.0" and data["type"] == "video"
    assert data["title"] == clip.title and data["author_name"] == "Émile"
    assert (
        data["provider_name"] == "La vie en Model 3"
        and data["provider_url"] == "http://testserver/"
    )
    assert (data["width"], data["height"]) == (640, 360)
    assert data["html"] == (
        f'<iframe src="http://testserver/embed/{clip.pk}/" width="640" height="360" '
        'title="Cap &quot;Ferret&quot; &lt;low tide&gt;" allow="fullscreen; picture-in-picture" '
        'allowfullscreen loading="lazy" style="border:0"></iframe>'
    )
    assert data["thumbnail_url"] == f"http://testserver/media/clips/{clip.pk}/t/thumb-640.jpg"
    assert (data["thumbnail_width"], data["thumbnail_height"]) == (640, 360)


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"maxwidth": "320"}, (320, 180)),
        ({"maxheight": "90"}, (160, 90)),
        ({"maxwidth": "300", "maxheight": "100"}, (177, 100)),
        ({"maxwidth": "2000"}, (640, 360)),
        ({"maxwidth": "abc", "maxheight": "-5"}, (640, 360)),  # nonsense is ignored
    ],
)
def test_oembed_honours_maxwidth_and_maxheight(client, params, size):
    clip = make_clip()
    data = oembed(client, f"http://testserver{clip.get_absolute_url()}", **params).json()
    assert (data["width"], data["height"]) == size
    assert f'width="{size[0]}" height="{size[1]}"' in data["html"]
    assert data["thumbnail_width"] <= max(size[0], 320)


def test_oembed_of_a_portrait_clip_is_tall(client):
    clip = make_clip()
    Clip.objects.filter(pk=clip.pk).update(width=720, height=1280)
    data = oembed(client, f"http://testserver/en/clips/{clip.pk}/", maxheight="400").json()
    assert (data["width"], data["height"]) == (225, 400)


@pytest.mark.parametrize(
    "url",
    [
        "http://testserver/fr/clips/999999/",
        "http://testserver/fr/",
        "http://elsewhere.example/fr/clips/PK/",
        "javascript:alert(1)",
        "",
        "http://testserver/fr/clips/PK-wrong-slug/../../../admin/",
    ],
)
def test_oembed_is_404_for_what_is_not_one_of_our_clips(client, url):
    clip = make_clip()
    assert oembed(client, url.replace("PK", str(clip.pk))).status_code == 404


def test_oembed_is_404_for_unpublished_clips_and_501_for_xml(client):
    hidden = make_clip(status=Clip.Status.REVIEW)
    assert oembed(client, f"http://testserver/fr/clips/{hidden.pk}/").status_code == 404
    shown = make_clip()
    assert (
        oembed(client, f"http://testserver/fr/clips/{shown.pk}/", format="xml").status_code == 501
    )
    # The embed page's own URL works too.
    assert oembed(client, f"http://testserver/embed/{shown.pk}/").status_code == 200


def test_clip_page_advertises_oembed_and_the_link_works(client):
    clip = make_clip(title="Tunnel sound check")
    (link,) = head(client.get(f"/nl/clips/{clip.pk}/")).link(
        "alternate", type="application/json+oembed"
    )
    parts = urlsplit(link["href"])
    assert parts.path == "/oembed"
    assert parse_qs(parts.query) == {
        "url": [f"http://testserver/nl/clips/{clip.pk}-tunnel-sound-check/"],
        "format": ["json"],
    }
    assert client.get(f"{parts.path}?{parts.query}").json()["title"] == "Tunnel sound check"


def test_clip_page_offers_plain_share_links_and_no_third_party_script(client):
    clip = make_clip(title="Road trip & friends")
    response = client.get(f"/en/clips/{clip.pk}/")
    html = response.content.decode()
    page_url = f"http://testserver/en/clips/{clip.pk}-road-trip-friends/"
    encoded = quote(page_url, safe="")
    hrefs = re.findall(r'<a class="button button--quiet" href="([^"]+)">', html)
    hrefs = [h.replace("&amp;", "&") for h in hrefs]
    assert (
        f"mailto:?subject=Road%20trip%20%26%20friends&body=Road%20trip%20%26%20friends%0A{encoded}"
        in hrefs
    )
    assert f"https://wa.me/?text=Road%20trip%20%26%20friends%20{encoded}" in hrefs
    assert (
        f"https://twitter.com/intent/tweet?url={encoded}&text=Road%20trip%20%26%20friends" in hrefs
    )
    assert f"https://www.facebook.com/sharer/sharer.php?u={encoded}" in hrefs
    # The copy field holds the link; the buttons that need JavaScript start hidden.
    assert f'value="{page_url}" readonly data-share-url' in html
    assert re.search(r'<button type="button" class="button" hidden data-copy>', html)
    assert re.search(r"<li hidden data-native-share-item>", html)
    # Only our own scripts, and no inline script but the nonce'd JSON-LD.
    sources = re.findall(r"<script([^>]*)>", html)
    assert all('src="/static/' in s or 'type="application/ld+json"' in s for s in sources)
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]
    # The embed code is there to copy, escaped as text.
    assert f"&lt;iframe src=&quot;http://testserver/embed/{clip.pk}/&quot;" in html
