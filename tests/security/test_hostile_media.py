"""Hostile uploads: every malformed file is refused by probe with a clear code, quickly and in
bounded memory, and by the form with the translated message, leaving no row and no file.

All files are made here, from a small synthesized clip or from raw bytes."""

import io
import json
import random
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from django import forms
from django.conf import settings
from django.utils import translation
from PIL import Image

from gallery import media
from gallery.models import Clip
from gallery.processing import media_error_message, probe_limits
from gallery.synth import synthesize
from submissions.models import Submission
from tests.factories import files_under, form_data, post, upload

ROOT = Path(__file__).resolve().parents[2]
PROBE_SECONDS = 5
PROBE_RSS_BYTES = 300 * 1024**2

# Box types whose children the patching below needs to reach.
PARENTS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}


def boxes(data, start=0, end=None):
    """(type, offset) of every MP4 box under data[start:end], depth first."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, pos
        if kind in PARENTS:
            yield from boxes(data, pos + 8, pos + size)
        elif kind == b"stsd":  # version, flags and entry count come before the entries
            yield from boxes(data, pos + 16, pos + size)
        pos += size


def offsets(data, kind):
    return [pos for found, pos in boxes(data) if found == kind]


def patched(data, kind, at, fmt, *values, first_only=False):
    """`data` with `values` written `at` bytes into the payload of each `kind` box."""
    out = bytearray(data)
    for pos in offsets(data, kind)[: 1 if first_only else None]:
        struct.pack_into(fmt, out, pos + 8 + at, *values)
    return bytes(out)


def image_bytes(fmt):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def encode(
    path, codec, width, height, *, container=None, pix_fmt="yuv420p", frames=10, options=None
):
    """A tiny clip of flat frames, for codecs synthesize does not offer."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = options or {}
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(
                np.full((height, width, 3), index * 20, np.uint8), format="rgb24"
            )
            frame.pts = index
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


def faststart(path, target):
    """The same clip remuxed with its moov before the media data."""
    with (
        av.open(str(path)) as src,
        av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return target.read_bytes()


def zip_bomb(declared=1024**3):
    """A valid zip holding one `clip.mp4` of `declared` zero bytes, in about a megabyte.

    The deflate stream repeats one full-flushed block, so nothing that size is ever compressed.
    """
    mib = 1024**2
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b"\0" * mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = block * (declared // mib) + compressor.flush(zlib.Z_FINISH)
    crc = 0
    zeros = b"\0" * mib
    for _ in range(declared // mib):
        crc = zlib.crc32(zeros, crc)
    name = b"clip.mp4"
    # Version 2.0, no flags, deflate, no time or date; then CRC, sizes and the name's length.
    sizes = (crc, len(body), declared)
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, *sizes, len(name), 0)
    header = (b"PK\x01\x02", 20, 20, 0, 8, 0, 0, *sizes, len(name), 0, 0, 0, 0, 0, 0)
    directory = struct.pack("<4s6H3I5H2I", *header) + name
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(local) + len(name) + len(body), 0
    )
    return local + name + body + directory + end


def mjpeg_claiming(clip, width, height):
    """An MJPEG MOV whose every JPEG frame (SOF0) and header claim width x height."""
    out = bytearray(clip)
    for sof in re.finditer(rb"\xff\xc0\x00\x11\x08", clip):
        struct.pack_into(">HH", out, sof.start() + 5, height, width)
    out = patched(bytes(out), b"jpeg", 24, ">HH", width, height)  # the sample description
    return patched(out, b"tkhd", 76, ">II", width << 16, height << 16)


def raw_avi_claiming(clip, width, height):
    """An uncompressed AVI whose stream and main headers claim width x height."""
    out = bytearray(clip)
    strf = clip.find(b"strf")
    struct.pack_into("<ii", out, strf + 12, width, height)
    avih = clip.find(b"avih")
    struct.pack_into("<II", out, avih + 40, width, height)
    return bytes(out)


# Each malformed file, and the MediaError code probe must refuse it with.
EXPECTED = {
    "zero-bytes": "empty",
    "random-bytes": "not_video",
    "random-after-ftyp": "corrupt",
    "cut-in-ftyp": "corrupt",
    "cut-in-mdat": "cut_off",  # data without its index: what a camera leaves on power loss
    "cut-in-moov": "corrupt",
    "cut-last-byte": "corrupt",
    "moov-first-cut-in-mdat": "corrupt",
    "moov-first-cut-last-byte": "corrupt",
    "ftyp-renamed": "not_video",
    "moov-renamed": "cut_off",
    "moov-size-past-end": "corrupt",
    "png-then-mp4": "still_image",  # a picture first, whatever follows: never demuxed
    "jpeg-then-mp4": "still_image",
    "png-header-then-mp4": "not_video",
    "zip-bomb": "not_video",
    "real-4100x64": "too_large",
    "header-claims-60000x60000": "too_large",
    "mjpeg-claims-60000x60000": "too_large",
    "mjpeg-claims-16000x16000": "too_large",
    "avi-claims-16000x16000": "too_large",
    "endless-duration": "corrupt",
    "frame-count-2e9": "corrupt",
    "frame-rate-12800": "corrupt",
    "frame-every-46-hours": "corrupt",
    "timescale-1": "corrupt",
    "hls-playlist": "not_video",
    "ffconcat": "not_video",
    "concat-subfile": "not_video",
    "svg": "not_video",
    "html": "not_video",
}


def build_corpus(folder):
    """{name: content} for every case in EXPECTED, plus the intact clip they come from."""
    clip = synthesize(folder / "base.mp4", seconds=2, width=160, height=90, fps=25, seed=3)
    mp4 = clip.read_bytes()
    fast = faststart(clip, folder / "fast.mp4")
    moov = offsets(mp4, b"moov")[0]
    mjpeg = encode(folder / "mjpeg.mov", "mjpeg", 64, 48, container="mov", pix_fmt="yuvj420p")
    raw = encode(folder / "raw.avi", "rawvideo", 64, 48, container="avi", pix_fmt="rgb24", frames=5)
    # Payload offsets (version 0 boxes): mvhd/mdhd timescale at 12 and duration at 16; tkhd
    # duration at 20 and width, height at 76; a sample entry's width, height at 24; stts
    # (count, delta) pairs from 8.
    endless = patched(mp4, b"mvhd", 16, ">I", 0x7FFFFFFF)  # ~25 days; all ones means "unknown"
    endless = patched(endless, b"mdhd", 16, ">I", 0x7FFFFFFF)
    endless = patched(endless, b"tkhd", 20, ">I", 0x7FFFFFFF)
    huge_header = patched(mp4, b"tkhd", 76, ">II", 60000 << 16, 60000 << 16, first_only=True)
    huge_header = patched(huge_header, b"avc1", 24, ">HH", 60000, 60000)
    video_stts = {"first_only": True}  # the video track comes first
    noise = random.Random(9)
    content = {
        "intact": mp4,
        "zero-bytes": b"",
        "random-bytes": noise.randbytes(200_000),
        "random-after-ftyp": mp4[:32] + noise.randbytes(50_000),
        "cut-in-ftyp": mp4[:12],
        "cut-in-mdat": mp4[: len(mp4) // 2],
        "cut-in-moov": mp4[: moov + 700],
        "cut-last-byte": mp4[:-1],
        "moov-first-cut-in-mdat": fast[: len(fast) * 2 // 3],
        "moov-first-cut-last-byte": fast[:-1],
        "ftyp-renamed": mp4[:4] + b"xxxx" + mp4[8:],
        "moov-renamed": mp4[: moov + 4] + b"mooz" + mp4[moov + 8 :],
        "moov-size-past-end": mp4[:moov] + struct.pack(">I", 0xFFFFFF00) + mp4[moov + 4 :],
        "png-then-mp4": image_bytes("PNG") + mp4,
        "jpeg-then-mp4": image_bytes("JPEG") + mp4,
        "png-header-then-mp4": image_bytes("PNG")[:33] + mp4,  # signature and IHDR
        "zip-bomb": zip_bomb(),
        "real-4100x64": encode(
            folder / "wide.mp4", "libx264", 4100, 64, options={"preset": "ultrafast"}
        ),
        "header-claims-60000x60000": huge_header,
        "mjpeg-claims-60000x60000": mjpeg_claiming(mjpeg, 60000, 60000),
        "mjpeg-claims-16000x16000": mjpeg_claiming(mjpeg, 16000, 16000),
        "avi-claims-16000x16000": raw_avi_claiming(raw, 16000, 16000),
        "endless-duration": endless,
        "frame-count-2e9": patched(mp4, b"stts", 8, ">I", 0x7FFFFFFF, **video_stts),
        "frame-rate-12800": patched(mp4, b"stts", 12, ">I", 1, **video_stts),
        "frame-every-46-hours": patched(mp4, b"stts", 12, ">I", 0x7FFFFFFF, **video_stts),
        "timescale-1": patched(mp4, b"mdhd", 12, ">I", 1, first_only=True),
        "hls-playlist": b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n"
        b"#EXTINF:10,\nhttp://169.254.169.254/latest/meta-data/\n#EXT-X-ENDLIST\n",
        "ffconcat": b"ffconcat version 1.0\nfile '/etc/passwd'\nfile 'http://example.com/clip.mp4'\n",
        "concat-subfile": b"file 'subfile,,start,0,end,0,,:/etc/passwd'\nduration 10\n",
        "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        b"<script>alert(1)</script></svg>",
        "html": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
    }
    assert content.keys() == {"intact", *EXPECTED}
    return content


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """{name: path}: every file named .mp4, as an upload would be."""
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, content in build_corpus(folder / "sources").items():
        paths[name] = folder / f"{name}.mp4"
        paths[name].write_bytes(content)
    return paths


# Probing in a fresh interpreter: its peak RSS is the probe's own, and a hang cannot stall the
# suite.
PROBE_SCRIPT = """
import json, resource, sys, time
from gallery import media
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
code = detail = None
try:
    media.probe(sys.argv[1], max_seconds=float(sys.argv[2]), max_side=int(sys.argv[3]))
except media.MediaError as error:
    code, detail = error.code, error.detail
seconds = time.perf_counter() - start
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
print(json.dumps({"code": code, "detail": detail, "seconds": seconds, "rss_growth": grown}))
"""


def probe_apart(path):
    limits = [str(settings.MAX_CLIP_SECONDS), str(settings.MAX_VIDEO_SIDE)]
    done = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT, str(path), *limits],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_intact_clip_passes(corpus):
    """The control: what the corpus is cut from is a good clip, probed the same way."""
    result = probe_apart(corpus["intact"])
    assert result["code"] is None, result
    assert result["seconds"] < PROBE_SECONDS


def test_the_zip_bomb_is_real(corpus):
    with zipfile.ZipFile(corpus["zip-bomb"]) as archive:
        (member,) = archive.infolist()
        assert member.file_size == 1024**3 and corpus["zip-bomb"].stat().st_size < 2 * 1024**2
        with archive.open(member) as inside:
            assert inside.read(1024) == b"\0" * 1024


@pytest.mark.parametrize("name", EXPECTED)
def test_probe_refuses_quickly_in_bounded_memory(corpus, name):
    result = probe_apart(corpus[name])
    assert result["code"] == EXPECTED[name], result
    assert result["seconds"] < PROBE_SECONDS, result
    assert result["rss_growth"] < PROBE_RSS_BYTES, result


@pytest.mark.parametrize("name", EXPECTED)
def test_probe_of_a_file_object_refuses_the_same(corpus, name):
    """Direct uploads are probed as a seekable object read by ranges (infra/s3.py)."""
    with pytest.raises(media.MediaError) as refused:
        media.probe(io.BytesIO(corpus[name].read_bytes()), **probe_limits())
    assert refused.value.code == EXPECTED[name]


@pytest.mark.django_db
@pytest.mark.parametrize("name", EXPECTED)
def test_the_form_refuses_with_the_translated_message_and_keeps_nothing(
    client, corpus, media_storage, name
):
    def message():
        if EXPECTED[name] == "empty":  # Django's FileField refuses an empty upload itself
            return str(forms.FileField.default_error_messages["empty"])
        return media_error_message(media.MediaError(EXPECTED[name]))

    with translation.override("fr"):
        expected = message()
    assert expected != message(), "the French message is missing"
    before = files_under(media_storage)

    response = post(client, form_data(upload(corpus[name])), lang="fr")

    assert response.status_code == 400
    assert response.context["form"].errors["video"] == [expected]
    assert expected in response.content.decode()
    assert Submission.objects.count() == 0 and Clip.objects.count() == 0
    assert files_under(media_storage) == before
