"""A dashcam event's files: minutes joined into one video, and the angles side by side.

Plain functions on files (PyAV and numpy, no Django), streaming frame by frame: nothing
holds more than a few frames of any video.
"""

import math
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from gallery.media import OPEN_OPTIONS, MediaError

MOSAIC_WIDTH = 1280
MOSAIC_HEIGHT = 720
MOSAIC_FPS = 30
AVCOL_BT709 = 1
AVCOL_RANGE_MPEG = 1


# --------------------------------------------------------------------------- joining


def join(paths, dst) -> Path:
    """The minutes of one camera, one after the other, in one MP4 at `dst`.

    Minutes from the same camera share their encoding: their packets are copied as they are
    (timestamps shifted), which costs no decoding. Files encoded differently are decoded
    and encoded again, one frame at a time.
    """
    paths, dst = [Path(p) for p in paths], Path(dst)
    if len(paths) == 1:
        shutil.copyfile(paths[0], dst)
        return dst
    try:
        if _same_encoding(paths):
            _copy_packets(paths, dst)
        else:
            _reencode(paths, dst)
    except av.FFmpegError as error:
        raise MediaError("corrupt", f"minutes could not be joined: {error}") from None
    return dst


def _describe(path):
    with av.open(str(path), options=OPEN_OPTIONS) as container:
        if not container.streams.video:
            raise MediaError("not_video", "no video stream")
        cc = container.streams.video[0].codec_context
        return (cc.name, cc.width, cc.height, bytes(cc.extradata or b""))


def _same_encoding(paths):
    first = _describe(paths[0])
    return all(_describe(p) == first for p in paths[1:])


def _copy_packets(paths, dst):
    with ExitStack() as stack:
        first = stack.enter_context(av.open(str(paths[0]), options=OPEN_OPTIONS))
        out = stack.enter_context(av.open(str(dst), "w", format="mp4"))
        ostream = out.add_stream_from_template(first.streams.video[0])
        offset = 0.0  # seconds of video already written
        for path in paths:
            with av.open(str(path), options=OPEN_OPTIONS) as inp:
                vin = inp.streams.video[0]
                tb = vin.time_base
                shift, start, end = None, None, offset
                for packet in inp.demux(vin):
                    if packet.dts is None:
                        continue  # the demuxer's flush packet
                    if start is None:
                        start = packet.dts
                        shift = round(offset / tb) - start
                    packet.dts += shift
                    if packet.pts is not None:
                        packet.pts += shift
                        end = max(end, float((packet.pts + (packet.duration or 0)) * tb))
                    packet.stream = ostream
                    out.mux(packet)
                offset = end


def _reencode(paths, dst):
    _name, width, height, _extra = _describe(paths[0])
    with av.open(str(paths[0]), options=OPEN_OPTIONS) as first:
        rate = first.streams.video[0].average_rate or Fraction(MOSAIC_FPS)
    with av.open(str(dst), "w", format="mp4") as out:
        # Nearly lossless: this is the source the renditions are made from.
        stream = _add_h264(out, width, height, rate, crf=16, preset="veryfast")
        stream.codec_context.time_base = Fraction(1, 1000)
        offset, last = 0.0, -1
        for path in paths:
            end = offset
            with av.open(str(path), options=OPEN_OPTIONS) as inp:
                for frame in inp.decode(video=0):
                    seconds = offset + (frame.time or 0.0)
                    pts = max(last + 1, round(seconds * 1000))
                    last = pts
                    image = frame.reformat(width=width, height=height, format="yuv420p")
                    image.pts, image.time_base = pts, stream.codec_context.time_base
                    for packet in stream.encode(image):
                        out.mux(packet)
                    end = max(end, seconds + 1 / float(rate))
            offset = end
        for packet in stream.encode():
            out.mux(packet)


def _add_h264(out, width, height, rate, *, crf, preset):
    stream = out.add_stream("libx264", rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    cc = stream.codec_context
    cc.color_primaries = cc.color_trc = cc.colorspace = AVCOL_BT709
    cc.color_range = AVCOL_RANGE_MPEG
    cc.gop_size = 2 * MOSAIC_FPS
    cc.thread_count = 2
    stream.options = {"preset": preset, "crf": str(crf), "profile": "high"}
    return stream


# --------------------------------------------------------------------------- mosaic


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    width: int
    height: int


def layout(count, width=MOSAIC_WIDTH, height=MOSAIC_HEIGHT) -> list[Tile]:
    """Where each angle goes, the leading one first and largest; 4:3 cells like the cameras.

    Up to four angles: the lead fills the height on the left, the others in a column on its
    right. Five or six: a 3x3 grid, centred, the lead taking two cells by two.
    """
    if count <= 1:
        return [Tile(0, 0, width, height)]
    if count <= 4:
        lead_w = min(width * 3 // 4, height * 4 // 3)
        cell_h = height // 3
        cell_w = min(width - lead_w, cell_h * 4 // 3)
        return [Tile(0, 0, lead_w, height)] + [
            Tile(lead_w, row * cell_h, cell_w, cell_h) for row in range(count - 1)
        ]
    cell_h = height // 3
    cell_w = min(width // 3, cell_h * 4 // 3)
    x0 = (width - 3 * cell_w) // 2
    # Right of the lead from the top, then under it: at most five others (six cameras).
    others = [(2, 0), (2, 1), (2, 2), (0, 2), (1, 2)][: count - 1]
    return [Tile(x0, 0, 2 * cell_w, 2 * cell_h)] + [
        Tile(x0 + column * cell_w, row * cell_h, cell_w, cell_h) for column, row in others
    ]


def _fit(frame_w, frame_h, tile):
    """(x, y, w, h) of a picture fitted inside its tile, centred, aspect kept, even sizes."""
    scale = min(tile.width / frame_w, tile.height / frame_h)
    w = max(2, int(frame_w * scale) // 2 * 2)
    h = max(2, int(frame_h * scale) // 2 * 2)
    return tile.x + (tile.width - w) // 2, tile.y + (tile.height - h) // 2, w, h


class _Reader:
    """One angle's frames, in order; `at(t)` is the last frame shown at time t."""

    def __init__(self, container):
        self.frames = container.decode(video=0)
        self.current = None
        self.upcoming = next(self.frames, None)
        self.changed = False

    def at(self, seconds):
        self.changed = False
        while self.upcoming is not None and (self.upcoming.time or 0.0) <= seconds + 1e-6:
            self.current, self.changed = self.upcoming, True
            self.upcoming = next(self.frames, None)
        return self.current


def _duration(container):
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


def make_mosaic(
    paths, dst, *, width=MOSAIC_WIDTH, height=MOSAIC_HEIGHT, fps=MOSAIC_FPS, crf=24,
    preset="veryfast", on_progress=None,
) -> Path:  # fmt: skip
    """Every angle in one picture (see `layout`), `fps` frames a second, as long as the longest.

    `paths` are upright SDR videos (our renditions), the leading angle first. An angle that
    ends early keeps its last picture.
    """
    dst = Path(dst)
    tiles = layout(len(paths), width, height)
    with ExitStack() as stack:
        inputs = [stack.enter_context(av.open(str(p), options=OPEN_OPTIONS)) for p in paths]
        duration = max(_duration(c) for c in inputs)
        readers = [_Reader(c) for c in inputs]
        out = stack.enter_context(
            av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"})
        )
        stream = _add_h264(out, width, height, fps, crf=crf, preset=preset)
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        frames = max(1, math.ceil(duration * fps - 1e-6))
        for n in range(frames):
            for reader, tile in zip(readers, tiles, strict=True):
                frame = reader.at(n / fps)
                if frame is None or not reader.changed:
                    continue
                x, y, w, h = _fit(frame.width, frame.height, tile)
                canvas[y : y + h, x : x + w] = frame.reformat(w, h, format="rgb24").to_ndarray()
            picture = av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            picture.pts = n
            for packet in stream.encode(picture):
                out.mux(packet)
            if on_progress is not None and n % (2 * fps) == 0:
                on_progress(n / fps)
        for packet in stream.encode():
            out.mux(packet)
    return dst
