"""Dashcam-shaped clips with the car's SEI telemetry in them, for tests and demo data.

H.264 at 36 fps, no audio, in MP4 like the car's own files; before each frame's picture an
SEI NAL unit (user data unregistered, the car's identifier, a serialised SeiMetadata) as
the car maker's extractor expects it (see gallery/telemetry.py). Nothing here imports Django.
"""

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from gallery import telemetry

# Distinctive coordinates (never the ones a test asserts absent by chance).
LATITUDE = 48.8583701
LONGITUDE = 2.2944813
HEADING = 123.4567


@dataclass(frozen=True)
class Drive:
    """What to write: a speed ramp, Autopilot engaged over the middle third, gear D."""

    accel: float = 2.0  # m/s², the ramp (and the measured longitudinal acceleration)
    start_speed: float = 3.0  # m/s
    autopilot: tuple[float, float] | None = (1 / 3, 2 / 3)  # share of the clip, start/end
    autopilot_state: int = 2  # AUTOSTEER
    blinker_left: tuple[float, float] = (0.10, 0.25)
    blinker_right: tuple[float, float] = (0.75, 0.85)
    brake_from: float = 0.9
    location: bool = True

    def at(self, t: float, seconds: float, frame: int) -> dict:
        """The SeiMetadata fields for time `t` (s) of a `seconds`-long clip."""
        share = t / seconds
        engaged = self.autopilot and self.autopilot[0] <= share < self.autopilot[1]
        fields = {
            "version": 1,
            "gear_state": 1,
            "frame_seq_no": 1000 + frame,
            "vehicle_speed_mps": self.start_speed + self.accel * t,
            "accelerator_pedal_position": 0.35,
            "steering_wheel_angle": -2.5,
            "blinker_on_left": self.blinker_left[0] <= share < self.blinker_left[1],
            "blinker_on_right": self.blinker_right[0] <= share < self.blinker_right[1],
            "brake_applied": share >= self.brake_from,
            "autopilot_state": self.autopilot_state if engaged else 0,
            "linear_acceleration_mps2_x": self.accel,
            "linear_acceleration_mps2_y": 0.1,
            "linear_acceleration_mps2_z": 9.81,
        }
        if self.location:
            fields["latitude_deg"] = LATITUDE + t * 1e-5
            fields["longitude_deg"] = LONGITUDE + t * 2e-5
            fields["heading_deg"] = HEADING
        return fields


@dataclass
class Written:
    path: Path
    fps: int
    messages: list[dict] = field(default_factory=list)  # one per frame, in order


def synthesize_dashcam(
    path,
    *,
    seconds: float = 6.0,
    fps: int = 36,
    width: int = 320,
    height: int = 240,
    drive: Drive | None = Drive(),
    seed: int = 0,
) -> Written:
    """Write an MP4 like one camera file of the car; `drive=None` writes no SEI (old firmware).

    Returns what was written, frame by frame, so a test can compare what it reads back.
    """
    path = Path(path)
    written = Written(path, fps)
    count = round(seconds * fps)
    rng = np.random.default_rng(seed)
    texture = rng.integers(40, 200, size=(height, width * 2, 3), dtype=np.uint8)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps * 1000)
        stream.options = {"preset": "ultrafast", "crf": "30", "g": str(fps)}
        for index in range(count):
            shift = (index * 4) % width
            picture = np.ascontiguousarray(texture[:, shift : shift + width])
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index * 1000
            frame.time_base = stream.time_base
            message = drive.at(index / fps, seconds, index) if drive else None
            if message is not None:
                written.messages.append(message)
            for packet in stream.encode(frame):
                _mux(out, packet, written, stream)
        for packet in stream.encode(None):
            _mux(out, packet, written, stream)
    return written


def _mux(out, packet, written, stream):
    if written.messages and packet.pts is not None:
        # The encoder may hold frames back: pick the message of this packet's own frame.
        index = round(packet.pts * packet.time_base * written.fps)
        message = written.messages[min(index, len(written.messages) - 1)]
        data = with_sei(bytes(packet), encode_message(message))
        replacement = av.Packet(data)
        replacement.pts, replacement.dts = packet.pts, packet.dts
        replacement.time_base = packet.time_base
        replacement.is_keyframe = packet.is_keyframe
        replacement.stream = stream
        packet = replacement
    out.mux(packet)


def encode_message(fields: dict) -> bytes:
    return telemetry.SeiMetadata(**fields).SerializeToString()


def with_sei(data: bytes, message: bytes) -> bytes:
    """The packet with the car's SEI NAL inserted before its first picture slice."""
    length_size = None if data[:3] == b"\x00\x00\x01" or data[:4] == b"\x00\x00\x00\x01" else 4
    nals = telemetry.split_nals(data, length_size)
    for position, nal in enumerate(nals):
        if nal[0] & 0x1F in (telemetry.NAL_SLICE, telemetry.NAL_IDR):
            nals.insert(position, telemetry.sei_nal(message))
            break
    return telemetry.join_nals(nals, length_size)
