"""Probe, poster, thumbnails and transcode for uploaded clips: plain functions on files.

Pure Python on PyAV and Pillow; nothing here imports Django. Rotation is counted clockwise,
like a phone's legacy "rotate" tag: a portrait iPhone clip stores landscape pixels with
rotation 90 (FFmpeg's display matrix reads -90, counter-clockwise).
"""

import ctypes
import io
import math
import os
import re
import struct
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image as PILImage

try:
    _LIBC = ctypes.CDLL("libc.so.6")
    _LIBC.malloc_trim  # noqa: B018 - glibc only
except (OSError, AttributeError):
    _LIBC = None

# glibc serves a block above its "mmap threshold" straight from the system and gives it back
# when freed; below it, from heaps it keeps. The threshold starts at 128 KiB but rises to
# the size of any such block freed (up to 32 MiB): after the first 4K frame (25 MB) is
# freed, every later one came from the heaps, which kept what probe and poster had used
# (250-300 MB) under the transcode's own 500 MB. Setting it fixes it (and turns the rise
# off): pictures and codec buffers of 1 MiB or more go back to the system when freed.
# Measured in bench/hdr_bench.py (BENCHMARKS.md).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024
if _LIBC is not None and hasattr(_LIBC, "mallopt"):
    _LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)

# Only demuxers for real audio/video containers: image, text (tty), playlist (hls, concat)
# and other exotic demuxers never run on an upload, so a renamed PNG or a playlist that
# points at other files is refused before any of it is read.
FORMAT_WHITELIST = ",".join(
    [
        "mov,mp4,m4a,3gp,3g2,mj2",
        "matroska,webm",
        "avi",
        "mpegts",
        "mpeg",
        "flv",
        "asf",
        "ogg",
        "mp3",
        "wav",
        "flac",
        "aac",
    ]
)
OPEN_OPTIONS = {"format_whitelist": FORMAT_WHITELIST, "protocol_whitelist": "file"}

POSTER_MAX_WIDTH = 1280
_SCALE_FLAGS = "bicubic"
# Packets demuxed after a seek before giving up on a spot: bounds probe's time.
PROBE_MAX_PACKETS = 400
# Frame rates no camera writes: a header saying so is damaged or forged.
MIN_FPS, MAX_FPS = 1 / 60, 1000


class MediaError(Exception):
    """Raised for unusable input; .code is one of CODES."""

    CODES = (
        "empty",
        "not_video",
        "audio_only",
        "still_image",
        "animated_image",
        "corrupt",
        "cut_off",
        "too_long",
        "too_large",
    )

    def __init__(self, code: str, detail: str = ""):
        if code not in self.CODES:
            raise ValueError(f"unknown MediaError code {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Colour:
    """How a source's pixel values mean colours, in the names FFmpeg's `scale` filter takes.

    Untagged values are filled in as players do (BT.709, or BT.601 for standard definition):
    an untagged 10-bit clip is SDR BT.709, never guessed to be HDR.
    """

    transfer: str = "bt709"  # "arib-std-b67" is HLG, "smpte2084" is PQ
    primaries: str = "bt709"
    matrix: str = "bt709"
    full_range: bool = False

    @property
    def dynamic_range(self) -> str:
        return {"arib-std-b67": "HLG", "smpte2084": "PQ"}.get(self.transfer, "SDR")


SDR_BT709 = Colour()


@dataclass(frozen=True)
class ProbeResult:
    duration: float  # seconds
    width: int  # display size: after rotation (and pixel aspect ratio)
    height: int
    rotation: int  # 0/90/180/270 clockwise, as stored in the file
    video_codec: str
    audio_codec: str | None
    fps: float
    bit_depth: int
    colour: Colour = SDR_BT709


@dataclass(frozen=True)
class Image:
    path: Path
    width: int
    height: int
    format: str  # "webp" | "jpeg"


@dataclass(frozen=True)
class Poster:
    poster: Image  # full-size JPEG poster (at most 1280 wide), upright
    # WebP and JPEG per width, smallest first; named thumb-<actual width>.webp/.jpg
    thumbnails: tuple[Image, ...]


@dataclass(frozen=True)
class Rendition:
    path: Path
    width: int
    height: int
    size: int
    duration: float
    label: str  # its short side: "720p" | "1080p", or less for a smaller source ("360p")


# --------------------------------------------------------------------------- probe


def probe(path, *, max_seconds: float | None = None, max_side: int | None = None) -> ProbeResult:
    """Judge a file by its content and describe its video; raise MediaError if unusable."""
    if hasattr(path, "read"):
        # A seekable file object, e.g. an object in S3 read by ranges: only what is probed
        # is fetched.
        source = path
        size = source.seek(0, os.SEEK_END)
        source.seek(0)
        head = source.read(512)
        claims = _mp4_claims(source, size, head)
        source.seek(0)
    else:
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise MediaError("not_video", str(error)) from error
        with path.open("rb") as fh:
            head = fh.read(512)
            claims = _mp4_claims(fh, size, head)
        source = str(path)
    if size == 0:
        raise MediaError("empty")
    _refuse_pictures(source, head)
    if max_side and claims.side > max_side:
        raise MediaError("too_large", f"a track header claims {claims.side} pixels")

    opened = ExitStack()
    try:
        container = opened.enter_context(open_input(source))
    except av.FFmpegError as error:
        # A known container that FFmpeg cannot open is damaged (e.g. an MP4 cut before its
        # moov); anything else is simply not a video.
        raise MediaError(
            "corrupt" if _looks_like_media(head) else "not_video", str(error)
        ) from error

    with opened:
        vstream = _video_stream(container)
        if vstream is None:
            if container.streams.audio:
                raise MediaError("audio_only")
            raise MediaError("not_video", "no video stream")
        if vstream.frames == 1:
            raise MediaError("still_image", "one frame")
        if not _looks_like_media(head):
            # FFmpeg found a video past bytes no container starts with: a polyglot.
            raise MediaError("not_video", "the file does not start like a video")
        cc = vstream.codec_context
        if not cc.width or not cc.height:
            raise MediaError("corrupt", "no picture size")
        astream = _audio_stream(container)
        limit_decoder_threads(vstream)

        stored_w, stored_h = cc.width, cc.height
        sar = vstream.sample_aspect_ratio
        if sar and sar.numerator > 0 and sar != 1:
            stored_w = max(2, round(stored_w * sar))
        if max_side and max(stored_w, stored_h) > max_side:
            raise MediaError("too_large", f"{stored_w}x{stored_h} > {max_side}")

        start = _start_seconds(container, vstream)
        duration = container.duration / av.time_base if container.duration else 0.0
        if duration <= 0 and vstream.duration and vstream.time_base:
            duration = float(vstream.duration * vstream.time_base)
        if duration <= 0:
            # e.g. WebM from MediaRecorder has no duration header: demux (not decode) it.
            duration = _scan_duration(container, vstream) - start
        if duration <= 0:
            raise MediaError("corrupt", "no duration")
        if max_seconds and duration > max_seconds:
            raise MediaError("too_long", f"{duration:.1f} s > {max_seconds} s")
        if claims.duration > duration + max(5.0, duration / 4):
            raise MediaError(
                "corrupt",
                f"the header claims {claims.duration:.0f} s; the data holds {duration:.1f} s",
            )
        rate = vstream.average_rate
        if (rate and not MIN_FPS <= rate <= MAX_FPS) or vstream.frames > duration * MAX_FPS + 1:
            raise MediaError(
                "corrupt", f"{vstream.frames} frames at {rate} fps in {duration:.1f} s"
            )

        _check_index(vstream, size)
        if astream is not None:
            _check_index(astream, size)
        first = _decode_at(container, vstream, None)
        if first is None:
            raise MediaError("corrupt", "no decodable frame at the start")
        # A damaged body: seek into the middle and decode up to it (bounded to ~a GOP).
        if duration > 1 and _decode_at(container, vstream, start + duration / 2) is None:
            raise MediaError("corrupt", "nothing decodable in the middle of the clip")
        # A cut file: its packets stop short of the duration in the header. Demuxing the
        # last stretch is cheap; decoding it is not needed.
        end = _last_packet_end(container, vstream, start + max(duration * 0.9, duration - 5))
        if end is None or end - start < duration - max(0.5, duration * 0.02):
            raise MediaError(
                "corrupt", f"the data stops at {(end or start) - start:.1f} s of {duration:.1f} s"
            )

        if _is_lone_frame(container, vstream):
            raise MediaError("still_image", "a single decodable frame")
        rotation = _clockwise(first.rotation)
        width, height = (stored_h, stored_w) if rotation in (90, 270) else (stored_w, stored_h)
        rate = vstream.average_rate or vstream.guessed_rate or vstream.base_rate
        return ProbeResult(
            duration=round(duration, 3),
            width=width,
            height=height,
            rotation=rotation,
            video_codec=cc.name,
            audio_codec=astream.codec_context.name if astream is not None else None,
            fps=round(float(rate), 3) if rate else 0.0,
            bit_depth=max(c.bits for c in first.format.components)
            if first.format.components
            else 8,
            colour=colour_of(first),
        )


@contextmanager
def open_input(source):
    """av.open() for an upload (a path or a seekable file object), closed on exit.

    The FFmpeg in PyAV refuses a MOV whose video track references a timecode track stored
    before it (EEXIST), which some cameras and editors write; such a file is read again with
    its track references hidden (they only link the timecode, which we drop anyway).
    """
    with ExitStack() as stack:
        try:
            container = av.open(source, options=OPEN_OPTIONS)
        except av.FFmpegError:
            hidden = _track_references(source)
            if not hidden:
                raise
            reader = _HidingReader(source, hidden)
            stack.callback(reader.close)
            container = av.open(reader, options=OPEN_OPTIONS)
        with container:
            yield container


def _track_references(source):
    """Offsets of the type field of every `tref` box in an MP4/MOV's movie header."""
    own = not hasattr(source, "read")
    fh = open(source, "rb") if own else source  # noqa: SIM115 - closed below
    try:
        size = fh.seek(0, os.SEEK_END)
        if _read_at(fh, 4, 4) not in _MP4_HEADS:
            return []
        found = []
        for kind, start, end in _boxes(fh, 0, size):
            if kind != b"moov":
                continue
            for child, child_start, child_end in _boxes(fh, start, min(end, size)):
                if child != b"trak":
                    continue
                for box, at, _end in _boxes(fh, child_start, child_end):
                    if box == b"tref":
                        found.append(at - 4 if _read_at(fh, at - 4, 4) == b"tref" else at - 12)
        return found
    finally:
        if own:
            fh.close()
        else:
            fh.seek(0)


class _HidingReader(io.RawIOBase):
    """A read-only view of a file in which the boxes at `offsets` read as `free` (skipped)."""

    def __init__(self, source, offsets):
        self._own = not hasattr(source, "read")
        self._fh = open(source, "rb") if self._own else source  # noqa: SIM115 - see close()
        self._fh.seek(0)
        self._offsets = offsets

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=os.SEEK_SET):
        return self._fh.seek(offset, whence)

    def tell(self):
        return self._fh.tell()

    def read(self, size=-1):
        start = self._fh.tell()
        data = self._fh.read(size)
        for at in self._offsets:
            if start - 4 < at < start + len(data):
                patched = bytearray(data)
                for i, byte in enumerate(b"free"):
                    if 0 <= at - start + i < len(patched):
                        patched[at - start + i] = byte
                data = bytes(patched)
        return data

    def close(self):
        if self._own and not self._fh.closed:
            self._fh.close()
        super().close()


def _is_lone_frame(container, vstream):
    """True if the video stream holds a single picture (a photo wrapped in a video container)."""
    packets = 0
    try:
        container.seek(0, stream=vstream, backward=True)
        for packet in container.demux(vstream):
            packets += 1 if packet.size else 0
            if packets > 1:
                return False
    except (av.FFmpegError, OSError):
        return False
    return packets == 1


# Pictures people send instead of a clip: named for what they are, not "not a video".
_HEIF_STILL = (b"heic", b"heix", b"mif1", b"avif", b"heim", b"heis")
_HEIF_SEQUENCE = (b"msf1", b"hevc", b"hevx", b"avis")
_PICTURE_FORMATS = ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"]
_PICTURE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def _refuse_pictures(source, head):
    """Raise still_image / animated_image for a photo or an animated image, else return."""
    if head[4:8] == b"ftyp":
        if head[8:12] in _HEIF_SEQUENCE:
            raise MediaError("animated_image", "an image sequence (HEIF)")
        if head[8:12] in _HEIF_STILL:
            raise MediaError("still_image", "a HEIF/AVIF photo")
        return
    webp = head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    if not (webp or head.startswith(_PICTURE_MAGIC)):
        return
    try:
        # Only the header (and, for GIF, the frame list) is read; no pixel is decoded.
        with PILImage.open(source, formats=_PICTURE_FORMATS) as picture:
            animated = getattr(picture, "is_animated", False) and picture.format != "TIFF"
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
        return
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    if animated:
        raise MediaError("animated_image", "an animated picture")
    raise MediaError("still_image", "a picture")


# Box types an MP4/MOV file starts with.
_MP4_HEADS = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"styp", b"moof")


def _looks_like_media(head: bytes) -> bool:
    """Magic numbers of the audio/video containers we accept."""
    return (
        head[4:8] in _MP4_HEADS
        or head.startswith(
            (
                b"\x1a\x45\xdf\xa3",
                b"OggS",
                b"FLV",
                b"ID3",
                b"fLaC",
                b"\x00\x00\x01\xba",
                b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
            )
        )
        or (head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"WAVE"))
        or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47)
        or (len(head) > 196 and head[4] == 0x47 and head[196] == 0x47)  # M2TS (AVCHD)
    )


# Top-level boxes that hold the movie: one running past the end of the file was cut short.
_MP4_STRUCTURE = (b"ftyp", b"moov", b"mdat", b"moof")
_MP4_MAX_BOXES = 64  # fragmented files hold hundreds; the first ones tell enough


@dataclass(frozen=True)
class _Mp4Claims:
    """What an MP4/MOV says of itself before any sample is read; zero where it says nothing."""

    duration: float = 0.0  # seconds, from the movie header (mvhd)
    side: int = 0  # the largest width or height in the track headers (tkhd)


def _mp4_claims(fh, size, head):
    """Walk an MP4/MOV's box headers (FFmpeg forgives what we refuse); raise if it was cut."""
    if head[4:8] not in _MP4_HEADS or head[8:12] in _HEIF_STILL + _HEIF_SEQUENCE:
        # A HEIF picture is boxes too (ftyp, meta, mdat) but has no movie index to miss.
        return _Mp4Claims()
    duration, side = 0.0, 0
    seen = set()
    for kind, start, end in _boxes(fh, 0, size):
        seen.add(kind)
        if end > size:
            if kind == b"mdat" and not seen & {b"moov", b"moof"}:
                raise MediaError("cut_off", "the data runs past the end and no index came first")
            if kind in _MP4_STRUCTURE:
                raise MediaError("corrupt", f"the {kind!r} box runs past the end of the file")
            break  # a trailer that is no box
        if kind != b"moov":
            continue
        for child, child_start, child_end in _boxes(fh, start, end):
            if child == b"mvhd":
                duration = _mvhd_seconds(_read_at(fh, child_start, 32))
            elif child == b"trak":
                for header, at, _end in _boxes(fh, child_start, child_end):
                    if header == b"tkhd":
                        side = max(side, _tkhd_side(_read_at(fh, at, 96)))
    if b"mdat" in seen and not seen & {b"moov", b"moof"}:
        # A camera (or phone) writes its index last: power lost before that leaves only data.
        raise MediaError("cut_off", "media data without an index")
    return _Mp4Claims(duration, side)


def _boxes(fh, start, end):
    """(type, payload start, box end) of the boxes from `start` to `end`, the first few only."""
    pos = start
    for _ in range(_MP4_MAX_BOXES):
        header = _read_at(fh, pos, 16)
        if pos + 8 > end or len(header) < 8:
            return
        box_size, kind = struct.unpack(">I4s", header[:8])
        offset = 8
        if box_size == 1 and len(header) == 16:
            box_size, offset = struct.unpack(">Q", header[8:])[0], 16
        elif box_size == 0:  # the last box: to the end
            box_size = end - pos
        if box_size < offset:
            return
        yield kind, pos + offset, pos + box_size
        pos += box_size


def _read_at(fh, offset, count):
    fh.seek(offset)
    return fh.read(count)


def _mvhd_seconds(payload):
    """The duration a movie header claims, in seconds; 0 when unknown (all ones)."""
    if len(payload) < 32:
        return 0.0
    if payload[0] == 1:
        (timescale, duration), unknown = struct.unpack(">IQ", payload[20:32]), 2**64 - 1
    else:
        (timescale, duration), unknown = struct.unpack(">II", payload[12:20]), 2**32 - 1
    return duration / timescale if timescale and duration != unknown else 0.0


def _tkhd_side(payload):
    """The larger of a track header's width and height (16.16 fixed point), in pixels."""
    at = 88 if payload[:1] == b"\x01" else 76
    if len(payload) < at + 8:
        return 0
    width, height = struct.unpack(">II", payload[at : at + 8])
    return max(width, height) >> 16


def _video_stream(container):
    # Cover art in an audio file is a one-picture "video" stream: not a video.
    attached_pic = av.stream.Disposition.attached_pic
    for stream in container.streams.video:
        if not stream.disposition & attached_pic:
            return stream
    return None


def _audio_stream(container):
    return container.streams.audio[0] if container.streams.audio else None


def _start_seconds(container, vstream):
    if container.start_time is not None:
        return container.start_time / av.time_base
    if vstream.start_time is not None:
        return float(vstream.start_time * vstream.time_base)
    return 0.0


def _scan_duration(container, vstream):
    end = 0.0
    try:
        for packet in container.demux(vstream):
            if packet.pts is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except av.FFmpegError:
        pass
    container.seek(0)
    return end


def _check_index(stream, file_size):
    """A sample table pointing past the end of the file means its body was cut off (MP4/MOV)."""
    try:
        entries = stream.index_entries
        last = entries[len(entries) - 1] if len(entries) else None
    except (AttributeError, IndexError):
        return
    if last is not None and last.pos >= 0 and last.pos + max(0, last.size) > file_size:
        raise MediaError(
            "corrupt", f"file cut at {file_size} bytes; samples go to {last.pos + last.size}"
        )


def _decode_at(container, stream, seconds, max_frames=90):
    """A frame decoded at `seconds` (None: the first frame), or None if the data there is bad.

    From the keyframe before `seconds` every packet is decoded up to it (at most `max_frames`
    frames, so a long GOP stays cheap): damage anywhere in that stretch shows as an error.
    """
    frame = None
    try:
        container.seek(
            0 if seconds is None else int(seconds / stream.time_base), stream=stream, backward=True
        )
        decoded = 0
        for count, packet in enumerate(container.demux(stream)):
            for frame in packet.decode():
                decoded += 1
                if (
                    seconds is None
                    or frame.time is None
                    or frame.time >= seconds
                    or decoded >= max_frames
                ):
                    return frame
            if count >= PROBE_MAX_PACKETS:
                break
    except (av.FFmpegError, OSError):
        return None
    # The stream ended first (e.g. sound outlasting the picture): cut files fail the end check.
    return frame


def _last_packet_end(container, vstream, seconds):
    """End time of the last packet of any stream, demuxing from the keyframe before `seconds`."""
    end = None
    try:
        container.seek(int(seconds / vstream.time_base), stream=vstream, backward=True)
        for packet in container.demux():
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is not None and packet.size:
                t = float((ts + (packet.duration or 0)) * packet.time_base)
                end = t if end is None else max(end, t)
    except (av.FFmpegError, OSError):
        pass
    return end


def _clockwise(ccw_degrees):
    """FFmpeg's counter-clockwise display angle to our clockwise 0/90/180/270."""
    return (-round((ccw_degrees or 0) / 90) * 90) % 360


# --------------------------------------------------------------------------- colour
#
# Every output is SDR BT.709, limited range. The conversion, tone mapping included, is done
# by the `scale` filter of the FFmpeg inside PyAV (libswscale with in_/out_transfer, primaries
# and matrix): it is the only colour-managed converter there (no zscale, no libplacebo;
# `colorspace` refuses HLG and PQ; `tonemap` wants linear float frames and a hand-made chain
# around it). Measured on a colour-bar and skin-tone pattern (bench/colour_bench.py,
# BENCHMARKS.md), its default relative-colorimetric mapping lands HLG and PQ within a few
# units of the SDR reference; `intent=perceptual` came out darker and flatter, so it is not used.

# FFmpeg's AVColorTransferCharacteristic / AVColorPrimaries / AVColorSpace values, by name.
_TRANSFERS = {
    1: "bt709",
    4: "gamma22",
    5: "gamma28",
    6: "bt709",  # SMPTE 170M, BT.2020 10/12-bit: the BT.709 curve under other names
    7: "smpte240m",
    8: "linear",
    13: "iec61966-2-1",
    14: "bt709",
    15: "bt709",
    16: "smpte2084",
    18: "arib-std-b67",
}
_PRIMARIES = {
    1: "bt709",
    4: "bt470m",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "film",
    9: "bt2020",
    10: "smpte428",
    11: "smpte431",
    12: "smpte432",
}
_MATRICES = {
    1: "bt709",
    4: "fcc",
    5: "bt601",
    6: "bt601",
    7: "smpte240m",
    9: "bt2020nc",
    10: "bt2020nc",
}
AVCOL_RANGE_JPEG = 2


def colour_of(frame) -> Colour:
    """The colour space of a decoded frame, with untagged values filled in as players do."""
    transfer = _TRANSFERS.get(frame.color_trc, "bt709")
    hdr = transfer in ("arib-std-b67", "smpte2084")
    primaries = _PRIMARIES.get(frame.color_primaries) or ("bt2020" if hdr else "bt709")
    matrix = _MATRICES.get(frame.colorspace)
    if matrix is None:
        wide = primaries == "bt2020"
        matrix = "bt2020nc" if wide else _size_matrix(frame.width, frame.height)
    full = frame.color_range == AVCOL_RANGE_JPEG or frame.format.name.startswith("yuvj")
    return Colour(transfer=transfer, primaries=primaries, matrix=matrix, full_range=full)


def _size_matrix(width, height):
    """The matrix players assume for an untagged picture: BT.601 for standard definition."""
    return "bt709" if max(width, height) >= 1280 or min(width, height) >= 720 else "bt601"


def _to_sdr(colour: Colour, width, height):
    """Filters ((name, args) pairs) scaling to width x height as SDR BT.709 limited-range YUV.

    A BT.709 (or BT.601) source takes one plain `scale`. An HDR or wide-gamut one is scaled
    and turned into 16-bit RGB first, then converted: libswscale's colour conversion ran 2.5x
    faster on RGB than on 10-bit YUV (float RGB: 3.5x, at twice the memory), and at the
    rendition's size rather than 4K.
    """
    decode = (
        f"{width}:{height}:flags={_SCALE_FLAGS}:in_color_matrix={colour.matrix}"
        f":in_range={'pc' if colour.full_range else 'tv'}"
    )
    encode = "out_color_matrix=bt709:out_range=tv"
    if (colour.transfer, colour.primaries) == ("bt709", "bt709"):
        return [("scale", f"{decode}:{encode}"), ("format", "yuv420p")]
    convert = (
        f"in_transfer={colour.transfer}:in_primaries={colour.primaries}"
        f":out_transfer=bt709:out_primaries=bt709:{encode}"
    )
    return [
        ("scale", decode),
        ("format", "gbrp16le"),
        ("scale", convert),
        ("format", "yuv420p"),
    ]


def _to_rgb(frame, colour, width, height):
    """`frame` scaled to width x height as SDR BT.709 RGB (a PIL image), tone-mapped if HDR."""
    graph = av.filter.Graph()
    source = graph.add_buffer(
        width=frame.width,
        height=frame.height,
        format=frame.format.name,
        time_base=frame.time_base or Fraction(1, 1000),
    )
    # Through the renditions' own BT.709 YUV: swscale's tone mapping straight to 8-bit RGB
    # came out less saturated (greens off by 6 CIEDE2000 against 1 this way).
    chain = [
        *_to_sdr(colour, width, height),
        ("scale", "in_color_matrix=bt709:in_range=tv:out_range=pc"),
        ("format", "rgb24"),
        ("buffersink", None),
    ]
    _chain(graph, source, chain)
    graph.configure()
    graph.push(frame)
    return graph.pull().to_image()


# --------------------------------------------------------------------------- poster


def frame_is_black(image) -> bool:
    """True if nearly every pixel of a PIL image is near black (fade-in, lens cap, pocket)."""
    gray = image.convert("L")
    gray.thumbnail((128, 128))
    histogram = gray.histogram()
    dark = sum(histogram[:32])
    return dark >= 0.98 * sum(histogram)


# Thumbnail widths. 400 fits a two-column phone card (about 190 CSS px at 1.75-2x) without
# sending a 640 px picture that Lighthouse counts as three quarters wasted.
THUMBNAIL_WIDTHS = (320, 400, 640, 1280)


def make_poster(
    src,
    out_dir,
    *,
    probe_result: ProbeResult | None = None,
    widths=THUMBNAIL_WIDTHS,
    picture_filter=None,
) -> Poster:
    """An upright JPEG poster from about a tenth in (never black) plus WebP/JPEG thumbnails.

    `picture_filter(image, seconds)` may change the upright picture (at `seconds` from the
    clip's start) before the poster and thumbnails are made of it, e.g. to blur faces.
    """
    info = probe_result or probe(src)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    poster_w = min(info.width, POSTER_MAX_WIDTH)
    poster_h = _even_or_one(info.height * poster_w / info.width, even=False)
    # Scale in FFmpeg before rotating: stored pixels have the un-rotated shape.
    sw, sh = (poster_h, poster_w) if info.rotation in (90, 270) else (poster_w, poster_h)

    image = None
    fallback = None
    at = fallback_at = 0.0
    with open_input(str(src)) as container:
        vstream = _video_stream(container)
        limit_decoder_threads(vstream)
        start = _start_seconds(container, vstream)
        for fraction in (0.1, 0.2, 0.35, 0.5, 0.7, 0.9):
            frame = _frame_near(container, vstream, start + info.duration * fraction, info.fps)
            if frame is None:
                continue
            candidate = _upright(_to_rgb(frame, info.colour, sw, sh), info.rotation)
            seconds = frame.time - start if frame.time is not None else 0.0
            if not frame_is_black(candidate):
                image, at = candidate, seconds
                break
            if fallback is None:
                fallback, fallback_at = candidate, seconds
    if image is None:
        image, at = fallback, fallback_at
    release_freed_memory()
    if image is None:
        raise MediaError("corrupt", "no frame for a poster")
    if picture_filter is not None:
        image = picture_filter(image, at)

    poster = Image(out_dir / "poster.jpg", image.width, image.height, "jpeg")
    image.save(poster.path, "JPEG", quality=85, optimize=True, progressive=True)

    wanted = sorted(set(widths))
    fitting = [w for w in wanted if w <= info.width] or [min(wanted[0], info.width)]
    thumbs = []
    for w in fitting:
        w = min(w, image.width)
        h = max(1, round(image.height * w / image.width))
        thumb = image if (w, h) == image.size else image.resize((w, h), PILImage.Resampling.LANCZOS)
        webp = Image(out_dir / f"thumb-{w}.webp", w, h, "webp")
        jpeg = Image(out_dir / f"thumb-{w}.jpg", w, h, "jpeg")
        thumb.save(webp.path, "WEBP", quality=80, method=4)
        thumb.save(jpeg.path, "JPEG", quality=82, optimize=True, progressive=True)
        thumbs += [webp, jpeg]
    return Poster(poster=poster, thumbnails=tuple(thumbs))


def _frame_near(container, stream, seconds, fps, max_frames=150):
    """The first frame at or after `seconds`, decoding on from the keyframe before it."""
    last = None
    tolerance = 0.5 / fps if fps else 0.02
    try:
        container.seek(max(0, int(seconds / stream.time_base)), stream=stream, backward=True)
        for decoded, frame in enumerate(container.decode(stream), 1):
            last = frame
            if frame.time is None or frame.time >= seconds - tolerance or decoded >= max_frames:
                return frame
    except (av.FFmpegError, OSError):
        pass
    return last


def _upright(image, rotation):
    if rotation == 90:
        return image.transpose(PILImage.Transpose.ROTATE_270)  # PIL turns counter-clockwise
    if rotation == 180:
        return image.transpose(PILImage.Transpose.ROTATE_180)
    if rotation == 270:
        return image.transpose(PILImage.Transpose.ROTATE_90)
    return image


# --------------------------------------------------------------------------- transcode

RENDITION_SHORT_SIDES = {720: "720p", 1080: "1080p"}
# Frame rates a phone or browser decodes in hardware at H.264 level 4.2 at most: 1080p60;
# a slow-motion source (120/240 fps) also gets a lighter 720p at 30.
MAX_FPS_OUT = 60
MAX_FPS_LIGHT = 30
AUDIO_RATE = 48000
AVCOL_BT709 = 1  # AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace
AVCOL_RANGE_MPEG = 1


def transcode(
    src,
    out_dir,
    *,
    probe_result: ProbeResult | None = None,
    heights=(720, 1080),
    crf: int = 23,
    preset: str = "veryfast",
    on_progress=None,
    frame_filter=None,
) -> list[Rendition]:
    """Upright SDR BT.709 H.264 High/AAC MP4 renditions (moov first, no source metadata), one pass.

    HDR is tone-mapped; frame rates above 60 are thinned evenly (the 720p to 30 when the source
    is faster than 60), keeping every kept frame's own time, so duration and sync hold.
    A source without sound gives renditions without an audio track (no invented silence).
    `on_progress(seconds_done)` is called every 2 s of source video, to show the work lives.
    `frame_filter(frame)` may replace each upright rendition frame (its time counts from the
    clip's start), e.g. to blur faces and plates in every rendition.
    """
    info = probe_result or probe(src)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = _rendition_sizes(info.width, info.height, heights)

    with open_input(str(src)) as inp, ExitStack() as closing:
        vin = _video_stream(inp)
        ain = _audio_stream(inp)
        limit_decoder_threads(vin)
        origin = _start_seconds(inp, vin)
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)

        big = info.width * info.height > 1920 * 1088
        encoder_threads = BIG_PICTURE_ENCODER_THREADS if big else ENCODER_THREADS
        outputs = []
        for label, (w, h) in targets:
            path = out_dir / f"{label}.mp4"
            cap = _fps_cap(label, float(rate))
            # Fresh containers carry only what we set: no source tags, GPS, chapters or dates.
            out = closing.enter_context(
                av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
            )
            outputs.append(
                _Output(
                    label,
                    path,
                    out,
                    _add_h264(
                        out, vin, min(rate, Fraction(cap)), w, h, crf, preset, encoder_threads
                    ),
                    _add_aac(out) if ain is not None else None,
                    _EvenDrop(cap, vin.time_base, min(float(rate), MAX_FPS_OUT)),
                )
            )
        # Frames no rendition keeps are dropped before any filtering is spent on them.
        thinning = _EvenDrop(MAX_FPS_OUT, vin.time_base, float(rate))

        graph, sinks = _video_graph(vin, info.rotation, [size for _, size in targets], info.colour)
        resampler = av.AudioResampler(
            format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=1024
        )
        v_origin = round(origin / vin.time_base)
        next_report = origin + 2
        last_vpts = None
        audio_next = None  # next audio pts, in samples at AUDIO_RATE
        bad_packets = 0

        for packet in inp.demux(*([vin] + ([ain] if ain is not None else []))):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                # One damaged packet should not cost the whole clip; many mean a broken file.
                bad_packets += 1
                if bad_packets > 50:
                    raise MediaError("corrupt", "too many undecodable packets") from None
                continue
            for frame in frames:
                if packet.stream is vin:
                    # Keep the source's own timing (phone clips are VFR), rebased to start at 0.
                    pts = frame.pts if frame.pts is not None else (last_vpts or 0) + 1 + v_origin
                    pts -= v_origin
                    if last_vpts is not None and pts <= last_vpts:
                        pts = last_vpts + 1
                    frame.pts = last_vpts = pts
                    if not thinning.keep(pts):
                        continue
                    graph.push(frame)
                    _drain_video(sinks, outputs, frame_filter)
                    if frame.time is not None and frame.time >= next_report:
                        release_freed_memory()
                        if on_progress is not None:
                            on_progress(frame.time - origin)
                        next_report = frame.time + 2
                else:
                    if audio_next is None:
                        # Audio keeps its offset against the video, so A/V stay in sync.
                        t = frame.time if frame.time is not None else origin
                        audio_next = max(0, round((t - origin) * AUDIO_RATE))
                    frame.pts = None  # from here the running sample count is the clock
                    audio_next = _encode_audio(resampler.resample(frame), outputs, audio_next)
        if last_vpts is None:
            raise MediaError("corrupt", "no decodable video frame")

        graph.push(None)
        _drain_video(sinks, outputs, frame_filter)
        if audio_next is not None:
            _encode_audio(resampler.resample(None), outputs, audio_next)
        for o in outputs:
            for stream in (o.vstream, o.astream):
                if stream is not None:
                    for packet in stream.encode():
                        o.container.mux(packet)
            o.container.close()
    return [_describe(o) for o in outputs]


def _add_h264(out, vin, rate, width, height, crf, preset, threads):
    stream = out.add_stream("libx264", rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    cc = stream.codec_context
    cc.time_base = vin.time_base
    cc.gop_size = max(1, round(2 * float(rate)))  # a keyframe every ~2 s: quick seeking
    cc.thread_type = "AUTO"
    # x264 keeps frames per thread and for its look-ahead: a fixed count bounds the memory
    # on a many-core worker (its default is 1.5 threads a core), and a shorter look-ahead
    # trims it further; CRF encodes hardly notice (BENCHMARKS.md).
    cc.thread_count = threads
    # The graph converts to BT.709 limited range; say so, or players guess by frame size.
    cc.color_primaries = cc.color_trc = cc.colorspace = AVCOL_BT709
    cc.color_range = AVCOL_RANGE_MPEG
    stream.options = {
        "preset": preset,
        "crf": str(crf),
        "profile": "high",
        "x264-params": X264_BIG_PICTURE if is_big_picture(vin) else X264_PARAMS,
    }
    return stream


def _add_aac(out):
    stream = out.add_stream("aac", rate=AUDIO_RATE)
    stream.layout = "stereo"
    stream.bit_rate = 128000
    return stream


@dataclass
class _Output:
    label: str
    path: Path
    container: object
    vstream: object
    astream: object
    frames: "_EvenDrop"  # which filtered frames this rendition keeps


class _EvenDrop:
    """Keeps at most `fps` frames a second, evenly, by their own times; never duplicates one.

    A frame is kept when it is the first in a new 1/fps slot: 240 fps keeps every fourth at
    60, 50 fps keeps all, and a variable-rate clip keeps its pauses (no frame is repeated).
    Slots start a little early (a quarter of the source's frame interval, at most a quarter
    of a slot), so timestamps rounded down (60 fps in milliseconds: 0, 16, 33...) still
    fall one to a slot, and the first kept frames are as evenly spaced as the rest.
    """

    def __init__(self, fps, time_base, source_fps):
        self.fps, self.time_base, self.last_slot = fps, time_base, None
        self.early = min(0.25, 0.25 * fps / source_fps) if source_fps > 0 else 0.25

    def keep(self, pts) -> bool:
        slot = math.floor(float(pts * self.time_base) * self.fps + self.early)
        if self.last_slot is not None and slot <= self.last_slot:
            return False
        self.last_slot = slot
        return True


def _fps_cap(label, source_fps):
    """The highest frame rate a rendition is made at (see MAX_FPS_OUT)."""
    if source_fps > MAX_FPS_OUT and label != "1080p":
        return MAX_FPS_LIGHT
    return MAX_FPS_OUT


ENCODER_THREADS = min(4, os.cpu_count() or 1)
# Above 1080p the decoder alone holds ~200 MB of 4K frames: threads are bounded there, so a
# 4K60 HDR clip stays under 500 MB resident (bench/hdr_bench.py, BENCHMARKS.md).
BIG_PICTURE_THREADS = ("FRAME", 2)
BIG_PICTURE_ENCODER_THREADS = 1
BIG_PICTURE_GRAPH_THREADS = 1
# x264 holds about 10 MB a 1080p frame it keeps in flight: look-ahead, B-frames, references.
# Beside a 4K decoder (~210 MB) and the HDR conversion (~60 MB), a 1080p encoder with three
# B-frames and a look-ahead of 5 took 123 MB; without B-frames and a look-ahead of 2 (still
# enough for mb-tree), 62 MB, for files a few per cent larger at the same CRF.
X264_PARAMS = "rc-lookahead=5:sync-lookahead=0"
X264_BIG_PICTURE = "rc-lookahead=2:sync-lookahead=0:bframes=0"


def is_big_picture(stream):
    """True for a video stream larger than 1080p (4K phones): its memory is rationed."""
    cc = stream.codec_context
    return cc.width * cc.height > 1920 * 1088


def release_freed_memory():
    """Hand memory freed by FFmpeg back to the system (glibc keeps it otherwise).

    A 4K frame is 25 MB; glibc keeps freed blocks of that size in per-thread arenas, so the
    peak of one step (the poster) added to the next (the transcode): 535 MB against 498 MB.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def limit_decoder_threads(stream):
    """Decode with as many threads as cores, except above 1080p, where each costs too much.

    A 4K 10-bit frame is 25 MB and FFmpeg's frame threading holds frames in flight per
    thread: on a many-core worker the default thread count alone pushes a 4K60 HEVC
    transcode past 600 MB. Every full decode of an upload (probe, poster, transcode,
    fingerprint) goes through here. Measured in bench/hdr_bench.py, BENCHMARKS.md.
    """
    if is_big_picture(stream):
        stream.thread_type, stream.codec_context.thread_count = BIG_PICTURE_THREADS
    else:
        stream.thread_type = "AUTO"


def _rendition_sizes(width, height, heights):
    """[(label, (w, h))]: short side at most each target, never upscaled, the first always made.

    A label says the short side it has: a 360p source's only rendition is "360p", not "720p".
    """
    short = min(width, height)
    result = []
    for target in sorted(heights):
        if result and short < target:
            continue
        scale = min(1.0, target / short)
        size = (_even_or_one(width * scale), _even_or_one(height * scale))
        made = min(size)
        label = RENDITION_SHORT_SIDES.get(made, f"{made}p")
        result.append((label, size))
    return result


def _even_or_one(value, even=True):
    value = max(1, round(value))
    if even:
        value = max(2, value - value % 2)
    return value


def _video_graph(vin, rotation, sizes, colour=SDR_BT709, threads=0):
    """buffer -> drop side data -> largest size + colour -> split -> smaller sizes, upright.

    The colour conversion runs once, at the largest rendition's size: libswscale builds its
    tone-mapping tables when a context starts (seconds, for HDR), and a 4K frame is cut down
    before anything else holds it. Turning comes last, so the transpose moves small frames.
    """
    graph = av.filter.Graph()
    # Slice threads each keep their own conversion buffers: above 1080p one, not one a core.
    graph.threads = threads or (BIG_PICTURE_GRAPH_THREADS if is_big_picture(vin) else 0)

    def stored(w, h):
        return (h, w) if rotation in (90, 270) else (w, h)

    largest = stored(*max(sizes, key=lambda size: size[0] * size[1]))
    # The pixels will be upright and SDR, so no source side data may follow them into the
    # encoder: no display matrix, captions, SEI user data or HDR metadata.
    node = _chain(
        graph,
        graph.add_buffer(template=vin, time_base=vin.time_base),
        [("sidedata", "mode=delete"), *_to_sdr(colour, *largest)],
    )
    if len(sizes) > 1:
        split = graph.add("split", str(len(sizes)))
        node.link_to(split)
    turn = {90: [("transpose", "clock")], 270: [("transpose", "cclock")]}.get(
        rotation, [("hflip", None), ("vflip", None)] if rotation == 180 else []
    )
    sinks = []
    for index, size in enumerate(sizes):
        w, h = stored(*size)
        resize = [("scale", f"{w}:{h}:flags={_SCALE_FLAGS}")] if (w, h) != largest else []
        # setsar=1: display size == pixel size in the rendition, even if anamorphic.
        branch = [*resize, *turn, ("setsar", "1"), ("format", "yuv420p")]
        first = graph.add(*branch[0])
        if len(sizes) > 1:
            split.link_to(first, index, 0)
        else:
            node.link_to(first)
        sink = graph.add("buffersink")
        _chain(graph, first, branch[1:]).link_to(sink)
        sinks.append(sink)
    graph.configure()
    return graph, sinks


def _chain(graph, node, filters):
    """Link `filters` ((name, args) pairs) one after the other from `node`; the last one."""
    for name, args in filters:
        nxt = graph.add(name, args)
        node.link_to(nxt)
        node = nxt
    return node


def _drain_video(sinks, outputs, frame_filter=None):
    for sink, output in zip(sinks, outputs, strict=True):
        while True:
            try:
                frame = sink.pull()
            except (av.BlockingIOError, av.EOFError):
                break
            if not output.frames.keep(frame.pts):
                continue
            if frame_filter is not None:
                frame = frame_filter(frame)
            # The decoder's I/P/B marks would force x264's frame types; let it choose.
            frame.pict_type = av.video.frame.PictureType.NONE
            for packet in output.vstream.encode(frame):
                output.container.mux(packet)


def _encode_audio(frames, outputs, next_pts):
    for frame in frames:
        frame.time_base = Fraction(1, AUDIO_RATE)
        for output in outputs:
            if output.astream is None:
                continue
            frame.pts = next_pts
            for packet in output.astream.encode(frame):
                output.container.mux(packet)
        next_pts += frame.samples
    return next_pts


def _describe(output):
    with av.open(str(output.path)) as check:
        stream = check.streams.video[0]
        duration = check.duration / av.time_base if check.duration else 0.0
        width, height = stream.codec_context.width, stream.codec_context.height
    return Rendition(
        path=output.path,
        width=width,
        height=height,
        size=os.path.getsize(output.path),
        duration=round(duration, 3),
        label=output.label,
    )


# --------------------------------------------------------------------------- cut-off recordings
#
# A dashcam (or phone) writes its MP4 index (moov) last. Power lost before that leaves the
# frames in `mdat` with nothing saying where each one starts. The car's H.264 has no audio
# to untangle, and every frame is a run of length-prefixed NAL units, so the frames can be
# found again by walking the data, given the codec parameters (SPS/PPS in the avcC record)
# that only the index held: a healthy file from the same camera has the same ones.

# A dashcam's own name for a file: 2024-05-01_10-00-00-front.mp4
_CAMERA_NAME = re.compile(r"^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-(?P<camera>[\w-]+)\.mp4$", re.I)
_MAX_NAL_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Recovery:
    path: Path  # the rebuilt file, an ordinary MP4 holding only what was decodable
    frames: int
    seconds: float
    reference: Path  # the healthy file whose codec parameters were used


def is_cut_off(path) -> bool:
    """True if an MP4/MOV was cut off before the camera wrote its index."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            _mp4_claims(fh, size, fh.read(512))
    except MediaError as error:
        return error.code == "cut_off"
    except OSError:
        return False
    return False


def recover_truncated(cut_path, reference_path, dst) -> Recovery:
    """Rebuild a cut-off H.264 MP4 at `dst` with a healthy sibling's codec parameters.

    Raises MediaError("cut_off") when nothing decodable could be saved.
    """
    cut_path, reference_path, dst = Path(cut_path), Path(reference_path), Path(dst)
    with av.open(str(reference_path), options=OPEN_OPTIONS) as reference:
        template = _video_stream(reference)
        extradata = template.codec_context.extradata if template is not None else None
        if template is None or template.codec_context.name != "h264" or not extradata:
            raise MediaError("cut_off", "the sibling is no H.264 MP4")
        if extradata[0] != 1:
            raise MediaError("cut_off", "the sibling keeps its parameters in-band")
        length_size = (extradata[4] & 3) + 1
        rate = template.average_rate or template.guessed_rate or Fraction(30)
        rate = Fraction(rate.numerator, rate.denominator).limit_denominator(1001)
        time_base = Fraction(rate.denominator, rate.numerator)

        span = _mdat_span(cut_path)
        if span is None:
            raise MediaError("cut_off", "no media data")
        dst.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with (
            cut_path.open("rb") as fh,
            av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out,
        ):
            stream = out.add_stream_from_template(template)
            stream.time_base = time_base
            for data, keyframe in _h264_access_units(fh, *span, length_size):
                if written == 0 and not keyframe:
                    continue  # nothing decodes before the first keyframe
                packet = av.Packet(data)
                packet.stream = stream
                packet.pts = packet.dts = written
                packet.duration = 1
                packet.time_base = time_base
                packet.is_keyframe = keyframe
                out.mux(packet)
                written += 1
    frames = _count_decodable(dst) if written else 0
    if frames == 0:
        dst.unlink(missing_ok=True)
        raise MediaError("cut_off", "no decodable frame with the sibling's parameters")
    return Recovery(dst, frames, round(frames * float(time_base), 3), reference_path)


def recover_with_siblings(paths, *, names=None) -> list[tuple[Path, Recovery | None]]:
    """Rebuild each cut-off file among `paths` from a healthy one sent with it.

    Returns (cut path, Recovery or None) for every cut-off file, in order; healthy files are
    left alone. `names` maps a path to the file's original name, so a sibling from the same
    camera (2024-05-01_10-00-00-front.mp4) is tried first. The rebuilt file sits beside the
    cut one, named <stem>-recovered.mp4.
    """
    paths = [Path(p) for p in paths]
    names = {Path(p): n for p, n in (names or {}).items()}
    cut = [p for p in paths if is_cut_off(p)]
    healthy = [p for p in paths if p not in cut and _is_h264_mp4(p)]
    results = []
    for path in cut:
        camera = _camera(names.get(path, path.name))
        siblings = sorted(healthy, key=lambda p: _camera(names.get(p, p.name)) != camera)
        recovery = None
        for sibling in siblings:
            try:
                recovery = recover_truncated(
                    path, sibling, path.with_name(f"{path.stem}-recovered.mp4")
                )
                break
            except (MediaError, av.FFmpegError, OSError):
                continue
        results.append((path, recovery))
    return results


def _camera(name):
    match = _CAMERA_NAME.match(Path(str(name)).name)
    return match["camera"].lower() if match else None


def _is_h264_mp4(path):
    try:
        with av.open(str(path), options=OPEN_OPTIONS) as container:
            stream = _video_stream(container)
            return (
                stream is not None
                and stream.codec_context.name == "h264"
                and container.format.name.startswith("mov")
            )
    except (av.FFmpegError, OSError):
        return False


def _mdat_span(path):
    """(start, end) of the media data in a cut file: to its end if the box runs past it."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        for kind, start, end in _boxes(fh, 0, size):
            if kind == b"mdat":
                return start, min(end, size)
    return None


def _h264_access_units(fh, start, end, length_size):
    """(data, is keyframe) per frame of length-prefixed H.264 NAL units between start and end.

    Stops at the first NAL unit that is cut or makes no sense (the end of what was written).
    """
    pos, unit, has_slice, keyframe = start, [], False, False
    while pos + length_size < end:
        fh.seek(pos)
        length = int.from_bytes(fh.read(length_size), "big")
        if not 0 < length <= _MAX_NAL_BYTES or pos + length_size + length > end:
            break
        nal = fh.read(length)
        kind = nal[0] & 0x1F
        if nal[0] & 0x80 or kind == 0 or kind > 23:
            break
        first_slice = kind in (1, 5) and len(nal) > 1 and nal[1] & 0x80  # first_mb_in_slice 0
        if has_slice and (kind in (6, 7, 8, 9) or first_slice):
            yield b"".join(unit), keyframe
            unit, has_slice, keyframe = [], False, False
        unit.append(length.to_bytes(length_size, "big") + nal)
        has_slice = has_slice or kind in (1, 5)
        keyframe = keyframe or kind == 5
        pos += length_size + length
    if has_slice and pos == end:
        yield b"".join(unit), keyframe  # the data ends with a whole frame


def _count_decodable(path):
    frames = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                frames += 1
    except (av.FFmpegError, OSError):
        pass
    return frames
