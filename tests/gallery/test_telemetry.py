"""The car's SEI telemetry: read into a compact series, location removed everywhere."""

import hashlib
import io
import json
import logging
import re
import struct
from pathlib import Path

import av
import pytest
from django.contrib.auth.models import Group, User
from django.core.files import File
from django.core.management import call_command
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from gallery import processing, telemetry
from gallery.models import Clip
from gallery.synth_telemetry import Drive, encode_message, synthesize_dashcam
from infra.storage import private_storage
from tests.factories import (
    clip_mail,
    files_under,
    form_data,
    make_clip,
    owned_clip,
    post,
    said_in,
    upload,
)

SECONDS = 6.0


@pytest.fixture(scope="module")
def dashcam(tmp_path_factory):
    """One camera file with telemetry: speed ramp, Autopilot over the middle third, GPS."""
    return synthesize_dashcam(tmp_path_factory.mktemp("dashcam") / "front.mp4", seconds=SECONDS)


def location_needles(written):
    """Every way the coordinates written could sit in bytes: the doubles as the protobuf
    stores them (also with their field tags), as floats, and as text."""
    needles = set()
    for message in written.messages:
        for number, name in ((11, "latitude_deg"), (12, "longitude_deg"), (13, "heading_deg")):
            value = message[name]
            needles.add(struct.pack("<d", value))
            needles.add(bytes([number << 3 | 1]) + struct.pack("<d", value))
            needles.add(struct.pack("<f", value))
            needles.add(struct.pack(">d", value))
    needles |= {b"48.8583", b"2.29448", b"123.456", b"48,8583"}
    return needles


def assert_no_location(data: bytes, written, where):
    found = [n for n in location_needles(written) if n in data]
    assert not found, f"coordinates found in {where}: {found[:3]}"


def pictures(path):
    """A digest of every decoded picture, in order."""
    with av.open(str(path)) as container:
        return [
            hashlib.blake2s(frame.to_ndarray().tobytes()).hexdigest()
            for frame in container.decode(video=0)
        ]


def frames_in(path):
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_schema_matches_the_car_makers_proto():
    text = (Path(telemetry.__file__).parent / "schema" / "dashcam.proto").read_text()
    body = text.split("message SeiMetadata", 1)[1]
    declared = {
        name: int(number)
        for kind, name, number in re.findall(r"^\s*(\w+) (\w+) = (\d+);", body, re.M)
        if kind not in ("syntax",) and not name.isupper()
    }
    assert declared == {name: number for name, number, _, _ in telemetry.SCHEMA_FIELDS}
    for enum_name, values in telemetry.SCHEMA_ENUMS.items():
        block = body.split(f"enum {enum_name} {{", 1)[1].split("}", 1)[0]
        assert dict(re.findall(r"(\w+) = (\d+);", block)) == {n: str(v) for n, v in values}


def test_reader_reads_what_the_car_wrote(dashcam):
    series = telemetry.read_series(dashcam.path)
    assert series is not None
    assert series["hz"] == 4
    n = len(series["t"])
    assert 4 * SECONDS - 1 <= n <= 4 * SECONDS + 1  # sampled, not 36 a second
    assert all(len(series[k]) == n for k in ("speed", "autopilot", "gear", "blinker", "brake"))
    for t, speed in zip(series["t"], series["speed"], strict=True):
        assert speed == pytest.approx(3.0 + 2.0 * t, abs=0.05)
    engaged = [t for t, state in zip(series["t"], series["autopilot"], strict=True) if state]
    assert engaged[0] == pytest.approx(SECONDS / 3, abs=0.3)
    assert engaged[-1] == pytest.approx(2 * SECONDS / 3, abs=0.3)
    assert set(series["autopilot"]) == {0, 2}  # autosteer
    assert set(series["gear"]) == {1}  # drive
    assert 1 in series["blinker"] and 2 in series["blinker"]
    assert series["brake"][-1] == 1 and series["brake"][0] == 0
    summary = series["summary"]
    assert summary["autopilot_share"] == pytest.approx(1 / 3, abs=0.02)
    assert summary["max_speed"] == pytest.approx(3.0 + 2.0 * SECONDS, abs=0.1)
    # No trace of where the car was, not even a key.
    text = json.dumps(series)
    assert "lat" not in text and "lon" not in text and "heading" not in text
    assert not any(hasattr(s, "latitude_deg") for s in telemetry.read_samples(dashcam.path)[:3])


def test_written_file_plays_and_needed_emulation_prevention(dashcam):
    assert frames_in(dashcam.path) == round(SECONDS * 36)
    with av.open(str(dashcam.path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 36
        packet = next(p for p in container.demux(stream) if p.size)
        nals = telemetry.split_nals(bytes(packet), 4)
    sei = [nal for nal in nals if telemetry.tesla_messages(nal)]
    assert len(sei) == 1
    # 2.0 m/s² as a double is six zero bytes: the stored unit must carry escapes.
    assert telemetry.unescape(sei[0]) != sei[0]
    assert b"\x00\x00\x00" not in sei[0] and b"\x00\x00\x01" not in sei[0]


def test_escape_round_trip():
    for raw in (b"\x00\x00\x00", b"\x00\x00\x01\x00\x00\x02", b"\x00\x00\x03", b"ab\x00\x00"):
        escaped = telemetry.escape(raw)
        assert telemetry.unescape(escaped) == raw
        assert not re.search(rb"\x00\x00[\x00-\x02]", escaped)


def test_strip_location_keeps_the_story_and_drops_the_place(dashcam, tmp_path):
    assert_needles_present(dashcam.path.read_bytes(), dashcam)
    out = tmp_path / "stripped.mp4"
    summary = telemetry.strip_location(dashcam.path, out)
    assert summary.changed and summary.with_location == round(SECONDS * 36)
    assert_no_location(out.read_bytes(), dashcam, "the rewritten file")
    written = pictures(dashcam.path)
    assert len(written) == round(SECONDS * 36)
    assert pictures(out) == written  # remuxed, not re-encoded: the very same pictures
    before, after = telemetry.read_series(dashcam.path), telemetry.read_series(out)
    assert after == before
    # Nothing left to remove: nothing written.
    again = telemetry.strip_location(out, tmp_path / "again.mp4")
    assert not again.changed and not (tmp_path / "again.mp4").exists()


def assert_needles_present(data, written):
    """The test file really holds the coordinates (else the absence checks prove nothing)."""
    assert struct.pack("<d", written.messages[0]["latitude_deg"]) in data
    assert struct.pack("<d", written.messages[-1]["longitude_deg"]) in data


def test_theme_hints():
    def hints(**summary):
        base = {"duration": 60.0, "max_speed": 20.0, "autopilot_seconds": 0.0}
        base |= {"autopilot_share": 0.0, "peak_accel": 1.0} | summary
        return [(h.slug, h.reason) for h in telemetry.theme_hints({"summary": base})]

    assert hints() == []
    assert hints(autopilot_share=0.41, autopilot_seconds=24.6) == [("autopilot", "autopilot")]
    assert hints(autopilot_share=0.1, autopilot_seconds=21) == [("autopilot", "autopilot")]
    assert hints(autopilot_share=0.29, autopilot_seconds=10) == []
    assert hints(peak_accel=6.2) == [("performance", "acceleration")]
    assert telemetry.theme_hints(None) == []


def test_hard_acceleration_read_from_the_drive(tmp_path):
    fast = synthesize_dashcam(tmp_path / "fast.mp4", seconds=3, drive=Drive(accel=6.0))
    series = telemetry.read_series(fast.path)
    assert series["summary"]["peak_accel"] == pytest.approx(6.0, abs=0.2)
    assert "performance" in [h.slug for h in telemetry.theme_hints(series)]


def test_join_series_puts_minutes_end_to_end(dashcam):
    series = telemetry.read_series(dashcam.path)
    joined = telemetry.join_series([series, None, series])
    assert len(joined["t"]) == 2 * len(series["t"])
    assert joined["t"][len(series["t"])] == pytest.approx(SECONDS, abs=0.01)
    assert joined["summary"]["duration"] == pytest.approx(2 * SECONDS, abs=0.1)
    assert joined["summary"]["autopilot_share"] == pytest.approx(1 / 3, abs=0.02)


def test_another_payload_is_not_the_cars():
    other = telemetry.sei_nal(encode_message({"vehicle_speed_mps": 3.0}), identifier=b"x" * 16)
    assert telemetry.tesla_messages(other) == []
    # A payload over 255 bytes has its size written on several bytes.
    speed = encode_message({"vehicle_speed_mps": 7.5})
    padded = telemetry.sei_nal(speed, identifier=bytes([0x42] * 299 + [0x69]))
    assert [m.vehicle_speed_mps for m in telemetry.tesla_messages(padded)] == [7.5]


@pytest.mark.django_db
def test_processing_keeps_the_series_and_no_location_anywhere(dashcam, media_storage, caplog):
    caplog.set_level(logging.DEBUG)
    originals_before = set(files_under(media_storage / "private"))
    clip = make_clip(status=Clip.Status.REVIEW, video=dashcam.path)
    clip.refresh_from_db()

    series = clip.telemetry
    assert series["speed"][0] == pytest.approx(3.0, abs=0.05)
    assert series["speed"][-1] == pytest.approx(3.0 + 2.0 * series["t"][-1], abs=0.05)
    assert series["summary"]["autopilot_share"] == pytest.approx(1 / 3, abs=0.02)
    assert not clip.shows_telemetry  # the owner has not turned it on

    # The private original: no coordinates, still plays, still tells the drive's story.
    original = media_storage / "private" / clip.original.name
    assert_no_location(original.read_bytes(), dashcam, "the stored original")
    assert frames_in(original) == round(SECONDS * 36)
    assert telemetry.read_series(original) == series
    # The copy as it arrived is gone: the rewritten one is the only new original.
    arrived = {n for n in files_under(media_storage / "private") if n.startswith("originals/")}
    assert arrived - originals_before == {clip.original.name}

    # Renditions, poster and thumbnails are re-encoded: no SEI of the car survives.
    for name in clip.media_names:
        data = (media_storage / "private" / name).read_bytes()
        assert telemetry.TESLA_ID not in data, name
        assert_no_location(data, dashcam, name)

    # Nor the database, nor the logs.
    dump = io.StringIO()
    call_command("dumpdata", "gallery", stdout=dump)
    assert_no_location(dump.getvalue().encode(), dashcam, "the database")
    assert_no_location(caplog.text.encode(), dashcam, "the logs")


@pytest.mark.django_db
def test_file_without_sei_is_an_ordinary_clip(tmp_path, media_storage):
    plain = synthesize_dashcam(tmp_path / "old-firmware.mp4", seconds=2, drive=None)
    clip = make_clip(status=Clip.Status.REVIEW, video=plain.path)
    clip.refresh_from_db()
    assert clip.telemetry is None
    assert not clip.shows_telemetry
    stored = private_storage().open(clip.original.name).read()
    assert stored == plain.path.read_bytes()  # left exactly as it came


@pytest.mark.django_db
def test_processing_on_s3_rewrites_the_private_original(dashcam, s3_media):
    with dashcam.path.open("rb") as fh:
        clip = Clip.objects.create(title="Front", credit_name="Camille")
        clip.original.save("front.mp4", File(fh))
    processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    assert clip.telemetry["summary"]["autopilot_share"] == pytest.approx(1 / 3, abs=0.02)
    body = s3_media.client().get_object(Bucket=s3_media.private_bucket, Key=clip.original.name)
    data = body["Body"].read()
    assert_no_location(data, dashcam, "the original in S3")
    assert telemetry.TESLA_ID in data  # rewritten, not dropped


def moderator_client():
    staff = User.objects.create(username="mona", is_staff=True)
    staff.groups.add(Group.objects.get(name="Moderators"))
    moderator = Client(headers={"Accept-Language": "en"})
    moderator.force_login(staff)
    return moderator


def admin_form_data(page_html, **changes):
    """The clip's change form as the admin shows it (hidden inputs and the fields), changed."""
    data = {
        name: [value]
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page_html
        )
        if name != "csrfmiddlewaretoken"
    }
    return data | changes


@pytest.mark.django_db
def test_owner_shows_the_strip_and_staff_can_hide_it(client, dashcam):
    submission, clip = owned_clip(status=Clip.Status.PUBLISHED, video=dashcam.path)
    clip.refresh_from_db()
    page_url = f"/en/clips/{clip.pk}/"
    assert "data-drive" not in client.get(page_url).content.decode()  # off until the owner says

    status_url = submission.get_status_url()
    assert "Show my car's data under the video" in client.get(status_url).content.decode()
    done = client.post(status_url, {"action": "telemetry", "clip": clip.pk, "show": "1"})
    assert done.status_code == 302
    assert "will be shown under your video" in client.get(done["Location"]).content.decode()

    top = clip.telemetry["summary"]["max_speed"]
    english = client.get(page_url).content.decode()
    assert f"Top speed {round(top * 2.2369363)} mph" in english
    assert "Autopilot engaged 33 % of the time" in english
    assert 'aria-live="off"' in english and "telemetry.js" in english
    french = client.get(f"/fr/clips/{clip.pk}/").content.decode()
    assert said_in("fr", "Top speed %(speed)s km/h", speed=round(top * 3.6)) in french

    # No coordinate on any page or feed a visitor (or a crawler) can reach.
    for url in (page_url, "/en/", "/en/feed/", "/en/feed/atom/", "/sitemap.xml", status_url):
        assert_no_location(client.get(url).content, dashcam, url)
    oembed = client.get("/oembed", {"url": f"http://testserver{page_url}", "format": "json"})
    assert_no_location(oembed.content, dashcam, "oEmbed")

    # Staff hide it, whatever the owner chose.
    moderator = moderator_client()
    change = f"/admin/gallery/clip/{clip.pk}/change/"
    form = moderator.get(change).content.decode()
    assert 'name="telemetry_hidden"' in form
    assert "Speed strip: shown under the video" in form
    data = admin_form_data(
        form,
        title=[clip.title],
        description=[""],
        themes=[str(t.pk) for t in clip.themes.all()],
        credit_name=[clip.credit_name],
        credit_country=[clip.credit_country],
        language=[clip.language],
        telemetry_hidden=["on"],
    )
    saved = moderator.post(change, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert Clip.objects.get(pk=clip.pk).telemetry_hidden
    assert "data-drive" not in client.get(page_url).content.decode()
    assert "Our team chose not to show it" in client.get(status_url).content.decode()

    # The owner can turn it off too; another owner cannot touch it.
    other, _ = owned_clip()
    refused = client.post(
        other.get_status_url(), {"action": "telemetry", "clip": clip.pk, "show": "0"}
    )
    assert refused.status_code == 404 and Clip.objects.get(pk=clip.pk).telemetry_public
    client.post(status_url, {"action": "telemetry", "clip": clip.pk, "show": "0"})
    assert not Clip.objects.get(pk=clip.pk).telemetry_public


@pytest.mark.django_db
def test_staff_see_the_suggested_theme_and_why(dashcam):
    clip = make_clip(status=Clip.Status.REVIEW, video=dashcam.path, themes=["weekend"])
    assert set(clip.themes.values_list("slug", flat=True)) == {"weekend", "autopilot"}
    moderator = moderator_client()
    page = moderator.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    hint = re.search(r'<li data-theme-hint="autopilot">(.*?)</li>', page, re.S).group(1)
    assert "Autopilot" in hint and "Autopilot engaged 33 % of the drive (2 s)" in hint
    assert "theme added" in hint
    assert 'data-theme-hint="performance"' not in page  # a gentle 2 m/s² ramp


@pytest.mark.django_db
def test_one_camera_file_sent_on_the_web_or_by_mail_keeps_no_location(
    client, dashcam, media_storage, deliver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = post(client, form_data(upload(dashcam.path, "2026-11-20_10-30-00-front.mp4")))
    assert sent.status_code == 302
    deliver(clip_mail(dashcam.path.read_bytes(), filename="2026-11-20_10-30-00-front.mp4"))
    clips = list(Clip.objects.order_by("pk"))
    assert [c.source for c in clips] == [Clip.Source.WEB, Clip.Source.EMAIL]
    # The raw message held the car's position in its attachment: it is not kept.
    assert not clips[1].submission.inbound_emails.get().raw
    for clip in clips:
        processing.process(clip)
        clip.refresh_from_db()
        assert clip.status == Clip.Status.REVIEW, clip.failure_reason
        assert clip.telemetry["summary"]["autopilot_share"] == pytest.approx(1 / 3, abs=0.02)
        original = (media_storage / "private" / clip.original.name).read_bytes()
        assert_no_location(original, dashcam, f"the {clip.source} original")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_hostile_bytes_never_break_the_reader_or_the_rewriter(data):
    nal = bytes([telemetry.NAL_SEI]) + data
    telemetry.tesla_messages(nal)
    telemetry.split_nals(data, 4)
    telemetry.split_nals(data, None)
    rewritten = telemetry._Rewriter(4).packet(len(nal).to_bytes(4, "big") + nal)
    assert isinstance(rewritten, bytes)
    assert telemetry.unescape(telemetry.escape(data)) == data


def test_damaged_numbers_do_not_reach_the_database(tmp_path):
    broken = Drive(accel=float("nan"))
    written = synthesize_dashcam(tmp_path / "nan.mp4", seconds=1, drive=broken)
    series = telemetry.read_series(written.path)
    json.dumps(series, allow_nan=False)  # PostgreSQL's jsonb refuses NaN
    assert set(series["speed"]) == {0.0} and set(series["accel"]) == {0.0}


def test_fields_unknown_to_us_and_damaged_messages_do_not_survive_the_rewrite():
    secret = 47.1234567  # e.g. an altitude or a place in a field a newer firmware adds
    known = encode_message({"vehicle_speed_mps": 12.5, "latitude_deg": 48.8583701})
    unknown_field = b"\x89\x01" + struct.pack("<d", secret)  # field 17, 64-bit (varint tag)
    units = [
        telemetry.sei_nal(known + unknown_field),
        telemetry.sei_nal(b"\xff\xff\xff" + struct.pack("<d", secret)),  # does not parse
        telemetry.sei_nal(encode_message({"vehicle_speed_mps": 3.0}), identifier=b"x" * 16),
    ]
    packet = b"".join(len(u).to_bytes(4, "big") + u for u in units)
    rewriter = telemetry._Rewriter(4)
    cleaned = rewriter.packet(packet)
    assert struct.pack("<d", secret) not in cleaned
    assert struct.pack("<d", 48.8583701) not in cleaned
    nals = telemetry.split_nals(cleaned, 4)
    assert len(nals) == 2  # the damaged unit is gone, someone else's SEI is kept as it was
    assert [m.vehicle_speed_mps for m in telemetry.tesla_messages(nals[0])] == [12.5]
    assert nals[1] == units[2]
    assert rewriter.summary.sei_messages == 2 and rewriter.summary.with_location == 1


@pytest.mark.django_db
def test_every_angle_of_an_event_is_kept_without_location(
    client, tmp_path, media_storage, django_capture_on_commit_callbacks
):
    cameras = ("front", "back", "left_repeater", "right_repeater")
    written = {
        camera: synthesize_dashcam(
            tmp_path / f"2026-11-20_10-30-00-{camera}.mp4", seconds=2.0, seed=index
        )
        for index, camera in enumerate(cameras)
    }
    files = [upload(w.path, w.path.name) for w in written.values()]
    before = set(files_under(media_storage / "private"))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, form_data(files)).status_code == 302
    clip = Clip.objects.get()
    processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    assert clip.telemetry["summary"]["duration"] == pytest.approx(2.0, abs=0.1)
    angles = list(clip.angles.all())
    assert [angle.camera for angle in angles] == list(cameras)
    for angle in angles:
        [name] = angle.originals
        data = (media_storage / "private" / name).read_bytes()
        assert_no_location(data, written[angle.camera], f"the {angle.camera} original")
        assert telemetry.read_series(media_storage / "private" / name) is not None
    assert clip.original.name == angles[0].originals[0]
    # Only the rewritten files are kept: nothing as it arrived.
    kept = set(files_under(media_storage / "private")) - before
    assert {n for n in kept if n.startswith("originals/")} == {a.originals[0] for a in angles}
