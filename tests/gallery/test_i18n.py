"""Six languages: the choice at `/`, the switcher, alternates, localized dates and numbers,
clips in their own language, and complete catalogues."""

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from gallery.models import Clip
from gallery.templatetags.seo import grouped
from tests.factories import make_clip

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = [code for code, _name in settings.LANGUAGES]


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("nl-BE", "nl"),
        ("pt-PT,it;q=0.8,es;q=0.5", "it"),
        ("es", "es"),
        ("en-GB", "en"),
        ("ja", "fr"),  # nothing we speak: the default
        ("", "fr"),
    ],
)
def test_root_sends_visitors_to_their_language_and_keeps_the_query(client, accept, language):
    response = client.get("/", {"theme": "weekend"}, headers={"Accept-Language": accept})
    assert response.status_code == 302
    assert response["Location"] == f"/{language}/?theme=weekend"


class Switcher(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.links, self._inside, self._href = [], False, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details" and "lang-switch" in attrs.get("class", ""):
            self._inside = True
        elif tag == "a" and self._inside:
            self.links.append({**attrs, "text": ""})

    def handle_data(self, data):
        if self._inside and self.links and "text" in self.links[-1] and data.strip():
            self.links[-1]["text"] += data.strip()

    def handle_endtag(self, tag):
        if tag == "details":
            self._inside = False


def test_switcher_links_to_this_page_with_its_filters_in_each_language_named_in_itself(
    client, settings
):
    settings.GALLERY_PAGE_SIZE = 1
    make_clip(themes=["weekend"])
    make_clip(themes=["weekend"])
    html = client.get("/it/", {"theme": ["weekend", "design"], "page": "2"}).content.decode()
    links = Switcher(html).links
    assert [(link["lang"], link["hreflang"], link["text"]) for link in links] == [
        ("fr", "fr", "Français"),
        ("en", "en", "English"),
        ("de", "de", "Deutsch"),
        ("nl", "nl", "Nederlands"),
        ("it", "it", "Italiano"),
        ("es", "es", "Español"),
    ]
    # The filters in their canonical spelling: themes sorted.
    assert [link["href"] for link in links] == [
        f"/{code}/?theme=design&theme=weekend&page=2" for code in LANGUAGES
    ]
    assert [link.get("aria-current") for link in links] == [None, None, None, None, "true", None]


def test_switcher_on_a_clip_page_keeps_the_clip(client):
    clip = make_clip(title="Madrid by night")
    links = Switcher(client.get(f"/es/clips/{clip.pk}-madrid-by-night/").content.decode()).links
    assert links[2]["href"] == f"/de/clips/{clip.pk}-madrid-by-night/"


def test_clips_keep_the_language_they_were_sent_in(client):
    clip = make_clip(title="Regen in Amsterdam", description="Een rustige ochtend.", language="nl")
    card = client.get("/fr/").content.decode()
    assert '<span class="card__title" lang="nl">Regen in Amsterdam</span>' in card
    page = client.get(f"/fr/clips/{clip.pk}/").content.decode()
    assert '<html lang="fr">' in page
    assert '<h1 lang="nl">Regen in Amsterdam</h1>' in page
    assert '<div class="clip__description" lang="nl"><p>Een rustige ochtend.</p></div>' in page


def test_dates_and_numbers_follow_the_page_language(client):
    clip = make_clip()
    Clip.objects.filter(pk=clip.pk).update(published_at="2026-03-05T10:00:00+01:00")
    dates = {
        "de": "5. März 2026",
        "en": "March 5, 2026",
        "fr": "5 mars 2026",
        "nl": "5 maart 2026",
        "it": "05 Marzo 2026",
        "es": "5 de marzo de 2026",
    }
    for language, expected in dates.items():
        html = client.get(f"/{language}/clips/{clip.pk}/").content.decode()
        assert re.search(rf'<time datetime="2026-03-05T10:00:00\+01:00">{expected}</time>', html), (
            language
        )
    with translation.override("de"):
        assert grouped(1234567) == "1.234.567"
    with translation.override("en"):
        assert grouped(1234567) == "1,234,567"
    with translation.override("fr"):
        assert grouped(1234) == "1\xa0234"


# --- catalogues: these fail until the translation pass has filled every language ---


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory):
    """The catalogues as `make messages` would leave them: the committed translations merged
    with every string the code has now (in a copy of the tree, the work tree stays as it is)."""
    copy = tmp_path_factory.mktemp("messages")
    apps = sorted(path.parent.name for path in ROOT.glob("*/apps.py"))
    for name in ("config", "templates", "locale", *apps):
        shutil.copytree(
            ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo")
        )
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--all", "--no-location", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        timeout=120,
        env={**_env(), "VAR_DIR": str(copy / "var")},
    )
    return copy / "locale"


def _env():
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_is_complete(fresh_catalogues, language):
    committed = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
    fresh = polib.pofile(str(fresh_catalogues / language / "LC_MESSAGES" / "django.po"))
    missing = [
        e.msgid for e in fresh if not e.obsolete and not e.translated() and "fuzzy" not in e.flags
    ]
    fuzzy = [e.msgid for e in fresh if "fuzzy" in e.flags]
    stale = sorted({e.msgid for e in fresh} - {e.msgid for e in committed if not e.obsolete})
    problems = []
    if missing:
        problems.append(f"{len(missing)} untranslated, e.g. {missing[:5]}")
    if fuzzy:
        problems.append(f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}")
    if stale:
        problems.append(f"{len(stale)} not extracted yet (run `make messages`), e.g. {stale[:5]}")
    assert not problems, f"locale/{language}: " + "; ".join(problems)


def test_french_puts_a_no_break_space_before_double_punctuation():
    """« : », « ; », « ? », « ! » and the guillemets hold to their word with a no-break space
    (U+00A0), so a line never starts with the punctuation."""
    catalogue = polib.pofile(str(ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"))
    wrong = []
    for entry in catalogue:
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            # A colon inside a time (00:01.000) or an address (mailto:) is no punctuation.
            if re.search(r"[^\u00a0][;?!»]|[^\u00a0\d]:(?!//|\d|%)|«[^\u00a0]", text):
                wrong.append(text)
    assert not wrong, wrong[:5]


# English UI phrases that must not show on a page in another language (words that other
# languages share, like "Design" or "Weekend", are left out).
ENGLISH_UI = [
    "Skip to content",
    "Gallery",
    "Send a clip",
    "Licence terms",
    "Languages",
    "Language:",
    "Everyday life with a Model 3",
    "Tick the themes you care about",
    "Themes",
    "Show clips",
    "Follow these clips with a feed reader",
    "Clips sent by Model 3 owners",
    "Technology",
    "Share a moment of everyday life",
    "Prefer e-mail?",
    "Title",
    "First name",
    "Country",
    "Your clip",
    "Shown with your clip",
    "Never shown",
    "Read the licence terms",
    "Send my clip",
    "Cancel",
    "Upload progress",
    "Sending",
    "Please try again",
    "This file is too large",
]


class VisibleText(HTMLParser):
    """Text a visitor sees or hears: element text and the attributes that are read out."""

    SPOKEN = {"aria-label", "alt", "title", "placeholder", "value", "content"}

    def __init__(self, html):
        super().__init__()
        self.parts, self._skip = [], 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if (
                value
                and (name in self.SPOKEN or name.startswith("data-"))
                and not name.startswith("data-max")
            ):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


@pytest.mark.parametrize("path", ["", "submit/"])
@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_no_english_ui_string_leaks_into_other_languages(client, language, path):
    make_clip(themes=["performance", "technology"], language="en", title="x")
    html = client.get(f"/{language}/{path}").content.decode()
    text = " ".join(VisibleText(html).parts)
    leaks = [
        phrase for phrase in ENGLISH_UI if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text)
    ]
    assert not leaks, f"/{language}/{path} shows English: {leaks}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [360, 390, 430])
def test_on_a_phone_the_header_is_one_row_and_the_language_menu_works(browser, live_server, width):
    make_clip(title="Col du Galibier")
    context = browser.new_context(viewport={"width": width, "height": 800}, is_mobile=True)
    page = context.new_page()
    for language in LANGUAGES:
        page.goto(f"{live_server.url}/{language}/")
        header = page.locator(".site-header").bounding_box()
        parts = [
            page.locator(selector).bounding_box()
            for selector in (".brand svg", ".site-nav", ".lang-switch summary")
        ]
        where = f"{language} at {width} px"
        # One row: every part shares the header's one line, and nothing sticks out sideways.
        middles = [part["y"] + part["height"] / 2 for part in parts]
        assert max(middles) - min(middles) < 4, (where, parts)
        assert header["height"] <= 64, (where, header)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, where
        assert all(part["x"] >= 0 and part["x"] + part["width"] <= width for part in parts), where
        assert parts[0]["y"] - header["y"] >= 8, where  # the logo clear of the top edge
        # The site's and the language's names are still there for a screen reader.
        brand = page.locator(".brand")
        assert brand.evaluate("e => e.textContent.trim()") == said_in_page(language)
        summary = page.locator(".lang-switch summary")
        assert summary.evaluate("e => e.textContent").endswith(language.upper())

    # The menu opens within the screen, each language a finger-sized link, and leads there.
    page.locator(".lang-switch summary").click()
    menu = page.locator(".lang-switch__list")
    box = menu.bounding_box()
    assert menu.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= width
    links = menu.get_by_role("link")
    assert links.count() == len(LANGUAGES)
    assert all(link.bounding_box()["height"] >= 44 for link in links.all())
    links.filter(has_text="Deutsch").click()
    page.wait_for_url(f"{live_server.url}/de/")
    assert page.locator("html").get_attribute("lang") == "de"
    context.close()


def said_in_page(language):
    with translation.override(language):
        return translation.gettext("La vie en Model 3")
