"""gallery.media on real files: probe judges content, posters stand upright, outputs are clean."""

import io
import struct
import zipfile
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageStat

from gallery import media
from gallery.synth import MARKER_RGB, synthesize

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
    assert [t.width for t in result.thumbnails] == [320, 320, 640, 640, 1280, 1280]


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
    assert [r.label for r in renditions] == ["720p"]  # a 180p source makes no 1080p
    r = renditions[0]
    assert r.path == tmp_path / "720p.mp4" and (r.width, r.height) == (320, 180)
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
