"""The dashboard in a real Chromium: nothing refused by the CSP, WCAG 2.2 AA in the light and
the dark theme, and each chart's numbers reachable as a table."""

import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect
from pytest_playwright_axe import Axe

from gallery.models import Clip
from tests.factories import add_plays, make_clip, make_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag21a", "wcag2aa", "wcag21aa", "wcag22a", "wcag22aa"],
    },
    "resultTypes": ["violations"],
}


@pytest.fixture
def staff_cookie(live_server):
    user = User.objects.create_superuser("boss", password="pw")
    client = Client()
    client.force_login(user)
    host = live_server.url.split("//")[1].split(":")[0]
    return {
        "name": "sessionid",
        "value": client.cookies["sessionid"].value,
        "domain": host,
        "path": "/",
    }


@pytest.fixture
def some_campaign():
    now = timezone.now()
    for n in range(12):
        make_history(
            arrived=now - timedelta(days=n * 3, hours=30),
            decided=now - timedelta(days=n * 3),
            status=[Clip.Status.PUBLISHED, Clip.Status.REJECTED][n % 2],
            reason_code="quality" if n % 2 else "",
            source=[Clip.Source.WEB, Clip.Source.EMAIL][n % 2],
            credit_country=["FR", "DE", "IT"][n % 3],
            themes=[["design"], ["weekend", "performance"]][n % 2],
        )
    clip = make_clip(title="Watched a lot")
    for n in range(20):
        add_plays(clip, timezone.localdate() - timedelta(days=n), n + 1)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_dashboard_is_csp_clean_and_accessible(
    browser, live_server, staff_cookie, some_campaign, scheme
):
    url = f"{live_server.url}/admin/campaign/dashboard/"
    context = browser.new_context(
        color_scheme=scheme, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    context.add_cookies([staff_cookie])
    page = context.new_page()
    refused = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and refused.append(message.text),
    )
    page.goto(url)
    expect(page.get_by_role("heading", name="Clips received per day")).to_be_visible()
    expect(page.get_by_role("img", name="Clips by country")).to_be_visible()
    countries = page.locator("section", has=page.get_by_role("heading", name="Clips by country"))
    countries.get_by_text("The numbers as a table").click()
    expect(page.get_by_role("table", name="Clips by country")).to_be_visible()
    expect(page.get_by_role("row", name="France")).to_be_visible()
    if os.environ.get("DASHBOARD_SCREENSHOTS"):
        page.screenshot(path=f"{os.environ['DASHBOARD_SCREENSHOTS']}/{scheme}.png", full_page=True)
    assert refused == []
    context.close()

    # axe-core's runner evaluates strings, which the CSP forbids: scan a copy without it.
    context = browser.new_context(color_scheme=scheme, bypass_csp=True, locale="en-GB")
    context.add_cookies([staff_cookie])
    page = context.new_page()
    page.goto(url)
    results = Axe(use_minified_file=True).run(
        page, options=AXE_OPTIONS, html_report_generated=False, json_report_generated=False
    )
    assert [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in results["violations"]] == []
    context.close()
