"""E-mails as real clients send them become clips in processing, or a clearly recorded reason."""

import os

import pytest
from django.core import mail

from gallery.models import Clip
from submissions.models import InboundEmail, Submission
from submissions.receive import receive
from submissions.tasks import process_inbound_email
from tests.factories import (
    alternative_mail,
    apple_inline_mail,
    broken_boundary_mail,
    clip_mail,
    encoded_names_mail,
    files_under,
    forwarded_mail,
    heic_photo,
    html_only_mail,
    mail_message,
    queued,
)

pytestmark = pytest.mark.django_db


def test_a_message_with_a_video_becomes_a_clip_in_review_pipeline(
    deliver, tiny_video, media_storage
):
    raw = clip_mail(
        tiny_video,
        subject="Re: Fwd: Mon week-end en Model 3",
        body="Voici ma vidéo de la balade.\n\nEnvoyé de mon iPhone\n",
    )
    inbound = deliver(raw)

    assert inbound.status == InboundEmail.Status.PROCESSED
    assert (
        inbound.sender == "camille@example.org"
        and inbound.subject == "Re: Fwd: Mon week-end en Model 3"
    )
    assert inbound.language == "fr" and inbound.via == "file" and inbound.size == len(raw)
    assert (media_storage / "private" / inbound.raw.name).read_bytes() == raw
    assert inbound.raw.name.startswith("inbound/")

    submission = inbound.submission
    assert (
        submission.source == Submission.Source.EMAIL and submission.email == "camille@example.org"
    )
    assert submission.language == "fr" and not submission.has_current_consent()
    clip = submission.clips.get()
    assert clip.status == Clip.Status.PROCESSING and clip.source == Clip.Source.EMAIL
    assert clip.title == "Mon week-end en Model 3"
    assert clip.description == "Voici ma vidéo de la balade."
    assert clip.credit_name == "Camille" and clip.credit_country == ""
    assert [t.slug for t in clip.themes.all()] == ["weekend"]
    assert (media_storage / "private" / clip.original.name).read_bytes() == tiny_video
    assert queued("process_clip") == [[clip.pk]]
    assert queued("process_inbound_email") == [[inbound.pk]]


def test_the_same_message_twice_is_recorded_once_and_imported_once(
    deliver, tiny_video, media_storage
):
    raw = clip_mail(tiny_video)
    first = deliver(raw)
    again = receive(raw, via="imap")
    assert again.pk == first.pk and not again.newly_received
    process_inbound_email.call(first.pk)  # a second run of the task changes nothing
    assert InboundEmail.objects.count() == 1 and Clip.objects.count() == 1
    assert [n for n in files_under(media_storage / "private") if first.sha256 in n] == [
        first.raw.name
    ]


def test_a_lost_task_is_queued_again_when_the_message_comes_back(
    tiny_video, django_capture_on_commit_callbacks
):
    raw = clip_mail(tiny_video)
    first = receive(raw, via="imap")  # its on-commit enqueue never ran: the process died
    with django_capture_on_commit_callbacks(execute=True):
        receive(raw, via="imap")
    assert queued("process_inbound_email") == [[first.pk]]


def test_a_message_without_message_id_is_recorded_once_under_a_derived_id(deliver, tiny_video):
    raw = clip_mail(tiny_video, message_id=False)
    inbound = deliver(raw)
    assert inbound.message_id_derived and inbound.sha256 in inbound.message_id
    assert receive(raw, via="file").pk == inbound.pk
    assert inbound.status == InboundEmail.Status.PROCESSED and Clip.objects.count() == 1


@pytest.mark.parametrize(
    ("build", "title", "suffix"),
    [
        (alternative_mail, "Mon week-end en Model 3", ".mp4"),
        (apple_inline_mail, "Accélération sur le circuit", ".mov"),
        (forwarded_mail, "Notre balade du week-end", ".mp4"),
        (encoded_names_mail, "Fahrt ins Grüne", ".mp4"),
        # A wrong declared type and name: judged by content, stored under a video suffix.
        (
            lambda v: clip_mail(
                v,
                filename="DSC0001.dat",
                maintype="application",
                subtype="octet-stream",
                subject=None,
            ),
            "DSC0001",
            ".mp4",
        ),
        (
            lambda v: clip_mail(
                v, filename="clip.txt", maintype="text", subtype="plain", subject=""
            ),
            "clip",
            ".mp4",
        ),
        # The closing boundary never came: the parts before it still count.
        (broken_boundary_mail, "broken", ".mp4"),
    ],
    ids=[
        "alternative",
        "apple-inline",
        "forwarded",
        "rfc2231",
        "octet-stream",
        "text-plain",
        "unclosed",
    ],
)
def test_real_client_shapes_give_their_clip(
    deliver, tiny_video, media_storage, build, title, suffix
):
    inbound = deliver(build(tiny_video))
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    clip = inbound.submission.clips.get()
    assert clip.title == title
    assert clip.original.name.endswith(suffix)
    assert (media_storage / "private" / clip.original.name).read_bytes() == tiny_video


def test_apple_mail_gives_the_display_name_themes_and_a_description_without_the_iphone_line(
    deliver, tiny_video
):
    clip = deliver(apple_inline_mail(tiny_video)).submission.clips.get()
    assert clip.credit_name == "Zoé" and clip.description == "Le 0-100 en vidéo"
    assert [t.slug for t in clip.themes.all()] == ["performance"]


def test_a_mail_without_theme_words_leaves_themes_for_staff(deliver, tiny_video):
    clip = deliver(clip_mail(tiny_video, subject="IMG_2041", body="")).submission.clips.get()
    assert clip.themes.count() == 0 and clip.title == "IMG_2041"


def test_html_only_mail_is_read_as_text(deliver, tiny_video):
    msg = html_only_mail()
    msg.add_attachment(tiny_video, maintype="video", subtype="mp4", filename="drive.mp4")
    clip = deliver(msg.as_bytes()).submission.clips.get()
    assert clip.description == "Hello, here is my weekend drive!"
    assert clip.language == "en"


def test_several_videos_make_several_clips_of_one_submission(deliver, tiny_video):
    msg = mail_message(subject="Deux angles")
    msg.add_attachment(tiny_video, maintype="video", subtype="mp4", filename="a.mp4")
    msg.add_attachment(
        b"\x89PNG\r\n\x1a\n" + bytes(100), maintype="image", subtype="png", filename="logo.png"
    )
    msg.add_attachment(tiny_video, maintype="video", subtype="quicktime", filename="b.mov")
    inbound = deliver(msg.as_bytes())
    assert [c.title for c in inbound.submission.clips.order_by("pk")] == [
        "Deux angles (1/2)",
        "Deux angles (2/2)",
    ]
    assert "logo.png" in inbound.reason
    assert len(queued("process_clip")) == 2


def test_a_broken_video_is_recorded_with_its_reason(deliver, tiny_video):
    msg = mail_message()
    msg.add_attachment(os.urandom(4000), maintype="video", subtype="mp4", filename="cassé.mp4")
    msg.add_attachment(
        tiny_video[: len(tiny_video) // 2], maintype="video", subtype="mp4", filename="coupé.mp4"
    )
    inbound = deliver(msg.as_bytes())
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.submission is None
    assert "No usable video" in inbound.reason
    assert "cassé.mp4: This file is not a video we can read." in inbound.reason
    # Half an MP4 whose index comes last: what a camera leaves when it is cut off.
    assert "coupé.mp4: The recording was cut off before the camera" in inbound.reason
    assert Clip.objects.count() == 0


def test_a_heic_photo_gets_the_single_picture_answer_and_leaves_nothing(
    deliver, tmp_path, media_storage
):
    # An iPhone photo (or a Live Photo's still) sent in place of the video.
    msg = mail_message(subject="My Model 3", body="Here is the picture of my car, enjoy it!")
    photo = heic_photo(tmp_path / "IMG_0042.HEIC").read_bytes()
    msg.add_attachment(photo, maintype="image", subtype="heic", filename="IMG_0042.HEIC")
    before = files_under(media_storage)
    inbound = deliver(msg.as_bytes())
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.reply == "no_video"
    assert "IMG_0042.HEIC: This is a single picture, not a video." in inbound.reason
    (reply,) = mail.outbox
    assert "IMG_0042.HEIC: This is a single picture, not a video." in reply.body
    # Only the raw message is kept (as for every message): no clip, no file of one.
    assert Clip.objects.count() == 0 and Submission.objects.count() == 0
    (kept,) = [path for path in files_under(media_storage) if path not in before]
    assert kept.endswith(inbound.raw.name)


def test_an_oversized_attachment_is_noted_not_imported(deliver, tiny_video, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    inbound = deliver(clip_mail(tiny_video))
    assert inbound.status == InboundEmail.Status.IGNORED and Clip.objects.count() == 0
    assert "balade.mp4: This file is too large: at most 1000" in inbound.reason


def test_mismatched_boundaries_leave_a_clear_reason(deliver, tiny_video):
    inbound = deliver(broken_boundary_mail(tiny_video, boundary_matches=False))
    assert inbound.status == InboundEmail.Status.IGNORED
    assert "No usable video" in inbound.reason and "Damaged MIME structure" in inbound.reason


def test_garbage_is_recorded_and_ignored(deliver):
    inbound = deliver(b"\x00\xff\xfe not an e-mail at all \x00")
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.message_id_derived


def test_automatic_replies_are_ignored_even_with_attachments(deliver, tiny_video):
    inbound = deliver(clip_mail(tiny_video, headers={"Auto-Submitted": "auto-replied"}))
    assert inbound.status == InboundEmail.Status.IGNORED and "Automatic message" in inbound.reason
    assert Clip.objects.count() == 0


def test_a_second_copy_of_a_message_from_another_route_is_not_imported_again(deliver, tiny_video):
    raw = clip_mail(tiny_video, message_id="<same@example.org>")
    first = deliver(raw)
    relayed = deliver(b"Received: from relay.example.net by mx.example.org\r\n" + raw)
    assert relayed.pk != first.pk and relayed.status == InboundEmail.Status.IGNORED
    assert f"already handled as #{first.pk}" in relayed.reason
    assert Clip.objects.count() == 1


def test_an_error_fails_the_record_with_its_reason_and_keeps_nothing_half_made(
    deliver, tiny_video, media_storage, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise RuntimeError("database said no")

    monkeypatch.setattr(Submission.objects, "create_with_clips", broken)
    originals_before = [
        n for n in files_under(media_storage / "private") if n.startswith("originals/")
    ]
    inbound = deliver(clip_mail(tiny_video))
    assert inbound.status == InboundEmail.Status.FAILED
    assert inbound.reason == "RuntimeError: database said no"
    assert [
        n for n in files_under(media_storage / "private") if n.startswith("originals/")
    ] == originals_before
    assert Submission.objects.count() == 0

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound.reprocess()
    assert queued("process_inbound_email").count([inbound.pk]) == 2  # received, then again
    process_inbound_email.call(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.PROCESSED and inbound.submission.clips.count() == 1


def test_a_record_whose_raw_message_is_gone_fails_instead_of_waiting_forever(deliver, tiny_video):
    inbound = receive(clip_mail(tiny_video), via="file")
    InboundEmail.objects.filter(pk=inbound.pk).update(raw="")
    process_inbound_email.call(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.FAILED and "no longer stored" in inbound.reason


def test_authentication_results_are_recorded(deliver, tiny_video):
    raw = clip_mail(
        tiny_video,
        headers={
            "Authentication-Results": "mx.example.org; spf=pass; dkim=pass; dmarc=fail",
        },
    )
    inbound = deliver(raw)
    assert (inbound.spf, inbound.dkim, inbound.dmarc) == ("pass", "pass", "fail")
    assert inbound.submission.authenticity_summary() == "SPF pass, DKIM pass, DMARC fail"


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_racing_record_one_message(tiny_video, media_storage, monkeypatch):
    import threading

    from django.db import connection

    from submissions import receive as receiving

    raw = clip_mail(tiny_video)
    both_looked = threading.Barrier(2, timeout=10)
    real_store_raw = receiving.store_raw

    def store_raw(*args):
        both_looked.wait()  # each has seen no record yet
        return real_store_raw(*args)

    monkeypatch.setattr(receiving, "store_raw", store_raw)
    results, errors = [], []

    def deliver_once():
        try:
            results.append(receive(raw, via="imap"))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len({inbound.pk for inbound in results}) == 1
    assert sorted(inbound.newly_received for inbound in results) == [False, True]
    assert InboundEmail.objects.count() == 1
    sha = results[0].sha256
    assert [n for n in files_under(media_storage / "private") if sha in n] == [results[0].raw.name]


def a_cut_copy(media_storage, raw, *, age_seconds):
    """The raw copy a delivery of `raw` was writing: its first half, last changed that long ago."""
    from submissions import parse
    from submissions.models import inbound_raw_path

    checksum = parse.sha256(raw)
    path = media_storage / "private" / inbound_raw_path(checksum)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw[: len(raw) // 2])
    then = path.stat().st_mtime - age_seconds
    os.utime(path, (then, then))
    return checksum, path


@pytest.mark.django_db(transaction=True)
def test_a_raw_copy_cut_short_by_a_crash_is_replaced_and_removed(tiny_video, media_storage):
    raw = clip_mail(tiny_video)
    checksum, _ = a_cut_copy(media_storage, raw, age_seconds=3600)

    inbound = receive(raw, via="imap")

    assert inbound.newly_received
    with inbound.raw.open("rb") as kept:
        assert kept.read() == raw
    assert [n for n in files_under(media_storage / "private") if checksum in n] == [
        inbound.raw.name
    ]


@pytest.mark.django_db(transaction=True)
def test_a_raw_copy_still_being_written_by_another_delivery_is_left_to_it(
    tiny_video, media_storage
):
    raw = clip_mail(tiny_video)
    checksum, being_written = a_cut_copy(media_storage, raw, age_seconds=0)
    half = being_written.read_bytes()

    inbound = receive(raw, via="imap")

    # Deleting it under the other delivery made that delivery fail (`.ci/run`, 2026-12-01).
    assert being_written.read_bytes() == half
    assert inbound.raw.name != f"inbound/{checksum[:2]}/{checksum}.eml"
    with inbound.raw.open("rb") as kept:
        assert kept.read() == raw


@pytest.mark.django_db(transaction=True)
def test_on_s3_a_cut_copy_is_left_while_young_and_removed_once_stale(tiny_video, s3_media):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from infra.storage import private_storage
    from submissions import parse
    from submissions.models import inbound_raw_path
    from submissions.receive import drop_cut_copy

    raw = clip_mail(tiny_video)
    checksum = parse.sha256(raw)
    storage, name = private_storage(), inbound_raw_path(checksum)
    assert storage.save(name, ContentFile(raw[: len(raw) // 2])) == name

    inbound = receive(raw, via="imap")

    assert inbound.raw.name != name and storage.size(name) == len(raw) // 2
    with inbound.raw.open("rb") as kept:
        assert kept.read() == raw
    assert not drop_cut_copy(checksum)  # still young: perhaps another delivery's
    assert drop_cut_copy(checksum, now=timezone.now() + timedelta(hours=1))
    assert not storage.exists(name) and storage.exists(inbound.raw.name)


def dashcam_pair(tmp_path):
    """A healthy front-camera file and the next one, cut off by a power loss (no index)."""
    from gallery.synth import synthesize

    healthy, victim = (
        synthesize(tmp_path / name, seconds=1, width=320, height=240, fps=36, audio=False, seed=s)
        for name, s in (("healthy.mp4", 1), ("victim.mp4", 2))
    )
    data = victim.read_bytes()
    return healthy.read_bytes(), data[: int((data.rfind(b"moov") - 4) * 0.95)]


def test_a_cut_off_dashcam_file_sent_with_a_healthy_one_is_rebuilt(deliver, tmp_path):
    healthy, cut = dashcam_pair(tmp_path)
    msg = mail_message(subject="Dashcam")
    for name, data in (
        ("2026-11-01_10-00-00-front.mp4", healthy),
        ("2026-11-01_10-01-00-front.mp4", cut),
    ):
        msg.add_attachment(data, maintype="video", subtype="mp4", filename=name)
    inbound = deliver(msg.as_bytes())
    assert inbound.submission is not None
    # Two minutes of one camera: one clip, the rebuilt minute joined after the healthy one.
    clip = inbound.submission.clips.get()
    assert [(a.camera, len(a.originals)) for a in clip.angles.all()] == [("front", 2)]
    assert "cut off" not in inbound.reason


def test_a_cut_off_dashcam_file_alone_is_refused_in_the_owners_words(deliver, tmp_path):
    _, cut = dashcam_pair(tmp_path)
    msg = mail_message(subject="Dashcam", headers={"Content-Language": "en"})
    msg.add_attachment(
        cut, maintype="video", subtype="mp4", filename="2026-11-01_10-01-00-front.mp4"
    )
    inbound = deliver(msg.as_bytes())
    assert inbound.submission is None and Clip.objects.count() == 0
    assert (
        "the recording was cut off before the camera finished writing it" in inbound.reason.lower()
    )
