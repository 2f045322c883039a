"""Owner uploads in the formats phones and cameras really produce, through the real worker."""

import struct
from pathlib import Path

import av
import pytest
from PIL import Image, ImageStat

from gallery.models import Clip
from gallery.synth import synthesize
from tests.factories import form_data, manage, post, upload, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE_TAGS = {
    "location": "+48.8584+002.2945/",
    "make": "Apple",
    "model": "iPhone 15 Pro",
    "creation_time": "2024-05-01T10:00:00Z",
    "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
}


def top_level_boxes(path):
    boxes, data = [], Path(path).read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def all_tags(path):
    with av.open(str(path)) as container:
        tags = dict(container.metadata)
        for stream in container.streams:
            tags |= {f"{stream.type}:{k}": v for k, v in stream.metadata.items()}
    return tags


def marker_corner(image_path):
    """Which corner holds the red orientation marker."""
    image = Image.open(image_path).convert("RGB")
    w, h = image.size
    s = min(w, h) / 8  # the centre of the synthesizer's marker square
    corners = {
        "top-left": (s, s),
        "top-right": (w - s, s),
        "bottom-left": (s, h - s),
        "bottom-right": (w - s, h - s),
    }

    def redness(point):
        r, g, b = image.getpixel((int(point[0]), int(point[1])))
        return r - (g + b) / 2

    return max(corners, key=lambda name: redness(corners[name]))


@pytest.fixture(scope="module")
def phone_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phone")
    return {
        "h264.mp4": synthesize(folder / "h264.mp4", seconds=3, width=640, height=360, seed=1),
        "rotated-hevc.mov": synthesize(
            folder / "rotated-hevc.mov",
            seconds=3,
            width=640,
            height=360,
            codec="hevc",
            rotation=90,
            metadata=SOURCE_TAGS,
            seed=2,
        ),
        "vp9.webm": synthesize(folder / "vp9.webm", seconds=3, width=640, height=360, seed=3),
    }


def test_uploads_go_through_the_worker_to_review_as_safe_h264(client, media_storage, phone_clips):
    for name, path in phone_clips.items():
        assert post(client, form_data(upload(path), title=name), lang="en").status_code == 302
    assert Clip.objects.filter(status=Clip.Status.PROCESSING).count() == 3

    worker = manage(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", env=worker_env(media_storage)
    )
    assert worker.wait(timeout=300) == 0

    for name in phone_clips:
        clip = Clip.objects.get(title=name)
        assert clip.status == Clip.Status.REVIEW, (name, clip.failure_reason)
        rendition = media_storage / "private" / clip.video.name
        with av.open(str(rendition)) as container:
            video = container.streams.video[0]
            audio = container.streams.audio[0]
            assert video.codec_context.name == "h264" and video.codec_context.profile == "High"
            assert audio.codec_context.name == "aac"
            assert abs(float(container.duration / av.time_base) - 3) < 0.3
        boxes = top_level_boxes(rendition)
        assert boxes.index("moov") < boxes.index("mdat"), boxes
        leaked = {
            k: v
            for k, v in all_tags(rendition).items()
            if any(word in k.lower() for word in ("location", "make", "model", "creation", "gps"))
        }
        assert leaked == {}, (name, leaked)
        poster = media_storage / "private" / clip.poster.name
        image = Image.open(poster).convert("L")
        assert ImageStat.Stat(image).mean[0] > 30, f"{name}: black poster"
        if name == "rotated-hevc.mov":
            assert (clip.width, clip.height) == (360, 640)
            assert image.height > image.width
        assert marker_corner(poster) == "top-left", name
        assert {t["width"] for t in clip.thumbnails} >= {320}
        assert all(
            (media_storage / "private" / t[f]).exists()
            for t in clip.thumbnails
            for f in ("webp", "jpeg")
        )
        # The original stays private and untouched, but for its location, blanked in place.
        original = (media_storage / "private" / clip.original.name).read_bytes()
        sent = phone_clips[name].read_bytes()
        assert len(original) == len(sent)
        assert b"48.8584" not in original
        if b"48.8584" not in sent:
            assert original == sent, name
