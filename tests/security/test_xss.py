"""Script payloads sent through the submission form stay inert text on every page that shows
the clip: its page, the gallery, the embed player, feeds, sitemap, oEmbed, the owner's status
page and the admin."""

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from gallery.models import Clip
from gallery.synth import synthesize
from submissions.models import Submission
from tests.factories import form_data, make_clip, placeholder_media, post, upload

pytestmark = pytest.mark.django_db

TITLE = '</script><script>alert(1)</script>"><img src=x onerror=alert(1)>{{ 7*7 }}\u2028end'
DESCRIPTION = "\n".join(
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "javascript:alert(1)",
        "</script><script>alert(2)</script>",
        "{{ 7*7 }} {% debug %}",
        "line\u2028separator\u2029paragraph",
        "<svg/onload=alert(1)>",
        "]]><!-- <![CDATA[",
        "'-alert(1)-'",
    ]
)
CREDIT = '"><svg onload=alert(1)>'
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "video": "http://www.google.com/schemas/sitemap-video/1.1",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
}


class Page(HTMLParser):
    """Tags, attributes, script bodies and text of an HTML page, as a browser would split them."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self.text = [], [], []
        self._script = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = (dict(attrs), [])

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data):
        (self._script[1] if self._script is not None else self.text).append(data)


def assert_inert(html):
    """Nothing in `html` can run: no handler attributes, no javascript: links, no stray scripts."""
    assert not re.search(r"<script>\s*alert", html, re.IGNORECASE)
    page = Page(html)
    for tag, attrs in page.tags:
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, (tag, attrs)
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        for name in ("href", "src", "action", "formaction", "data", "poster"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:"), (
                tag,
                attrs,
            )
    for attrs, body in page.scripts:
        if attrs.get("type") == "application/ld+json":
            # Data, not code: it parses as JSON and holds no "<" that could close the element.
            assert "<" not in body, body
            json.loads(body)
        else:
            assert "alert" not in body, (attrs, body)
    return page


@pytest.fixture
def payload_clip(client, tmp_path, settings):
    """A clip sent through the web form with payloads in every text field, then published."""
    settings.RATE_LIMITS = {name: "1000/3600" for name in settings.RATE_LIMITS}
    video = synthesize(tmp_path / "clip.mp4", seconds=1, width=160, height=90, fps=10)
    data = form_data(upload(video), title=TITLE, description=DESCRIPTION, credit_name=CREDIT)
    response = post(client, data, lang="en")
    assert response.status_code == 302, response.context["form"].errors
    clip = Submission.objects.get().clips.get()
    assert (clip.title, clip.description, clip.credit_name) == (TITLE, DESCRIPTION, CREDIT)
    folder = f"clips/{clip.pk}/x"
    placeholder_media(folder)
    clip.mark_processed(
        video=f"{folder}/720p.mp4",
        poster=f"{folder}/poster.jpg",
        duration=1.0,
        width=160,
        height=90,
        size=1000,
        thumbnails=[
            {
                "width": 320,
                "height": 180,
                "webp": f"{folder}/thumb-320.webp",
                "jpeg": f"{folder}/thumb-320.jpg",
            }
        ],
    )
    clip.approve(by=None)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.PUBLISHED
    return clip


def page_text(page):
    return "".join(page.text)


def parse_xml(response):
    """Well-formed XML, or the test fails here."""
    return ET.fromstring(response.content)  # noqa: S314 - our own server's answer


def test_clip_page(client, payload_clip):
    response = client.get(payload_clip.get_absolute_url())
    assert response.status_code == 200
    page = assert_inert(response.content.decode())
    text = page_text(page)
    # Shown as written: escaped once, never evaluated as a template.
    assert TITLE in text and CREDIT in text and "{% debug %}" in text
    (ld,) = [
        json.loads(body)
        for attrs, body in page.scripts
        if attrs.get("type") == "application/ld+json"
    ]
    assert ld["name"] == TITLE and ld["author"]["name"] == CREDIT
    assert ld["description"] == payload_clip.description
    metas = {
        a.get("property") or a.get("name"): a.get("content")
        for tag, a in page.tags
        if tag == "meta"
    }
    assert metas["og:title"] == TITLE


@pytest.mark.parametrize("path", ["/en/", "/fr/?theme=weekend", "/de/?page=1"])
def test_gallery(client, payload_clip, path):
    response = client.get(path)
    assert response.status_code == 200
    assert TITLE in page_text(assert_inert(response.content.decode()))


def test_gallery_partial(client, payload_clip):
    response = client.get("/en/", headers={"X-Partial": "results"})
    assert TITLE in page_text(assert_inert(response.content.decode()))


def test_embed_player(client, payload_clip):
    response = client.get(f"/embed/{payload_clip.pk}/")
    assert response.status_code == 200
    assert TITLE in page_text(assert_inert(response.content.decode()))


def test_rss_feed(client, payload_clip):
    response = client.get("/en/feed/")
    item = parse_xml(response).find("channel/item")
    assert item.find("title").text == TITLE
    # A description is HTML to a feed reader: once the XML is read, it must be harmless HTML.
    page = assert_inert(item.find("description").text)
    assert "<script>alert(1)</script>" in page_text(page)


def test_atom_feed(client, payload_clip):
    response = client.get("/en/feed/atom/")
    entry = parse_xml(response).find("atom:entry", NS)
    assert entry.find("atom:title", NS).text == TITLE
    assert entry.find("atom:author/atom:name", NS).text == CREDIT
    summary = entry.find("atom:summary", NS)
    if summary.get("type") in ("html", "xhtml"):
        assert "<script>alert(1)</script>" in page_text(assert_inert(summary.text))


def test_sitemap(client, payload_clip):
    response = client.get("/sitemap.xml")
    root = parse_xml(response)
    titles = [t.text for t in root.iterfind("sm:url/video:video/video:title", NS)]
    assert titles and set(titles) == {TITLE}


def test_oembed(client, payload_clip):
    url = f"http://testserver{payload_clip.get_absolute_url()}"
    response = client.get("/oembed", {"url": url, "format": "json"})
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["title"] == TITLE and data["author_name"] == CREDIT
    page = assert_inert(data["html"])
    assert [tag for tag, _attrs in page.tags] == ["iframe"]
    assert page.tags[0][1]["title"] == TITLE


def test_owner_status_page(client, payload_clip):
    response = client.get(payload_clip.submission.get_status_url())
    assert response.status_code == 200
    assert TITLE in page_text(assert_inert(response.content.decode()))


@pytest.mark.parametrize("page", ["change", "list"])
def test_admin(admin_client, payload_clip, page):
    if page == "change":
        path = f"/admin/gallery/clip/{payload_clip.pk}/change/"
    else:
        path = "/admin/gallery/clip/?status=all"
    response = admin_client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert TITLE in page_text(assert_inert(html))


@pytest.mark.parametrize(
    "path",
    [
        "/en/",
        "/fr/feed/",
        "/de/feed/atom/",
        "/en/submit/",
        "/sitemap.xml",
        "/en/clips/{pk}/",
        "/embed/{pk}/",
        "/oembed",
    ],
)
def test_payloads_in_the_query_string_are_not_reflected_raw(client, path):
    clip = make_clip(themes=["weekend"])
    payloads = [
        '"><script>alert(31337)</script>',
        "javascript:alert(31337)",
        "'><img src=x onerror=alert(31337)>",
    ]
    query = [
        (name, value) for name in ("theme", "page", "p", "url", "done", "x") for value in payloads
    ]
    response = client.get(path.format(pk=clip.pk), query)
    assert response.status_code < 500
    body = response.content.decode()
    for payload in payloads:
        assert payload not in body
    if response["Content-Type"].startswith("text/html"):
        assert_inert(body)
