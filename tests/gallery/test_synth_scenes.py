"""The demo scenes are real moving pictures with sound, not flat cards: decoded and measured."""

import av
import numpy as np
import pytest

from gallery.synth_scenes import SCENES, synthesize_scene


def decode(path):
    """(width, height, rotation, [RGB frames], audio samples as floats)."""
    with av.open(str(path)) as c:
        video = c.streams.video[0]
        size = (video.codec_context.width, video.codec_context.height)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        rotation = next(c.decode(video=0)).rotation
        audio = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
    return size, rotation, frames, audio


def colours(frame):
    """Distinct colours, ignoring the encoder's last bits of noise."""
    return len(np.unique((frame // 8).reshape(-1, 3), axis=0))


@pytest.mark.parametrize("scene", SCENES)
def test_every_scene_moves_has_detail_and_sound(tmp_path, scene):
    path = synthesize_scene(tmp_path / f"{scene}.mp4", scene, seconds=1.5, width=320, height=180)
    (width, height), rotation, frames, audio = decode(path)
    assert (width, height, rotation) == (320, 180, 0)
    assert len(frames) == 36  # 1.5 s at 24 fps
    # Detail within a frame: a flat card with a title has a handful of colours.
    assert colours(frames[18]) > 150
    # Motion over time: the road, trees and hills scroll (parked, the camera glides past).
    moved = np.abs(frames[30].astype(int) - frames[6].astype(int)).max(axis=2) > 24
    assert moved.mean() > 0.02
    # Motion between neighbouring frames too, not a jump now and then.
    still = [np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False)]
    assert not any(still)
    # A soft hum, not silence, and nowhere near clipping.
    level = np.sqrt(np.mean(audio**2))
    assert 0.01 < level < 0.3 and np.abs(audio).max() <= 1.0


def test_the_sky_follows_the_hour(tmp_path):
    """Noon is bright and blue, dusk warm, night dark with stars."""
    sky = {}
    for scene in ("noon", "dusk", "night"):
        path = synthesize_scene(
            tmp_path / f"{scene}.mp4", scene, seconds=0.5, width=320, height=180
        )
        frame = decode(path)[2][6].astype(float)
        sky[scene] = frame[: 180 // 3].reshape(-1, 3)
    luma = {k: (v @ [0.2126, 0.7152, 0.0722]).mean() for k, v in sky.items()}
    assert luma["night"] < 45 < luma["dusk"] < luma["noon"]
    noon_r, noon_g, noon_b = sky["noon"].mean(axis=0)
    assert noon_b > noon_r + 10 and noon_b > noon_g
    # Dusk's horizon glows: red above blue just above the hills.
    dusk = sky["dusk"].reshape(180 // 3, 320, 3)[40:54]
    band = dusk.reshape(-1, 3).mean(axis=0)
    assert band[0] > band[2] + 40
    # Stars: many single bright points in a dark sky.
    night = sky["night"] @ [0.2126, 0.7152, 0.0722]
    assert (night > 110).sum() > 20


def test_phone_shaped_clips(tmp_path):
    """A portrait picture and a landscape one with a phone's 90 degree flag both decode."""
    portrait = decode(
        synthesize_scene(tmp_path / "p.mp4", "rain", seconds=0.5, width=180, height=320)
    )
    assert portrait[:2] == ((180, 320), 0)
    turned = decode(
        synthesize_scene(
            tmp_path / "t.mp4", "mountain", seconds=0.5, width=320, height=180, rotation=90
        )
    )
    assert turned[0] == (320, 180) and turned[1] % 180 == 90
    # Drawn upright at 180x320, then turned: the sky (bright blue) is on one long side.
    frame = turned[2][6].astype(float)
    left, right = frame[:, :40].mean(), frame[:, -40:].mean()
    assert abs(left - right) > 20


def test_unknown_scene_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown scene"):
        synthesize_scene(tmp_path / "x.mp4", "moon landing")
