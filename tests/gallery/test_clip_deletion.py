"""Staff delete clips in the admin (one, or many with "delete selected"): every file of those
clips goes once the deletion commits, from both storages; files other rows name stay."""

import secrets
import shutil

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gallery import deletion, processing, tasks
from gallery.models import Caption, Clip, ClipAngle, Theme
from gallery.synth import synthesize
from infra.models import PageVersion
from infra.storage import private_storage
from submissions.models import InboundEmail, Submission
from tests.factories import files_under, make_clip

pytestmark = pytest.mark.django_db


def save(name, data=b"x"):
    """A small stand-in file in private storage, under exactly `name`."""
    assert private_storage().save(name, ContentFile(data)) == name
    return name


def stored_clip(title, *, original=None, cameras=(), published=True):
    """A clip with a file of every kind, named like processing names them: renditions,
    poster, thumbnails, a caption, and for an event each angle's minutes and video and the
    mosaic; `original` may be another clip's (clips of one upload share it)."""
    clip = Clip.objects.create(title=title, credit_name="Camille", status=Clip.Status.REVIEW)
    # Fresh names: media stay between the tests of a session.
    token = secrets.token_hex(4)
    folder = f"clips/{clip.pk}/{token}"
    original = original or save(f"originals/2026/11/{title}-{token}-front-1.mp4")
    fields = {
        "original": original,
        "video": save(f"{folder}/720p.mp4"),
        "video_hd": save(f"{folder}/1080p.mp4"),
        "poster": save(f"{folder}/poster.jpg"),
        "thumbnails": [
            {"width": 320, "webp": save(f"{folder}/t320.webp"), "jpeg": save(f"{folder}/t320.jpg")}
        ],
    }
    if cameras:
        fields["mosaic"] = save(f"{folder}/mosaic.mp4")
        for order, camera in enumerate(cameras):
            minutes = (
                [original, save(f"originals/2026/11/{title}-{token}-front-2.mp4")]
                if order == 0
                else [save(f"originals/2026/11/{title}-{token}-{camera}-1.mp4")]
            )
            video = fields["video"] if order == 0 else save(f"{folder}/angle-{camera}.mp4")
            ClipAngle.objects.create(
                clip=clip, camera=camera, order=order, originals=minutes, video=video
            )
    Clip.objects.filter(pk=clip.pk).update(**fields)
    Caption.objects.create(
        clip=clip, language="en", file=save(f"clips/{clip.pk}/captions/en-{token}.vtt", b"WEBVTT\n")
    )
    # A left-over of an earlier render, named by no row any more.
    save(f"clips/{clip.pk}/old-{token}/720p.mp4")
    clip.refresh_from_db()
    if published:
        clip.approve(by=None)  # public copies of the outputs and the caption
    return clip


@pytest.fixture
def superuser_client():
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw-123-long"))
    return client


@pytest.fixture
def three_clips():
    """An event and a clip made of the same upload (they share its original), and another."""
    submission = Submission.objects.create(email="owner@example.org", language="en")
    raw = save(f"inbound/{secrets.token_hex(4)}.eml", b"From: owner@example.org\r\n\r\nvideo")
    InboundEmail.objects.create(
        message_id="<m@example.org>", sha256="0", via="imap", raw=raw, submission=submission
    )
    event = stored_clip("event", cameras=("front", "back", "left_repeater"))
    sibling = stored_clip("sibling", original=event.original.name)
    other = stored_clip("other", published=False)
    Clip.objects.filter(pk__in=[event.pk, sibling.pk]).update(submission=submission)
    return event, sibling, other


def everything(media_storage):
    return {
        f"{side}/{name}"
        for side in ("private", "public")
        for name in files_under(media_storage / side)
    }


def of_clip(files, clip):
    return {name for name in files if f"/clips/{clip.pk}/" in f"/{name.split('/', 1)[1]}"}


def test_deleting_a_clip_in_the_admin_deletes_its_files_and_only_its(
    superuser_client, three_clips, media_storage, django_capture_on_commit_callbacks
):
    event, sibling, other = three_clips
    before = everything(media_storage)
    shared = event.original.name
    own_originals = {name for name in event.originals if name != shared}
    assert len(own_originals) == 3 and of_clip(before, event)
    assert f"public/{event.video.name}" in before and f"public/{event.mosaic.name}" in before

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(f"/admin/gallery/clip/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Clip.objects.filter(pk=event.pk).exists()

    after = everything(media_storage)
    assert of_clip(after, event) == set()  # outputs, angles, mosaic, caption, left-overs
    assert not {f"private/{name}" for name in own_originals} & after
    # The original the other clip of the same upload still uses stays, so do its files, the
    # other clip's and the raw e-mail.
    assert f"private/{shared}" in after
    assert after == before - of_clip(before, event) - {f"private/{n}" for n in own_originals}
    assert f"private/{InboundEmail.objects.get().raw.name}" in after
    assert not (media_storage / "private" / "clips" / str(event.pk)).exists()


def test_delete_selected_deletes_the_files_of_every_clip_chosen(
    superuser_client, three_clips, media_storage, django_capture_on_commit_callbacks
):
    event, sibling, other = three_clips
    before = everything(media_storage)
    originals = {f"private/{name}" for name in event.originals + sibling.originals}
    assert len(originals) == 4 and originals <= before
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            "/admin/gallery/clip/?status=all",
            {
                "action": "delete_selected",
                "_selected_action": [event.pk, sibling.pk],
                "post": "yes",
            },
        )
    assert response.status_code == 302
    assert list(Clip.objects.all()) == [other]
    after = everything(media_storage)
    # Both clips of the upload gone: their shared original with them.
    assert of_clip(after, event) == of_clip(after, sibling) == set()
    assert after == before - originals - of_clip(before, event) - of_clip(before, sibling)
    assert of_clip(after, other) == of_clip(before, other) != set()


def bucket_keys(server):
    client = server.client()
    return {
        f"{bucket}/{item['Key']}"
        for bucket in (server.private_bucket, server.public_bucket)
        for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])
    }


def test_deleting_a_clip_on_s3_deletes_its_objects_in_both_buckets(
    superuser_client, s3_media, django_capture_on_commit_callbacks
):
    event = stored_clip("event", cameras=("front", "back"))
    other = stored_clip("other")
    before = bucket_keys(s3_media)
    names = [*event.originals, *event.media_names]
    mine = {key for key in before if f"/clips/{event.pk}/" in key or key.split("/", 1)[1] in names}
    assert len(mine) > len(names)  # public copies and a left-over too
    assert f"{s3_media.public_bucket}/{event.mosaic.name}" in mine
    assert f"{s3_media.private_bucket}/{event.original.name}" in mine
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(f"/admin/gallery/clip/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    after = bucket_keys(s3_media)
    assert after == before - mine
    assert any(f"/clips/{other.pk}/" in key for key in after)


def number_clips_past_earlier_folders(media_storage):
    """The next clips numbered past the folders earlier tests left (the media stay for the
    session, the rows do not): each folder then holds its clip's files alone, as in
    production. PostgreSQL's sequence is moved past the row made so (SQLite needs none)."""
    from django.core.management.color import no_style

    folders = [p.name for p in media_storage.glob("*/clips/*")]
    last = max((int(name) for name in folders if name.isdigit()), default=0)
    last = max(last, Clip.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    Clip.objects.create(pk=last + 1, title="numbering", credit_name="Camille")
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Clip]):
            cursor.execute(sql)


def test_delete_selected_looks_the_files_of_many_clips_up_together(
    superuser_client, media_storage, django_capture_on_commit_callbacks
):
    number_clips_past_earlier_folders(media_storage)

    def delete_selected(count):
        clips = [stored_clip(f"many-{count}-{i}", cameras=("front", "back")) for i in range(count)]
        before = everything(media_storage)
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            superuser_client.post(
                "/admin/gallery/clip/?status=all",
                {
                    "action": "delete_selected",
                    "_selected_action": [c.pk for c in clips],
                    "post": "yes",
                },
            )
        after = everything(media_storage)
        for clip in clips:
            assert of_clip(before, clip) and of_clip(after, clip) == set()
        return len(queries)

    two, six = delete_selected(2), delete_selected(6)
    # Each clip still costs its catalogue bookkeeping (its theme counts, the page versions
    # its caption and itself retire), a handful of queries; not a query per file field of
    # every model (a dozen more) to find which of its files another row still names.
    assert (six - two) / 4 <= 8, (two, six)


def test_the_files_of_hundreds_of_clips_are_looked_up_at_once(media_storage):
    clip = stored_clip("kept", published=False)
    # As many names as "delete selected" on a few hundred clips gives: SQLite refuses a
    # condition that deep in one query.
    names = [f"clips/{n}/gone/720p.mp4" for n in range(3000)] + [clip.video.name]
    assert deletion.names_in_use(names) == {clip.video.name}


@pytest.fixture(scope="module")
def short_video(tmp_path_factory):
    return synthesize(
        tmp_path_factory.mktemp("short") / "short.mp4", seconds=2, width=320, height=180
    )


@pytest.mark.parametrize("task", ["render", "process"])
def test_a_clip_deleted_while_its_outputs_are_made_leaves_no_file_behind(
    task, media_storage, short_video, monkeypatch, django_capture_on_commit_callbacks
):
    processed = task == "render"
    clip = make_clip(
        status=Clip.Status.REVIEW if processed else Clip.Status.PROCESSING, video=short_video
    )
    before = everything(media_storage)
    real = processing.blurring.render_outputs

    def deleted_meanwhile(*args, **kwargs):
        outputs = real(*args, **kwargs)
        # Staff delete the clip in the admin while the worker still has its outputs to store.
        with django_capture_on_commit_callbacks(execute=True):
            Clip.objects.get(pk=clip.pk).delete()
        return outputs

    monkeypatch.setattr(processing.blurring, "render_outputs", deleted_meanwhile)
    if processed:
        clip.queue_rendering()
        tasks.render_clip.call(clip.pk)
    else:
        tasks.process_clip.call(clip.pk)

    assert not Clip.objects.filter(pk=clip.pk).exists()
    after = everything(media_storage)
    assert after <= before  # nothing new left in either storage
    assert of_clip(after, clip) == set()
    assert not (media_storage / "private" / "clips" / str(clip.pk)).exists()


def page_version():
    return PageVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 1


@pytest.mark.parametrize(
    ("way", "count"), [("delete one", 1), ("delete selected", 1), ("delete selected", 20)]
)
def test_deleting_clips_costs_the_same_few_queries_however_many(
    way,
    count,
    superuser_client,
    media_storage,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    number_clips_past_earlier_folders(media_storage)
    rain, night = Theme.objects.create(slug="rain"), Theme.objects.create(slug="night")
    clips = [stored_clip(f"bulk-{i}", published=False) for i in range(count)]
    for index, clip in enumerate(clips):
        clip.themes.set([rain, night] if index % 2 else [rain])
        clip.approve(by=None)
    kept = stored_clip("kept")
    kept.themes.set([rain])
    assert Theme.objects.get(pk=rain.pk).published_count == count + 1
    before = page_version()
    # The admin's own (session, confirmation, log), the rows by table, the files by field:
    # as many for twenty clips as for one.
    with (
        django_assert_max_num_queries(50),
        django_capture_on_commit_callbacks(execute=True),
    ):
        if way == "delete one":
            url, data = f"/admin/gallery/clip/{clips[0].pk}/delete/", {"post": "yes"}
        else:
            url = "/admin/gallery/clip/?status=all"
            data = {"action": "delete_selected", "_selected_action": [c.pk for c in clips]}
            data["post"] = "yes"
        assert superuser_client.post(url, data).status_code == 302
    assert not Clip.objects.filter(pk__in=[c.pk for c in clips]).exists()
    # The kept counts follow (the theme pages and filters show them), and the cached pages
    # are retired: once, when the deletion commits.
    assert Theme.objects.get(pk=rain.pk).published_count == 1
    assert Theme.objects.get(pk=night.pk).published_count == 0
    assert page_version() == before + 1


def clip_folders(media_storage, clip):
    return [media_storage / side / "clips" / str(clip.pk) for side in ("private", "public")]


def only_its_own_files(media_storage, clip):
    """Clear `clip`'s folders of what no row of it names: an earlier render's left-over, and
    the files of an earlier test's clip that had the same id (media stay between tests)."""
    own = clip.video.name.split("/")[2]
    for folder in clip_folders(media_storage, clip):
        for child in folder.iterdir():
            if child.name != own:
                shutil.rmtree(child) if child.is_dir() else child.unlink()


def test_a_withdrawn_clip_leaves_no_empty_folder_and_shared_ones_stay(
    media_storage, django_capture_on_commit_callbacks
):
    clip = stored_clip("withdrawn", cameras=("front", "back"))
    other = stored_clip("other")
    only_its_own_files(media_storage, clip)
    assert all(folder.is_dir() for folder in clip_folders(media_storage, clip))

    with django_capture_on_commit_callbacks(execute=True):
        clip.withdraw()
    assert not any(folder.exists() for folder in clip_folders(media_storage, clip))
    # The folders other clips share stay: "clips", the originals', the storages' roots.
    for side in ("private", "public"):
        assert (media_storage / side / "clips").is_dir()
    assert (media_storage / "private" / "originals" / "2026" / "11").is_dir()
    assert all(folder.is_dir() for folder in clip_folders(media_storage, other))


def test_an_unpublished_clip_leaves_no_empty_public_folder(
    media_storage, django_capture_on_commit_callbacks
):
    clip = stored_clip("unpublished")
    only_its_own_files(media_storage, clip)
    public, private = media_storage / "public", media_storage / "private"
    assert (public / "clips" / str(clip.pk)).is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        clip.unpublish(by=None, reason="Music we cannot publish")
    assert not (public / "clips" / str(clip.pk)).exists()
    assert (public / "clips").is_dir()
    assert (private / clip.video.name).exists()  # the private outputs stay for staff
