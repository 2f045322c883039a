import importlib
import re
import time

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect
from pytest_playwright_axe import Axe

from gallery.models import Clip, RejectionReason
from submissions.models import InboundEmail, Submission
from tests.factories import make_clip, make_processed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def moderator():
    # Transactional tests start from empty tables: make the group the migration makes.
    importlib.import_module("gallery.migrations.0005_moderators_group").create_group(apps, None)
    user = User.objects.create_user("mona", password="a-long-secret-42", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def test_moderator_watches_approves_and_finds_the_clip_online(
    browser, live_server, moderator, sample_video
):
    clip = make_clip(
        status=Clip.Status.REVIEW,
        title="Dawn at the Supercharger",
        themes=["technology"],
        video=sample_video,
    )
    context = browser.new_context(locale="en-GB")
    page = context.new_page()

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("1 clip waits for review.")).to_be_visible()

    page.get_by_role("link", name="Open the queue").click()
    page.get_by_role("link", name="Dawn at the Supercharger").click()
    video = page.locator("video")
    state = video.evaluate(
        """v => new Promise((resolve, reject) => {
            v.muted = true;
            v.addEventListener('error', () => reject(new Error('media error')));
            v.play().then(() => {
                const check = () => v.currentTime > 0.3
                    ? resolve({time: v.currentTime, duration: v.duration}) : setTimeout(check, 50);
                check();
            }, reject);
        })"""
    )
    assert state["time"] > 0.3 and state["duration"] == pytest.approx(6, abs=0.3)

    page.get_by_role("button", name="Approve and publish").click()
    expect(page.locator(".messagelist")).to_contain_text("Published.")
    clip.refresh_from_db()
    assert clip.status == Clip.Status.PUBLISHED

    visitor = browser.new_context().new_page()
    visitor.goto(f"{live_server.url}/en/?theme=technology")
    expect(visitor.get_by_role("link", name="Dawn at the Supercharger")).to_be_visible()
    context.close()


def test_review_queue_box_lines_up_with_the_other_boxes_of_the_admin_home(
    browser, live_server, moderator
):
    make_clip(status=Clip.Status.REVIEW)
    for width in (1366, 800):
        page = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
        page = page.new_page()
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill("mona")
        page.get_by_label("Password").fill("a-long-secret-42")
        page.get_by_role("button", name="Log in").click()
        queue = page.locator(".module", has_text="Review queue").bounding_box()
        apps = page.locator(".module", has_text="Gallery").bounding_box()
        recent = page.locator("#recent-actions-module").bounding_box()
        assert (queue["x"], queue["width"]) == (apps["x"], apps["width"])
        # The title bars too, not only the outer boxes.
        bars = [
            page.locator(".module", has_text=name).locator("caption, h2").first.bounding_box()
            for name in ("Review queue", "Gallery")
        ]
        assert bars[0]["x"] == bars[1]["x"] and bars[0]["width"] == bars[1]["width"]
        assert queue["y"] < apps["y"]
        assert queue["y"] == recent["y"]  # the first box of its column, like Recent actions
        page.context.close()


# --- The keyboard review: ten decisions without the mouse, timed against today's screens. ---

# What each of the ten clips gets: the keys pressed on its page, then its state and e-mail.
PLAN = [
    ("a", "published", False, "is online"),
    ("r2", "rejected", False, "picture or the sound is not good enough"),
    ("f", "published", True, "is online"),
    ("s", "review", False, None),
    ("r8", "rejected", False, "The tyres squeal all along"),
    ("a", "published", False, "is online"),
    ("r1", "rejected", False, "does not show a Model 3"),
    ("a", "published", False, "is online"),
    ("f", "published", True, "is online"),
    ("a", "published", False, "is online"),
]


AXE_WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag21a", "wcag2aa", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}


def owned_clips(count):
    """Clips in review, oldest first, each sent by its own owner who accepted the terms."""
    clips = []
    for number in range(count):
        submission = Submission.objects.create(email=f"owner{number}@example.org", language="en")
        submission.give_consent()
        clip = make_clip(status=Clip.Status.PROCESSING, title=f"Queue clip {number}")
        Clip.objects.filter(pk=clip.pk).update(submission=submission)
        clip.refresh_from_db()
        make_processed(clip)
        clips.append(clip)
    return clips


def log_in(browser, live_server, **context):
    page = browser.new_context(locale="en-GB", **context).new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()
    return page


def check_outcomes(clips, outbox):
    mails = {message.to[0]: message for message in outbox}
    for clip, (_keys, status, featured, said) in zip(clips, PLAN, strict=True):
        clip.refresh_from_db()
        assert (clip.status, clip.featured) == (status, featured), clip.title
        owner = clip.submission.email
        if said is None:
            assert owner not in mails
        else:
            assert said in mails[owner].subject + mails[owner].body, clip.title
    assert len(outbox) == sum(1 for *_, said in PLAN if said)


def test_ten_clips_decided_with_the_keyboard_alone(browser, live_server, moderator, mailoutbox):
    clips = owned_clips(10)
    page = log_in(browser, live_server)
    page.goto(f"{live_server.url}/admin/gallery/clip/{clips[0].pk}/change/")
    video = page.locator("video")
    assert video.evaluate("v => v.muted && v.autoplay")

    # Nothing on the page that a screen reader or the keyboard cannot use (WCAG A and AA).
    results = Axe(use_minified_file=True).run(
        page, options=AXE_WCAG_AA, html_report_generated=False, json_report_generated=False
    )
    found = [
        (v["id"], n["target"])
        for v in results["violations"]
        for n in v["nodes"]
        # Django's own two-list theme picker (SelectFilter2.js) puts a title on a <span>.
        if "help-tooltip" not in n["target"][0]
    ]
    assert found == []

    # The keys are listed on the page, behind `?`.
    keys = page.locator("#review-keys")
    expect(keys.locator("dl")).not_to_be_visible()
    page.keyboard.press("?")
    expect(keys.locator("dl")).to_contain_text("Approve and publish")
    page.keyboard.press("?")

    started = time.monotonic()
    for clip, (keys_pressed, *_rest) in zip(clips, PLAN, strict=True):
        expect(page.locator("#content h2, #content h1").first).to_be_visible()
        assert page.url.endswith(f"/admin/gallery/clip/{clip.pk}/change/"), clip.title
        page.keyboard.press(keys_pressed[0])
        if keys_pressed.startswith("r"):
            expect(page.locator("#decision-reason")).to_have_class(re.compile("is-asking"))
            page.keyboard.press(keys_pressed[1])
            if keys_pressed == "r8":  # "Another reason" asks for the message
                expect(page.locator("#id_reason")).to_be_focused()
                page.keyboard.type("The tyres squeal all along.")
                page.keyboard.press("Control+Enter")
            else:  # the number only picks the reason: Enter, on the button, sends
                expect(page.locator("#decision-reason button[value=reject]")).to_be_focused()
                assert f"/clip/{clip.pk}/" in page.url
                page.keyboard.press("Enter")
        page.wait_for_url(lambda url, pk=clip.pk: f"/clip/{pk}/" not in url)
        # The outcome is said to screen readers on the next page.
        expect(page.locator("#review-status, .messagelist").first).not_to_be_empty()
    seconds = time.monotonic() - started

    # The only clip left after the last decision is the skipped one: the queue opens.
    assert page.url.endswith("/admin/gallery/clip/")
    check_outcomes(clips, mailoutbox)
    print(f"\nkeyboard review: {seconds / 10:.2f} s per decision")
    page.context.close()


def test_a_reason_number_only_picks_the_reason_until_enter_or_a_click(
    browser, live_server, moderator, mailoutbox
):
    """Rejecting e-mails the owner and cannot be taken back: a number key never sends it."""
    clip, second = owned_clips(2)
    page = log_in(browser, live_server)
    page.goto(f"{live_server.url}/admin/gallery/clip/{clip.pk}/change/")
    form = page.locator("#decision-reason")
    expect(form.locator("#reason-keys")).to_contain_text(
        "After R, a number picks the reason and Enter sends it:"
    )
    reject = form.locator("button[value=reject]")

    page.keyboard.press("r")
    page.keyboard.press("2")
    expect(page.locator("#id_reason_code")).to_have_value("quality")
    expect(reject).to_be_focused()
    expect(page.locator("#review-status")).to_contain_text(
        "Enter sends this decision; Escape goes back."
    )
    page.keyboard.press("1")  # another number picks again, still nothing sent
    expect(page.locator("#id_reason_code")).not_to_have_value("quality")
    page.wait_for_timeout(500)  # what a sent form would have had to leave the page
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW and mailoutbox == []
    assert page.url.endswith(f"/clip/{clip.pk}/change/")

    # Escape calls it off: Enter afterwards sends nothing either.
    page.keyboard.press("Escape")
    expect(page.locator("#review-status")).to_have_text("No decision taken.")
    expect(reject).not_to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW and mailoutbox == []

    # A click on the button is a deliberate send.
    page.keyboard.press("r")
    page.keyboard.press("2")
    reject.click()
    page.wait_for_url(lambda url: f"/clip/{clip.pk}/" not in url)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REJECTED
    assert [m.to for m in mailoutbox] == [[clip.submission.email]]
    page.context.close()


def test_ten_clips_decided_through_the_list_and_the_mouse(
    browser, live_server, moderator, mailoutbox
):
    """The same ten decisions as the keyboard test, the way today's screens take them."""
    clips = owned_clips(10)
    page = log_in(browser, live_server)
    reasons = dict(enumerate(RejectionReason.values, start=1))
    started = time.monotonic()
    for clip, (keys_pressed, *_rest) in zip(clips, PLAN, strict=True):
        if keys_pressed == "s":
            continue  # skipping is leaving it in the list
        page.goto(f"{live_server.url}/admin/gallery/clip/")
        page.get_by_role("link", name=clip.title, exact=True).click()
        if keys_pressed in ("a", "f"):
            page.get_by_role("button", name="Approve and publish").click()
            expect(page.locator(".messagelist")).to_contain_text("Published.")
        if keys_pressed == "f":
            page.goto(f"{live_server.url}/admin/gallery/clip/{clip.pk}/change/")
            page.get_by_role("button", name="Feature").click()
            expect(page.locator(".messagelist")).to_contain_text("Featured.")
        if keys_pressed.startswith("r"):
            page.locator("#id_reason_code").select_option(reasons[int(keys_pressed[1])])
            if keys_pressed == "r8":
                page.locator("#id_reason").fill("The tyres squeal all along.")
            page.get_by_role("button", name="Reject").click()
            expect(page.locator(".messagelist")).to_contain_text("Rejected.")
    seconds = time.monotonic() - started
    check_outcomes(clips, mailoutbox)
    print(f"\ntoday's screens: {seconds / 10:.2f} s per decision")
    page.context.close()


def test_the_clip_list_fits_a_1366_px_screen(browser, live_server, moderator):
    for number in range(3):
        submission = Submission.objects.create(email=f"o{number}@example.org", language="en")
        submission.give_consent()
        clip = make_clip(
            status=Clip.Status.PROCESSING,
            title="Sunrise over the Alps on the way to the Grossglockner pass, camera "
            + str(number),
        )
        Clip.objects.filter(pk=clip.pk).update(submission=submission)
        make_processed(clip)
    page = log_in(browser, live_server, viewport={"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/admin/gallery/clip/")
    line = page.locator("#result_list tbody td").first.evaluate(
        "td => parseFloat(getComputedStyle(td).lineHeight) || 18"
    )
    titles = page.locator("#result_list tbody .field-title a").all()
    assert len(titles) == 3
    for title in titles:  # two lines at most
        assert title.bounding_box()["height"] <= 2 * line + 2
    featured = page.locator("#result_list thead th.column-featured").bounding_box()
    assert featured["x"] + featured["width"] <= 1366
    page.context.close()


@pytest.mark.parametrize(
    ("width", "language"), [(1280, "en-GB"), (1280, "fr-FR"), (1180, "en-GB"), (1024, "en-GB")]
)
def test_every_column_of_the_clip_list_is_in_view_at_laptop_widths(
    browser, live_server, moderator, width, language
):
    """Nothing to scroll sideways: the Status and Featured columns were cut off at 1280 px."""
    for number, status in enumerate([Clip.Status.REVIEW, Clip.Status.PUBLISHED]):
        submission = Submission.objects.create(email=f"o{number}@example.org", language="en")
        submission.give_consent()
        InboundEmail.objects.create(
            message_id=f"<m{number}@example.org>",
            sha256=str(number),
            via="imap",
            submission=submission,
            spf="pass",
            dkim="pass",
            dmarc="pass",
        )
        clip = make_clip(
            status=status,
            title=f"Sunrise over the Alps on the way to the Grossglockner pass, camera {number}",
            featured=status == Clip.Status.PUBLISHED,
        )
        Clip.objects.filter(pk=clip.pk).update(submission=submission, sentry=True)
    page = browser.new_context(locale=language, viewport={"width": width, "height": 800})
    page = page.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/gallery/clip/%3Fstatus%3Dall")
    page.locator("#id_username").fill("mona")
    page.locator("#id_password").fill("a-long-secret-42")
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/gallery/clip/?status=all")
    results = page.locator("#changelist-form .results").bounding_box()
    headers = page.locator("#result_list thead th").all()
    assert len(headers) >= 9
    for header in headers:
        box = header.bounding_box()
        right = min(width, results["x"] + results["width"])
        assert box["x"] >= 0 and box["x"] + box["width"] <= right + 0.5, header.inner_text()
    # Neither the page nor the list's own box scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.locator("#changelist-form .results").evaluate("r => r.scrollWidth <= r.clientWidth")
    # What staff need is still there: the sender checks under the source, the Sentry mark.
    row = page.locator("#result_list tbody tr", has_text="camera 0")
    assert "SPF pass, DKIM pass, DMARC pass" in row.inner_text()
    assert row.locator(".sentry-pill").count() == 1
    # The filters are still on the page (beside the list, or below it on a narrow screen).
    expect(page.locator("#changelist-filter")).to_be_visible()
    page.context.close()


def test_the_next_clip_plays_by_itself_and_the_keys_seek_and_pause(
    browser, live_server, moderator, sample_video
):
    clip = make_clip(status=Clip.Status.REVIEW, video=sample_video)
    page = log_in(browser, live_server)
    page.goto(f"{live_server.url}/admin/gallery/clip/{clip.pk}/change/")
    video = page.locator("video")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")
    assert video.evaluate("v => v.muted")

    page.keyboard.press("k")
    assert video.evaluate("v => v.paused")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('video').currentTime >= 4.5")
    page.keyboard.press("j")
    page.wait_for_function("() => document.querySelector('video').currentTime < 1")
    page.keyboard.press(" ")
    page.wait_for_function("() => !document.querySelector('video').paused")
    page.keyboard.press("m")
    assert not video.evaluate("v => v.muted")
    page.context.close()
