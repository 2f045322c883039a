"""Making a clip's outputs (first processing, or a render staff asked for) when things go
wrong under it: the storage failing partway, the worker killed."""

import pytest
from django.core.files.storage import FileSystemStorage

from gallery import processing, tasks
from gallery.models import Clip
from gallery.synth import synthesize
from tests.factories import files_under, make_clip

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def short_video(tmp_path_factory):
    return synthesize(
        tmp_path_factory.mktemp("renders") / "short.mp4", seconds=2, width=320, height=180
    )


def clip_files(media_storage, clip):
    """Every file under the clip's folder, in both storages."""
    return {
        f"{side}/{name}"
        for side in ("private", "public")
        for name in files_under(media_storage / side / "clips" / str(clip.pk))
    }


@pytest.fixture
def storage_full_after(monkeypatch):
    """The disk fills up once `n` more outputs are stored (every later save fails)."""

    def fill_after(n):
        real_save = FileSystemStorage._save
        left = [n]

        def save(self, name, content):
            if name.startswith("clips/") and left[0] <= 0:
                raise OSError(28, "No space left on device")
            left[0] -= 1
            return real_save(self, name, content)

        monkeypatch.setattr(FileSystemStorage, "_save", save)

    return fill_after


def test_a_render_the_storage_fails_partway_leaves_only_the_outputs_in_use(
    media_storage, short_video, storage_full_after, admin_client
):
    clip = make_clip(status=Clip.Status.PUBLISHED, video=short_video)
    before = clip_files(media_storage, clip)
    in_use = clip.media_names
    assert before and in_use
    clip.queue_rendering()
    storage_full_after(3)  # the poster and two thumbnails, then the disk is full
    with pytest.raises(OSError):
        tasks.render_clip.call(clip.pk)

    clip.refresh_from_db()
    assert clip_files(media_storage, clip) == before  # nothing of the failed attempt
    assert clip.media_names == in_use and not clip.rendering_queued
    for name in in_use:  # the outputs in use are all there still
        assert (media_storage / "private" / name).exists()
        assert (media_storage / "public" / name).exists()
    # Staff are told, as before.
    assert "No space left on device" in clip.render_failure
    page = admin_client.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    assert "data-render-failure" in page


def test_a_first_processing_the_storage_fails_partway_stores_nothing(
    media_storage, short_video, storage_full_after
):
    clip = make_clip(status=Clip.Status.PROCESSING, video=short_video)
    before = clip_files(media_storage, clip)  # (another test's clip may have had this pk)
    storage_full_after(2)
    with pytest.raises(OSError):
        processing.process(Clip.objects.get(pk=clip.pk))
    clip.refresh_from_db()
    # Still processing: the watchdog tries again later (and fails it after the last attempt).
    assert clip.status == Clip.Status.PROCESSING and not clip.video
    assert clip_files(media_storage, clip) == before
