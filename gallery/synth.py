"""Real synthetic clips for tests and demo data: a title card, a moving road scene, a sine tone.

Pure Python (PyAV, numpy, Pillow); nothing here imports Django.

Every frame carries an orientation marker: a red square in the top-left corner of the
picture *as displayed*, so a test can tell whether a rotated clip was shown upright.
"""

import colorsys
import random
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Saturated red, far from any scene colour (skies are blue to violet, the road grey).
MARKER_RGB = (225, 25, 25)

CONTAINERS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".m4a": "ipod",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
}
CODECS = {"h264": "libx264", "hevc": "libx265", "hevc10": "libx265", "vp9": "libvpx-vp9"}
SAMPLE_RATE = 48000


def synthesize(
    path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 180,
    fps: int = 25,
    title: str = "",
    seed: int = 0,
    codec: str = "h264",
    rotation: int = 0,
    audio: bool = True,
    video: bool = True,
    metadata: dict | None = None,
) -> Path:
    """Write a clip to `path` (container from the suffix) and return its Path.

    `width` x `height` is the stored frame size; `rotation` (0/90/180/270, clockwise, like a
    phone's "rotate" tag) is written as the display matrix, so 640x360 with 90 shows portrait.
    WebM holds only VP9 here: an h264/hevc `codec` is replaced by vp9 for a .webm path;
    .m4a is always audio-only. Frame 0 is dark, like a camera's; no frame after it is black.
    """
    path = Path(path)
    container_format = CONTAINERS.get(path.suffix.lower())
    if container_format is None:
        raise ValueError(f"unsupported suffix {path.suffix!r}; use one of {sorted(CONTAINERS)}")
    if codec not in CODECS:
        raise ValueError(f"unsupported codec {codec!r}; use one of {sorted(CODECS)}")
    if rotation % 90 or rotation % 360 not in (0, 90, 180, 270):
        raise ValueError("rotation must be 0, 90, 180 or 270")
    if not (video or audio):
        raise ValueError("a clip needs video, audio or both")
    rotation %= 360
    if container_format == "webm":
        codec = "vp9"
    if container_format == "ipod":
        video = False
    # Chroma subsampling needs even sizes.
    width, height = max(2, width - width % 2), max(2, height - height % 2)
    n_frames = max(1, round(seconds * fps))

    options = {}
    metadata = {k: str(v) for k, v in (metadata or {}).items()}
    if metadata and container_format in ("mp4", "ipod"):
        # The plain mp4 udta writer keeps only a few keys; mdta keys keep them all.
        options["movflags"] = "use_metadata_tags"
    elif container_format == "mov" and any(k.startswith("com.apple.") for k in metadata):
        # Apple-style keys (as an iPhone writes them) exist only as mdta keys.
        options["movflags"] = "use_metadata_tags"

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container_format, options=options) as out:
        out.metadata.update(metadata)
        vstream = _add_video(out, codec, width, height, fps, rotation) if video else None
        astream = (
            _add_audio(out, "libopus" if container_format == "webm" else "aac") if audio else None
        )
        scene = _Scene(width, height, rotation, fps, n_frames, title, seed) if video else None

        tone = 220.0 + (seed % 16) * 27.5
        samples_total = (
            round(n_frames / fps * SAMPLE_RATE) if video else round(seconds * SAMPLE_RATE)
        )
        chunk = 1024
        samples_done = 0
        # Interleave by time so the muxer never has to buffer much.
        for index in range(n_frames if video else 0):
            frame = av.VideoFrame.from_ndarray(scene.frame(index), format="rgb24")
            frame.pts = index
            for packet in vstream.encode(frame):
                out.mux(packet)
            while astream and samples_done < min(samples_total, (index + 1) * SAMPLE_RATE // fps):
                samples_done = _mux_tone(
                    out, astream, tone, samples_done, min(chunk, samples_total - samples_done)
                )
        while astream and samples_done < samples_total:
            samples_done = _mux_tone(
                out, astream, tone, samples_done, min(chunk, samples_total - samples_done)
            )
        for stream in (vstream, astream):
            if stream is not None:
                for packet in stream.encode():
                    out.mux(packet)
    return path


def _add_video(out, codec, width, height, fps, rotation):
    stream = out.add_stream(CODECS[codec], rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p10le" if codec == "hevc10" else "yuv420p"
    stream.codec_context.gop_size = 2 * fps
    stream.codec_context.thread_type = "AUTO"
    if codec == "h264":
        stream.options = {"preset": "ultrafast", "crf": "26"}
    elif codec.startswith("hevc"):
        stream.options = {"preset": "ultrafast", "crf": "28", "x265-params": "log-level=error"}
        if out.format.name in ("mp4", "mov"):
            stream.codec_tag = "hvc1"  # what Apple players want (and iPhones write)
    else:
        stream.options = {
            "deadline": "realtime",
            "cpu-used": "8",
            "row-mt": "1",
            "crf": "40",
            "b": "0",
        }
    if rotation:
        # PyAV's angle is counter-clockwise, as FFmpeg's display matrix reads back.
        stream.set_display_rotation(-rotation)
    return stream


def _add_audio(out, codec):
    stream = out.add_stream(codec, rate=SAMPLE_RATE)
    stream.layout = "stereo"
    stream.bit_rate = 96000
    if codec == "aac":
        stream.options = {"aac_coder": "fast"}  # the default coder costs more than the video
    return stream


def _mux_tone(out, stream, freq, start, count):
    t = (np.arange(start, start + count) / SAMPLE_RATE).astype(np.float32)
    wave = (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = start
    frame.time_base = Fraction(1, SAMPLE_RATE)
    for packet in stream.encode(frame):
        out.mux(packet)
    return start + count


class _Scene:
    """Draws frames upright at display size, then turns them to the stored orientation."""

    def __init__(self, width, height, rotation, fps, n_frames, title, seed):
        self.rotation, self.fps, self.n_frames = rotation, fps, n_frames
        if rotation in (90, 270):
            width, height = height, width
        self.w, self.h = width, height
        rng = random.Random(seed)  # nosec B311 - test pictures, not security
        hue = rng.uniform(0.50, 0.80)  # blue to violet: never mistaken for the red marker
        top = _rgb(hue, 0.55, 0.95)
        bottom = _rgb((hue + rng.uniform(-0.08, 0.08)) % 1, 0.25, 0.85)
        self.car_rgb = _rgb(rng.choice([0.12, 0.30, 0.45, 0.95]), 0.75, 0.9)
        self.speed = rng.uniform(0.35, 0.7)  # screen widths a second
        self.phase = rng.random()

        self.road_top = int(height * 0.62)
        ramp = np.linspace(0.0, 1.0, self.road_top, dtype=np.float32)[:, None]
        sky = np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp
        background = np.empty((height, width, 3), np.uint8)
        background[: self.road_top] = sky.astype(np.uint8)[:, None, :]
        background[self.road_top :] = (88, 90, 94)
        background[self.road_top : self.road_top + max(1, height // 90)] = (200, 200, 190)
        self.background = background
        self.lane_y = (self.road_top + height) // 2
        self.lane_h = max(2, height // 60)
        self.car = self._car_sprite()
        self.marker = max(4, min(width, height) // 8)
        self.card = self._title_card(title, hue) if title else None

    def frame(self, index):
        t = index / self.fps
        img = self.background.copy()
        w = self.w
        # Lane dashes scroll against the car, so every frame differs.
        dash = max(8, w // 12)
        offset = int((t * self.speed * 1.5 * w) % (2 * dash))
        for x in range(-2 * dash + offset, w, 2 * dash):
            img[self.lane_y : self.lane_y + self.lane_h, max(0, x) : max(0, x + dash)] = (
                235,
                235,
                235,
            )
        self._paste_car(img, t)

        if self.card is not None:
            # Title card for ~1 s, cross-fading into the scene; never through black.
            fade_from, fade_to = 0.6, 1.0
            if t < fade_to:
                alpha = min(1.0, max(0.0, (t - fade_from) / (fade_to - fade_from)))
                img = (self.card * (1 - alpha) + img * alpha).astype(np.uint8)
        if index == 0 and self.n_frames > 1:
            img = (img // 8).astype(np.uint8)  # a camera's dark first frame

        m = self.marker
        img[m // 2 : m // 2 + m, m // 2 : m // 2 + m] = MARKER_RGB
        if self.rotation:
            # np.rot90 turns counter-clockwise; the player turns it back clockwise.
            img = np.rot90(img, k=self.rotation // 90)
        return np.ascontiguousarray(img)

    def _car_sprite(self):
        cw = max(12, self.w // 4)
        ch = max(8, cw // 2)
        sprite = Image.new("RGBA", (cw, ch), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        body_top = ch * 2 // 5
        draw.rounded_rectangle(
            (0, body_top, cw - 1, ch * 4 // 5), radius=max(1, ch // 8), fill=self.car_rgb
        )
        draw.polygon(
            [
                (cw * 0.22, body_top),
                (cw * 0.36, ch * 0.08),
                (cw * 0.68, ch * 0.08),
                (cw * 0.84, body_top),
            ],
            fill=tuple(int(c * 0.8) for c in self.car_rgb),
        )
        draw.polygon(
            [
                (cw * 0.30, body_top),
                (cw * 0.40, ch * 0.16),
                (cw * 0.64, ch * 0.16),
                (cw * 0.75, body_top),
            ],
            fill=(170, 200, 225),
        )
        r = max(2, ch // 5)
        for cx in (cw * 0.22, cw * 0.78):
            draw.ellipse((cx - r, ch - 1 - 2 * r, cx + r, ch - 1), fill=(25, 25, 25))
        rgba = np.asarray(sprite)
        return rgba[..., :3].copy(), rgba[..., 3:] > 127

    def _paste_car(self, img, t):
        rgb, alpha = self.car
        ch, cw = alpha.shape[:2]
        span = self.w + cw
        x = int(((self.phase + t * self.speed) * self.w) % span) - cw
        y = min(self.h - ch, self.lane_y - ch + self.lane_h * 3)
        x0, x1 = max(0, x), min(self.w, x + cw)
        if x1 <= x0 or y < 0:
            return
        region = img[y : y + ch, x0:x1]
        mask = alpha[:, x0 - x : x1 - x]
        np.copyto(region, rgb[:, x0 - x : x1 - x], where=mask)

    def _title_card(self, title, hue):
        card = Image.new("RGB", (self.w, self.h), _rgb((hue + 0.5) % 1, 0.6, 0.45))
        draw = ImageDraw.Draw(card)
        size = max(10, self.h // 9)
        font = ImageFont.load_default(size=size)
        while size > 8 and draw.textlength(title, font=font) > self.w * 0.9:
            size -= 2
            font = ImageFont.load_default(size=size)
        draw.text((self.w / 2, self.h / 2), title, font=font, fill=(250, 250, 245), anchor="mm")
        return np.asarray(card).astype(np.float32)


def _rgb(h, s, v):
    return tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(h, s, v))
