"""The car's own cameras: which sent files make one dashcam event, and its angles.

Standard library only, no Django. The car saves one MP4 per camera per minute,
`YYYY-MM-DD_HH-MM-SS-<camera>.mp4`, and in an event folder an `event.json` (time, reason,
city, estimated position) and a `thumb.png`. Every road in (the web form, e-mail) calls
`set_aside` on what it unpacked, then `group` on the videos it kept: the files of one
event become one clip with an angle per camera, a camera's minutes joined in order.

Of event.json only the reason (Sentry or not) is read; its city and position are never
kept, logged or passed on.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

# The cameras in the order the player and the mosaic show them; the first present leads.
CAMERAS = ("front", "back", "left_repeater", "right_repeater", "left_pillar", "right_pillar")
NAME = re.compile(
    r"^(?P<when>\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)-(?P<camera>" + "|".join(CAMERAS) + r")\.mp4$",
    re.IGNORECASE,
)
# Minutes saved one after the other start about 60 s apart; a little slack for the car's clock.
MAX_GAP_SECONDS = 75
EVENT_FILES = ("event.json", "thumb.png")
MAX_EVENT_JSON_BYTES = 64 * 1024
# A saved event holds the ten minutes before it: eleven one-minute files per camera when
# they straddle the minutes, and its event.json and thumb.png. Bounds on how many files a
# message or an archive may carry count these together as one (`units`).
MAX_EVENT_FILES = len(CAMERAS) * 11 + len(EVENT_FILES)
SENTRY_FOLDER = "sentryclips"


def parse_name(name: str) -> tuple[datetime, str] | None:
    """(start, camera) of a dashcam file name; None for any other name."""
    match = NAME.match(PurePosixPath(name.replace("\\", "/")).name)
    if not match:
        return None
    try:
        when = datetime.strptime(match["when"], "%Y-%m-%d_%H-%M-%S")
    except ValueError:
        return None
    return when, match["camera"].lower()


def units(names, folders=None) -> list[int]:
    """What each file counts for against a bound on files per message or archive: 1 for an
    ordinary file; the files of a dashcam event (the car's minutes, event.json, thumb.png
    in one folder) count as one together, every MAX_EVENT_FILES of them."""
    folders = list(folders) if folders is not None else [""] * len(names)
    seen: dict[str, int] = {}
    counted = []
    for name, folder in zip(names, folders, strict=True):
        own = PurePosixPath(name.replace("\\", "/")).name.lower()
        if parse_name(name) or own in EVENT_FILES:
            counted.append(1 if seen.get(folder, 0) % MAX_EVENT_FILES == 0 else 0)
            seen[folder] = seen.get(folder, 0) + 1
        else:
            counted.append(1)
    return counted


def is_sentry_folder(folder: str) -> bool:
    return SENTRY_FOLDER in (part.lower() for part in PurePosixPath(folder).parts)


def event_reason(data: bytes) -> str:
    """The `reason` of an event.json ("" if unreadable); nothing else of it is read."""
    if len(data) > MAX_EVENT_JSON_BYTES:
        return ""
    try:
        event = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return ""
    reason = event.get("reason") if isinstance(event, dict) else None
    return reason[:100] if isinstance(reason, str) else ""


def set_aside(pieces):
    """The pieces without the event folders' own files; and the folders of Sentry events.

    event.json is read for its reason only; thumb.png goes when it sits beside dashcam
    files or an event.json (elsewhere it is a picture like any other). `pieces` are
    unpack.Piece-like: `name`, `folder`, `data` or `path`.
    """
    pieces = list(pieces)
    folders_with_event = {
        getattr(p, "folder", "")
        for p in pieces
        if p.name.lower() == "event.json" or parse_name(p.name)
    }
    kept, sentry = [], set()
    for piece in pieces:
        folder = getattr(piece, "folder", "")
        name = piece.name.lower()
        if name == "event.json" and not piece.skipped:
            if event_reason(_bytes_of(piece)).lower().startswith("sentry"):
                sentry.add(folder)
            continue
        if name == "thumb.png" and folder in folders_with_event:
            continue
        if is_sentry_folder(folder):
            sentry.add(folder)
        kept.append(piece)
    return kept, sentry


def carries_place(pieces) -> bool:
    """Whether an event.json (with the car's city and position) is among the pieces: the
    raw message that brought it is then not kept once read."""
    return any(piece.name.lower() == "event.json" for piece in pieces)


def _bytes_of(piece) -> bytes:
    if piece.data:
        return piece.data[: MAX_EVENT_JSON_BYTES + 1]
    if getattr(piece, "path", None) is not None:
        with open(piece.path, "rb") as fh:
            return fh.read(MAX_EVENT_JSON_BYTES + 1)
    return b""


@dataclass(frozen=True)
class Group:
    """One clip to make: indices into the files given to `group`.

    `angles` is empty for an ordinary clip (one file that is no dashcam minute, or a lone
    camera file); else (camera, indices of its minutes in order), leading camera first.
    """

    lead: int
    angles: tuple[tuple[str, tuple[int, ...]], ...] = ()
    sentry: bool = False

    @property
    def members(self) -> tuple[int, ...]:
        if not self.angles:
            return (self.lead,)
        return tuple(i for _camera, indices in self.angles for i in indices)


def group(names, *, folders=None, sentry_folders=()) -> list[Group]:
    """Which of the files (by name, and the folder each sat in) make which clip, in order.

    Dashcam minutes sent together from the same folder, with the same set of cameras and
    starting at most MAX_GAP_SECONDS apart, make one event; any other file is a clip alone.
    """
    folders = list(folders) if folders is not None else [""] * len(names)
    sentry_folders = set(sentry_folders)
    # (folder, start) -> {camera: index}
    minutes: dict[tuple[str, datetime], dict[str, int]] = {}
    alone = []
    for index, name in enumerate(names):
        parsed = parse_name(name)
        slot = (folders[index], parsed[0]) if parsed else None
        if parsed is None or parsed[1] in minutes.get(slot, {}):
            alone.append(index)  # not a dashcam file, or the same camera and minute twice
            continue
        minutes.setdefault(slot, {})[parsed[1]] = index
    events: list[list[dict[str, int]]] = []
    previous = None
    for folder, start in sorted(minutes):
        cameras = minutes[(folder, start)]
        if (
            previous is not None
            and previous[0] == folder
            and (start - previous[1]).total_seconds() <= MAX_GAP_SECONDS
            and set(events[-1][-1]) == set(cameras)
        ):
            events[-1].append(cameras)
        else:
            events.append([cameras])
        previous = (folder, start)
    groups = []
    for event in events:
        ordered = [camera for camera in CAMERAS if camera in event[0]]
        angles = tuple((camera, tuple(m[camera] for m in event)) for camera in ordered)
        lead = angles[0][1][0]
        folder = folders[lead]
        sentry = folder in sentry_folders or is_sentry_folder(folder)
        if len(angles) == 1 and len(angles[0][1]) == 1:
            groups.append(Group(lead=lead, sentry=sentry))  # one camera file: an ordinary clip
        else:
            groups.append(Group(lead=lead, angles=angles, sentry=sentry))
    groups += [
        Group(lead=i, sentry=folders[i] in sentry_folders or is_sentry_folder(folders[i]))
        for i in alone
    ]
    return sorted(groups, key=lambda g: g.lead)
