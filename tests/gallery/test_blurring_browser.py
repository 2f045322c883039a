"""The review screen shows the blurred regions over the player and lets staff change them,
from the keyboard as well as with the mouse (real Chromium, real server)."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from gallery import regions
from gallery import synth_bystanders as sb
from gallery.models import Clip
from tests.factories import make_clip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def moderator():
    importlib.import_module("gallery.migrations.0005_moderators_group").create_group(apps, None)
    user = User.objects.create_user("rosa", password="a-long-secret-42", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def street_clip(tmp_path):
    scene = sb.compose(seed=4, seconds=3.0, faces=2, plates=2, plate_widths=(150, 200))
    path = tmp_path / "street.mp4"
    sb.write(scene, path)
    return make_clip(status=Clip.Status.REVIEW, title="Street", video=path)


def _boxes(page):
    return page.locator("[data-review-regions] rect").evaluate_all(
        "rects => rects.map(r => ({track: Number(r.dataset.track), cls: r.getAttribute('class'),"
        " x: Number(r.getAttribute('x')), y: Number(r.getAttribute('y'))}))"
    )


def _pause_at(page, seconds):
    page.locator("video").evaluate(
        """(v, t) => new Promise((resolve) => {
            v.pause();
            v.addEventListener('seeked', () => resolve(), {once: true});
            v.currentTime = t;
        })""",
        seconds,
    )


def test_staff_see_the_regions_over_the_player_and_change_them(
    browser, live_server, moderator, street_clip
):
    clip = street_clip
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("rosa")
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/gallery/clip/{clip.pk}/change/")

    # The boxes drawn are those of the stored regions at the paused time, where they are.
    _pause_at(page, 1.0)
    expected = {
        track["id"]: regions.box_at(track, 1.0)
        for track in clip.regions["tracks"]
        if regions.box_at(track, 1.0) is not None
    }
    assert len(expected) >= 3
    shown = {box["track"]: box for box in _boxes(page)}
    assert set(shown) == set(expected)
    for track_id, box in expected.items():
        assert shown[track_id]["x"] == pytest.approx(box[0], abs=1)
        assert shown[track_id]["y"] == pytest.approx(box[1], abs=1)
    # ... and they follow playback.
    _pause_at(page, 2.5)
    later = {box["track"]: box["x"] for box in _boxes(page)}
    assert any(later.get(t) != pytest.approx(shown[t]["x"], abs=1) for t in later if t in shown)

    # Remove a false region from the keyboard: the list's button, then Enter.
    removed = next(iter(expected))
    page.locator(f"[data-remove-track='{removed}']").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messagelist")).to_contain_text("Region removed.")
    clip.refresh_from_db()
    assert [t["removed"] for t in clip.regions["tracks"] if t["id"] == removed] == [True]
    _pause_at(page, 1.0)
    classes = {box["track"]: box["cls"] for box in _boxes(page)}
    assert "removed" in classes[removed]

    # Add a missed one: B pauses and starts drawing; a drag over the picture gives the box.
    page.locator("body").press("b")
    expect(page.locator("[data-review-regions]")).to_have_class("review-regions is-drawing")
    page.locator("[data-review-regions]").scroll_into_view_if_needed()
    frame = page.locator("[data-review-regions]").bounding_box()
    page.mouse.move(frame["x"] + frame["width"] * 0.1, frame["y"] + frame["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] * 0.3, frame["y"] + frame["height"] * 0.4, steps=4)
    page.mouse.up()
    x1 = float(page.get_by_label("Left").input_value())
    x2 = float(page.get_by_label("Right").input_value())
    assert x1 == pytest.approx(64, abs=8) and x2 == pytest.approx(192, abs=8)
    page.keyboard.press("Enter")  # the Add button has the focus
    expect(page.locator(".messagelist")).to_contain_text("Box added")
    clip.refresh_from_db()
    (staff,) = [t for t in clip.regions["tracks"] if t["source"] == "staff"]
    assert staff["keys"][0][1] == pytest.approx(64, abs=8)
    assert clip.outputs_outdated

    # Turn blurring off, saying why; who did it is kept.
    page.get_by_label("Why may faces and plates be shown?").fill("Family, all agreed.")
    page.get_by_role("button", name="Turn blurring off").click()
    expect(page.locator(".messagelist")).to_contain_text("Blurring turned off.")
    expect(page.locator("[data-blurring-state]")).to_contain_text("Family, all agreed.")
    clip.refresh_from_db()
    assert (clip.blurring, clip.blurring_changed_by, clip.blurring_reason) == (
        False,
        moderator,
        "Family, all agreed.",
    )

    # G makes the outputs again (queued for the worker).
    page.locator("body").press("g")
    expect(page.locator(".messagelist")).to_contain_text("The outputs are being made again.")
    clip.refresh_from_db()
    assert clip.rendering_queued
    page.context.close()
