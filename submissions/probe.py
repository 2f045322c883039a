"""Probe unpacked files by their content: which are usable videos, and why the others are not."""

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

from gallery import media
from gallery.processing import media_error_message, probe_limits, recovery_message
from submissions import dashcam, unpack

log = logging.getLogger(__name__)

# Bounds on what one message may cost: parts probed, clips made. The files of one dashcam
# event count as one part (dashcam.units): a full event is 60 minute files.
MAX_PARTS_PROBED = 20
MAX_CLIPS_PER_MESSAGE = 10
# Files one web submission may name at all (resumable uploads, one token each); what is
# probed of them is bounded as above.
MAX_FILES_SENT = MAX_PARTS_PROBED + dashcam.MAX_EVENT_FILES
VIDEO_SUFFIXES = {
    ".mp4", ".m4v", ".mov", ".qt", ".webm", ".mkv", ".avi", ".3gp", ".3g2", ".mts", ".m2ts",
    ".ts", ".mpg", ".mpeg", ".wmv", ".asf", ".flv", ".ogv",
}  # fmt: skip


@dataclass
class Problem:
    """A file we could not use, and why (a MediaError code, "too_big" or an unpack reason)."""

    label: str
    code: str
    details: dict = field(default_factory=dict)
    # The file's own name and folder (a dashcam minute's camera and event come from them).
    name: str = ""
    folder: str = ""
    # A camera left out of a dashcam event whose other cameras still make the clip: the
    # owner is told, but the event is not refused for it.
    left_out: bool = False

    def message(self):
        details = self.details
        if self.code == "too_big":
            return gettext("This file is too large: at most %(size)s.") % {
                "size": filesizeformat(settings.MAX_UPLOAD_BYTES)
            }
        if self.code == unpack.TOO_DEEP:
            return gettext("This message is nested too deeply to be read.")
        if self.code == unpack.TNEF_UNREADABLE:
            return gettext("This Outlook attachment (winmail.dat) could not be opened.")
        if self.code == unpack.TNEF_TOO_COMPLEX:
            return (
                gettext(
                    "This Outlook attachment (winmail.dat) is built of too many pieces (%(count)s; "
                    "at most %(max)s): it was not opened."
                )
                % details
            )
        if self.code == unpack.ARCHIVE_UNREADABLE:
            return gettext("This archive could not be opened.")
        if self.code == unpack.ARCHIVE_ENCRYPTED:
            return gettext("This archive is protected by a password: please send the video itself.")
        if self.code == unpack.ARCHIVE_TOO_MANY_MEMBERS:
            return (
                gettext(
                    "This archive holds too many files (%(count)s; at most %(max)s): "
                    "it was not opened."
                )
                % details
            )
        if self.code == unpack.ARCHIVE_TOO_LARGE:
            return gettext(
                "This archive is too large once unpacked (%(size)s; at most %(max)s): "
                "it was not opened."
            ) % {"size": filesizeformat(details["size"]), "max": filesizeformat(details["max"])}
        if self.code == unpack.ARCHIVE_RATIO:
            return (
                gettext(
                    "A file in this archive (%(name)s) is compressed %(ratio)s to 1, more than the "
                    "%(max)s to 1 we accept: it was not opened."
                )
                % details
            )
        if self.code == unpack.ARCHIVE_TOO_DEEP:
            return (
                gettext(
                    "Archives inside archives are opened %(max)s levels deep at most: "
                    "this one was not opened."
                )
                % details
            )
        if self.code == unpack.ARCHIVE_BAD_NAME:
            return (
                gettext(
                    "This archive holds a file whose name points outside its folder (%(name)s): "
                    "it was not opened."
                )
                % details
            )
        return media_error_message(media.MediaError(self.code))


@dataclass
class Video:
    piece: unpack.Piece
    path: Path | None  # None: probed where it is stored (`stored`)
    stored: str = ""
    # Cameras of its dashcam event left out, ((camera, code), ...) (leave_out_broken_cameras).
    left_out: tuple[tuple[str, str], ...] = ()


def problem(piece, code, details=None):
    return Problem(
        piece.where, code, details or {}, name=piece.name, folder=getattr(piece, "folder", "")
    )


def examine(pieces, folder):
    """Probe every piece by its content: (videos, problems, ignored labels).

    Pieces held in memory or on disk are put in `folder` first (a second name for a file on
    the same disk); objects already in the bucket are probed there.
    """
    videos, problems, ignored, cut_off = [], [], [], []
    spent = 0
    costs = dashcam.units([p.name for p in pieces], [p.folder for p in pieces])
    for index, piece in enumerate(pieces):
        label = piece.where
        spent += costs[index]
        if spent > MAX_PARTS_PROBED or clips_made(videos) >= MAX_CLIPS_PER_MESSAGE:
            ignored.append(label)
            continue
        if piece.skipped:
            problems.append(problem(piece, piece.skipped, piece.details))
            continue
        if piece.size > settings.MAX_UPLOAD_BYTES:
            problems.append(problem(piece, "too_big"))
            continue
        if piece.stored and piece.file is not None:
            # Already in the bucket: probed there by ranges, fetched only to be rebuilt.
            try:
                media.probe(piece.file, **probe_limits())
            except media.MediaError as error:
                if error.code != "cut_off":
                    problems.append(problem(piece, error.code))
                    continue
            else:
                videos.append(Video(piece, None, stored=piece.stored))
                continue
        path = folder / f"part-{index}{original_suffix(piece)}"
        materialise(piece, path)
        try:
            media.probe(path, **probe_limits())
        except media.MediaError as error:
            if error.code == "cut_off":
                cut_off.append(Video(piece, path))  # a sibling may rebuild it below
                continue
            if error.code == "not_video" and not claims_video(piece):
                ignored.append(label)  # a signature logo, a PDF: not meant as a clip
            else:
                problems.append(problem(piece, error.code))
            path.unlink()
            continue
        videos.append(Video(piece, path))
    if cut_off:
        for index, video in enumerate(videos):
            if video.path is None:  # a healthy sibling still in the bucket
                video.path = folder / f"sibling-{index}{original_suffix(video.piece)}"
                materialise(video.piece, video.path)
        rescued, unsaved = rescue_cut_off(cut_off, videos)
        videos += rescued[: max(0, MAX_CLIPS_PER_MESSAGE - len(videos))]
        problems += unsaved
    videos = leave_out_broken_cameras(videos, problems)
    return videos, problems, ignored


def leave_out_broken_cameras(videos, problems):
    """A dashcam minute that cannot be used leaves its camera out of its event (its other
    minutes too, so that the event stays whole); the other cameras still make the clip.

    Marks those problems `left_out` and each kept video of the event with the cameras left
    out; returns the videos kept. An event none of whose cameras is usable stays refused.
    """
    broken = [p for p in problems if dashcam.parse_name(p.name)]
    if not broken or not videos:
        return videos
    names = [v.piece.name for v in videos] + [p.name for p in broken]
    folders = [v.piece.folder for v in videos] + [p.folder for p in broken]
    dropped = set()
    for event in dashcam.group(names, folders=folders):
        cameras = dict(event.angles)
        bad = {
            camera: broken[i - len(videos)]
            for camera, indices in event.angles
            for i in indices
            if i >= len(videos)
        }
        kept = [i for camera, indices in event.angles if camera not in bad for i in indices]
        if not bad or not kept:
            continue
        left_out = tuple((camera, bad[camera].code) for camera in cameras if camera in bad)
        for camera in bad:
            bad[camera].left_out = True
            dropped.update(i for i in cameras[camera] if i < len(videos))
        for i in kept:
            videos[i].left_out = left_out
    for i in sorted(dropped):
        if videos[i].path is not None:
            videos[i].path.unlink(missing_ok=True)
    return [v for i, v in enumerate(videos) if i not in dropped]


def left_out_of(group, videos):
    """The cameras left out of the event a dashcam.Group makes of `videos`."""
    return next((videos[i].left_out for i in group.members if videos[i].left_out), ())


def materialise(piece, path):
    """Put the piece's bytes at `path` (a second name for a file on the same disk)."""
    if piece.path is not None:
        try:
            os.link(piece.path, path)
        except OSError:
            shutil.copyfile(piece.path, path)
    elif piece.file is not None:
        piece.file.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(piece.file, out, 1024 * 1024)
    else:
        path.write_bytes(piece.data)


def clips_made(videos):
    """How many clips the videos make: a dashcam event's files make one (dashcam.py)."""
    return len(
        dashcam.group([v.piece.name for v in videos], folders=[v.piece.folder for v in videos])
    )


def rescue_cut_off(cut_off, healthy):
    """Rebuild cut-off recordings from a healthy file of the same camera sent alongside.

    Returns (rescued videos, problems for those that could not be saved).
    """
    paths = [v.path for v in cut_off + healthy]
    names = {v.path: v.piece.name or v.path.name for v in cut_off + healthy}
    rescued, unsaved = [], []
    for video, (_, recovery) in zip(
        cut_off, media.recover_with_siblings(paths, names=names), strict=True
    ):
        try:
            if recovery is None:
                raise media.MediaError("cut_off")
            media.probe(recovery.path, **probe_limits())
        except media.MediaError as error:
            unsaved.append(problem(video.piece, error.code))
            video.path.unlink(missing_ok=True)
            continue
        recovery.path.replace(video.path)
        log.info("%s: %s", video.piece.label, recovery_message(recovery))
        rescued.append(video)
    return rescued, unsaved


def claims_video(piece):
    suffix = Path(piece.name).suffix.lower() if piece.name else ""
    return piece.content_type.startswith("video/") or suffix in VIDEO_SUFFIXES


def original_suffix(piece):
    """The file's own suffix if it names a video, else one guessed from its first bytes."""
    suffix = Path(piece.name).suffix.lower() if piece.name else ""
    if suffix in VIDEO_SUFFIXES:
        return suffix
    head = piece.head(16)
    if head[4:8] == b"ftyp":
        return ".mov" if head[8:12] == b"qt  " else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".mkv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    return ".bin"


def original_name(piece, index):
    return f"email-{index}{original_suffix(piece)}"
