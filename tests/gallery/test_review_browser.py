import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from gallery.models import Clip
from tests.factories import make_clip

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
