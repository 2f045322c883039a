"""Labelled synthetic footage for the anonymiser: real faces and European plates, moving.

Faces are real photographs that ship with scikit-image (the astronaut, the cameraman and the
100 faces of its LFW subset), pasted at several sizes, angles and lightings. Number plates
are rendered with Pillow's scalable font in several countries' formats on car-shaped sprites,
with perspective and motion blur. Every frame comes with the boxes of what is in it.

Pure Python (numpy, OpenCV, Pillow, PyAV, scikit-image); nothing here imports Django.
scikit-image is a test dependency: only tests, benchmarks and demos use this module.
"""

import random
import string
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True, slots=True)
class Truth:
    """One labelled thing in one frame: kind "face" or "plate", box (x1, y1, x2, y2)."""

    kind: str
    box: tuple[int, int, int, int]
    text: str = ""  # a plate's characters as printed

    @property
    def width(self):
        return self.box[2] - self.box[0]

    @property
    def height(self):
        return self.box[3] - self.box[1]


# Plate layouts: country band letter, background, ink, a text pattern (A letter, 9 digit).
PLATE_FORMATS = {
    "FR": ("F", (250, 250, 250), (20, 20, 20), "AA-999-AA"),
    "DE": ("D", (250, 250, 250), (20, 20, 20), "A AA 9999"),
    "NL": ("NL", (250, 200, 20), (20, 20, 20), "99-AAA-9"),
    "IT": ("I", (250, 250, 250), (20, 20, 20), "AA 999AA"),
    "ES": ("E", (250, 250, 250), (20, 20, 20), "9999 AAA"),
    "BE": ("B", (250, 250, 250), (170, 20, 30), "1-AAA-999"),
}
EU_BLUE = (0, 51, 153)
# Letters plates avoid because they read as digits.
PLATE_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IOQU")


def plate_text(country, rng):
    pattern = PLATE_FORMATS[country][3]
    return "".join(
        rng.choice(PLATE_LETTERS) if c == "A" else rng.choice("0123456789") if c == "9" else c
        for c in pattern
    )


def render_plate(country, text, height=110):
    """An RGB plate image at about the real 520 x 110 mm proportions."""
    band, paper, ink, _ = PLATE_FORMATS[country]
    width = round(height * 4.73)
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    band_w = round(height * 0.36)
    draw.rectangle((0, 0, band_w, height), fill=EU_BLUE)
    small = ImageFont.load_default(size=round(height * 0.28))
    draw.text((band_w / 2, height * 0.78), band, font=small, fill=(255, 255, 255), anchor="mm")
    if country == "IT":
        draw.rectangle((width - band_w, 0, width, height), fill=EU_BLUE)
    right = width - (band_w if country == "IT" else 0)
    font = ImageFont.load_default(size=round(height * 0.74))
    centre = ((band_w + right) / 2, height / 2)
    draw.text(centre, text, font=font, fill=ink, anchor="mm", stroke_width=2, stroke_fill=ink)
    # Squeeze text that overflows the plate, as real plate fonts are condensed.
    box = draw.textbbox(centre, text, font=font, anchor="mm", stroke_width=2)
    if box[2] - box[0] > right - band_w - 8:
        image = Image.new("RGB", (width, height), paper)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, band_w, height), fill=EU_BLUE)
        draw.text((band_w / 2, height * 0.78), band, font=small, fill=(255, 255, 255), anchor="mm")
        if country == "IT":
            draw.rectangle((width - band_w, 0, width, height), fill=EU_BLUE)
        text_img = Image.new("RGB", (box[2] - box[0] + 8, height), paper)
        ImageDraw.Draw(text_img).text(
            ((box[2] - box[0] + 8) / 2, height / 2),
            text,
            font=font,
            fill=ink,
            anchor="mm",
            stroke_width=2,
            stroke_fill=ink,
        )
        text_img = text_img.resize((right - band_w - 8, height), Image.Resampling.LANCZOS)
        image.paste(text_img, (band_w + 4, 0))
    ImageDraw.Draw(image).rectangle((0, 0, width - 1, height - 1), outline=(30, 30, 30), width=2)
    return np.asarray(image)


@dataclass
class Sprite:
    rgba: np.ndarray  # premultiplied later; alpha 0..255
    box: tuple[float, float, float, float]  # the labelled thing inside the sprite
    kind: str
    text: str = ""


@cache
def _face_sources():
    """[(rgb crop, face box in the crop)]: real faces shipped with scikit-image."""
    from skimage import data

    astronaut = data.astronaut()
    camera = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2RGB)
    sources = [
        (astronaut[20:215, 140:310].copy(), (42, 38, 130, 158)),
        (camera[90:225, 170:290].copy(), (32, 29, 88, 107)),
    ]
    lfw = data.lfw_subset()[:100]  # the first hundred are faces, the rest are not
    for face in lfw:
        gray = (face * 255).astype(np.uint8)
        gray = cv2.resize(gray, (100, 100), interpolation=cv2.INTER_CUBIC)
        sources.append((cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB), (0, 0, 100, 100)))
    return sources


def face_sprite(rng, height, *, angle=0.0, gain=1.0, source=None):
    """A face whose box is `height` px high, turned by `angle` degrees, lit by `gain`."""
    sources = _face_sources()
    if source is None:
        # A photograph enlarged more than 3x is a smear no camera would film: the 25 px LFW
        # faces stand in for small faces only, the astronaut and the cameraman for all.
        fit = [0, 1] if height > 75 else range(len(sources))
        source = rng.choice(fit)
    rgb, (fx1, fy1, fx2, fy2) = sources[source]
    scale = height / (fy2 - fy1)
    rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    fx1, fy1, fx2, fy2 = (v * scale for v in (fx1, fy1, fx2, fy2))
    h, w = rgb.shape[:2]
    alpha = np.zeros((h, w), np.uint8)
    cx, cy = (fx1 + fx2) / 2, (fy1 + fy2) / 2
    # The head: an ellipse a little larger than the face box, feathered.
    axes = (
        max(2, round(min(w / 2, (fx2 - fx1) * 0.75))),
        max(2, round(min(h / 2, (fy2 - fy1) * 0.68))),
    )
    cv2.ellipse(alpha, (round(cx), round(cy)), axes, 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, height / 30))
    lit = np.clip(
        (rgb.astype(np.float32) / 255) ** (1 / max(gain, 0.2)) * 255 * min(gain, 1.2), 0, 255
    )
    rgba = np.dstack([lit.astype(np.uint8), alpha])
    # Turn about the face centre on a canvas large enough for any angle.
    side = int(np.hypot(w, h)) + 2
    m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    m[:, 2] += (side / 2 - cx, side / 2 - cy)
    rgba = cv2.warpAffine(rgba, m, (side, side), flags=cv2.INTER_LINEAR)
    # Box of the face ellipse inscribed in the face box, once turned.
    a, b, th = (fx2 - fx1) / 2, (fy2 - fy1) / 2, np.radians(angle)
    hw = np.sqrt((a * np.cos(th)) ** 2 + (b * np.sin(th)) ** 2)
    hh = np.sqrt((a * np.sin(th)) ** 2 + (b * np.cos(th)) ** 2)
    box = (side / 2 - hw, side / 2 - hh, side / 2 + hw, side / 2 + hh)
    return Sprite(rgba, box, "face")


def car_sprite(rng, plate_width, *, country=None, with_plate=True, yaw=0.0, blur_px=0):
    """The back of a car whose plate is about `plate_width` px wide once in perspective."""
    country = country or rng.choice(sorted(PLATE_FORMATS))
    text = plate_text(country, rng)
    plate = render_plate(country, text)
    ph, pw = plate.shape[:2]
    cw, ch = round(pw * 2.6), round(pw * 1.5)
    body = tuple(rng.randrange(30, 230) for _ in range(3))
    car = Image.new("RGBA", (cw, ch), (0, 0, 0, 0))
    draw = ImageDraw.Draw(car)
    draw.rounded_rectangle((0, ch * 0.28, cw, ch * 0.86), radius=ch * 0.1, fill=(*body, 255))
    draw.polygon(
        [(cw * 0.18, ch * 0.3), (cw * 0.82, ch * 0.3), (cw * 0.72, 0), (cw * 0.28, 0)],
        fill=(*(max(0, c - 40) for c in body), 255),
    )
    draw.polygon(
        [
            (cw * 0.24, ch * 0.27),
            (cw * 0.76, ch * 0.27),
            (cw * 0.69, ch * 0.04),
            (cw * 0.31, ch * 0.04),
        ],
        fill=(40, 50, 60, 255),
    )
    for x in (cw * 0.04, cw * 0.78):
        draw.rounded_rectangle(
            (x, ch * 0.36, x + cw * 0.18, ch * 0.46), radius=8, fill=(200, 20, 20, 255)
        )
    for x in (cw * 0.06, cw * 0.78):
        draw.rectangle((x, ch * 0.86, x + cw * 0.16, ch), fill=(15, 15, 15, 255))
    px, py = round((cw - pw) / 2), round(ch * 0.6)
    if with_plate:
        car.paste(Image.fromarray(plate), (px, py))
    else:
        draw.rectangle((px, py, px + pw, py + ph), fill=(*(max(0, c - 25) for c in body), 255))
    rgba = np.asarray(car).copy()
    # Perspective: a turned car's far side looks shorter; then scale to the wanted plate width.
    k = 1 - abs(yaw) * 0.35
    src = np.float32([(0, 0), (cw, 0), (cw, ch), (0, ch)])
    if yaw >= 0:
        dst = np.float32(
            [
                (0, 0),
                (cw * (1 - yaw * 0.2), ch * (1 - k) / 2),
                (cw * (1 - yaw * 0.2), ch * (1 + k) / 2),
                (0, ch),
            ]
        )
    else:
        dst = np.float32(
            [
                (cw * -yaw * 0.2, ch * (1 - k) / 2),
                (cw, 0),
                (cw, ch),
                (cw * -yaw * 0.2, ch * (1 + k) / 2),
            ]
        )
    corners = np.float32([(px, py), (px + pw, py), (px + pw, py + ph), (px, py + ph)])
    homography = cv2.getPerspectiveTransform(src, dst)
    warped_plate = cv2.perspectiveTransform(corners[None], homography)[0]
    plate_w_now = warped_plate[:, 0].max() - warped_plate[:, 0].min()
    scale = plate_width / plate_w_now
    homography = np.diag([scale, scale, 1.0]) @ homography
    out_w, out_h = round(cw * scale) + 2, round(ch * scale) + 2
    rgba = cv2.warpPerspective(rgba, homography, (out_w, out_h), flags=cv2.INTER_AREA)
    if blur_px > 1:
        kernel = np.zeros((blur_px, blur_px), np.float32)
        kernel[blur_px // 2, :] = 1 / blur_px
        rgba = cv2.filter2D(rgba, -1, kernel)
    quad = cv2.perspectiveTransform(corners[None], homography)[0]
    box = (quad[:, 0].min(), quad[:, 1].min(), quad[:, 0].max(), quad[:, 1].max())
    return Sprite(rgba, box, "plate" if with_plate else "car", text if with_plate else "")


@cache
def _textures():
    from skimage import data

    return [
        data.grass(),
        data.gravel(),
        data.brick(),
        data.coffee(),
        data.moon(),
        data.rocket(),
        data.hubble_deep_field(),
    ]


def background(rng, width, height):
    """A canvas twice the frame size: photographed textures and a road, to pan over."""
    cw, ch = width * 2, height * 2
    canvas = np.zeros((ch, cw, 3), np.uint8)
    tile = max(width, height) // 2
    textures = _textures()
    for y in range(0, ch, tile):
        for x in range(0, cw, tile):
            tex = textures[rng.randrange(len(textures))]
            if tex.ndim == 2:
                tex = cv2.cvtColor(tex, cv2.COLOR_GRAY2RGB)
            tex = cv2.resize(tex, (tile, tile), interpolation=cv2.INTER_AREA)
            canvas[y : y + tile, x : x + tile] = tex[: ch - y, : cw - x]
    road_top = round(ch * 0.55)
    canvas[road_top:] = (canvas[road_top:] * 0.25 + np.array([70, 70, 75]) * 0.75).astype(np.uint8)
    for x in range(0, cw, width // 4):
        y = round(ch * 0.75)
        canvas[y : y + max(2, height // 60), x : x + width // 8] = 235
    return canvas


@dataclass
class _Actor:
    sprite: Sprite
    x: float
    y: float
    vx: float
    vy: float
    start: float
    end: float


@dataclass
class Scene:
    """A labelled clip: `frames()` yields (rgb, [Truth]) for each frame."""

    width: int
    height: int
    fps: int
    seconds: float
    seed: int
    actors: list = field(default_factory=list)
    canvas: np.ndarray | None = None
    pan: tuple[float, float] = (0.0, 0.0)

    @property
    def frame_count(self):
        return round(self.seconds * self.fps)

    def frames(self):
        for index in range(self.frame_count):
            yield self.frame(index)

    def frame(self, index):
        t = index / self.fps
        ox = (self.pan[0] * t) % (self.canvas.shape[1] - self.width)
        oy = (self.pan[1] * t) % (self.canvas.shape[0] - self.height)
        rgb = self.canvas[
            round(oy) : round(oy) + self.height, round(ox) : round(ox) + self.width
        ].copy()
        placed = []
        for actor in self.actors:
            if not actor.start <= t < actor.end:
                continue
            x, y = self._position(actor, t)
            _paste(rgb, actor.sprite.rgba, x, y)
            placed.append((actor, round(x), round(y)))
        # Label only what is at least 90 % in sight: later sprites may hide earlier ones.
        cover = np.zeros((self.height, self.width), bool)
        truths = []
        for actor, x, y in reversed(placed):
            sprite = actor.sprite
            if sprite.kind in ("face", "plate"):
                bx1, by1, bx2, by2 = sprite.box
                box = (round(x + bx1), round(y + by1), round(x + bx2), round(y + by2))
                hidden = cover[max(0, box[1]) : box[3], max(0, box[0]) : box[2]]
                if hidden.size and hidden.mean() < 0.1:
                    truths.append(Truth(sprite.kind, box, sprite.text))
            h, w = sprite.rgba.shape[:2]
            opaque = sprite.rgba[:, :, 3] > 64
            x1, y1 = max(0, x), max(0, y)
            x2, y2 = min(self.width, x + w), min(self.height, y + h)
            if x2 > x1 and y2 > y1:
                cover[y1:y2, x1:x2] |= opaque[y1 - y : y2 - y, x1 - x : x2 - x]
        return rgb, truths[::-1]

    def _position(self, actor, t):
        """Bounce inside the frame so the labelled part stays whole."""
        sh, sw = actor.sprite.rgba.shape[:2]
        bx1, by1, bx2, by2 = actor.sprite.box
        lo_x, hi_x = -bx1, self.width - bx2
        lo_y, hi_y = -by1, self.height - by2
        return _bounce(actor.x + actor.vx * t, lo_x, hi_x), _bounce(
            actor.y + actor.vy * t, lo_y, hi_y
        )


def _bounce(value, lo, hi):
    if hi <= lo:
        return lo
    span = hi - lo
    value = (value - lo) % (2 * span)
    return lo + (value if value <= span else 2 * span - value)


def _paste(rgb, rgba, x, y):
    h, w = rgba.shape[:2]
    x, y = round(x), round(y)
    x1, y1 = max(0, x), max(0, y)
    x2, y2 = min(rgb.shape[1], x + w), min(rgb.shape[0], y + h)
    if x2 <= x1 or y2 <= y1:
        return
    part = rgba[y1 - y : y2 - y, x1 - x : x2 - x]
    alpha = part[:, :, 3:4].astype(np.float32) / 255
    dst = rgb[y1:y2, x1:x2]
    dst[:] = (part[:, :, :3] * alpha + dst * (1 - alpha)).astype(np.uint8)


def compose(
    *,
    width=640,
    height=360,
    fps=10,
    seconds=4.0,
    faces=2,
    plates=2,
    plain_cars=0,
    face_heights=(44, 110),
    plate_widths=(84, 180),
    seed=0,
):
    """A scene with `faces` faces and `plates` plated cars moving over a panned background.

    Faces are at least face_heights[0] px high; plates at least plate_widths[0] px wide.
    Some pop in or leave mid-clip, so a tracker has to pick them up.
    """
    rng = random.Random(seed)  # nosec B311 - test pictures, not security
    scene = Scene(width, height, fps, seconds, seed)
    scene.canvas = background(rng, width, height)
    speed = width / 8
    scene.pan = (rng.uniform(-speed, speed) % speed + 1, rng.uniform(0, speed / 4))
    for i in range(plates + plain_cars):
        sprite = car_sprite(
            rng,
            rng.uniform(*plate_widths),
            with_plate=i < plates,
            yaw=rng.uniform(-0.6, 0.6),
            blur_px=rng.choice((0, 0, 3, 5, 7)),
        )
        scene.actors.append(_actor(rng, sprite, width, height, seconds, speed))
    for _ in range(faces):
        sprite = face_sprite(
            rng,
            rng.uniform(*face_heights),
            angle=rng.uniform(-25, 25),
            gain=rng.choice((0.55, 0.8, 1.0, 1.0, 1.3)),
        )
        scene.actors.append(_actor(rng, sprite, width, height, seconds, speed))
    return scene


def _actor(rng, sprite, width, height, seconds, speed):
    start = 0.0 if rng.random() < 0.6 else rng.uniform(0, seconds / 2)
    end = seconds if rng.random() < 0.7 else rng.uniform(start + seconds / 3, seconds)
    return _Actor(
        sprite,
        rng.uniform(0, width),
        rng.uniform(0, height),
        rng.uniform(-speed, speed),
        rng.uniform(-speed / 3, speed / 3),
        start,
        end,
    )


def write(scene, path, *, crf=20):
    """Encode the scene as H.264 MP4; returns the truths of each frame."""
    truths = []
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(scene.fps))
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for rgb, frame_truths in scene.frames():
            truths.append(frame_truths)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return truths


def save_preview(scene, path, index=0):
    """A still of one frame with its truths outlined, for a human to check the labels."""
    rgb, truths = scene.frame(index)
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    for truth in truths:
        draw.rectangle(truth.box, outline=(0, 255, 0) if truth.kind == "face" else (255, 0, 255))
    image.save(Path(path))


def coverage(box, regions):
    """The share of `box` that the union of the regions' boxes covers."""
    x1, y1, x2, y2 = box
    w, h = max(0, x2 - x1), max(0, y2 - y1)
    if not w or not h:
        return 1.0
    mask = np.zeros((h, w), bool)
    for r in regions:
        mask[max(0, r.y1 - y1) : max(0, r.y2 - y1), max(0, r.x1 - x1) : max(0, r.x2 - x1)] = True
    return float(mask.mean())


@dataclass
class Score:
    """Recall per kind (labelled things found in a frame / labelled things in frames)."""

    seen: dict = field(default_factory=lambda: {"face": 0, "plate": 0})
    found: dict = field(default_factory=lambda: {"face": 0, "plate": 0})
    false_regions: int = 0  # region tracks that never cover a labelled thing
    frames: int = 0

    def recall(self, kind):
        return self.found[kind] / self.seen[kind] if self.seen[kind] else 1.0


def score(truths, track, *, min_face=40, min_plate=80, cover=0.8):
    """Compare a RegionTrack with the per-frame truths of the same clip."""
    result = Score(frames=len(truths))
    useful = set()
    for frame_truths, regions in zip(truths, track.frames, strict=False):
        for truth in frame_truths:
            near = [r for r in regions if _overlap(r, truth.box)]
            useful.update(r.track for r in near)
            big_enough = (
                truth.height >= min_face if truth.kind == "face" else truth.width >= min_plate
            )
            if not big_enough:
                continue
            result.seen[truth.kind] += 1
            result.found[truth.kind] += coverage(truth.box, near) >= cover
    result.false_regions = len(set(track.track_ids) - useful)
    return result


def _overlap(region, box):
    return region.x1 < box[2] and box[0] < region.x2 and region.y1 < box[3] and box[1] < region.y2
