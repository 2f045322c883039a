"""A clip's regions to blur, as stored on the clip and edited by staff.

A region set is plain JSON (the clip's `regions` field):

    {"version": 1, "width": W, "height": H, "tracks": [
        {"id": 3, "kind": "face", "source": "detected", "removed": false,
         "keys": [[t, x1, y1, x2, y2], ...]}, ...]}

Boxes are pixels of the upright source picture; times are seconds from the first frame.
A track is where one thing is, key by key; between two keys its box moves linearly, and
keys further apart than GAP_S mean it was not there in between. Staff remove a track
(`removed`, kept so that a re-detection does not bring it back unnoticed) or add one
(`source` "staff", one key on the frame where they drew it, carried along the clip by the
tracker on the next render, gallery/blurring.py). Pure functions on dicts; no Django, and
light enough for the web processes (no OpenCV).
"""

import bisect
import math

VERSION = 1
DETECTED = "detected"
MANUAL = "manual"  # the kind of a box staff drew (faces and plates are "face", "plate")
STAFF = "staff"
# Keys are kept at least this often, so a longer pause between two keys is a real absence.
KEY_EVERY_S = 0.2
GAP_S = 0.3
# A key is dropped when the boxes on either side put it back within this many pixels.
KEY_TOLERANCE_PX = 2.0


def empty(width, height):
    return {"version": VERSION, "width": int(width), "height": int(height), "tracks": []}


def _thin(keys):
    """Drop the keys that the linear move between their neighbours gives back."""
    if len(keys) <= 2:
        return keys
    kept = [keys[0]]
    for index in range(1, len(keys) - 1):
        before, here, after = kept[-1], keys[index], keys[index + 1]
        if after[0] - before[0] > KEY_EVERY_S or here[0] - before[0] > KEY_EVERY_S:
            kept.append(here)
            continue
        guess = _between(before, after, here[0])
        if max(abs(a - b) for a, b in zip(guess, here[1:], strict=True)) > KEY_TOLERANCE_PX:
            kept.append(here)
    kept.append(keys[-1])
    return kept


def _between(before, after, t):
    span = after[0] - before[0]
    f = 0.0 if span <= 0 else (t - before[0]) / span
    return [a + (b - a) * f for a, b in zip(before[1:], after[1:], strict=True)]


def box_at(track, t, frame_s=1 / 24):
    """The track's box at `t` (x1, y1, x2, y2), or None where the thing is not there."""
    keys = track["keys"]
    if not keys:
        return None
    times = [k[0] for k in keys]
    # Half a frame either side of the first and last keys: the frame shown around them.
    if t < times[0] - frame_s / 2 or t > times[-1] + frame_s / 2:
        return None
    index = bisect.bisect_right(times, t)
    if index == 0:
        return keys[0][1:]
    if index == len(keys):
        return keys[-1][1:]
    before, after = keys[index - 1], keys[index]
    if after[0] - before[0] > GAP_S:
        # Not there in the gap: only within half a frame of either key.
        near = before if t - before[0] <= after[0] - t else after
        return near[1:] if abs(t - near[0]) <= frame_s / 2 else None
    return _between(before, after, t)


def active(region_set):
    """The tracks that are blurred: every one staff did not remove."""
    return [track for track in (region_set or {}).get("tracks", []) if not track.get("removed")]


# --------------------------------------------------------------------------- editing


def _next_id(region_set):
    return max((track["id"] for track in region_set["tracks"]), default=0) + 1


def set_removed(region_set, track_id, removed=True):
    """The region set with one track removed (or put back); KeyError if there is none."""
    for track in region_set["tracks"]:
        if track["id"] == track_id:
            track["removed"] = bool(removed)
            return region_set
    raise KeyError(track_id)


def add_box(region_set, t, box):
    """Add a staff box drawn on the frame at `t`; the next render carries it along the clip."""
    x1, y1, x2, y2 = box
    w, h = region_set["width"], region_set["height"]
    x1, x2 = sorted((max(0, min(w, x1)), max(0, min(w, x2))))
    y1, y2 = sorted((max(0, min(h, y1)), max(0, min(h, y2))))
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ValueError("box too small")
    track = {
        "id": _next_id(region_set),
        "kind": MANUAL,
        "source": STAFF,
        "removed": False,
        "keys": [[round(float(t), 3), int(x1), int(y1), math.ceil(x2), math.ceil(y2)]],
        "carried": False,
    }
    region_set["tracks"].append(track)
    return track


def with_detected(region_set, detected):
    """A fresh detection merged with staff's work: their boxes kept, their removals kept
    where a new track covers a removed one."""
    removed = [track for track in region_set.get("tracks", []) if track.get("removed")]
    staff = [track for track in region_set.get("tracks", []) if track.get("source") == STAFF]
    merged = {**detected, "tracks": []}
    for track in detected["tracks"]:
        if any(_same_thing(track, gone) for gone in removed if gone.get("source") != STAFF):
            track["removed"] = True
        merged["tracks"].append(track)
    next_id = _next_id(merged)
    for track in staff:
        merged["tracks"].append({**track, "id": next_id})
        next_id += 1
    return merged


def _same_thing(track, other, overlap=0.5):
    """Whether two tracks cover the same place for most of their common keys."""
    hits = total = 0
    for t, *box in track["keys"]:
        other_box = box_at(other, t)
        if other_box is None:
            continue
        total += 1
        hits += _iou(box, other_box) >= overlap
    return total > 0 and hits >= total / 2


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


def thin(keys):
    """Keys [[t, x1, y1, x2, y2]] without those the linear move between neighbours gives back."""
    return _thin(keys)
