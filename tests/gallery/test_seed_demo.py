"""`seed_demo`: real moving scenes with sound, published, in the sizes their names say."""

import html
import io
import shutil

import av
import numpy as np
import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult
from lingua import Language, LanguageDetectorBuilder

from gallery import demo
from gallery.models import Clip
from infra.storage import private_storage

pytestmark = pytest.mark.django_db

LANGUAGES = {
    "fr": Language.FRENCH,
    "en": Language.ENGLISH,
    "de": Language.GERMAN,
    "nl": Language.DUTCH,
    "it": Language.ITALIAN,
    "es": Language.SPANISH,
}


def measure(clip, tmp_path):
    """The published main rendition: its file name, upright size, audio, and a few frames."""
    local = tmp_path / f"{clip.pk}.mp4"
    with private_storage().open(clip.video.name) as src, local.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    with av.open(str(local)) as c:
        video = c.streams.video[0]
        size = (video.codec_context.width, video.codec_context.height)
        has_audio = bool(c.streams.audio)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return clip.video.name.rsplit("/", 1)[-1], size, has_audio, frames


def test_seed_demo_makes_moving_720p_scenes_with_sound_in_their_own_language(tmp_path, client):
    out = io.StringIO()
    call_command("seed_demo", clips=8, inline=6, seconds=1.0, stdout=out)
    assert "2 more demo clips queued for the worker" in out.getvalue()
    assert Clip.objects.published().count() == 6

    # The worker's share: run the queued tasks as the worker would.
    queued = DBTaskResult.objects.filter(task_path="gallery.demo.build_demo_clip")
    assert queued.count() == 2
    for task in queued:
        demo.build_demo_clip.call(*task.args_kwargs["args"], **task.args_kwargs["kwargs"])

    clips = list(Clip.objects.published().order_by("pk"))
    assert len(clips) == 8
    shapes = []
    for clip in clips:
        name, (width, height), has_audio, frames = measure(clip, tmp_path)
        # A file's name says its short side: 360p.mp4 is 640x360 (or 360x640 upright), and
        # 720p.mp4 is 1280x720.
        assert name == f"{min(width, height)}p.mp4", (name, width, height)
        assert max(width, height) * 9 == min(width, height) * 16
        assert (clip.width, clip.height) == (width, height)
        shapes.append((width, height))
        assert has_audio
        # Not a flat card: many colours in a frame, and the picture moves.
        first, last = frames[2], frames[-2]
        assert len(np.unique((first // 8).reshape(-1, 3), axis=0)) > 300
        assert (np.abs(last.astype(int) - first.astype(int)).max(axis=2) > 24).mean() > 0.01
        assert clip.poster and clip.duration == pytest.approx(1.0, abs=0.1)
    # A portrait phone clip, a rotated one, an HD one; the others 640x360.
    assert sorted(shapes) == [(360, 640)] * 2 + [(640, 360)] * 5 + [(1280, 720)]

    # Each title and description is written in the language the clip is marked with.
    detector = LanguageDetectorBuilder.from_languages(*LANGUAGES.values()).build()
    for clip in clips:
        said = detector.detect_language_of(f"{clip.title}. {clip.description}")
        assert said == LANGUAGES[clip.language], clip.title
    assert {clip.language for clip in clips} >= {"fr", "en", "de", "es", "it", "nl"}

    # ... and the gallery marks it so: an English title is lang="en", not the page's French.
    page = client.get("/fr/").content.decode()
    for clip in clips:
        title = html.escape(clip.title, quote=True)
        assert f'lang="{clip.language}">{title}</span>' in page
    featured = {c.title for c in clips if c.featured}
    assert featured == {d.title for d in demo.CATALOGUE[:8] if d.featured}


def test_seed_demo_if_empty_adds_nothing_to_a_gallery_with_clips():
    call_command("seed_demo", clips=1, seconds=0.5, stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo", clips=3, if_empty=True, stdout=out)
    assert "no demo data added" in out.getvalue()
    assert Clip.objects.count() == 1
