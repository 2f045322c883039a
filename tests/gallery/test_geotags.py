"""Container geotags as phones write them, blanked without touching anything else."""

import json
import shutil
import struct
import subprocess

import av
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gallery import geotags
from gallery.synth import synthesize
from tests.factories import (
    ANDROID_XYZ,
    GEOTAG_COORDINATES,
    iphone_video,
    mp4_box,
    with_udta,
    xyz_box,
)


def loci_box(place="Tour Eiffel", longitude=2.2945, latitude=48.8584, altitude=35.0):
    """A 3GPP `loci` (TS 26.244): place name, role, 16.16 fixed-point coordinates."""
    fixed = [round(v * 65536) for v in (longitude, latitude, altitude)]
    payload = b"\0\0\0\0" + struct.pack(">H", 0x15C7) + place.encode() + b"\0" + b"\0"
    payload += struct.pack(">iii", *fixed) + b"earth\0" + b"\0"
    return mp4_box(b"loci", payload)


def xmp_uuid_box():
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'exif:GPSLatitude="48,51.504N" exif:GPSLongitude="2,17.67E"/></rdf:RDF></x:xmpmeta>'
    )
    return mp4_box(b"uuid", geotags.XMP_UUID + packet)


def stream_facts(path):
    """What a player needs, as FFmpeg's demuxer and decoders read it."""
    with av.open(str(path)) as container:
        facts = {
            "duration": container.duration,
            "streams": [
                (
                    s.type,
                    s.codec_context.name if s.codec_context else s.metadata.get("handler_name"),
                )
                for s in container.streams
            ],
        }
        frames = list(container.decode(video=0))
    facts["frames"] = len(frames)
    facts["rotation"] = frames[0].rotation
    return facts


def tags(path):
    with av.open(str(path)) as container:
        found = dict(container.metadata)
        for stream in container.streams:
            found |= {f"{stream.type}:{k}": v for k, v in stream.metadata.items()}
    return found


def ffprobe_tags(path):
    """Every tag ffprobe prints (it reads `©xyz`, `loci` and mdta keys as `location...`)."""
    shown = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        capture_output=True,
        check=True,
        text=True,
    )
    probed = json.loads(shown.stdout)
    found = dict(probed["format"].get("tags", {}))
    for stream in probed["streams"]:
        found |= {f"{stream['codec_type']}:{k}": v for k, v in stream.get("tags", {}).items()}
    return found


def located(found):
    return {k: v for k, v in found.items() if "location" in k.lower() or "xyz" in k.lower()}


def assert_no_coordinates(data, where):
    for coordinate in GEOTAG_COORDINATES:
        assert coordinate not in data, (where, coordinate)


def iphone_clip(path, *, faststart=False):
    path = iphone_video(path)
    if faststart:  # moov before mdat: every sample offset depends on moov's size
        moved = path.with_name("faststart-" + path.name)
        with (
            av.open(str(path)) as src,
            av.open(
                str(moved),
                "w",
                format="mov",
                options={"movflags": "+faststart+use_metadata_tags"},
            ) as out,
        ):
            out.metadata.update(src.metadata)
            streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
            for packet in src.demux():
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
        path = moved
        data = path.read_bytes()
        assert data.index(b"moov") < data.index(b"mdat")
    return path


@pytest.mark.parametrize("faststart", [False, True], ids=["moov-last", "faststart"])
def test_iphone_location_keys_are_dropped_and_the_rest_kept(tmp_path, faststart):
    source = iphone_clip(tmp_path / "IMG_0001.MOV", faststart=faststart)
    assert b"+36.1318-115.1517+621.989/" in source.read_bytes()
    assert located(ffprobe_tags(source)), "the test clip carries no location"
    before = stream_facts(source)
    cleaned = tmp_path / "cleaned.mov"
    shutil.copy(source, cleaned)

    removed = geotags.remove_geotags(cleaned)

    assert "com.apple.quicktime.location.ISO6709" in removed
    assert "com.apple.quicktime.location.accuracy.horizontal" in removed
    data = cleaned.read_bytes()
    assert_no_coordinates(data, "cleaned file")
    assert located(ffprobe_tags(cleaned)) == {}
    assert located(tags(cleaned)) == {}
    # Nothing moved: same size, every frame decodes, same duration, rotation, streams.
    assert len(data) == source.stat().st_size
    assert stream_facts(cleaned) == before
    assert before["rotation"] in (90, -90, 270)
    # The keys after the dropped ones are renumbered with their items: values still match.
    kept = tags(cleaned)
    assert kept["com.apple.quicktime.make"] == "Apple"
    assert kept["com.apple.quicktime.model"] == "iPhone 15 Pro Max"
    assert kept["com.apple.quicktime.software"] == "17.2.1"
    assert kept["com.apple.quicktime.creationdate"] == "2024-01-08T15:06:17-0800"
    assert geotags.remove_geotags(cleaned) == ()  # nothing left to find


def test_android_xyz_3gpp_loci_and_xmp_gps_are_blanked(tmp_path):
    source = synthesize(tmp_path / "VID_20261120.mp4", seconds=1, width=160, height=96)
    plain = source.read_bytes()
    with_udta(source, xyz_box(ANDROID_XYZ), loci_box())
    data = bytearray(source.read_bytes())
    data += xmp_uuid_box()
    source.write_bytes(bytes(data))
    probed = located(ffprobe_tags(source))
    assert probed.get("location", "").startswith("+48.8584+002.2945"), probed
    before, tagged = stream_facts(source), source.read_bytes()

    assert set(geotags.remove_geotags(source)) == {"©xyz", "loci", "XMP"}

    cleaned = source.read_bytes()
    assert_no_coordinates(cleaned, "cleaned file")
    assert b"GPSLatitude" not in cleaned and b"Tour Eiffel" not in cleaned
    assert located(ffprobe_tags(source)) == {}
    assert stream_facts(source) == before
    # Only the added boxes changed: everything the recording had is byte for byte the same.
    assert len(cleaned) == len(tagged) and cleaned[: len(plain)] == tagged[: len(plain)]


def test_a_file_without_geotags_is_left_alone(tmp_path, sample_video):
    copy = tmp_path / "plain.mp4"
    shutil.copy(sample_video, copy)
    assert geotags.remove_geotags(copy) == ()
    assert copy.read_bytes() == sample_video.read_bytes()
    assert not geotags.carries_geotags(copy)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x1a\x45\xdf\xa3" + bytes(100),  # a WebM/Matroska header
        b"RIFF\0\0\0\0AVI LIST",
        mp4_box(b"moov", mp4_box(b"udta", b"\0\0\0\xff\xa9xyz")),  # a child larger than its parent
        mp4_box(
            b"moov",
            mp4_box(b"meta", mp4_box(b"hdlr", bytes(24)) + mp4_box(b"keys", b"\0\0\0\0\0\0\0\x09")),
        ),
        struct.pack(">I4sQ", 1, b"moov", 4),  # a 64-bit size smaller than its header
        b"\0\0\0\0moov" + mp4_box(b"udta", xyz_box(ANDROID_XYZ)),  # size 0: to the end
    ],
)
def test_damaged_or_foreign_files_do_not_break_it(data, tmp_path):
    path = tmp_path / "odd.bin"
    path.write_bytes(data)
    geotags.remove_geotags(path)
    assert len(path.read_bytes()) == len(data)
    assert b"48.8584" not in geotags.without_geotags(data)


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="Debian's ffmpeg builds this input")
def test_a_mov_with_a_timecode_track_keeps_every_track(tmp_path):
    """FFmpeg's command line writes `©xyz` in a MOV, beside a timecode (tmcd) data track."""
    path = tmp_path / "camera.mov"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x96:rate=25:duration=1",
         "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-c:a", "aac",
         "-timecode", "10:00:00:00", "-metadata", f"location={ANDROID_XYZ}",
         "-metadata:s:v", "rotate=90", str(path)],
        check=True,
    )  # fmt: skip
    assert located(ffprobe_tags(path))
    before = stream_facts(path)
    assert [kind for kind, _codec in before["streams"]] == ["video", "audio", "data"]

    assert geotags.remove_geotags(path) == ("©xyz",)

    assert_no_coordinates(path.read_bytes(), "cleaned file")
    assert located(ffprobe_tags(path)) == {}
    assert stream_facts(path) == before
    assert ffprobe_tags(path)["data:timecode"] == "10:00:00:00"


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"moov", b"udta", b"meta", b"keys", b"ilst", b"\xa9xyz", b"loci",
                             b"hdlr", b"uuid", b"XMP_", b"mdat", b"trak", b"\0\0\0\x01"]),
            st.binary(max_size=40),
            st.integers(min_value=-4, max_value=4),
        ),
        max_size=12,
    )
)  # fmt: skip
def test_hostile_box_trees_never_break_it(pieces):
    """Boxes nested at random, sizes a little wrong: no exception, same length."""
    data = b""
    for kind, payload, error in pieces:
        body = payload + data if kind in geotags.CONTAINERS else payload
        data = struct.pack(">I", max(0, 8 + len(body) + error)) + kind + body
    cleaned = geotags.without_geotags(data)
    assert len(cleaned) == len(data)


def test_the_blanked_reading_is_the_cleaned_file_and_leaves_the_source_alone(tmp_path):
    source = iphone_video(tmp_path / "IMG_0002.MOV")
    with_udta(source, xyz_box(ANDROID_XYZ))
    sent = source.read_bytes()
    cleaned = tmp_path / "cleaned.mov"
    shutil.copy(source, cleaned)
    geotags.remove_geotags(cleaned)
    for chunk in (1, 7, 4096, 1 << 20):  # reads that start and end inside a patch
        with geotags.opened_without_geotags(source) as (fh, removed):
            read = b"".join(iter(lambda: fh.read(chunk), b""))  # noqa: B023
        assert read == cleaned.read_bytes(), chunk
        assert set(removed) == {"com.apple.quicktime.location.ISO6709", "©xyz"} | {
            "com.apple.quicktime.location.accuracy.horizontal"
        }
    assert source.read_bytes() == sent
