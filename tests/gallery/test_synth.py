"""gallery.synth writes real, decodable clips with the streams, flags and tags asked for."""

import av
import pytest
from PIL import ImageStat

from gallery.synth import MARKER_RGB, synthesize

IPHONE_TAGS = {
    "location": "+48.8584+002.2945/",
    "make": "Apple",
    "model": "iPhone 15",
    "creation_time": "2024-05-01T10:00:00Z",
}


def streams(path):
    with av.open(str(path)) as c:
        return {
            "duration": c.duration / av.time_base,
            "video": [
                (
                    s.codec_context.name,
                    s.codec_context.width,
                    s.codec_context.height,
                    s.codec_context.format.name,
                    float(s.average_rate),
                )
                for s in c.streams.video
            ],
            "audio": [(s.codec_context.name, s.codec_context.sample_rate) for s in c.streams.audio],
        }


def frames(path):
    with av.open(str(path)) as c:
        return list(c.decode(video=0))


def upright(frame):
    """The picture as a player shows it: turned clockwise by the display rotation."""
    return frame.to_image().rotate(frame.rotation, expand=True)


def is_marker(rgb):
    return abs(rgb[0] - MARKER_RGB[0]) < 40 and rgb[1] < 80 and rgb[2] < 80


@pytest.mark.parametrize(
    ("name", "codec", "video_codec", "pix_fmt", "audio_codec"),
    [
        ("clip.mp4", "h264", "h264", "yuv420p", "aac"),
        ("clip.mov", "hevc", "hevc", "yuv420p", "aac"),
        ("clip.mp4", "hevc10", "hevc", "yuv420p10le", "aac"),
        ("clip.webm", "vp9", "vp9", "yuv420p", "opus"),
        ("clip.mkv", "h264", "h264", "yuv420p", "aac"),
    ],
)
def test_codecs_and_containers(tmp_path, name, codec, video_codec, pix_fmt, audio_codec):
    path = synthesize(tmp_path / name, seconds=1, width=160, height=90, codec=codec, title="T")
    info = streams(path)
    assert info["video"] == [(video_codec, 160, 90, pix_fmt, 25.0)]
    assert info["audio"] == [(audio_codec, 48000)]
    assert info["duration"] == pytest.approx(1.0, abs=0.05)
    assert len(frames(path)) == 25


def test_webm_always_gets_vp9(tmp_path):
    info = streams(synthesize(tmp_path / "c.webm", seconds=0.5, width=64, height=36))
    assert info["video"][0][0] == "vp9"


def test_audio_only(tmp_path):
    m4a = streams(synthesize(tmp_path / "voice.m4a", seconds=1))
    assert m4a["video"] == [] and m4a["audio"] == [("aac", 48000)]
    webm = streams(synthesize(tmp_path / "voice.webm", seconds=1, video=False))
    assert webm["video"] == [] and webm["audio"] == [("opus", 48000)]


def test_no_audio(tmp_path):
    assert streams(synthesize(tmp_path / "mute.mp4", seconds=0.5, audio=False))["audio"] == []


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm"])
@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_flag_read_back_and_marker_upright(tmp_path, suffix, rotation):
    path = synthesize(tmp_path / f"r{suffix}", seconds=0.2, width=160, height=90, rotation=rotation)
    frame = frames(path)[-1]
    # FFmpeg reports the display matrix counter-clockwise; we speak of clockwise degrees.
    assert (-frame.rotation) % 360 == rotation
    assert (frame.width, frame.height) == (160, 90)  # stored pixels keep their shape
    shown = upright(frame)
    assert shown.size == ((90, 160) if rotation in (90, 270) else (160, 90))
    w, h = shown.size
    m = max(4, min(w, h) // 8)
    assert is_marker(shown.getpixel((m, m)))
    for corner in [(w - m, m), (m, h - m), (w - m, h - m)]:
        assert not is_marker(shown.getpixel(corner))


def test_metadata_read_back_mov(tmp_path):
    path = synthesize(tmp_path / "phone.mov", seconds=0.2, metadata=IPHONE_TAGS, rotation=90)
    with av.open(str(path)) as c:
        tags = dict(c.metadata)
    assert tags["location"] == "+48.8584+002.2945/"
    assert tags["make"] == "Apple" and tags["model"] == "iPhone 15"
    assert tags["creation_time"].startswith("2024-05-01T10:00:00")


def test_apple_keys_read_back_mov(tmp_path):
    iso = "+48.8584+002.2945+035.000/"
    path = synthesize(
        tmp_path / "phone.mov",
        seconds=0.2,
        metadata={"com.apple.quicktime.location.ISO6709": iso, "com.apple.quicktime.make": "Apple"},
    )
    with av.open(str(path)) as c:
        assert c.metadata["com.apple.quicktime.location.ISO6709"] == iso
        assert c.metadata["com.apple.quicktime.make"] == "Apple"


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_metadata_read_back_other_containers(tmp_path, suffix):
    path = synthesize(tmp_path / f"tags{suffix}", seconds=0.2, metadata=IPHONE_TAGS)
    with av.open(str(path)) as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
    assert tags["location"] == "+48.8584+002.2945/"
    assert tags["make"] == "Apple" and tags["model"] == "iPhone 15"


def test_never_black_after_the_start_and_moving(tmp_path):
    path = synthesize(tmp_path / "c.mp4", seconds=2, width=160, height=90, title="Hello", seed=3)
    decoded = frames(path)
    assert len(decoded) == 50
    lum = [ImageStat.Stat(f.to_image().convert("L")).mean[0] for f in decoded]
    assert lum[0] < 20  # a camera's dark first frame
    assert min(lum[3:]) > 60
    # The scene moves: consecutive late frames differ.
    assert decoded[40].to_image().tobytes() != decoded[41].to_image().tobytes()


def test_title_card_then_scene(tmp_path):
    path = synthesize(tmp_path / "c.mp4", seconds=2, width=160, height=90, title="Hello", seed=3)
    decoded = frames(path)
    card, scene = decoded[10].to_image(), decoded[40].to_image()
    # The card is one flat colour with text; the scene has sky above a grey road.
    top, bottom = card.getpixel((80, 5)), card.getpixel((80, 85))
    assert max(abs(x - y) for x, y in zip(top, bottom, strict=True)) < 20
    sky, road = scene.getpixel((120, 5)), scene.getpixel((120, 85))
    assert sky[2] > road[2] + 40  # blue-ish sky, grey road


def test_seeds_give_distinct_clips(tmp_path):
    one = frames(synthesize(tmp_path / "1.mp4", seconds=0.4, width=160, height=90, seed=1))[-1]
    two = frames(synthesize(tmp_path / "2.mp4", seconds=0.4, width=160, height=90, seed=2))[-1]
    sky_one, sky_two = one.to_image().getpixel((120, 20)), two.to_image().getpixel((120, 20))
    assert max(abs(a - b) for a, b in zip(sky_one, sky_two, strict=True)) > 10


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        synthesize(tmp_path / "c.avi")
    with pytest.raises(ValueError):
        synthesize(tmp_path / "c.mp4", codec="mpeg2")
    with pytest.raises(ValueError):
        synthesize(tmp_path / "c.mp4", rotation=45)
    with pytest.raises(ValueError):
        synthesize(tmp_path / "c.mp4", video=False, audio=False)
