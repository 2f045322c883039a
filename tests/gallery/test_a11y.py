"""WCAG 2.2 AA and valid HTML on every public page: axe-core in Chromium (light and dark),
keyboard use, motion and sound; the Nu HTML validator (vnu) on the same pages."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pytest_playwright_axe import Axe

from tests.factories import make_site, session_cookie

ROOT = Path(__file__).resolve().parents[2]
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# pytest-playwright-axe's OPTIONS_WCAG_22AA rule set (WCAG 2.0-2.2 A and AA, and axe's best
# practices), reporting violations only: half the time of a full report.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": [
            "wcag2a",
            "wcag21a",
            "wcag2aa",
            "wcag21aa",
            "wcag22a",
            "wcag22aa",
            "best-practice",
        ],
    },
    "resultTypes": ["violations"],
    "reporter": "no-passes",
}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def site(sample_video):
    return make_site(video=sample_video)


def axe_violations(page):
    results = Axe(use_minified_file=True).run(
        page, options=AXE_OPTIONS, html_report_generated=False, json_report_generated=False
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(
            " ".join(node["target"]) if isinstance(node["target"][0], str) else str(node["target"])
            for node in v["nodes"][:5]
        )
        for v in results["violations"]
    ]


def scan_pages(browser, live_server, site, *, scheme, viewport):
    """axe on every public page (and on the states a visitor gets to), in one browser context."""
    # axe-core's runner evaluates strings, which the site's CSP (rightly) forbids.
    context = browser.new_context(color_scheme=scheme, viewport=viewport, bypass_csp=True)
    context.add_cookies([session_cookie(site, live_server.url)])
    page = context.new_page()
    problems = {}
    for name, path in site.pages.items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, (name, response.status)
        problems[name] = axe_violations(page)
        if name == "submit":
            # Sent empty: the browser's checks stop it and show their summary.
            send = page.get_by_role("button", name=re.compile("Envoyer|Send")).last
            send.click()
            expect(page.locator("[data-error-summary]")).to_be_focused()
            expect(page.locator(".errorlist").first).to_be_visible()
            problems["submit, checked in the browser"] = axe_violations(page)
            # The form as the server sends it back with errors (the browser's checks off).
            page.goto(live_server.url + path)
            page.locator("[data-checked-form]").evaluate(
                "f => f.removeAttribute('data-checked-form')"
            )
            send.click()
            expect(page.locator("[data-error-summary]")).to_be_focused()
            problems["submit with errors from the server"] = axe_violations(page)
        if name == "gallery":
            page.locator(".lang-switch summary").click()  # the open language menu
            problems["language menu"] = axe_violations(page)
    context.close()
    return {f"{scheme}: {name}": found for name, found in problems.items() if found}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_axe_finds_nothing_on_any_public_page_light_or_dark(browser, live_server, site):
    problems = scan_pages(browser, live_server, site, scheme="light", viewport=PHONE)
    problems |= scan_pages(browser, live_server, site, scheme="dark", viewport=DESKTOP)
    assert not problems, json.dumps(problems, indent=2, ensure_ascii=False)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_keyboard_filters_switches_language_and_plays(browser, live_server, site):
    context = browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = context.new_page()
    page.goto(live_server.url + "/en/")
    expect(page.locator(".card")).to_have_count(3)

    def tab_to(selector, limit=30):
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.locator(selector).evaluate("(el) => el === document.activeElement"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    # The first theme: focus is visible on its chip, Space ticks it, the results follow.
    tab_to('input[name="theme"][value="performance"]')
    chip = page.locator('input[value="performance"] + span')
    assert chip.evaluate("(el) => getComputedStyle(el).outlineStyle") == "solid"
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"/en/\?theme=performance$"))
    expect(page.locator(".card")).to_have_count(1)
    # Motion is reduced: busy results do not fade (they would for 0.2 s otherwise).
    busy = (
        "(el) => { el.setAttribute('aria-busy', 'true');"
        " return getComputedStyle(el).transitionDuration; }"
    )
    assert page.locator("#results").evaluate(busy) == "0s"

    # The language menu opens with Enter and keeps the filter.
    page.locator(".skip-link").focus()  # back at the top of the page
    tab_to(".lang-switch summary")
    assert (
        page.locator(".lang-switch summary").evaluate("(el) => getComputedStyle(el).outlineStyle")
        == "solid"
    )
    page.keyboard.press("Enter")
    tab_to('.lang-switch a[hreflang="de"]', limit=10)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/de/\?theme=performance$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")

    # The clip page: nothing plays by itself; the player takes the keyboard.
    page.goto(live_server.url + site.pages["clip"].replace("/de/", "/fr/", 1))
    video = page.locator("video")
    expect(video).not_to_have_attribute("autoplay", re.compile(".*"))
    page.wait_for_load_state("load")  # every script has run: a play() would have happened
    assert video.evaluate("(v) => v.paused && v.currentTime === 0")
    assert page.locator("video track").count() == 3
    assert page.locator('video track[srclang="fr"]').evaluate("(t) => t.default")
    video.evaluate("(v) => { v.muted = true; }")
    tab_to("[data-player-start]")
    assert (
        page.locator("[data-player-start]").evaluate("(el) => getComputedStyle(el).outlineStyle")
        == "solid"
    )
    page.keyboard.press("Enter")
    video.evaluate(
        "(v) => v.paused && new Promise((resolve) => v.addEventListener('playing', resolve))"
    )
    # Playing, with its controls, and the keyboard is now on the video: Space pauses it.
    assert video.evaluate("(v) => !v.paused && v.controls && document.activeElement === v")
    page.keyboard.press("Space")
    expect(video).to_have_js_property("paused", True)
    context.close()


# --- valid HTML (no browser: the pages as the server sends them) ---


@pytest.mark.django_db
def test_vnu_finds_no_error_on_any_public_page(client, tmp_path):
    if not VNU.exists() or not shutil.which("java"):
        pytest.fail(
            f"{VNU.relative_to(ROOT)} or java is missing: run `make test` (it runs `npm ci`)"
        )
    site = make_site()
    client.cookies["sessionid"] = site.session_key
    files = {}
    for name, path in site.pages.items():
        response = client.get(path)
        assert response.status_code == 200, (name, response.status_code)
        files[name] = response.content
    files["submit with errors"] = client.post("/fr/submit/", {"title": ""}).content
    files["empty filtered gallery"] = client.get("/nl/", {"theme": "technology"}).content
    # A control page with one known error: proves the validator ran and reports what it finds.
    files["control"] = b'<!doctype html><html lang="en"><title>x</title><p><div>x</div></p></html>'
    paths = []
    for index, (name, html) in enumerate(files.items()):
        target = tmp_path / f"{index:02d}-{re.sub(r'[^a-z]+', '-', name)}.html"
        target.write_bytes(html)
        paths.append(str(target))

    # One JVM for every page.
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *paths],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: errors were found
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m['message']}"
        f" [{m.get('extract', '').strip()}]"
        for m in messages
        if m.get("type") == "error" or m.get("subType") == "fatal"
    ]
    control = [error for error in errors if "-control.html:" in error]
    assert control and result.returncode == 1, "the validator reported nothing on the control"
    assert not [e for e in errors if e not in control], "\n".join(errors)
