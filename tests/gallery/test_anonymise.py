"""Faces and number plates are found and blurred beyond reading; clean footage is left alone.

The clips are composed here from real face photographs and rendered plates whose places are
known (gallery.synth_bystanders), encoded as H.264 like an owner's clip.
"""

import av
import numpy as np
import pytest
from PIL import Image

from gallery import synth_bystanders as sb
from gallery.anonymise import (
    PLATE,
    Anonymiser,
    Region,
    RegionTrack,
    blur,
    blur_frame,
    blur_image,
    read_text,
    track_video,
)

SEEDS = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """[(path, truths, track)] for a few short composed clips with faces and plates."""
    folder = tmp_path_factory.mktemp("bystanders")
    clips = []
    for seed in SEEDS:
        scene = sb.compose(seed=seed, seconds=3.0, faces=3, plates=2)
        path = folder / f"scene{seed}.mp4"
        truths = sb.write(scene, path)
        clips.append((path, truths, track_video(path)))
    return clips


def _decoded(path):
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_faces_and_plates_are_found_in_nearly_every_frame(labelled):
    total = sb.Score()
    for _, truths, track in labelled:
        assert len(track.frames) == len(truths)
        result = sb.score(truths, track)
        for kind in ("face", "plate"):
            total.seen[kind] += result.seen[kind]
            total.found[kind] += result.found[kind]
    assert total.seen["face"] > 100 and total.seen["plate"] > 40
    assert total.recall("face") >= 0.95
    assert total.recall("plate") >= 0.95


def _readable(text, lines):
    """Whether any OCR line gives back four characters in a row of the plate."""
    wanted = "".join(c for c in text if c.isalnum())
    for line in lines:
        got = "".join(c for c in line.upper() if c.isalnum())
        if any(wanted[i : i + 4] in got for i in range(len(wanted) - 3)):
            return True
    return False


def test_a_plate_the_ocr_reads_before_blurring_cannot_be_read_after(labelled):
    read_before = 0
    for path, truths, track in labelled:
        frames = _decoded(path)
        for index in range(0, len(frames), 6):
            plates = [t for t in truths[index] if t.kind == "plate"]
            if not plates:
                continue
            before = [text for text, _, _ in read_text(frames[index])]
            after = [text for text, _, _ in read_text(blur(frames[index], track.frames[index]))]
            for plate in plates:
                if _readable(plate.text, before):
                    read_before += 1
                    assert not _readable(plate.text, after), (plate.text, after)
    assert read_before >= 5  # the OCR is a fair judge: it reads these plates unblurred


def test_footage_without_faces_or_plates_gets_no_region(tmp_path):
    scene = sb.compose(seed=7, seconds=10.0, faces=0, plates=0, plain_cars=2)
    path = tmp_path / "clean.mp4"
    sb.write(scene, path)
    track = track_video(path)
    assert len(track.frames) == 100
    assert track.track_ids == []


def test_the_region_track_survives_json_and_fits_any_picture_size(labelled):
    _, _, track = labelled[0]
    again = RegionTrack.from_json(track.to_json())
    assert again == track
    t = next(t for t, regions in zip(track.times, track.frames, strict=True) if regions)
    half = again.for_size(t, track.width // 2, track.height // 2)
    assert [r.box for r in half] == [
        (r.x1 // 2, r.y1 // 2, -(-r.x2 // 2), -(-r.y2 // 2)) for r in track.at(t)
    ]


def test_a_poster_gets_the_same_regions_blurred_at_its_own_size():
    scene = sb.compose(seed=5, seconds=1.0, faces=0, plates=1, plate_widths=(160, 200))
    rgb, truths = scene.frame(0)
    (plate,) = truths
    assert _readable(plate.text, [text for text, _, _ in read_text(rgb)])
    regions = [r for r in Anonymiser().regions(rgb, 0.0) if r.kind == PLATE]
    assert regions
    poster = Image.fromarray(rgb).resize((rgb.shape[1] * 2, rgb.shape[0] * 2))
    blurred = blur_image(poster, regions, source_size=(rgb.shape[1], rgb.shape[0]))
    assert blurred.size == poster.size
    assert not _readable(plate.text, [text for text, _, _ in read_text(np.asarray(blurred))])
    # Outside the regions the picture is untouched.
    mask = np.ones(np.asarray(poster).shape[:2], bool)
    for r in [r.scaled(2, 2) for r in regions]:
        mask[r.y1 : r.y2, r.x1 : r.x2] = False
    assert (np.asarray(blurred)[mask] == np.asarray(poster)[mask]).all()


def test_a_box_drawn_by_staff_is_carried_along_with_what_it_covers():
    scene = sb.compose(seed=9, seconds=3.0, faces=1, plates=0)
    first = next(i for i in range(scene.frame_count) if scene.frame(i)[1])
    rgb, (face,) = scene.frame(first)
    anonymiser = Anonymiser(faces=False, plates=False)
    anonymiser.regions(rgb, first / scene.fps)
    track_id = anonymiser.add(rgb, face.box)
    followed = 0
    for index in range(first + 1, scene.frame_count):
        rgb, truths = scene.frame(index)
        regions = anonymiser.regions(rgb, index / scene.fps)
        if not truths:
            break
        (region,) = regions
        assert region.track == track_id and region.kind == "manual"
        assert sb.coverage(truths[0].box, [region]) >= 0.8
        followed += 1
    assert followed >= 10


def test_regions_outside_the_picture_are_clipped_not_fatal():
    rgb = np.full((40, 60, 3), 128, np.uint8)
    out = blur(rgb, [Region("face", -10, -10, 20, 20), Region("plate", 50, 30, 90, 90)])
    assert out.shape == rgb.shape


def test_a_video_frame_is_blurred_in_place_of_the_original_keeping_its_timing():
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[:, ::2] = 255  # stripes: any blur turns them grey
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    frame.pts = 1234
    assert blur_frame(frame, []) is frame
    out = blur_frame(frame, [Region(PLATE, 10, 10, 50, 40)])
    assert (out.format.name, out.width, out.height, out.pts) == ("yuv420p", 96, 64, 1234)
    after = out.to_ndarray(format="rgb24").astype(int)
    assert after[15:35, 15:45].std() < 20  # the stripes inside are gone
    assert after[50:, 60:].std() > 100  # outside they remain
