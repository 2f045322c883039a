"""In Chromium: the submission form says at once what it cannot take, and shows what it will
make of the files picked."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_pasted_title_longer_than_it_may_be_is_kept_and_counted(page, live_server):
    page.goto(f"{live_server.url}/en/submit/")
    title = page.get_by_label("Title")
    expect(page.locator("#id_title_count")).to_have_text("0 of 120 characters")
    title.focus()
    page.keyboard.insert_text("x" * 1600)  # what a paste does
    assert len(title.input_value()) == 1600  # nothing cut without a word
    message = "At most 120 characters, this one has 1600: please shorten it."
    expect(page.locator("#id_title_error")).to_have_text(message)
    expect(page.locator("#id_title_count")).to_have_text("1600 of 120 characters")
    expect(title).to_have_attribute("aria-invalid", "true")
    assert "id_title_count" in title.get_attribute("aria-describedby")

    # Sending stops in the browser, with the same message in the summary.
    page.get_by_role("button", name="Send my clip").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=message)).to_have_count(1)

    title.fill("Sunset on the coast")
    expect(page.locator("#id_title_count")).to_have_text("19 of 120 characters")
    expect(page.locator("#id_title_error")).to_have_count(0)
    expect(title).not_to_have_attribute("aria-invalid", "true")
