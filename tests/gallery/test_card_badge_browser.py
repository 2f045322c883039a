"""The "Featured" badge sits in the card's text, never over the picture."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_clip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def overlap(a, b):
    """The area two bounding boxes share, in CSS pixels squared."""
    width = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    height = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(0, width) * max(0, height)


def inside(inner, outer):
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_featured_badge_hides_nothing_of_the_picture(browser, live_server, width, height):
    make_clip(title="Ordinary drive")
    make_clip(title="Supercharger at midnight", featured=True, language="en")
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server.url}/en/")
    card = page.locator(".card", has=page.locator(".card__badge"))
    expect(card).to_have_count(1)
    expect(card.locator(".card__badge")).to_have_text("Featured")
    badge = card.locator(".card__badge").bounding_box()
    picture = card.locator(".card__media").bounding_box()
    title = card.locator(".card__title").bounding_box()
    assert badge["width"] > 20 and badge["height"] > 10
    assert overlap(badge, picture) == 0
    assert overlap(badge, title) == 0
    assert inside(badge, card.bounding_box())
    # Under the picture, above the title: read before the title, as it is listed.
    assert picture["y"] + picture["height"] <= badge["y"] < title["y"]
    context.close()
