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


# --------------------------------------------------------------------------- colour pattern
#
# A colour-bar and skin-tone pattern written as a camera would record the same scene in SDR
# BT.709, BT.601, HLG (an iPhone) or PQ (HDR10 Android phones). The HDR encodings are computed
# here from the standards' formulas (BT.2100, BT.2408: SDR white at 203 cd/m2), not with the
# FFmpeg converter the product uses, so a test compares the product against the standard.

# Patches as (RGB in SDR BT.709, box as fractions of the upright picture: x0, y0, x1, y1).
_BARS = [
    ("white75", (191, 191, 191)),
    ("yellow", (191, 191, 0)),
    ("cyan", (0, 191, 191)),
    ("green", (0, 191, 0)),
    ("magenta", (191, 0, 191)),
    ("red", (191, 0, 0)),
    ("blue", (0, 0, 191)),
]
_LOWER = [
    ("white", (255, 255, 255)),
    ("skin", (224, 172, 138)),
    ("dark_skin", (141, 85, 36)),
    ("sky", (110, 160, 215)),
    ("paint", (165, 25, 35)),  # a deep red car
    ("grey", (118, 118, 118)),
]
COLOUR_PATCHES = {
    **{name: (rgb, (i / 7, 0.0, (i + 1) / 7, 0.62)) for i, (name, rgb) in enumerate(_BARS)},
    **{name: (rgb, (i / 6, 0.62, (i + 1) / 6, 1.0)) for i, (name, rgb) in enumerate(_LOWER)},
}
COLOUR_KINDS = ("sdr", "bt601", "hlg", "pq")
SDR_WHITE_NITS = 203  # BT.2408's reference white in HDR
# FFmpeg's colour tags (primaries, transfer, matrix) per kind.
_TAGS = {"sdr": (1, 1, 1), "bt601": (2, 2, 6), "hlg": (9, 18, 9), "pq": (9, 16, 9)}
_CHROMATICITIES = {
    "bt709": ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
}
_LUMA = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114), "bt2020": (0.2627, 0.0593)}


def colour_pattern(width, height):
    """The pattern as upright SDR BT.709 RGB (uint8, height x width x 3)."""
    img = np.zeros((height, width, 3), np.uint8)
    for rgb, (x0, y0, x1, y1) in COLOUR_PATCHES.values():
        img[round(y0 * height) : round(y1 * height), round(x0 * width) : round(x1 * width)] = rgb
    return img


def patch_centre(name, width, height):
    """(x, y) of a patch's centre in an upright picture of that size."""
    _, (x0, y0, x1, y1) = COLOUR_PATCHES[name]
    return int((x0 + x1) / 2 * width), int((y0 + y1) / 2 * height)


def synthesize_colour(
    path,
    *,
    kind: str = "sdr",
    seconds: float = 1.0,
    width: int = 320,
    height: int = 180,
    fps: int = 25,
    rotation: int = 0,
    metadata: dict | None = None,
    audio: bool = True,
    pan: bool = False,
) -> Path:
    """The colour pattern (display size width x height) recorded as `kind`, one of COLOUR_KINDS.

    sdr and bt601 are 8-bit H.264; hlg and pq are 10-bit HEVC Main10 tagged hvc1 (.mov for
    an iPhone's HLG). Colour tags go into the bitstream and the container. `pan` slides the
    picture sideways (a second per width), so an encoder has motion to work on.
    """
    path = Path(path)
    if kind not in COLOUR_KINDS:
        raise ValueError(f"kind must be one of {COLOUR_KINDS}")
    container_format = CONTAINERS[path.suffix.lower()]
    stored_w, stored_h = (height, width) if rotation in (90, 270) else (width, height)
    picture = np.rot90(colour_pattern(width, height), k=rotation // 90)
    y, u, v = _yuv_planes(np.ascontiguousarray(picture), kind)
    hdr = kind in ("hlg", "pq")
    n_frames = max(2, round(seconds * fps))
    metadata = {k: str(v) for k, v in (metadata or {}).items()}
    options = {"movflags": "use_metadata_tags"} if metadata else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container_format, options=options) as out:
        out.metadata.update(metadata)
        stream = out.add_stream("libx265" if hdr else "libx264", rate=fps)
        stream.width, stream.height = stored_w, stored_h
        stream.pix_fmt = "yuv420p10le" if hdr else "yuv420p"
        cc = stream.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace = _TAGS[kind]
        cc.color_range = 1  # limited, as cameras record
        cc.gop_size = fps
        if hdr:
            stream.codec_tag = "hvc1"
            stream.options = {"preset": "ultrafast", "crf": "22", "x265-params": "log-level=error"}
        else:
            stream.options = {"preset": "ultrafast", "crf": "20"}
        if rotation:
            stream.set_display_rotation(-rotation)
        astream = _add_audio(out, "aac") if audio else None
        samples = 0
        for index in range(n_frames):
            shift = 2 * round(index * stored_w / fps / 2) if pan else 0
            planes = np.concatenate(
                [
                    np.roll(y, shift, axis=1).ravel(),
                    np.roll(u, shift // 2, axis=1).ravel(),
                    np.roll(v, shift // 2, axis=1).ravel(),
                ]
            ).reshape(stored_h * 3 // 2, stored_w)
            frame = av.VideoFrame.from_ndarray(planes, format=stream.pix_fmt)
            frame.pts = index
            frame.color_primaries, frame.color_trc, frame.colorspace = _TAGS[kind]
            frame.color_range = 1
            for packet in stream.encode(frame):
                out.mux(packet)
            while astream and samples < (index + 1) * SAMPLE_RATE // fps:
                samples = _mux_tone(out, astream, 440.0, samples, 1024)
        for s in (stream, astream):
            if s is not None:
                for packet in s.encode():
                    out.mux(packet)
    return path


def _yuv_planes(rgb8, kind):
    """Y'CbCr 4:2:0 limited-range planes (Y, Cb, Cr) for `kind`."""
    signal = rgb8.astype(np.float64) / 255
    display = signal**2.4  # BT.1886: what an SDR screen shows, 1.0 = SDR white
    if kind == "sdr":
        coded, matrix, bits = signal, "bt709", 8
    elif kind == "bt601":
        # Tagged as SD phones and camcorders do: only the BT.601 matrix (the 75 % bars lie
        # outside SMPTE C primaries, so no camera records them in that gamut anyway).
        coded, matrix, bits = signal, "bt601", 8
    else:
        nits = _convert_primaries(display, "bt709", "bt2020") * SDR_WHITE_NITS
        coded = _hlg_encode(nits) if kind == "hlg" else _pq_encode(nits)
        matrix, bits = "bt2020", 10
    kr, kb = _LUMA[matrix]
    r, g, b = coded[..., 0], coded[..., 1], coded[..., 2]
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb = (b - y) / (2 * (1 - kb))
    cr = (r - y) / (2 * (1 - kr))
    scale = 2 ** (bits - 8)
    y = (16 + 219 * y) * scale

    def half(c):
        c = (128 + 224 * c) * scale
        return (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]) / 4

    dtype = np.uint16 if bits > 8 else np.uint8
    return tuple(np.round(p).astype(dtype) for p in (y, half(cb), half(cr)))


def _rgb_to_xyz(primaries):
    (xr, yr), (xg, yg), (xb, yb) = _CHROMATICITIES[primaries]
    xw, yw = 0.3127, 0.3290  # D65
    columns = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in ((xr, yr), (xg, yg), (xb, yb))]).T
    white = np.array([xw / yw, 1.0, (1 - xw - yw) / yw])
    return columns * np.linalg.solve(columns, white)


def _convert_primaries(linear, source, target):
    matrix = np.linalg.inv(_rgb_to_xyz(target)) @ _rgb_to_xyz(source)
    return np.clip(linear @ matrix.T, 0, None)


def _hlg_encode(nits, peak=1000.0):
    """BT.2100 HLG: display light on a `peak` cd/m2 screen -> signal (inverse OOTF, then OETF)."""
    display = nits / peak
    y = display @ np.array(_LUMA["bt2020"][:1] + (1 - sum(_LUMA["bt2020"]),) + _LUMA["bt2020"][1:])
    gamma = 1.2
    scene = display * np.maximum(y, 1e-12)[..., None] ** ((1 - gamma) / gamma)
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    return np.where(
        scene <= 1 / 12, np.sqrt(3 * scene), a * np.log(np.maximum(12 * scene - b, 1e-12)) + c
    )


def _pq_encode(nits):
    """SMPTE ST 2084 (PQ) inverse EOTF."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = (np.clip(nits, 0, 10000) / 10000) ** m1
    return ((c1 + c2 * p) / (1 + c3 * p)) ** m2


# --------------------------------------------------------------------------- measuring the pattern
# What the colour tests check and bench/hdr_bench.py reports, on upright R'G'B' arrays.


def mean_luma(rgb):
    return float((rgb.astype(float) @ [0.2126, 0.7152, 0.0722]).mean())


def mean_saturation(rgb):
    rgb = rgb.astype(float)
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    return float(np.where(high > 0, (high - low) / np.maximum(high, 1e-9), 0).mean())


def patch_rgb(rgb, name):
    """The mean colour of the middle of a pattern patch (away from chroma-blurred edges)."""
    h, w = rgb.shape[:2]
    _, (x0, y0, x1, y1) = COLOUR_PATCHES[name]
    xs = slice(int((3 * x0 + x1) / 4 * w), int((x0 + 3 * x1) / 4 * w))
    ys = slice(int((3 * y0 + y1) / 4 * h), int((y0 + 3 * y1) / 4 * h))
    return rgb[ys, xs].reshape(-1, 3).mean(axis=0)


def lab(rgb):
    """CIE L*a*b* (D65) of BT.709 R'G'B' values 0-255 as shown on a BT.1886 screen."""
    linear = (np.asarray(rgb, float) / 255) ** 2.4
    xyz = (
        linear
        @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    )
    xyz = xyz / [0.95047, 1.0, 1.08883]
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000(rgb1, rgb2):
    """CIEDE2000 difference of two BT.709 colours (R'G'B' 0-255)."""
    return ciede2000_lab(lab(rgb1), lab(rgb2))


def ciede2000_lab(lab1, lab2):
    """CIEDE2000 colour difference (Sharma, Wu and Dalal's formulation)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    dl, dc = l2 - l1, c2 - c1
    dh = h2 - h1
    if c1 * c2 == 0:
        dh = 0
    elif dh > 180:
        dh -= 360
    elif dh < -180:
        dh += 360
    dhh = 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    h_mean = h1 + h2
    if c1 * c2 != 0:
        h_mean = (h1 + h2) / 2 + (180 if abs(h1 - h2) > 180 else 0)
        h_mean %= 360
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc = 1 + 0.045 * c_mean
    sh = 1 + 0.015 * c_mean * t
    rt = (
        -2
        * np.sqrt(c_mean**7 / (c_mean**7 + 25**7))
        * np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2))))
    )
    return float(
        np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))
    )


def colour_report(rgb):
    """Differences from the scene: mean luma (of 255), mean saturation, CIEDE2000 per patch."""
    reference = colour_pattern(rgb.shape[1], rgb.shape[0])
    return {
        "luma": mean_luma(rgb) - mean_luma(reference),
        "saturation": mean_saturation(rgb) - mean_saturation(reference),
        **{
            name: ciede2000(patch_rgb(rgb, name), patch_rgb(reference, name))
            for name in ("red", "green", "white", "skin", "paint", "sky")
        },
    }
