"""Faces and plates blurred in a clip's outputs, from its region set (gallery/regions.py).

`render_outputs(source, work, ...)` makes the poster, thumbnails and renditions of one video
file with its regions blurred: processing calls it for a clip, and it applies as it is to
each angle of a multi-camera clip. Plain functions on files; nothing here imports Django.
"""

import numpy as np

from gallery import anonymise, media
from gallery import regions as region_sets
from gallery.regions import DETECTED, STAFF, active, box_at


def detect(path, *, rotation=0, on_progress=None):
    """The region set of a video file: faces and plates found and tracked along it."""
    track = anonymise.track_video(path, rotation=rotation, on_progress=on_progress)
    return from_track(track)


def from_track(track: anonymise.RegionTrack):
    """The region set of a tracker's per-frame output, with only the keys that matter."""
    per_track = {}
    for t, frame_regions in zip(track.times, track.frames, strict=True):
        for region in frame_regions:
            kind_keys = per_track.setdefault(region.track, (region.kind, {}))
            # Back-filling may add a region twice to a frame: one box per frame and track.
            box = kind_keys[1].get(t)
            kind_keys[1][t] = anonymise._union(box, region.box) if box else region.box
    result = region_sets.empty(track.width, track.height)
    for track_id in sorted(per_track):
        kind, keys = per_track[track_id]
        ordered = [[round(t, 3), *map(int, keys[t])] for t in sorted(keys)]
        result["tracks"].append(
            {
                "id": int(track_id),
                "kind": kind,
                "source": DETECTED,
                "removed": False,
                "keys": region_sets.thin(ordered),
            }
        )
    return result


def regions_at(region_set, t, width, height):
    """The anonymise.Region boxes to blur at `t` on a picture of `width` x `height`."""
    if not region_set or not region_set.get("tracks"):
        return []
    sx, sy = width / region_set["width"], height / region_set["height"]
    found = []
    for track in active(region_set):
        box = box_at(track, t)
        if box is None:
            continue
        kind = track["kind"] if track["kind"] in anonymise.PADDING else anonymise.MANUAL
        found.append(
            anonymise.Region(
                kind,
                int(box[0] * sx),
                int(box[1] * sy),
                int(np.ceil(box[2] * sx)),
                int(np.ceil(box[3] * sy)),
                track["id"],
            )
        )
    return found


class Blurrer:
    """What the transcode and the poster call: the region set blurred on any picture size."""

    def __init__(self, region_set):
        self.region_set = region_set

    def __bool__(self):
        return bool(active(self.region_set))

    def frame(self, frame):
        """An av.VideoFrame of a rendition (time from the clip's start) with its regions blurred."""
        t = float(frame.time) if frame.time is not None else 0.0
        return anonymise.blur_frame(
            frame, regions_at(self.region_set, t, frame.width, frame.height)
        )

    def picture(self, image, t):
        """A PIL picture of the clip at `t` (the poster) with its regions blurred."""
        regions = regions_at(self.region_set, t, image.width, image.height)
        return anonymise.blur_image(image, regions) if regions else image


def carry_staff_boxes(region_set, path, *, rotation=0):
    """Follow every staff box not yet carried through the clip (before and after its frame)."""
    for track in region_set["tracks"]:
        if track.get("source") == STAFF and not track.get("carried"):
            t, *box = track["keys"][0]
            track["keys"] = [
                [round(k_t, 3), *(int(round(v)) for v in k_box)]
                for k_t, k_box in anonymise.carry(path, t, box, rotation=rotation)
            ] or track["keys"]
            track["keys"] = region_sets.thin(track["keys"])
            track["carried"] = True
    return region_set


def render_outputs(source, work, *, info, region_set=None, on_progress=None):
    """Poster, thumbnails and renditions of `source` into `work`, the regions blurred in all
    of them (none when `region_set` is None or has no active track): (Poster, [Rendition])."""
    blurrer = Blurrer(region_set) if region_set and active(region_set) else None
    poster = media.make_poster(
        source, work, probe_result=info, picture_filter=blurrer.picture if blurrer else None
    )
    renditions = media.transcode(
        source,
        work,
        probe_result=info,
        on_progress=on_progress,
        frame_filter=blurrer.frame if blurrer else None,
    )
    return poster, renditions
