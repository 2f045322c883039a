"""In Chromium on the narrowest phones: no page scrolls sideways, in any language, and the clip
page's share buttons keep an even grid when the browser offers its own share sheet."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from gallery.models import Camera, ClipAngle
from tests.factories import make_clip, make_site, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = [code for code, name in settings.LANGUAGES]
# What Chrome on Android has: the Web Share API. Each call is kept for the test to read.
WEB_SHARE = "window.shared = []; navigator.share = data => { shared.push(data); return Promise.resolve(); };"

# The page's width beyond the screen's, and the elements reaching past its right edge.
OVERFLOW = """() => {
    const screen = document.documentElement.clientWidth;
    const past = [];
    for (const element of document.body.querySelectorAll('*')) {
        const box = element.getBoundingClientRect();
        if (box.width && box.right > screen + 0.5) {
            past.push(`${element.tagName.toLowerCase()}.${element.className} ends at ${Math.round(box.right)}`);
        }
    }
    // Text too: a long word overflows its element's box, not the box itself.
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    while (walker.nextNode()) {
        if (walker.currentNode.parentElement.getBoundingClientRect().width <= 1) continue; // read, not shown
        range.selectNodeContents(walker.currentNode);
        if (range.getBoundingClientRect().right > screen + 0.5) {
            past.push(`text ${JSON.stringify(walker.currentNode.textContent.trim().slice(0, 60))}`);
        }
    }
    return {extra: document.documentElement.scrollWidth - window.innerWidth, past: past.slice(0, 5)};
}"""


@pytest.fixture
def site(sample_video):
    """The public pages, the clip with captions and four camera angles."""
    site = make_site(video=sample_video)
    for order, camera in enumerate(Camera.values[:4]):
        ClipAngle.objects.create(
            clip=site.clip, camera=camera, order=order, video=site.clip.video.name
        )
    return site


def in_language(path, language):
    return re.sub(r"^/[a-z]{2}/", f"/{language}/", path)


def test_no_page_scrolls_sideways_on_a_320px_phone_in_any_language(browser, live_server, site):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    context.add_init_script(WEB_SHARE)
    context.add_cookies([session_cookie(site, live_server.url)])
    page = context.new_page()
    wider = {}
    for language in LANGUAGES:
        for name, path in site.pages.items():
            response = page.goto(live_server.url + in_language(path, language))
            assert response.status == 200, (language, name, response.status)
            if name == "clip":
                expect(page.locator("[data-angles] [data-angle]")).to_have_count(4)
                expect(page.locator("video track")).to_have_count(3)
                expect(page.locator("[data-native-share]")).to_be_visible()
            if name == "gallery":
                page.locator(".lang-switch summary").click()  # the language menu, open
                expect(page.locator(".lang-switch__list")).to_be_visible()
            if name == "submit":
                # Sent empty: the browser's checks show their summary and the fields' errors.
                page.locator("[data-submit]").click()
                expect(page.locator("[data-error-summary]")).to_be_focused()
            found = page.evaluate(OVERFLOW)
            if found["extra"] > 0:
                wider[f"{language} {name}"] = found
    context.close()
    assert wider == {}


def boxes(locator):
    return [item.bounding_box() for item in locator.all()]


@pytest.mark.parametrize("width", [320, 360, 390, 414])
def test_the_share_buttons_keep_an_even_grid_beside_the_system_share(browser, live_server, width):
    clip = make_clip(title="Lever de soleil sur le col")
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.add_init_script(WEB_SHARE)
    page = context.new_page()
    for language in LANGUAGES:
        page.goto(f"{live_server.url}{in_language(clip.get_absolute_url(), language)}")
        listing = page.locator(".share__links")
        system, *links = boxes(listing.locator("li:visible .button"))
        assert len(links) == 4, language
        whole = listing.bounding_box()
        # The system's button alone on the first row, as wide as the box.
        assert system["x"] == pytest.approx(whole["x"], abs=1), language
        assert system["width"] == pytest.approx(whole["width"], abs=1), language
        assert all(link["y"] > system["y"] + system["height"] for link in links), language
        # The four links two by two, in columns of one width, none past the box's edge.
        rows = sorted({round(link["y"]) for link in links})
        assert len(rows) == 2, (language, links)
        lefts = sorted({round(link["x"]) for link in links})
        assert len(lefts) == 2, (language, links)
        assert {round(link["width"]) for link in links} == {round(links[0]["width"])}, language
        assert all(
            link["x"] + link["width"] <= whole["x"] + whole["width"] + 0.5 for link in links
        ), language
        # No label spills out of its button, and the link row stays one row.
        spilled = listing.locator(".button").evaluate_all(
            "buttons => buttons.filter(b => b.scrollWidth > b.clientWidth).map(b => b.textContent)"
        )
        assert spilled == [], language
        field, copy = boxes(page.locator(".share__row > :visible"))
        assert field["y"] == copy["y"], language
        assert page.evaluate("document.documentElement.scrollWidth") == width, language

    # It opens the system's sheet with the clip's title and address.
    page.locator("[data-native-share]").click()
    shared = page.evaluate("window.shared")
    assert shared == [{"title": clip.title, "url": page.locator("[data-share-url]").input_value()}]
    context.close()


def test_without_the_system_share_the_links_are_two_by_two(page, live_server):
    clip = make_clip(title="Frunk picnic")
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"{live_server.url}{clip.get_absolute_url()}")
    expect(page.locator("[data-native-share]")).to_be_hidden()
    links = boxes(page.locator(".share__links li:visible .button"))
    assert len(links) == 4
    assert len({round(link["y"]) for link in links}) == 2
    assert len({round(link["x"]) for link in links}) == 2


# Titles as owners write them, each with a word longer than a 320 px card's line.
LONG_TITLES = {
    "fr": "Lever de soleil sur la départementale",
    "de": "Geschwindigkeitsbegrenzungsschild an der Autobahnauffahrt",
    "nl": "Verkeersdrempelwaarschuwingsbord bij de snelwegoprit",
    "it": "Tramonto precipitevolissimevolmente sull'autostrada",
    "es": "Amanecer en la circunvalación metropolitana",
    "en": "Supercalifragilistic sunrise on the motorway",
}

# Each card whose title or credit reaches past the card: its text, and by how much.
CARD_SPILL = """() => [...document.querySelectorAll('.card')].flatMap(card => {
    const edge = card.getBoundingClientRect().right;
    const range = document.createRange();
    return [...card.querySelectorAll('.card__title, .card__credit')].flatMap(text => {
        range.selectNodeContents(text);
        const past = Math.max(range.getBoundingClientRect().right - edge, text.scrollWidth - text.clientWidth);
        return past > 0.5 ? [`${text.textContent.trim()} (${Math.round(past)} px)`] : [];
    });
})"""


def test_no_card_title_overflows_its_card_on_a_320px_phone(browser, live_server):
    clips = [
        make_clip(title=title, language=language, themes=["weekend"])
        for language, title in LONG_TITLES.items()
    ]
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    for language in LANGUAGES:
        page.goto(f"{live_server.url}/{language}/")
        titles = page.locator(".card__title")
        expect(titles).to_have_count(len(clips))
        assert page.evaluate(CARD_SPILL) == [], (language, "gallery")
        # The clip page's "similar clips" cards: four of the other five.
        page.goto(live_server.url + in_language(clips[0].get_absolute_url(), language))
        expect(page.locator(".related .card__title")).to_have_count(4)
        assert page.evaluate(CARD_SPILL) == [], (language, "related")
    context.close()
