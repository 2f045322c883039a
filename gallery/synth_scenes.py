"""Demo footage: a saloon car's everyday life, drawn with numpy and encoded with PyAV.

Scenes (`SCENES`): a country drive at dawn, noon or dusk, a night drive under the stars, a
dusk-to-night time-lapse, charging at night by a city, a drive in the rain and a mountain road
with switchbacks. Each is built from layers drawn once (sky, hills, trees, city, road, the car
with its wheels at a few angles) and scrolled by an offset per frame, so a frame costs a few
slice copies: parallax comes from each layer's own speed. Sound is a soft road hum (plus rain
or a charger's hum), H.264 + AAC in an MP4.

Pure Python (PyAV, numpy, Pillow); nothing here imports Django.
"""

import math
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

SAMPLE_RATE = 48000
SCENES = ("dawn", "noon", "dusk", "night", "timelapse", "charging", "rain", "mountain")

# Sky gradients top to horizon (position 0..1, RGB), the light on the land, stars or not.
SKIES = {
    "dawn": ([(0, (38, 52, 112)), (0.55, (196, 122, 150)), (1, (255, 184, 112))], 0.8, False),
    "noon": ([(0, (58, 122, 212)), (1, (178, 214, 242))], 1.0, False),
    "dusk": ([(0, (34, 30, 84)), (0.5, (172, 72, 96)), (1, (252, 146, 64))], 0.65, False),
    "night": ([(0, (4, 7, 22)), (1, (26, 36, 74))], 0.3, True),
    "rain": ([(0, (92, 98, 110)), (1, (150, 156, 164))], 0.6, False),
}
CAR_COLOURS = [(196, 18, 38), (236, 238, 240), (22, 24, 28), (38, 70, 150), (128, 132, 138)]


@dataclass
class Layer:
    """A horizontally tileable band: RGB, a mask, where it sits, how fast it scrolls (px/s)."""

    rgb: np.ndarray  # (h, period + width, 3) uint8
    mask: np.ndarray  # (h, period + width) bool
    y0: int
    speed: float
    period: int

    def draw(self, img, t, width):
        off = int(t * self.speed) % self.period
        h = self.rgb.shape[0]
        np.copyto(
            img[self.y0 : self.y0 + h],
            self.rgb[:, off : off + width],
            where=self.mask[:, off : off + width, None],
        )


def synthesize_scene(
    path,
    scene: str = "noon",
    *,
    seconds: float = 7.0,
    width: int = 1280,
    height: int = 720,
    fps: int = 24,
    rotation: int = 0,
    seed: int = 0,
) -> Path:
    """Write one demo clip (H.264 + AAC MP4) at `width` x `height` stored pixels; return its path.

    `rotation` (0/90/180/270) is written as the display matrix, as a phone does: the scene is
    drawn upright at the displayed size and turned to the stored one.
    """
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; use one of {SCENES}")
    path = Path(path)
    width, height = width - width % 2, height - height % 2
    n_frames = max(1, round(seconds * fps))
    show_w, show_h = (height, width) if rotation in (90, 270) else (width, height)
    painter = _Painter(scene, show_w, show_h, fps, seed)
    audio = _sound(scene, n_frames / fps, seed)

    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = 2 * fps
        video.options = {"preset": "ultrafast", "crf": "24"}
        if rotation:
            video.set_display_rotation(-rotation)
        sound = out.add_stream("aac", rate=SAMPLE_RATE)
        sound.layout, sound.bit_rate = "stereo", 96000
        sound.options = {"aac_coder": "fast"}
        chunk, done = 1024, 0
        for index in range(n_frames):
            img = painter.frame(index)
            if rotation:
                img = np.ascontiguousarray(np.rot90(img, k=rotation // 90))
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                out.mux(packet)
            until = min(audio.shape[1], (index + 1) * SAMPLE_RATE // fps)
            while done < until:
                done = _mux_audio(out, sound, audio, done, min(chunk, audio.shape[1] - done))
        while done < audio.shape[1]:
            done = _mux_audio(out, sound, audio, done, min(chunk, audio.shape[1] - done))
        for stream in (video, sound):
            for packet in stream.encode():
                out.mux(packet)
    return path


def _mux_audio(out, stream, audio, start, count):
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(audio[:, start : start + count]), format="fltp", layout="stereo"
    )
    frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
    for packet in stream.encode(frame):
        out.mux(packet)
    return start + count


# --------------------------------------------------------------------------- sound


def _band_noise(rng, n, low, high):
    """White noise kept between `low` and `high` Hz (FFT mask)."""
    spectrum = np.fft.rfft(rng.standard_normal(n).astype(np.float32))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    wave = np.fft.irfft(spectrum, n).astype(np.float32)
    return wave / (np.abs(wave).max() + 1e-9)


def _sound(scene, seconds, seed):
    """A soft stereo bed: road rumble and a faint motor whine; rain hiss; a charger's hum."""
    n = max(1, round(seconds * SAMPLE_RATE))
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
    channels = []
    for side in range(2):
        if scene == "charging":
            wave = 0.10 * _band_noise(rng, n, 40, 400) + 0.04 * np.sin(2 * np.pi * 100 * t)
            wave += 0.02 * np.sin(2 * np.pi * 300 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
        else:
            wave = 0.22 * _band_noise(rng, n, 30, 260)  # tyres on tarmac
            whine = 520 + 40 * np.sin(2 * np.pi * 0.15 * t)
            wave += 0.025 * np.sin(2 * np.pi * np.cumsum(whine) / SAMPLE_RATE + side)
        if scene == "rain":
            wave += 0.12 * _band_noise(rng, n, 1500, 9000)
        channels.append(wave)
    audio = np.stack(channels).astype(np.float32)
    fade = min(n // 2, SAMPLE_RATE // 3)
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    audio[:, :fade] *= ramp
    audio[:, n - fade :] *= ramp[::-1]
    return audio


# --------------------------------------------------------------------------- pictures


def _gradient(stops, rows):
    pos = np.linspace(0, 1, rows)
    xs = [p for p, _ in stops]
    return np.stack(
        [np.interp(pos, xs, [c[i] for _, c in stops]) for i in range(3)], axis=1
    ).astype(np.float32)


def _tint(rgb, light):
    return tuple(int(max(0, min(255, c * light))) for c in rgb)


def _periodic_curve(period, rng, base, amp, waves=4):
    """A smooth height curve over `period` pixels that wraps round."""
    x = np.arange(period) / period
    y = np.zeros(period)
    for k in range(1, waves + 1):
        y += rng.uniform(0.3, 1.0) / k * np.sin(2 * np.pi * (k * x + rng.random()))
    y = (y - y.min()) / (np.ptp(y) + 1e-9)
    return base - amp * y


def _band(canvas_rgba, y0, speed, period, width):
    """An RGBA picture of `period` columns -> a Layer that tiles: the first columns repeated."""
    arr = np.asarray(canvas_rgba)
    arr = np.concatenate([arr, arr[:, :width]], axis=1)
    rows = np.nonzero(arr[..., 3].max(axis=1) > 127)[0]
    top, bottom = (rows.min(), rows.max() + 1) if rows.size else (0, 1)
    arr = arr[top:bottom]
    return Layer(np.ascontiguousarray(arr[..., :3]), arr[..., 3] > 127, y0 + top, speed, period)


def _ridge_layer(width, height, period, rng, top, amp, colour, speed, jagged=False, snow=None):
    curve = _periodic_curve(period, rng, top, amp, waves=6 if jagged else 3)
    if jagged:
        x = np.arange(period)
        teeth = np.abs(((x * 9 / period) % 1) - 0.5) * amp * 0.5
        curve = curve + teeth - teeth.mean()
    rows = np.arange(height)[:, None]
    mask = rows >= curve[None, :]
    rgba = np.zeros((height, period, 4), np.uint8)
    shade = np.clip(1.0 - 0.35 * (rows - curve[None, :]) / max(1, height - top), 0.55, 1.0)
    rgba[..., :3] = (np.array(colour, np.float32) * shade[..., None]).astype(np.uint8)
    if snow is not None:
        peak = curve.min()
        depth = np.clip((top - amp * 0.55 - curve) * 0.8, 0, None)
        caps = mask & (rows < curve[None, :] + depth[None, :]) & (curve[None, :] < peak + amp * 0.5)
        rgba[caps, :3] = snow
    rgba[..., 3] = np.where(mask, 255, 0)
    return _band(Image.fromarray(rgba, "RGBA"), 0, speed, period, width)


def _tree_layer(width, height, period, rng, ground, size, colour, speed, count):
    canvas = Image.new("RGBA", (period, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    trunk = _tint(colour, 0.55)
    for _ in range(count):
        x = rng.uniform(0, period)
        s = size * rng.uniform(0.7, 1.3)
        conifer = rng.random() < 0.55
        for shift in (0, -period):
            cx = x + shift
            if conifer:
                for level in range(3):
                    w = s * (0.5 - level * 0.12)
                    y = ground - s * (0.25 + level * 0.28)
                    draw.polygon(
                        [(cx - w, y + s * 0.3), (cx + w, y + s * 0.3), (cx, y - s * 0.15)],
                        fill=colour,
                    )
                draw.rectangle((cx - s * 0.04, ground - s * 0.25, cx + s * 0.04, ground), trunk)
            else:  # a round leafy tree
                draw.rectangle((cx - s * 0.05, ground - s * 0.5, cx + s * 0.05, ground), trunk)
                draw.ellipse(
                    (cx - s * 0.32, ground - s * 1.05, cx + s * 0.32, ground - s * 0.4),
                    fill=_tint(colour, 1.1),
                )
    return _band(canvas, 0, speed, period, width)


def _city_layer(width, height, period, rng, ground, light):
    canvas = Image.new("RGBA", (period, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    x = 0.0
    unit = height / 60
    while x < period:
        w = unit * rng.uniform(4, 9)
        h = unit * rng.uniform(6, 24)
        body = _tint((50, 56, 78), light * 1.6)
        draw.rectangle((x, ground - h, x + w - unit * 0.6, ground), fill=body)
        for wy in np.arange(ground - h + unit, ground - unit, unit * 1.4):
            for wx in np.arange(x + unit * 0.6, x + w - unit * 1.4, unit * 1.2):
                if rng.random() < 0.45:
                    lit = (255, 214, 120) if rng.random() < 0.8 else (190, 220, 255)
                    draw.rectangle((wx, wy, wx + unit * 0.5, wy + unit * 0.6), fill=lit)
        x += w
    return _band(canvas, 0, 0, period, width)


def _posts_layer(width, height, period, ground, unit, colour, lamp):
    """Guard-rail posts or street lamps in the foreground: the fastest layer but the road."""
    canvas = Image.new("RGBA", (period, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    step = period / max(1, round(period / (unit * (70 if lamp else 16))))
    for x in np.arange(0, period, step):
        if lamp:
            draw.rectangle((x, ground - unit * 34, x + unit * 0.8, ground), fill=colour)
            draw.rectangle((x, ground - unit * 34, x + unit * 6, ground - unit * 33), fill=colour)
            draw.ellipse(
                (x + unit * 4.5, ground - unit * 33.5, x + unit * 7, ground - unit * 32),
                fill=(255, 226, 150),
            )
        else:
            draw.rectangle((x, ground - unit * 3.2, x + unit * 0.7, ground), fill=colour)
    if not lamp:
        draw.rectangle((0, ground - unit * 3, period, ground - unit * 2.2), fill=_tint(colour, 1.2))
    return _band(canvas, 0, 0, period, width)


def _car_sprites(length, paint, light_on, rng, angles=8):
    """A Model-3-like saloon, side view facing right, with its wheels at `angles` turns.

    Returns a list of float RGBA arrays (premultiplied alpha, 0..1) drawn at 3x and reduced,
    so edges are smooth, and the ground line's row in the sprite.
    """
    ss = 3
    L = length * ss
    H = int(L * 0.36)
    ground = H - 2 * ss
    x = lambda u: u * L  # noqa: E731 - local unit helpers
    y = lambda v: ground - v * L  # noqa: E731
    body = Image.new("RGBA", (int(L), H), (0, 0, 0, 0))
    d = ImageDraw.Draw(body)
    outline = [
        (0.985, 0.055), (0.998, 0.10), (0.996, 0.150), (0.975, 0.176), (0.90, 0.190),
        (0.76, 0.210), (0.70, 0.222), (0.62, 0.268), (0.55, 0.298), (0.46, 0.308),
        (0.37, 0.300), (0.28, 0.275), (0.17, 0.238), (0.08, 0.226), (0.025, 0.214),
        (0.004, 0.185), (0.0, 0.12), (0.012, 0.06), (0.05, 0.045), (0.95, 0.045),
    ]  # fmt: skip
    d.polygon([(x(u), y(v)) for u, v in outline], fill=paint)
    dark = _tint(paint, 0.72)
    d.polygon(
        [(x(0.02), y(0.10)), (x(0.99), y(0.10)), (x(0.985), y(0.055)), (x(0.05), y(0.045))],
        fill=dark,
    )  # the lower body in shade
    # The glasshouse: dark tinted side windows with a black B-pillar, sky glint on top.
    glass = [(0.672, 0.222), (0.548, 0.288), (0.46, 0.296), (0.34, 0.286), (0.215, 0.230)]
    d.polygon([(x(u), y(v)) for u, v in glass], fill=(24, 28, 36))
    d.polygon(
        [(x(0.60), y(0.255)), (x(0.548), y(0.284)), (x(0.40), y(0.289)), (x(0.45), y(0.270))],
        fill=(70, 84, 104),
    )
    d.rectangle((x(0.452), y(0.296), x(0.468), y(0.222)), fill=(16, 16, 18))
    d.line([(x(0.205), y(0.226)), (x(0.69), y(0.222))], fill=(20, 20, 22), width=ss * 2)
    # Door cuts, flush handles, the mirror.
    for u in (0.25, 0.458, 0.672):
        d.line([(x(u), y(0.222)), (x(u - 0.012), y(0.06))], fill=_tint(paint, 0.55), width=ss)
    for u in (0.36, 0.57):
        d.rectangle((x(u), y(0.196), x(u + 0.04), y(0.190)), fill=_tint(paint, 0.6))
    d.polygon(
        [(x(0.655), y(0.222)), (x(0.625), y(0.245)), (x(0.605), y(0.243)), (x(0.615), y(0.222))],
        fill=(18, 18, 20),
    )
    # Lights: a slim headlight, a wrap-round tail light.
    head = (255, 250, 225) if light_on else (214, 222, 230)
    d.polygon(
        [(x(0.93), y(0.170)), (x(0.985), y(0.166)), (x(0.993), y(0.150)), (x(0.94), y(0.156))],
        fill=head,
    )
    tail = (255, 40, 40) if light_on else (170, 20, 28)
    d.polygon(
        [(x(0.004), y(0.19)), (x(0.06), y(0.205)), (x(0.065), y(0.188)), (x(0.002), y(0.172))],
        fill=tail,
    )
    # Wheel arches in black, then the wheels at each angle.
    r = 0.072
    axles = (0.19, 0.80)
    for u in axles:
        d.ellipse((x(u - r * 1.18), y(r * 2.18), x(u + r * 1.18), y(-0.02)), fill=(14, 14, 16))
    d.rectangle((0, y(0.0), L, H), fill=(0, 0, 0, 0))

    sprites = []
    for step in range(angles):
        car = body.copy()
        wd = ImageDraw.Draw(car)
        turn = step * (2 * math.pi / 5) / angles
        for u in axles:
            cx, cy, rr = x(u), y(r), r * L
            wd.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=(22, 22, 24))
            rim = rr * 0.68
            wd.ellipse((cx - rim, cy - rim, cx + rim, cy + rim), fill=(92, 96, 102))
            for k in range(5):
                a = turn + k * 2 * math.pi / 5
                wd.line(
                    [(cx, cy), (cx + rim * math.cos(a), cy + rim * math.sin(a))],
                    fill=(168, 172, 178),
                    width=int(rr * 0.2),
                )
            cap = rr * 0.16
            wd.ellipse((cx - cap, cy - cap, cx + cap, cy + cap), fill=(40, 40, 44))
        small = car.resize((length, H // ss), Image.Resampling.LANCZOS)
        arr = np.asarray(small).astype(np.float32) / 255.0
        arr[..., :3] *= arr[..., 3:]
        sprites.append(arr)
    return sprites, ground // ss


def _blend(img, sprite, x, y, alpha=1.0):
    """Alpha-blend a premultiplied float RGBA sprite at (x, y), clipped to the frame."""
    h, w = sprite.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(img.shape[1], x + w), min(img.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    part = sprite[y0 - y : y1 - y, x0 - x : x1 - x]
    region = img[y0:y1, x0:x1].astype(np.float32)
    a = part[..., 3:] * alpha
    region = region * (1 - a) + part[..., :3] * 255.0 * alpha
    img[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


def _glow(radius, colour, strength=1.0):
    """A soft round light as a premultiplied RGBA sprite."""
    size = int(radius * 2) + 1
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - radius
    a = np.clip(1 - np.sqrt(xx**2 + yy**2) / radius, 0, 1) ** 2 * strength
    sprite = np.empty((size, size, 4), np.float32)
    sprite[..., :3] = np.array(colour, np.float32)[None, None] / 255.0 * a[..., None]
    sprite[..., 3] = a
    return sprite


class _Painter:
    def __init__(self, scene, w, h, fps, seed):
        self.scene, self.w, self.h, self.fps = scene, w, h, fps
        rng = random.Random(seed)  # nosec B311 - pictures, not security
        nrng = np.random.default_rng(seed)
        self.rng = nrng
        hour = {"timelapse": "dusk", "charging": "night", "mountain": "noon"}.get(scene, scene)
        if scene == "mountain":
            hour = rng.choice(["dawn", "noon"])
        stops, light, stars = SKIES[hour]
        self.light, self.night = light, hour == "night"
        unit = min(w, h) / 100  # scale of things: 1 % of the short side
        self.unit = unit
        self.horizon = int(h * (0.56 if w >= h else 0.62))
        self.road_top = int(h * (0.70 if w >= h else 0.72))
        period = 2 * w

        self.sky = np.empty((self.horizon, w, 3), np.uint8)
        self.sky[:] = _gradient(stops, self.horizon)[:, None, :].astype(np.uint8)
        self.sky_to = None
        if scene == "timelapse":
            night_stops, _, _ = SKIES["night"]
            self.sky_to = _gradient(night_stops, self.horizon)[:, None, :]
        self.stars = None
        if stars or scene == "timelapse":
            count = int(w * self.horizon / 900)
            sy = nrng.integers(0, int(self.horizon * 0.85), count)
            sx = nrng.integers(0, w, count)
            self.stars = (sy, sx, nrng.uniform(120, 255, count), nrng.uniform(0, 6.3, count))
        self.sun = None
        if hour in ("dawn", "noon", "dusk"):
            sun_y = {"dawn": 0.74, "noon": 0.18, "dusk": 0.6}[hour] * self.horizon
            sun_x = {"dawn": 0.78, "noon": 0.7, "dusk": 0.22}[hour] * w
            colour = {"dawn": (255, 214, 150), "noon": (255, 252, 230), "dusk": (255, 170, 90)}
            self.sun = (
                _glow(unit * 16, colour[hour], 0.9),
                int(sun_x - unit * 16),
                int(sun_y - unit * 16),
            )
            self._disc(self.sky, sun_x, sun_y, unit * 4.5, colour[hour])
        if self.night:
            behind = tuple(int(c) for c in self.sky[int(self.horizon * 0.2), int(w * 0.8)])
            self._disc(self.sky, w * 0.8, self.horizon * 0.22, unit * 4, (238, 236, 220))
            self._disc(self.sky, w * 0.8 + unit * 1.8, self.horizon * 0.2, unit * 3.7, behind)
        self.clouds = None
        if hour == "noon" or scene == "rain":
            self.clouds = self._clouds(period, rng, dark=scene == "rain")

        lt = light
        layers = []
        if scene == "mountain":
            layers.append(
                _ridge_layer(
                    w,
                    self.horizon + 4,
                    period,
                    rng,
                    self.horizon * 0.45,
                    self.horizon * 0.42,
                    _tint((120, 132, 160), lt),
                    unit * 1.2,
                    jagged=True,
                    snow=_tint((245, 247, 250), lt),
                )
            )
            layers.append(self._switchbacks(period, rng, lt, unit * 3))
            layers.append(
                _ridge_layer(
                    w,
                    self.road_top,
                    period,
                    rng,
                    self.horizon * 0.95,
                    self.horizon * 0.3,
                    _tint((70, 104, 70), lt),
                    unit * 8,
                )
            )
            layers.append(
                _tree_layer(
                    w,
                    self.road_top,
                    period,
                    rng,
                    self.road_top,
                    unit * 14,
                    _tint((34, 84, 48), lt),
                    unit * 26,
                    count=int(period / (unit * 9)),
                )
            )
        elif scene == "charging":
            layers.append(
                _ridge_layer(
                    w,
                    self.horizon + 2,
                    period,
                    rng,
                    self.horizon * 0.9,
                    self.horizon * 0.15,
                    _tint((40, 46, 70), 1.0),
                    0,
                )
            )
            layers.append(_city_layer(w, self.horizon + 1, period, rng, self.horizon + 1, lt))
        else:
            layers.append(
                _ridge_layer(
                    w,
                    self.horizon + 2,
                    period,
                    rng,
                    self.horizon * 0.78,
                    self.horizon * 0.22,
                    _tint((104, 128, 150), lt),
                    unit * 1.5,
                )
            )
            if self.night:
                layers.append(_city_layer(w, self.horizon + 1, period, rng, self.horizon + 1, lt))
                layers[-1].speed = unit * 3
            layers.append(
                _ridge_layer(
                    w,
                    self.road_top,
                    period,
                    rng,
                    self.horizon * 1.02,
                    self.horizon * 0.16,
                    _tint((88, 138, 72), lt),
                    unit * 6,
                )
            )
            layers.append(
                _tree_layer(
                    w,
                    self.road_top,
                    period,
                    rng,
                    self.road_top - unit,
                    unit * 13,
                    _tint((40, 96, 52), lt),
                    unit * 24,
                    count=int(period / (unit * 12)),
                )
            )
        self.layers = layers
        self.ground_fill = _tint((70, 112, 60), lt)
        self.parked = scene == "charging"
        speed = 0 if self.parked else unit * 70  # road speed, px/s
        # Parked, the camera glides slowly past instead: everything moves, near things faster.
        self.pan = unit * 3.0 if self.parked else 0.0
        self.road_speed = speed or self.pan
        if self.parked:
            layers[0].speed, layers[1].speed = self.pan * 0.1, self.pan * 0.3
        if scene == "mountain":
            self.posts = _posts_layer(
                w, self.road_top + 1, period, self.road_top, unit, (200, 202, 206), lamp=False
            )
        elif self.night and scene != "charging":
            self.posts = _posts_layer(
                w, self.road_top + 1, period, self.road_top, unit, (60, 64, 72), lamp=True
            )
        else:
            self.posts = None
        if self.posts:
            self.posts.speed = speed * 0.9

        self.road = self._road(rng)
        car_len = int(min(w * 0.42, h * 0.75))
        self.car_w = car_len
        self.cars, self.car_ground = _car_sprites(
            car_len, rng.choice(CAR_COLOURS), self.night or scene in ("rain", "timelapse"), rng
        )
        self.car_x = int(w * (0.28 if not self.parked else 0.42) if w >= h else (w - car_len) // 2)
        self.car_y = self.road_top + int((h - self.road_top) * 0.45) - self.car_ground
        self.shadow = _glow(car_len * 0.5, (0, 0, 0), 0.55)
        self.shadow = self.shadow[int(car_len * 0.45) : int(car_len * 0.55)]
        self.beam = _glow(unit * 14, (255, 244, 200), 0.5) if self.night else None
        self.rain = self._rain(nrng) if scene == "rain" else None
        self.charger = self._charger() if self.parked else None

    # ---------------------------------------------------------------- static pieces

    @staticmethod
    def _disc(img, cx, cy, r, colour):
        yy, xx = np.ogrid[: img.shape[0], : img.shape[1]]
        img[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = colour

    def _clouds(self, period, rng, dark):
        canvas = Image.new("RGBA", (period, self.horizon), (0, 0, 0, 0))
        draw = ImageDraw.Draw(canvas)
        colour = (118, 122, 132, 255) if dark else (250, 250, 252, 255)
        for _ in range(int(period / (self.unit * (8 if dark else 40)))):
            cx, cy = rng.uniform(0, period), rng.uniform(0.05, 0.55) * self.horizon
            for _ in range(5):
                rx = self.unit * rng.uniform(4, 9)
                ox, oy = rng.uniform(-8, 8) * self.unit, rng.uniform(-2, 2) * self.unit
                for shift in (0, -period, period):
                    draw.ellipse(
                        (
                            cx + ox - rx + shift,
                            cy + oy - rx * 0.5,
                            cx + ox + rx + shift,
                            cy + oy + rx * 0.5,
                        ),
                        fill=colour,
                    )
        layer = _band(canvas, 0, self.unit * 2, period, self.w)
        return layer

    def _switchbacks(self, period, rng, light, speed):
        """A road zig-zagging up a far slope: the mountain pass ahead."""
        canvas = Image.new("RGBA", (period, self.horizon + 2), (0, 0, 0, 0))
        draw = ImageDraw.Draw(canvas)
        hill = _tint((96, 120, 110), light)
        base = self.horizon
        for cx in (period * 0.3, period * 0.8):
            top = self.horizon * 0.55
            half = self.w * 0.28
            draw.polygon([(cx - half, base), (cx, top), (cx + half, base)], fill=hill)
            pts, levels = [], 6
            for i in range(levels + 1):
                frac = i / levels
                yy = base - (base - top) * frac * 0.85
                span = half * (1 - frac * 0.85) * 0.8
                pts.append((cx + (span if i % 2 else -span), yy))
            draw.line(pts, fill=_tint((214, 210, 196), light), width=max(2, int(self.unit * 0.7)))
        return _band(canvas, 0, speed, period, self.w)

    def _road(self, rng):
        h, w = self.h, self.w
        band = np.empty((h - self.road_top, w, 3), np.uint8)
        ramp = np.linspace(0.85, 1.1, band.shape[0])[:, None, None]
        asphalt = np.array(_tint((84, 86, 92), max(self.light, 0.45)), np.float32)
        if self.scene == "rain":
            asphalt *= 0.7
        band[:] = np.clip(asphalt * ramp, 0, 255).astype(np.uint8)
        line = max(2, int(self.unit * 0.8))
        band[line : line * 2] = _tint((226, 226, 214), max(self.light, 0.6))
        band[-line * 3 : -line * 2] = _tint((226, 226, 214), max(self.light, 0.6))
        self.dash_y = int(band.shape[0] * 0.78)
        self.dash_h = line
        self.dash_len = int(self.unit * 14)
        return band

    def _rain(self, nrng):
        h, w = self.h, self.w
        tile = np.zeros((h, w), bool)
        n = int(w * h / 900)
        length = int(self.unit * 6)
        xs, ys = nrng.integers(0, w, n), nrng.integers(0, h, n)
        for k in range(length):
            tile[(ys + k) % h, (xs - k // 3) % w] = True
        return np.tile(tile, (2, 2))

    def _charger(self):
        """A charging post behind the car, its cable to the charge port by the tail light."""
        u = self.unit
        ground = self.car_y + self.car_ground
        x = self.car_x - int(u * 12)
        canvas = Image.new("RGBA", (int(u * 14), int(u * 30)), (0, 0, 0, 0))
        d = ImageDraw.Draw(canvas)
        d.rounded_rectangle((u * 2, 0, u * 8, u * 30), radius=u * 2.5, fill=(228, 230, 234))
        d.rectangle((u * 2, u * 3, u * 8, u * 5), fill=(210, 30, 40))
        post = np.asarray(canvas).astype(np.float32) / 255.0
        post[..., :3] *= post[..., 3:]
        port_x = self.car_x + int(self.car_w * 0.05)
        port_y = self.car_y + self.car_ground - int(self.car_w * 0.2)
        # The cable hangs in a curve from the post to the port.
        n = 200
        s = np.linspace(0, 1, n)
        cx = (x + u * 7.5) + (port_x - x - u * 7.5) * s
        cy = (ground - u * 14) + (port_y - ground + u * 14) * s + u * 9 * np.sin(np.pi * s)
        return post, x, ground - int(u * 30), cx.astype(int), cy.astype(int), (port_x, port_y)

    # ---------------------------------------------------------------- per frame

    def frame(self, index):
        t = index / self.fps
        w, h, u = self.w, self.h, self.unit
        img = np.empty((h, w, 3), np.uint8)
        img[: self.horizon] = self.sky
        if self.sky_to is not None:
            mix = min(1.0, t / 6.0)
            img[: self.horizon] = (self.sky * (1 - mix) + self.sky_to * mix).astype(np.uint8)
        img[self.horizon :] = self.ground_fill
        if self.stars is not None:
            sy, sx, bright, phase = self.stars
            fade = 1.0 if self.sky_to is None else min(1.0, t / 6.0)
            level = bright * (0.75 + 0.25 * np.sin(t * 3 + phase)) * fade
            current = img[sy, sx].astype(np.float32)
            img[sy, sx] = np.maximum(current, level[:, None]).astype(np.uint8)
        if self.sun is not None and self.sky_to is None:
            glow, gx, gy = self.sun
            _blend(img, glow, gx, gy)
        if self.clouds is not None:
            self.clouds.draw(img, t, w)
        for layer in self.layers:
            layer.draw(img, t, w)
        img[self.road_top :] = self.road
        off = int(t * self.road_speed) % (2 * self.dash_len)
        y = self.road_top + self.dash_y
        for x in range(-2 * self.dash_len + (-off % (2 * self.dash_len)), w, 2 * self.dash_len):
            img[y : y + self.dash_h, max(0, x) : max(0, x + self.dash_len)] = (232, 232, 220)
        if self.scene == "rain":
            self._reflect(img)
        if self.posts is not None:
            self.posts.draw(img, t, w)

        bob = 0 if self.parked else int(round(math.sin(t * 7.3) * u * 0.25))
        dx = int(t * self.pan)
        car_x = self.car_x - dx
        turn = 0 if self.parked else int(t * self.road_speed / (u * 3)) % len(self.cars)
        car = self.cars[turn]
        if self.scene == "mountain":
            angle = 4.0 * math.sin(t * 0.9)
            car = self._tilted(turn, angle)
            bob += int(-math.sin(t * 0.9) * u * 1.5)
        sh = self.shadow
        _blend(
            img,
            sh,
            car_x,
            self.car_y + self.car_ground - sh.shape[0] // 2,
        )
        if self.charger is not None:
            post, px, py, cx, cy, port = self.charger
            _blend(img, post, px - dx, py)
        _blend(img, car, car_x, self.car_y + bob)
        if self.scene == "rain":
            self._reflect_car(img, car, bob)
        if self.charger is not None:
            self._cable(img, t, dx)
        if self.beam is not None:
            bx = car_x + int(self.car_w * 0.99) - self.beam.shape[1] // 2
            by = (
                self.car_y
                + bob
                + self.car_ground
                - int(self.car_w * 0.16)
                - self.beam.shape[0] // 2
            )
            _blend(img, self.beam, bx, by)
        if self.rain is not None:
            oy = int(t * h * 2.2) % h
            ox = int(t * h * 0.7) % w
            mask = self.rain[h - oy : 2 * h - oy, ox : ox + w]
            np.copyto(img, np.array([186, 194, 204], np.uint8), where=mask[..., None])
        return img

    def _tilted(self, turn, angle):
        key = (turn, round(angle * 2) / 2)
        cache = self.__dict__.setdefault("_tilt_cache", {})
        if key not in cache:
            sprite = self.cars[turn]
            img = Image.fromarray((sprite * 255).astype(np.uint8), "RGBA")
            turned = img.rotate(key[1], resample=Image.Resampling.BICUBIC, expand=False)
            cache[key] = np.asarray(turned).astype(np.float32) / 255.0
        return cache[key]

    def _reflect(self, img):
        """Wet tarmac: the scene above the road shows in it, darker and rippling."""
        depth = min(self.h - self.road_top, self.road_top)
        above = img[self.road_top - depth : self.road_top][::-1]
        road = img[self.road_top : self.road_top + depth]
        img[self.road_top : self.road_top + depth] = (
            road.astype(np.uint16) * 3 // 4 + above.astype(np.uint16) // 4
        ).astype(np.uint8)

    def _reflect_car(self, img, car, bob):
        ground = self.car_y + bob + self.car_ground
        mirror = car[: self.car_ground][::-1]
        rows = min(mirror.shape[0], self.h - ground)
        if rows <= 0:
            return
        _blend(img, mirror[:rows], self.car_x, ground, alpha=0.35)

    def _cable(self, img, t, dx):
        post, px, py, cx, cy, (port_x, port_y) = self.charger
        cx, port_x = cx - dx, port_x - dx
        ok = (cx >= 0) & (cx < self.w - 1) & (cy >= 0) & (cy < self.h - 1)
        cx, cy = cx[ok], cy[ok]
        thick = max(2, int(self.unit * 0.6))
        cy = np.clip(cy, 0, self.h - thick - 1)
        for dy in range(thick):
            img[cy + dy, cx] = (30, 32, 38)
        # A pulse of light runs along the cable; the port glows green, breathing.
        pulse = (np.linspace(0, 1, cx.size) - (t * 0.6) % 1.0) % 1.0 < 0.12
        for dy in range(thick):
            img[cy[pulse] + dy, cx[pulse]] = (120, 255, 170)
        level = 0.55 + 0.45 * math.sin(t * 2.5)
        _blend(
            img,
            _glow(self.unit * 3.5, (90, 255, 140), level),
            port_x - int(self.unit * 3.5),
            port_y - int(self.unit * 3.5),
        )
