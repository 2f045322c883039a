"""gallery.media on real files: probe judges content, posters stand upright, outputs are clean."""

import io
import json
import os
import shutil
import struct
import subprocess
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from django.utils import translation
from PIL import Image as PILImage
from PIL import ImageStat

from gallery import media, synth
from gallery.processing import media_error_message, recovery_message
from gallery.synth import MARKER_RGB, synthesize
from tests.factories import heic_photo

PHONE_TAGS = {
    "location": "+48.8584+002.2945/",
    "make": "Apple",
    "model": "iPhone 15",
    "creation_time": "2024-05-01T10:00:00Z",
    "title": "My secret drive",
    "comment": "home address inside",
}
APPLE_TAGS = {
    "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 15",
    "creation_time": "2024-05-01T10:00:00Z",
}
LEAKY_WORDS = [b"48.8584", b"iPhone", b"Apple", b"secret drive", b"home address", b"2024-05-01"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Small real clips, made once for the module."""
    d = tmp_path_factory.mktemp("clips")
    return {
        "h264": synthesize(d / "h264.mp4", seconds=2, width=320, height=180, title="H264", seed=1),
        "phone": synthesize(
            d / "phone.mov",
            seconds=2,
            width=320,
            height=180,
            codec="hevc",
            rotation=90,
            metadata=PHONE_TAGS,
            title="Phone",
            seed=2,
        ),
        "apple": synthesize(
            d / "apple.mov",
            seconds=1,
            width=320,
            height=180,
            rotation=90,
            metadata=APPLE_TAGS,
            seed=6,
        ),
        "vp9": synthesize(d / "vp9.webm", seconds=2, width=320, height=180, title="VP9", seed=3),
        "hevc10": synthesize(
            d / "hevc10.mp4", seconds=2, width=320, height=180, codec="hevc10", seed=4
        ),
        "voice": synthesize(d / "voice.m4a", seconds=2),
        "mute": synthesize(d / "mute.mp4", seconds=1, width=160, height=90, audio=False, seed=5),
    }


@pytest.fixture(scope="module")
def hd_portrait(tmp_path_factory):
    """A phone's 1080p portrait clip: 1920x1080 pixels with a 90 degree flag."""
    d = tmp_path_factory.mktemp("hd")
    return synthesize(
        d / "portrait.mov",
        seconds=1,
        width=1920,
        height=1080,
        fps=15,
        rotation=90,
        metadata=PHONE_TAGS,
        title="Tall",
        seed=8,
    )


def code_of(path, **limits):
    with pytest.raises(media.MediaError) as caught:
        media.probe(path, **limits)
    return caught.value.code


def is_marker(rgb):
    return abs(rgb[0] - MARKER_RGB[0]) < 45 and rgb[1] < 90 and rgb[2] < 90


def assert_upright(image):
    """The synth marker sits in the top-left corner of the picture as shown, nowhere else."""
    w, h = image.size
    m = max(4, min(w, h) // 8)
    assert is_marker(image.getpixel((m, m))), image.getpixel((m, m))
    for corner in [(w - m, m), (m, h - m), (w - m, h - m)]:
        assert not is_marker(image.getpixel(corner)), corner


def top_level_boxes(path):
    boxes, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


# --------------------------------------------------------------------------- probe


def test_probe_h264_mp4(clips):
    info = media.probe(clips["h264"])
    assert info == media.ProbeResult(
        duration=2.0,
        width=320,
        height=180,
        rotation=0,
        video_codec="h264",
        audio_codec="aac",
        fps=25.0,
        bit_depth=8,
        # Untagged standard definition: BT.601, as players assume.
        colour=media.Colour(matrix="bt601"),
    )


def test_probe_rotated_hevc_mov_is_portrait(clips):
    info = media.probe(clips["phone"])
    assert (info.width, info.height, info.rotation) == (180, 320, 90)
    assert (info.video_codec, info.audio_codec) == ("hevc", "aac")
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_probe_vp9_webm(clips):
    info = media.probe(clips["vp9"])
    assert (info.video_codec, info.audio_codec, info.width, info.height) == (
        "vp9",
        "opus",
        320,
        180,
    )
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.fps == 25.0


def test_probe_ten_bit_hevc(clips):
    info = media.probe(clips["hevc10"])
    assert (info.video_codec, info.bit_depth) == ("hevc", 10)


def test_probe_without_audio(clips):
    assert media.probe(clips["mute"]).audio_codec is None


def test_probe_limits_pass_at_the_limit(clips):
    assert media.probe(clips["h264"], max_seconds=2, max_side=320).width == 320


def test_empty(tmp_path):
    (tmp_path / "e.mp4").write_bytes(b"")
    assert code_of(tmp_path / "e.mp4") == "empty"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"Dear gallery, this is not a video.\n" * 50, id="text"),
        pytest.param(b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", id="playlist"),
        pytest.param(b"\x00" * 4096, id="zeros"),
    ],
)
def test_not_video_bytes(tmp_path, content):
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    assert code_of(path) == "not_video"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_still_image_renamed_is_named_a_picture(tmp_path, fmt):
    buf = io.BytesIO()
    PILImage.new("RGB", (320, 180), (200, 40, 40)).save(buf, fmt)
    path = tmp_path / "photo.mp4"
    path.write_bytes(buf.getvalue())
    assert code_of(path) == "still_image"


def test_zip_renamed_is_not_video(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("clip.txt", "x" * 5000)
    path = tmp_path / "archive.mp4"
    path.write_bytes(buf.getvalue())
    assert code_of(path) == "not_video"


def test_audio_only(clips):
    assert code_of(clips["voice"]) == "audio_only"


def test_truncated_mp4_moov_at_end(clips, tmp_path):
    data = clips["h264"].read_bytes()
    assert top_level_boxes(clips["h264"])[-1] == "moov"
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    # The index is written last: a file without it was cut off where it was recorded.
    assert code_of(cut) == "cut_off"


def test_truncated_mp4_moov_first(clips, tmp_path):
    rendition = media.transcode(clips["h264"], tmp_path / "out")[0].path
    assert top_level_boxes(rendition).index("moov") < top_level_boxes(rendition).index("mdat")
    data = rendition.read_bytes()
    for keep in (0.6, 0.97):
        cut = tmp_path / f"cut-{keep}.mp4"
        cut.write_bytes(data[: int(len(data) * keep)])
        assert code_of(cut) == "corrupt", keep


def test_damaged_body(clips, tmp_path):
    rendition = media.transcode(clips["h264"], tmp_path / "out")[0].path
    data = bytearray(rendition.read_bytes())
    third = len(data) // 3
    data[third : 2 * third] = bytes(third)
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(bytes(data))
    assert code_of(path) == "corrupt"


def test_truncated_webm(clips, tmp_path):
    data = clips["vp9"].read_bytes()
    cut = tmp_path / "cut.webm"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    assert code_of(cut) == "corrupt"


def test_too_long(clips):
    assert code_of(clips["h264"], max_seconds=1.5) == "too_long"


def test_too_large(clips):
    assert code_of(clips["h264"], max_side=300) == "too_large"
    # The long side counts, whichever way the clip is turned.
    assert code_of(clips["phone"], max_side=300) == "too_large"


# --------------------------------------------------------------------------- poster


def test_frame_is_black():
    assert media.frame_is_black(PILImage.new("RGB", (64, 36), (3, 3, 3)))
    assert not media.frame_is_black(PILImage.new("RGB", (64, 36), (90, 90, 90)))
    dark_night = PILImage.new("RGB", (64, 36), (5, 5, 5))
    dark_night.paste((240, 220, 120), (20, 10, 40, 26))  # a lit window in the night
    assert not media.frame_is_black(dark_night)


def test_poster_and_thumbnails_small_source(clips, tmp_path):
    result = media.make_poster(clips["h264"], tmp_path)
    assert result.poster == media.Image(tmp_path / "poster.jpg", 320, 180, "jpeg")
    # Only the smallest width fits a 320 px source; never upscaled.
    assert [(t.width, t.height, t.format) for t in result.thumbnails] == [
        (320, 180, "webp"),
        (320, 180, "jpeg"),
    ]
    with PILImage.open(result.poster.path) as img:
        assert img.format == "JPEG" and img.size == (320, 180)
        assert not media.frame_is_black(img)
        assert_upright(img.convert("RGB"))
    for thumb in result.thumbnails:
        assert (
            thumb.path.name == f"thumb-{thumb.width}.{'jpg' if thumb.format == 'jpeg' else 'webp'}"
        )
        with PILImage.open(thumb.path) as img:
            assert img.format == thumb.format.upper() and img.size == (thumb.width, thumb.height)


def test_poster_from_tiny_source_keeps_its_width(tmp_path):
    clip = synthesize(tmp_path / "tiny.mp4", seconds=1, width=160, height=90)
    result = media.make_poster(clip, tmp_path / "out")
    assert {(t.width, t.height) for t in result.thumbnails} == {(160, 90)}


def test_poster_upright_for_rotated_clip(clips, tmp_path):
    result = media.make_poster(clips["phone"], tmp_path)
    assert (result.poster.width, result.poster.height) == (180, 320)
    with PILImage.open(result.poster.path) as img:
        assert img.size == (180, 320)
        assert_upright(img.convert("RGB"))


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_every_rotation_comes_out_upright(tmp_path, rotation):
    clip = synthesize(tmp_path / "r.mov", seconds=0.6, width=160, height=96, rotation=rotation)
    info = media.probe(clip)
    shown = (96, 160) if rotation in (90, 270) else (160, 96)
    assert (info.rotation, (info.width, info.height)) == (rotation, shown)
    poster = media.make_poster(clip, tmp_path / "out", probe_result=info).poster
    with PILImage.open(poster.path) as img:
        assert img.size == shown
        assert_upright(img.convert("RGB"))
    (r,) = media.transcode(clip, tmp_path / "out", probe_result=info)
    with av.open(str(r.path)) as c:
        frame = list(c.decode(video=0))[-1]
    assert (frame.rotation, frame.width, frame.height) == (0, *shown)
    assert_upright(frame.to_image())


def test_poster_hd_portrait_widths(hd_portrait, tmp_path):
    result = media.make_poster(hd_portrait, tmp_path)
    assert (result.poster.width, result.poster.height) == (1080, 1920)
    sizes = [(t.width, t.height, t.format) for t in result.thumbnails]
    # 1280 is wider than the 1080 px source: skipped.
    assert sizes == [
        (320, 569, "webp"),
        (320, 569, "jpeg"),
        (400, 711, "webp"),
        (400, 711, "jpeg"),
        (640, 1138, "webp"),
        (640, 1138, "jpeg"),
    ]
    with PILImage.open(result.thumbnails[0].path) as img:
        assert_upright(img.convert("RGB"))


def test_poster_skips_black_frames(tmp_path):
    clip = black_then_bright(tmp_path / "fade.mp4", black_until=1.3, seconds=2)
    result = media.make_poster(clip, tmp_path / "out")
    with PILImage.open(result.poster.path) as img:
        assert not media.frame_is_black(img)
        assert ImageStat.Stat(img.convert("L")).mean[0] > 100


def test_poster_wider_than_1280_is_scaled(tmp_path):
    clip = synthesize(tmp_path / "wide.mp4", seconds=0.5, width=1600, height=400, fps=10)
    result = media.make_poster(clip, tmp_path / "out")
    assert (result.poster.width, result.poster.height) == (1280, 320)
    assert [t.width for t in result.thumbnails] == [320, 320, 400, 400, 640, 640, 1280, 1280]


# --------------------------------------------------------------------------- transcode


def streams_of(path):
    with av.open(str(path)) as c:
        return [
            (
                s.type,
                s.codec_context.name,
                s.codec_context.profile,
                getattr(s.codec_context.format, "name", None),
            )
            for s in c.streams
        ]


def all_tags(path):
    with av.open(str(path)) as c:
        tags = dict(c.metadata)
        for s in c.streams:
            tags.update({f"{s.type}:{k}": v for k, v in s.metadata.items()})
        return tags


def assert_clean(path):
    tags = {k.lower(): v for k, v in all_tags(path).items()}
    for key in (
        "location",
        "location-eng",
        "make",
        "model",
        "creation_time",
        "title",
        "comment",
        "com.apple.quicktime.location.iso6709",
        "com.apple.quicktime.make",
    ):
        assert not any(k == key or k.endswith(":" + key) for k in tags), (key, tags)
    # Not hidden anywhere else in the file either (udta, mdta keys, SEI...).
    data = path.read_bytes()
    for word in LEAKY_WORDS:
        assert word not in data, word


def test_transcode_h264(clips, tmp_path):
    renditions = media.transcode(clips["h264"], tmp_path)
    # A 180p source makes one rendition, named for the size it has (not "720p").
    assert [r.label for r in renditions] == ["180p"]
    r = renditions[0]
    assert r.path == tmp_path / "180p.mp4" and (r.width, r.height) == (320, 180)
    assert r.size == r.path.stat().st_size > 5000
    assert r.duration == pytest.approx(2.0, abs=0.05)
    assert streams_of(r.path) == [
        ("video", "h264", "High", "yuv420p"),
        ("audio", "aac", "LC", "fltp"),
    ]
    with av.open(str(r.path)) as c:
        audio = c.streams.audio[0].codec_context
        assert (audio.sample_rate, audio.layout.name) == (48000, "stereo")
        decoded = list(c.decode(video=0))
    assert len(decoded) == 50
    boxes = top_level_boxes(r.path)
    assert boxes.index("moov") < boxes.index("mdat")


def test_transcode_rotated_phone_clip_is_upright_and_clean(clips, tmp_path):
    source_tags = all_tags(clips["phone"])
    assert source_tags["location"] and source_tags["make"] == "Apple"  # the test means something
    (r,) = media.transcode(clips["phone"], tmp_path)
    assert (r.width, r.height) == (180, 320)
    assert_clean(r.path)
    with av.open(str(r.path)) as c:
        frame = list(c.decode(video=0))[-1]
    assert frame.rotation == 0 and (frame.width, frame.height) == (180, 320)
    assert_upright(frame.to_image())
    assert media.probe(r.path).rotation == 0


def test_transcode_drops_apple_keys(clips, tmp_path):
    assert "com.apple.quicktime.location.ISO6709" in all_tags(clips["apple"])
    (r,) = media.transcode(clips["apple"], tmp_path)
    assert_clean(r.path)


def test_transcode_hd_portrait_makes_both(hd_portrait, tmp_path):
    renditions = media.transcode(hd_portrait, tmp_path)
    assert [(r.label, r.width, r.height) for r in renditions] == [
        ("720p", 720, 1280),
        ("1080p", 1080, 1920),
    ]
    for r in renditions:
        assert r.path.name == f"{r.label}.mp4"
        assert r.duration == pytest.approx(1.0, abs=0.1)
        assert streams_of(r.path)[0] == ("video", "h264", "High", "yuv420p")
        boxes = top_level_boxes(r.path)
        assert boxes.index("moov") < boxes.index("mdat")
        assert_clean(r.path)
        with av.open(str(r.path)) as c:
            frame = list(c.decode(video=0))[-1]
        assert frame.rotation == 0
        assert_upright(frame.to_image())


def test_transcode_ten_bit_source_gives_eight_bit_high(clips, tmp_path):
    (r,) = media.transcode(clips["hevc10"], tmp_path)
    assert streams_of(r.path)[0] == ("video", "h264", "High", "yuv420p")
    assert media.probe(r.path).bit_depth == 8


def test_transcode_vp9_webm(clips, tmp_path):
    (r,) = media.transcode(clips["vp9"], tmp_path)
    assert streams_of(r.path) == [
        ("video", "h264", "High", "yuv420p"),
        ("audio", "aac", "LC", "fltp"),
    ]
    assert r.duration == pytest.approx(2.0, abs=0.06)


def test_transcode_without_audio_has_no_audio_track(clips, tmp_path):
    (r,) = media.transcode(clips["mute"], tmp_path)
    assert [s[0] for s in streams_of(r.path)] == ["video"]


def test_transcode_keeps_av_sync(tmp_path):
    # A flash on screen and a beep in the audio at the same instant, with the audio track
    # starting later than the video (as many phone files do).
    src = flash_and_beep(tmp_path / "sync.mp4", at=1.2, audio_delay=0.3)
    assert abs(flash_time(src) - beep_time(src)) < 0.03
    (r,) = media.transcode(src, tmp_path / "out")
    assert flash_time(r.path) == pytest.approx(1.2, abs=0.045)
    assert abs(flash_time(r.path) - beep_time(r.path)) < 0.03


def test_transcode_gop_is_about_two_seconds(tmp_path):
    clip = synthesize(tmp_path / "long.mp4", seconds=6.5, width=160, height=90)
    (r,) = media.transcode(clip, tmp_path / "out")
    with av.open(str(r.path)) as c:
        keys = [float(p.pts * p.time_base) for p in c.demux(video=0) if p.is_keyframe and p.size]
    assert keys[:4] == pytest.approx([0.0, 2.0, 4.0, 6.0], abs=0.05)


# --------------------------------------------------------------------------- clip builders


def _write(path, video_frames, audio_chunks, fps=25, rate=48000):
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 160, 90, "yuv420p"
        v.options = {"preset": "ultrafast"}
        a = out.add_stream("aac", rate=rate) if audio_chunks else None
        if a:
            a.layout = "stereo"
        for i, rgb in enumerate(video_frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        for start, samples in audio_chunks:
            frame = av.AudioFrame.from_ndarray(
                np.stack([samples, samples]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(a.encode(frame))
        for stream in filter(None, (v, a)):
            out.mux(stream.encode())
    return path


def black_then_bright(path, *, black_until, seconds, fps=25):
    frames = []
    rng = np.random.default_rng(0)
    for i in range(int(seconds * fps)):
        if i / fps < black_until:
            frames.append(np.zeros((90, 160, 3), np.uint8))
        else:
            frames.append(rng.integers(120, 220, (90, 160, 3), dtype=np.uint8))
    return _write(path, frames, [])


def flash_and_beep(path, *, at, audio_delay, seconds=2.0, fps=25, rate=48000):
    frames = [
        np.full((90, 160, 3), 255 if i / fps >= at else 30, np.uint8)
        for i in range(int(seconds * fps))
    ]
    chunks = []
    first = int(audio_delay * rate)
    for start in range(first, int(seconds * rate), 1024):
        t = np.arange(start, start + 1024) / rate
        chunks.append(
            (start, np.where(t >= at, 0.5 * np.sin(2 * np.pi * 1000 * t), 0).astype(np.float32))
        )
    return _write(path, frames, chunks, fps, rate)


def flash_time(path):
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            if ImageStat.Stat(frame.to_image().convert("L")).mean[0] > 128:
                return frame.time
    raise AssertionError("no flash")


def beep_time(path):
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            samples = np.abs(frame.to_ndarray()).max(axis=0)
            loud = np.flatnonzero(samples > 0.1)
            if loud.size:
                return frame.time + loud[0] / frame.sample_rate
    raise AssertionError("no beep")


@pytest.mark.parametrize("name", ["phone", "apple"])
def test_posters_and_thumbnails_carry_no_exif_gps_or_other_tags(clips, tmp_path, name):
    tags = all_tags(clips[name])
    assert any("location" in key.lower() for key in tags), tags  # the source really has some
    poster = media.make_poster(clips[name], tmp_path)
    images = [poster.poster, *poster.thumbnails]
    assert {i.path.suffix for i in images} == {".jpg", ".webp"}
    for image in images:
        with PILImage.open(image.path) as opened:
            assert len(opened.getexif()) == 0, image.path.name
            kept = {"exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"} & set(opened.info)
            assert not kept, (image.path.name, kept)
            if opened.format == "JPEG":
                # Only the JFIF header: no APP1 (EXIF, XMP) or any other application segment.
                assert [m for m, _ in opened.applist] == ["APP0"], opened.applist
        data = image.path.read_bytes()
        for word in [*LEAKY_WORDS, b"Exif\0\0", b"<x:xmpmeta", b"EXIF", b"XMP "]:
            assert word not in data, (image.path.name, word)


# --------------------------------------------------------------------------- owners' real footage
#
# Colour: the same colour-bar and skin-tone scene recorded as SDR BT.709, BT.601, HLG (an
# iPhone: HEVC Main10 in MOV, hvc1, portrait, Apple tags) and PQ (an HDR10 Android phone).
# Every rendition and poster is compared with the scene itself. Patches are compared by
# CIEDE2000, the colour difference that follows what eyes see: about 1 is the smallest
# visible step, 2-3 is seen only side by side. A tagged SDR source must stay within 3 (the
# conversion itself costs little more than the 8-bit rounding); an HDR source within 10: tone
# mapping must compress the brighter range, and 10 keeps the colour's name and a believable
# skin and paint (the untreated HLG of issue 14 was off by 20 to 30 on these patches).

COLOUR_CASES = {
    "sdr": {"kind": "sdr", "name": "sdr.mp4", "size": (320, 180)},
    "bt601": {"kind": "bt601", "name": "bt601.mp4", "size": (320, 180)},
    "hlg": {
        "kind": "hlg",
        "name": "iphone-hlg.mov",
        "size": (180, 320),  # portrait: 320x180 pixels turned 90 degrees
        "rotation": 90,
        "metadata": APPLE_TAGS,
    },
    "pq": {"kind": "pq", "name": "android-pq.mp4", "size": (320, 180), "metadata": PHONE_TAGS},
    # An iPhone's Dolby Vision: profile 8.4, an HLG base layer with a dvvC box in its hvc1
    # sample entry. Players without Dolby Vision show the HLG picture: so must we.
    "dv84": {
        "kind": "hlg",
        "name": "iphone-dv84.mov",
        "size": (180, 320),
        "rotation": 90,
        "metadata": APPLE_TAGS,
        "dolby_vision": True,
    },
}
DELTA_E_LIMIT = {"sdr": 3, "bt601": 3, "hlg": 10, "pq": 10, "dv84": 10}


@pytest.fixture(scope="module")
def colour_outputs(tmp_path_factory):
    """{case: (probe, upright rendition RGB, upright poster RGB, rendition path)}."""
    d = tmp_path_factory.mktemp("colour")
    outputs = {}
    for case, spec in COLOUR_CASES.items():
        width, height = spec["size"]
        src = synth.synthesize_colour(
            d / spec["name"],
            kind=spec["kind"],
            width=width,
            height=height,
            seconds=1,
            rotation=spec.get("rotation", 0),
            metadata=spec.get("metadata"),
        )
        if spec.get("dolby_vision"):
            src = with_dolby_vision_84(src)
        info = media.probe(src)
        poster = media.make_poster(src, d / case, probe_result=info)
        (rendition,) = media.transcode(src, d / case, probe_result=info)
        outputs[case] = (
            info,
            rendition_rgb(rendition.path),
            np.asarray(PILImage.open(poster.poster.path).convert("RGB")),
            rendition.path,
        )
    return outputs


def dolby_vision_record(profile=8, level=1, compatibility=4):
    """A DOVIDecoderConfigurationRecord (Dolby Vision streams within ISOBMFF): 24 bytes.

    version 1.0; profile (7 bits), level (6), RPU, EL and BL present flags (1 each),
    dv_bl_signal_compatibility_id (4): 4 is an HLG base layer; the rest reserved zeros.
    """
    flags = profile << 9 | level << 3 | 1 << 2 | 0 << 1 | 1  # an RPU, no EL, a BL
    return bytes([1, 0]) + flags.to_bytes(2, "big") + bytes([compatibility << 4]) + bytes(19)


def with_dolby_vision_84(src):
    """`src` (an HLG hvc1 MOV, index last) with a `dvvC` box in its video sample entry.

    The box goes at the end of the hvc1 entry and every box around it grows by its size;
    the index comes after the media data, so no chunk offset moves.
    """
    data = bytearray(src.read_bytes())
    box = struct.pack(">I4s", 8 + 24, b"dvvC") + dolby_vision_record()

    def children(start, end, skip=0):
        pos = start + skip
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos : pos + 8])
            yield kind, pos, pos + size
            pos += size

    path, found = [], None
    top = [(k, a, b) for k, a, b in children(0, len(data))]
    assert [k for k, _, _ in top].index(b"mdat") < [k for k, _, _ in top].index(b"moov")
    (moov,) = [(a, b) for k, a, b in top if k == b"moov"]
    for _, trak_start, trak_end in (c for c in children(*moov, 8) if c[0] == b"trak"):
        stack = [(b"trak", trak_start, trak_end)]
        for kind, skip in ((b"mdia", 8), (b"minf", 8), (b"stbl", 8), (b"stsd", 8), (b"hvc1", 16)):
            matches = [c for c in children(stack[-1][1], stack[-1][2], skip) if c[0] == kind]
            if not matches:
                break
            stack.append(matches[0])
        else:
            path, found = [(b"moov", *moov), *stack], stack[-1]
    assert found, "no hvc1 sample entry"
    data[found[2] : found[2]] = box
    for _, start, _ in path:
        size = struct.unpack(">I", data[start : start + 4])[0]
        data[start : start + 4] = struct.pack(">I", size + len(box))
    dst = src.with_name(src.stem + "-dv.mov")
    dst.write_bytes(bytes(data))
    return dst


def rendition_rgb(path, index=0):
    """A rendition's frame as R'G'B', read the way its BT.709 limited-range tags say."""
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == index:
                return frame.reformat(
                    format="rgb24",
                    src_colorspace="ITU709",
                    src_color_range="MPEG",
                    dst_color_range="JPEG",
                ).to_ndarray()
    raise AssertionError("no such frame")


def test_ciede2000_matches_published_pairs():
    # Sharma, Wu and Dalal's test data: pairs 1, 7 and 17.
    assert synth.ciede2000_lab((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(
        2.0425, abs=1e-3
    )
    assert synth.ciede2000_lab((50, 0, 0), (50, -1, 2)) == pytest.approx(2.3669, abs=1e-3)
    assert synth.ciede2000_lab((50, 2.5, 0), (73, 25, -18)) == pytest.approx(27.1492, abs=1e-3)


@pytest.mark.parametrize("case", COLOUR_CASES)
@pytest.mark.parametrize("output", ["rendition", "poster"])
def test_colour_matches_the_sdr_scene(colour_outputs, case, output):
    info, rendition, poster, _ = colour_outputs[case]
    rgb = rendition if output == "rendition" else poster
    # Upright: the portrait iPhone clip comes out portrait, its patches where they belong.
    assert (rgb.shape[1], rgb.shape[0]) == COLOUR_CASES[case]["size"]
    report = synth.colour_report(rgb)
    assert abs(report["luma"]) <= 8, report
    assert abs(report["saturation"]) <= 0.05, report
    for name in ("red", "green", "white", "skin"):
        assert report[name] <= DELTA_E_LIMIT[case], (name, report)


def test_colour_is_detected_from_the_source(colour_outputs):
    detected = {case: out[0].colour for case, out in colour_outputs.items()}
    assert detected["sdr"] == media.Colour()
    assert detected["bt601"] == media.Colour(matrix="bt601")
    assert detected["hlg"] == media.Colour("arib-std-b67", "bt2020", "bt2020nc")
    assert detected["pq"] == media.Colour("smpte2084", "bt2020", "bt2020nc")
    assert detected["dv84"] == detected["hlg"]  # its base layer, read as HLG
    assert colour_outputs["hlg"][0].bit_depth == 10


def test_dolby_vision_source_really_says_so_and_no_output_does(colour_outputs):
    # Read back by Debian's ffprobe, an independent reader of the configuration box.
    rendition = colour_outputs["dv84"][3]
    src = rendition.parents[1] / "iphone-dv84-dv.mov"
    ffprobe = str(Path(debian_ffmpeg()).with_name("ffprobe"))
    shown = subprocess.run(
        [ffprobe, "-v", "error", "-show_streams", "-select_streams", "v", "-of", "json", src],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    side_data = json.loads(shown)["streams"][0]["side_data_list"]
    (side,) = [sd for sd in side_data if sd["side_data_type"] == "DOVI configuration record"]
    assert (side["dv_profile"], side["dv_bl_signal_compatibility_id"]) == (8, 4)
    assert side["rpu_present_flag"] == 1 and side["bl_present_flag"] == 1
    # Our renditions are plain SDR H.264: no Dolby Vision box may follow.
    data = rendition.read_bytes()
    assert b"dvvC" not in data and b"dvcC" not in data and b"dvh1" not in data


@pytest.mark.parametrize("case", COLOUR_CASES)
def test_colour_outputs_are_tagged_bt709_and_keep_the_old_guarantees(colour_outputs, case):
    _, _, _, path = colour_outputs[case]
    with av.open(str(path)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        frame = next(c.decode(video=0))
        assert (frame.color_primaries, frame.color_trc, frame.colorspace) == (1, 1, 1)
        assert frame.color_range == 1  # limited
        assert video.codec_context.profile == "High"
        assert video.codec_context.format.name == "yuv420p"
        # In sync: picture and sound start together and last as long as each other.
        v_len = float(video.duration * video.time_base)
        a_len = float(audio.duration * audio.time_base)
        assert abs(v_len - a_len) < 0.1
    assert_clean(path)
    # No HDR or display side data survives into the bitstream.
    data = path.read_bytes()
    assert b"mdcv" not in data and b"clli" not in data


def test_untagged_ten_bit_is_treated_as_bt709(clips):
    # A 10-bit clip says nothing of its colours: it is SDR, not guessed to be HDR.
    assert media.probe(clips["hevc10"]).colour.transfer == "bt709"


# --------------------------------------------------------------------------- frame rate


def h264_level(path):
    with av.open(str(path)) as c:
        return c.streams.video[0].codec_context.extradata[3]  # avcC level_idc, e.g. 42 for 4.2


def frame_times(path):
    with av.open(str(path)) as c:
        return [float(p.pts * p.time_base) for p in c.demux(video=0) if p.size]


def test_slow_motion_source_is_thinned_evenly_and_keeps_sync(tmp_path):
    src = flash_and_beep(tmp_path / "slowmo.mp4", at=1.2, audio_delay=0.0, fps=240)
    assert media.probe(src).fps == 240
    (r,) = media.transcode(src, tmp_path / "out")
    times = sorted(frame_times(r.path))
    # Above 60 fps, the 720p is made at 30: every eighth frame, evenly spaced.
    assert len(times) == pytest.approx(60, abs=1)
    assert np.diff(times) == pytest.approx(np.full(len(times) - 1, 1 / 30), abs=0.002)
    assert r.duration == pytest.approx(2.0, abs=0.05)
    assert flash_time(r.path) == pytest.approx(1.2, abs=1 / 30 + 0.01)
    assert abs(flash_time(r.path) - beep_time(r.path)) < 1 / 30 + 0.01
    assert h264_level(r.path) <= 31


def test_high_frame_rate_full_hd_gives_60_and_30_at_level_4_2_at_most(tmp_path):
    src = synthesize(tmp_path / "hfr.mp4", seconds=0.25, width=1920, height=1080, fps=120)
    renditions = {r.label: r for r in media.transcode(src, tmp_path / "out")}
    for label, most in (("1080p", 60), ("720p", 30)):
        times = sorted(frame_times(renditions[label].path))
        assert len(times) <= most * 0.25 + 1, label
        assert np.diff(times).min() >= 1 / most - 0.002, label
        assert renditions[label].duration == pytest.approx(0.25, abs=0.05)
        assert h264_level(renditions[label].path) <= 42, label


def test_variable_frame_rate_keeps_its_timing(tmp_path):
    # A phone's VFR: 30 fps, then a dim stretch at 15 fps, then 30 again; no frame is added.
    times = [i / 30 for i in range(30)] + [1 + i / 15 for i in range(15)]
    times += [2 + i / 30 for i in range(30)]
    src = tmp_path / "vfr.mp4"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 160, 90, "yuv420p"
        v.codec_context.time_base = Fraction(1, 1000)
        v.options = {"preset": "ultrafast"}
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((90, 160, 3), i * 3, np.uint8), "rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            out.mux(v.encode(frame))
        out.mux(v.encode())
    (r,) = media.transcode(src, tmp_path / "out")
    assert sorted(frame_times(r.path)) == pytest.approx(times, abs=0.002)


# --------------------------------------------------------------------------- dashcam

DASHCAM_FPS = 36


@pytest.fixture(scope="module")
def dashcam(tmp_path_factory):
    """Two files from the car's front camera: 1280x960, 36 fps, no sound, the car's names."""
    d = tmp_path_factory.mktemp("dashcam")
    files = {}
    for name, seed in (("2026-11-01_10-00-00-front.mp4", 1), ("2026-11-01_10-01-00-front.mp4", 2)):
        files[name] = synthesize(
            d / name,
            seconds=1.5,
            width=1280,
            height=960,
            fps=DASHCAM_FPS,
            audio=False,
            seed=seed,
        )
    return list(files.values())


def decoded_frames(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def power_cut(src, dst, keep):
    """`src` as a camera leaves it when power fails: no index, the data cut at `keep`."""
    data = src.read_bytes()
    assert top_level_boxes(src)[-1] == "moov"
    moov = data.rfind(b"moov") - 4
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[: int(moov * keep)])
    return dst


def test_cut_off_dashcam_file_alone_is_named_cut_off(dashcam, tmp_path):
    cut = power_cut(dashcam[1], tmp_path / "cut" / dashcam[1].name, 0.95)
    assert code_of(cut) == "cut_off"
    assert media.recover_with_siblings([cut]) == [(cut, None)]
    with translation.override("en"):
        message = media_error_message(media.MediaError("cut_off"))
    assert "the recording was cut off before the camera finished writing it" in message.lower()


def test_cut_off_dashcam_file_is_rebuilt_from_its_sibling(dashcam, tmp_path):
    healthy, victim = dashcam
    cut = power_cut(victim, tmp_path / "cut" / victim.name, 0.95)
    sibling = tmp_path / "cut" / "part-1.mp4"
    sibling.write_bytes(healthy.read_bytes())
    ((path, recovery),) = media.recover_with_siblings([cut, sibling], names={sibling: healthy.name})
    assert path == cut and recovery.reference == sibling
    original = decoded_frames(victim)
    rebuilt = decoded_frames(recovery.path)
    assert len(rebuilt) >= 0.9 * len(original)
    assert recovery.frames == len(rebuilt)
    assert recovery.seconds == pytest.approx(len(rebuilt) / DASHCAM_FPS, abs=0.01)
    # The very pictures the camera recorded, in order.
    for i in (0, len(rebuilt) // 2, len(rebuilt) - 1):
        assert np.abs(rebuilt[i].astype(int) - original[i]).max() == 0, i
    info = media.probe(recovery.path)
    assert info.fps == pytest.approx(DASHCAM_FPS) and (info.width, info.height) == (1280, 960)
    with translation.override("en"):
        assert "seconds of the cut-off recording were saved" in recovery_message(recovery)


def test_dashcam_file_whose_index_never_came_is_rebuilt_whole(dashcam, tmp_path):
    healthy, victim = dashcam
    cut = power_cut(victim, tmp_path / "whole" / victim.name, 1.0)  # the data complete
    assert media.is_cut_off(cut) and not media.is_cut_off(healthy)
    recovery = media.recover_truncated(cut, healthy, tmp_path / "rebuilt.mp4")
    assert recovery.frames == len(decoded_frames(victim))


# --------------------------------------------------------------------------- near-videos


def test_heic_photo_is_a_single_picture_even_named_as_a_video(tmp_path):
    # An iPhone photo or a Live Photo's still: HEVC in HEIF boxes (ftyp, meta, mdat), which
    # must not read as a movie cut off before its index.
    photo = heic_photo(tmp_path / "IMG_0001.HEIC")
    assert photo.read_bytes()[4:12] == b"ftypheic"
    assert code_of(photo) == "still_image"
    renamed = photo.with_name("IMG_0001.MOV")
    shutil.copy(photo, renamed)
    assert code_of(renamed) == "still_image"
    assert not media.is_cut_off(renamed)
    with open(renamed, "rb") as fh, pytest.raises(media.MediaError) as caught:
        media.probe(fh)  # a file object, as read from S3
    assert caught.value.code == "still_image"


def test_single_frame_video_is_a_still_picture(tmp_path):
    clip = synthesize(tmp_path / "one.mkv", seconds=0.04, fps=25, audio=False)
    assert code_of(clip) == "still_image"


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_image_is_named_so(tmp_path, fmt):
    frames = [PILImage.new("RGB", (64, 48), (i * 60, 40, 40)) for i in range(4)]
    path = tmp_path / f"funny.{fmt.lower()}"
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert code_of(path) == "animated_image"


def test_near_videos_are_named_in_the_owners_words(clips):
    with translation.override("en"):
        words = {
            code: media_error_message(media.MediaError(code)).lower()
            for code in ("still_image", "animated_image", "audio_only")
        }
    assert "single picture" in words["still_image"]
    assert "animated image" in words["animated_image"]
    assert "sound only" in words["audio_only"]


# --------------------------------------------------------------------------- phones of every kind


def amr_nb(path, seconds):
    """An AMR-NB file: 12.2 kbit/s frames of 20 ms (any payload decodes, as noise)."""
    rng = np.random.default_rng(7)
    frames = [b"\x3c" + rng.integers(0, 256, 31, dtype=np.uint8).tobytes()]
    frames *= int(seconds * 50)
    path.write_bytes(b"#!AMR\n" + b"".join(frames))
    return path


def test_old_phone_h263_3gp_with_amr(tmp_path):
    amr = amr_nb(tmp_path / "voice.amr", 2)
    src = tmp_path / "mms.3gp"
    with av.open(str(amr)) as sound, av.open(str(src), "w", format="3gp") as out:
        v = out.add_stream("h263", rate=15)
        v.width, v.height, v.pix_fmt = 176, 144, "yuv420p"
        a = out.add_stream_from_template(sound.streams.audio[0])
        for i in range(30):
            picture = synth.colour_pattern(176, 144)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode())
        for packet in sound.demux(sound.streams.audio[0]):
            if packet.size:
                packet.stream = a
                out.mux(packet)
    info = media.probe(src)
    assert (info.video_codec, info.audio_codec) == ("h263", "amrnb")
    (r,) = media.transcode(src, tmp_path / "out", probe_result=info)
    assert [s[:2] for s in streams_of(r.path)] == [("video", "h264"), ("audio", "aac")]
    # QCIF pixels are 12:11 wide (as the H.263 header says): shown 192x144, square pixels.
    assert (info.width, info.height) == (r.width, r.height) == (192, 144)
    assert r.duration == pytest.approx(2.0, abs=0.1)


def test_av1_in_mp4(tmp_path):
    src = tmp_path / "android-av1.mp4"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libsvtav1", rate=25)
        v.width, v.height, v.pix_fmt = 320, 180, "yuv420p"
        v.options = {"preset": "12"}
        picture = synth.colour_pattern(320, 180)
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode())
    info = media.probe(src)
    assert info.video_codec in ("libdav1d", "av1")
    (r,) = media.transcode(src, tmp_path / "out", probe_result=info)
    assert synth.ciede2000(synth.patch_rgb(rendition_rgb(r.path), "red"), (191, 0, 0)) < 3


def debian_ffmpeg():
    """The ffmpeg command line, used only to build inputs PyAV cannot write."""
    found = shutil.which("ffmpeg")
    if found is None:
        message = "ffmpeg is missing: .ci/system-packages.sh installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_hevc_with_a_timecode_track_first(clips, tmp_path):
    src = tmp_path / "timecode-first.mov"
    with_tc = tmp_path / "timecode.mov"
    ffmpeg = debian_ffmpeg()
    quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run(
        [*quiet, "-i", clips["phone"], "-map", "0", "-c", "copy", "-timecode", "01:00:00:00"]
        + [with_tc],
        check=True,
    )
    subprocess.run(
        [*quiet, "-i", with_tc, "-map", "0:d", "-map", "0:v", "-map", "0:a"] + ["-c", "copy", src],
        check=True,
    )
    assert media.probe(src).rotation == 90
    (r,) = media.transcode(src, tmp_path / "out")
    assert [s[0] for s in streams_of(r.path)] == ["video", "audio"]
    assert (r.width, r.height) == (180, 320)
    assert_clean(r.path)
    poster = media.make_poster(src, tmp_path / "poster")
    assert_upright(PILImage.open(poster.poster.path))


def test_non_square_pixels_give_square_pixels_and_the_right_shape(tmp_path):
    # 240x180 stored, pixels 4:3 wide: shown 320x180, as a camcorder's anamorphic clip.
    src = tmp_path / "anamorphic.mp4"
    picture = np.asarray(
        PILImage.fromarray(synth.colour_pattern(320, 180)).resize((240, 180), PILImage.BILINEAR)
    )
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 240, 180, "yuv420p"
        v.codec_context.sample_aspect_ratio = Fraction(4, 3)
        v.options = {"preset": "ultrafast"}
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode())
    info = media.probe(src)
    assert (info.width, info.height) == (320, 180)
    (r,) = media.transcode(src, tmp_path / "out", probe_result=info)
    assert (r.width, r.height) == (320, 180)
    with av.open(str(r.path)) as c:
        sar = c.streams.video[0].sample_aspect_ratio
    assert sar is None or sar in (0, 1)  # 0: unspecified, i.e. square
    rgb = rendition_rgb(r.path)
    for name in ("red", "green", "white", "skin"):
        expected = synth.COLOUR_PATCHES[name][0]
        assert synth.ciede2000(synth.patch_rgb(rgb, name), expected) < 3, name
