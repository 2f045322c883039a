"""The car's own telemetry in dashcam clips: the drive's story, without its location.

Since firmware 2025.44.25 (HW3 and later) the car writes, before each frame's picture, an
H.264 SEI NAL unit (type 6) holding a "user data unregistered" message (payload type 5)
whose payload is an identifier (a run of 0x42 bytes ended by 0x69) followed by a protobuf
`SeiMetadata`. Schema and layout come from the car maker's public repository
https://github.com/teslamotors/dashcam (dashcam.proto, sei_extractor.py, dashcam-mp4.js,
commit f3a7e59); the schema is kept in gallery/schema/dashcam.proto.

This module reads packets with PyAV (demux only, never decodes a picture) and the protobuf
library, whose message class is built here at run time from a descriptor mirroring
dashcam.proto (no generated `_pb2.py`; tests check the two agree).

Location (latitude, longitude, heading) is dropped as each message is parsed: no structure
returned here holds it. `strip_location` rewrites a file's SEI without it.
Nothing here imports Django.

API:
- `read_series(path) -> dict | None`: the compact series stored as `Clip.telemetry`.
- `strip_location(path_in, path_out) -> StripSummary`: a copy whose SEI has no location.
- `join_series([series, ...])`: consecutive files (minutes of one event) as one series.
- `summary_of(series)`, `theme_hints(series) -> list[ThemeHint]`: figures and theme hints.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import av
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

SERIES_VERSION = 1
# Samples kept per second: enough for a strip that follows playback, far fewer than 36 fps.
SAMPLE_HZ = 4

NAL_SEI = 6
NAL_SLICE, NAL_IDR = 1, 5
SEI_USER_DATA_UNREGISTERED = 5
# What the car writes before the protobuf: the car maker's extractor accepts one or more
# 0x42 bytes ended by 0x69. Our test writer uses 15 + 1 bytes, the 16 of an ISO/IEC 11578 UUID.
ID_FILL, ID_END = 0x42, 0x69
TESLA_ID = bytes([ID_FILL] * 15 + [ID_END])

# Fields of SeiMetadata that say where the car is; never kept, cleared by strip_location.
LOCATION_FIELDS = ("latitude_deg", "longitude_deg", "heading_deg")

# Theme hints (part 4 of issue 18).
AUTOPILOT_MIN_SHARE = 0.30
AUTOPILOT_MIN_SECONDS = 20.0
HARD_ACCELERATION = 4.0  # m/s², forward (about 0.4 g; brisk for any car, everyday for this one)

# dashcam.proto, field by field: (name, number, type, enum).
_T = descriptor_pb2.FieldDescriptorProto
SCHEMA_FIELDS = (
    ("version", 1, _T.TYPE_UINT32, None),
    ("gear_state", 2, _T.TYPE_ENUM, "Gear"),
    ("frame_seq_no", 3, _T.TYPE_UINT64, None),
    ("vehicle_speed_mps", 4, _T.TYPE_FLOAT, None),
    ("accelerator_pedal_position", 5, _T.TYPE_FLOAT, None),
    ("steering_wheel_angle", 6, _T.TYPE_FLOAT, None),
    ("blinker_on_left", 7, _T.TYPE_BOOL, None),
    ("blinker_on_right", 8, _T.TYPE_BOOL, None),
    ("brake_applied", 9, _T.TYPE_BOOL, None),
    ("autopilot_state", 10, _T.TYPE_ENUM, "AutopilotState"),
    ("latitude_deg", 11, _T.TYPE_DOUBLE, None),
    ("longitude_deg", 12, _T.TYPE_DOUBLE, None),
    ("heading_deg", 13, _T.TYPE_DOUBLE, None),
    ("linear_acceleration_mps2_x", 14, _T.TYPE_DOUBLE, None),
    ("linear_acceleration_mps2_y", 15, _T.TYPE_DOUBLE, None),
    ("linear_acceleration_mps2_z", 16, _T.TYPE_DOUBLE, None),
)
SCHEMA_ENUMS = {
    "Gear": (("GEAR_PARK", 0), ("GEAR_DRIVE", 1), ("GEAR_REVERSE", 2), ("GEAR_NEUTRAL", 3)),
    "AutopilotState": (("NONE", 0), ("SELF_DRIVING", 1), ("AUTOSTEER", 2), ("TACC", 3)),
}


def _message_class():
    """SeiMetadata as a protobuf class, in a pool of its own (no clash with any other)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="lavie/dashcam.proto", package="lavie.dashcam", syntax="proto3"
    )
    message = proto.message_type.add(name="SeiMetadata")
    for enum_name, values in SCHEMA_ENUMS.items():
        enum = message.enum_type.add(name=enum_name)
        for value_name, number in values:
            enum.value.add(name=value_name, number=number)
    for name, number, kind, enum_name in SCHEMA_FIELDS:
        added = message.field.add(name=name, number=number, type=kind, label=_T.LABEL_OPTIONAL)
        if enum_name:
            added.type_name = f".lavie.dashcam.SeiMetadata.{enum_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("lavie.dashcam.SeiMetadata"))


SeiMetadata = _message_class()


@dataclass(frozen=True)
class Sample:
    """One frame's telemetry, location left out. Units as the car stores them."""

    t: float  # seconds from the file's first frame
    speed: float  # m/s
    autopilot: int  # 0 none, 1 self-driving, 2 autosteer, 3 TACC
    gear: int  # 0 P, 1 D, 2 R, 3 N
    blinker_left: bool
    blinker_right: bool
    brake: bool
    pedal: float  # accelerator pedal position, as stored (0-1 per the car maker's viewer)
    accel_x: float  # m/s², longitudinal (forward positive)


@dataclass
class StripSummary:
    """What `strip_location` did. `changed` False: nothing to remove, `path_out` not written."""

    sei_messages: int = 0
    with_location: int = 0
    packets: int = 0
    changed: bool = False


@dataclass(frozen=True)
class ThemeHint:
    """A theme the car's own data suggests, and the figure that says why."""

    slug: str
    reason: str  # "autopilot" (value: share 0-1, seconds) or "acceleration" (value: m/s²)
    value: float
    seconds: float = 0.0


# --- NAL units and SEI -----------------------------------------------------------------


def unescape(data: bytes) -> bytes:
    """Remove emulation prevention bytes (the 0x03 after two zero bytes)."""
    if b"\x00\x00\x03" not in data:
        return data
    out = bytearray()
    zeros = 0
    for byte in data:
        if zeros >= 2 and byte == 0x03:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def escape(rbsp: bytes) -> bytes:
    """Apply emulation prevention: no 00 00 0x (x <= 3) may appear inside a NAL unit."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 0x03:
            out.append(0x03)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def split_nals(data: bytes, length_size: int | None) -> list[bytes]:
    """A packet's NAL units: length-prefixed (MP4's AVCC) or, with None, Annex B start codes."""
    if length_size is None:
        return _split_annexb(data)
    nals, i, n = [], 0, len(data)
    while i + length_size <= n:
        size = int.from_bytes(data[i : i + length_size], "big")
        i += length_size
        if size == 0 or i + size > n:
            break
        nals.append(data[i : i + size])
        i += size
    return nals


def join_nals(nals, length_size: int | None) -> bytes:
    if length_size is None:
        return b"".join(b"\x00\x00\x00\x01" + nal for nal in nals)
    return b"".join(len(nal).to_bytes(length_size, "big") + nal for nal in nals)


def _split_annexb(data: bytes) -> list[bytes]:
    starts, i = [], data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    nals = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(data)
        nals.append(data[start:end].rstrip(b"\x00"))
    return [nal for nal in nals if nal]


def _length_size(extradata: bytes | None) -> int | None:
    """4 (usually) for MP4's avcC configuration; None when the stream uses start codes."""
    if extradata and extradata[0] == 1 and len(extradata) >= 5:
        return (extradata[4] & 0x03) + 1
    return None


def _sei_messages(rbsp: bytes):
    """(payload type, payload) of each message in an SEI NAL's RBSP (header byte removed)."""
    i, n = 0, len(rbsp)
    while i < n and not (i == n - 1 and rbsp[i] == 0x80):
        values = []
        for _ in range(2):  # payload type, then payload size
            value = 0
            while i < n and rbsp[i] == 0xFF:
                value += 255
                i += 1
            if i >= n:
                return
            values.append(value + rbsp[i])
            i += 1
        kind, size = values
        # A size running past the unit (the car maker's extractor ignores it): take the rest.
        yield kind, rbsp[i : i + size] if i + size <= n else rbsp[i:].removesuffix(b"\x80")
        i += size


def _tesla_protobuf(payload: bytes) -> bytes | None:
    """The protobuf after the car's identifier, or None when the payload is someone else's."""
    i = 0
    while i < len(payload) and payload[i] == ID_FILL:
        i += 1
    if i == 0 or i >= len(payload) or payload[i] != ID_END:
        return None
    return payload[i + 1 :]


def sei_nal(message_bytes: bytes, identifier: bytes = TESLA_ID) -> bytes:
    """One SEI NAL unit (header included, emulation prevention applied) carrying a message."""
    payload = identifier + message_bytes
    size = len(payload)
    size_bytes = b"\xff" * (size // 255) + bytes([size % 255])
    return bytes([NAL_SEI]) + escape(
        bytes([SEI_USER_DATA_UNREGISTERED]) + size_bytes + payload + b"\x80"
    )


def _parse(protobuf: bytes):
    message = SeiMetadata()
    try:
        message.ParseFromString(protobuf)
    except DecodeError:
        return None
    return message


def tesla_messages(nal: bytes):
    """The SeiMetadata messages in one NAL unit (none unless it is the car's SEI)."""
    if not nal or nal[0] & 0x1F != NAL_SEI:
        return []
    found = []
    for kind, payload in _sei_messages(unescape(nal[1:])):
        if kind != SEI_USER_DATA_UNREGISTERED:
            continue
        protobuf = _tesla_protobuf(payload)
        message = _parse(protobuf) if protobuf is not None else None
        if message is not None:
            found.append(message)
    return found


def _finite(value) -> float:
    # JSON (and PostgreSQL's jsonb) has no NaN or infinity; a damaged message may hold them.
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _sample(message, t: float) -> Sample:
    # Only the fields below are copied: the location never leaves this function.
    return Sample(
        t=t,
        speed=_finite(message.vehicle_speed_mps),
        autopilot=int(message.autopilot_state),
        gear=int(message.gear_state),
        blinker_left=bool(message.blinker_on_left),
        blinker_right=bool(message.blinker_on_right),
        brake=bool(message.brake_applied),
        pedal=_finite(message.accelerator_pedal_position),
        accel_x=_finite(message.linear_acceleration_mps2_x),
    )


# --- Reading ------------------------------------------------------------------------------


def read_samples(path) -> list[Sample]:
    """Every frame's telemetry in time order ([] when the file carries none)."""
    samples = []
    with av.open(str(path)) as container:
        if not container.streams.video:
            return []
        stream = container.streams.video[0]
        if stream.codec_context.name != "h264":
            return []
        length_size = _length_size(stream.codec_context.extradata)
        base = stream.time_base
        start = None
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            t = float(packet.pts * base)
            start = t if start is None else min(start, t)
            for nal in split_nals(bytes(packet), length_size):
                for message in tesla_messages(nal):
                    samples.append(_sample(message, t))
    samples.sort(key=lambda s: s.t)
    if start:
        samples = [_shift(s, -start) for s in samples]
    return samples


def _shift(sample: Sample, by: float) -> Sample:
    return Sample(**{**sample.__dict__, "t": sample.t + by})


def read_series(path) -> dict | None:
    """The clip's telemetry as stored in `Clip.telemetry`, or None for a file without any.

    Shape (columns of equal length, one row per 1/SAMPLE_HZ s, first frame of each slot):
    {"v": 1, "hz": 4,
     "t": [s], "speed": [m/s], "autopilot": [0-3], "gear": [0-3],
     "blinker": [0 off, 1 left, 2 right, 3 both], "brake": [0/1], "pedal": [as stored],
     "accel": [m/s² longitudinal],
     "summary": {see summary_of}}
    Computed over every frame: the summary; sampled: the columns.
    """
    try:
        samples = read_samples(path)
    except (av.error.FFmpegError, OSError):
        return None
    if not samples:
        return None
    return series_from_samples(samples)


def series_from_samples(samples: list[Sample]) -> dict:
    columns = {
        k: [] for k in ("t", "speed", "autopilot", "gear", "blinker", "brake", "pedal", "accel")
    }
    last_slot = None
    for sample in samples:
        slot = math.floor(sample.t * SAMPLE_HZ + 1e-6)
        if slot == last_slot:
            continue
        last_slot = slot
        columns["t"].append(round(sample.t, 3))
        columns["speed"].append(round(sample.speed, 2))
        columns["autopilot"].append(sample.autopilot)
        columns["gear"].append(sample.gear)
        columns["blinker"].append(int(sample.blinker_left) + 2 * int(sample.blinker_right))
        columns["brake"].append(int(sample.brake))
        columns["pedal"].append(round(sample.pedal, 3))
        columns["accel"].append(round(sample.accel_x, 2))
    series = {"v": SERIES_VERSION, "hz": SAMPLE_HZ, **columns}
    series["summary"] = _summary(samples)
    return series


def _summary(samples: list[Sample]) -> dict:
    """Figures over every frame: duration, top speed, Autopilot time, hardest push forward."""
    steps = [b.t - a.t for a, b in zip(samples, samples[1:], strict=False) if b.t > a.t]
    frame = sorted(steps)[len(steps) // 2] if steps else 0.0
    duration = samples[-1].t - samples[0].t + frame
    engaged = 0.0
    for index, sample in enumerate(samples):
        if sample.autopilot:
            following = samples[index + 1].t if index + 1 < len(samples) else sample.t + frame
            engaged += following - sample.t
    return {
        "duration": round(duration, 2),
        "max_speed": round(max(s.speed for s in samples), 2),
        "autopilot_seconds": round(engaged, 2),
        "autopilot_share": round(engaged / duration, 3) if duration > 0 else 0.0,
        "peak_accel": round(_peak_acceleration(samples), 2),
    }


def _peak_acceleration(samples: list[Sample], window: float = 0.5) -> float:
    """Hardest forward push (m/s²): measured acceleration, or speed gained, over half a second.

    Averaged over the window so one noisy frame does not make a performance clip.
    """
    best, begin, total = 0.0, 0, 0.0
    for end, sample in enumerate(samples):
        total += sample.accel_x
        while sample.t - samples[begin].t > window:
            total -= samples[begin].accel_x
            begin += 1
        count = end - begin + 1
        if sample.t - samples[begin].t >= window * 0.8:
            best = max(best, total / count)
            gain = (sample.speed - samples[begin].speed) / (sample.t - samples[begin].t)
            best = max(best, gain)
    return best


def join_series(parts: list[dict | None]) -> dict | None:
    """Consecutive files (the minutes of one event, in order) as one series."""
    parts = [p for p in parts if p]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    columns = [k for k in parts[0] if isinstance(parts[0][k], list)]
    joined = {"v": SERIES_VERSION, "hz": parts[0]["hz"], **{k: [] for k in columns}}
    offset = 0.0
    for part in parts:
        for key in columns:
            shift = offset if key == "t" else None
            joined[key].extend(round(v + shift, 3) if shift is not None else v for v in part[key])
        offset += part["summary"]["duration"]
    summaries = [p["summary"] for p in parts]
    duration = sum(s["duration"] for s in summaries)
    engaged = sum(s["autopilot_seconds"] for s in summaries)
    joined["summary"] = {
        "duration": round(duration, 2),
        "max_speed": max(s["max_speed"] for s in summaries),
        "autopilot_seconds": round(engaged, 2),
        "autopilot_share": round(engaged / duration, 3) if duration > 0 else 0.0,
        "peak_accel": max(s["peak_accel"] for s in summaries),
    }
    return joined


def summary_of(series: dict | None) -> dict | None:
    """{"duration": s, "max_speed": m/s, "autopilot_seconds": s, "autopilot_share": 0-1,
    "peak_accel": m/s²}, or None without telemetry."""
    return (series or {}).get("summary")


def theme_hints(series: dict | None) -> list[ThemeHint]:
    """Themes the drive itself suggests: Autopilot engaged for a meaningful part (at least
    30 % of the time or 20 s), Performance for a hard push forward (at least 4 m/s²)."""
    summary = summary_of(series)
    if not summary:
        return []
    hints = []
    share, seconds = summary["autopilot_share"], summary["autopilot_seconds"]
    if share >= AUTOPILOT_MIN_SHARE or seconds >= AUTOPILOT_MIN_SECONDS:
        hints.append(ThemeHint("autopilot", "autopilot", share, seconds))
    if summary["peak_accel"] >= HARD_ACCELERATION:
        hints.append(ThemeHint("performance", "acceleration", summary["peak_accel"]))
    return hints


# --- Removing the location -------------------------------------------------------------------


def without_location(protobuf: bytes) -> bytes | None:
    """The car's message re-serialised with the fields of dashcam.proto only (unknown ones,
    which a newer firmware might add, are dropped too) and without latitude, longitude and
    heading; None when it does not parse."""
    message = _parse(protobuf)
    if message is None:
        return None
    for name in LOCATION_FIELDS:
        message.ClearField(name)
    message.DiscardUnknownFields()
    return message.SerializeToString()


@dataclass
class _Rewriter:
    length_size: int | None
    summary: StripSummary = field(default_factory=StripSummary)

    def packet(self, data: bytes) -> bytes:
        out, changed = [], False
        for nal in split_nals(data, self.length_size):
            if nal and nal[0] & 0x1F == NAL_SEI:
                rewritten = self.sei(nal)
                changed = changed or rewritten != nal
                if rewritten:
                    out.append(rewritten)
            else:
                out.append(nal)
        return join_nals(out, self.length_size) if changed else data

    def sei(self, nal: bytes) -> bytes:
        """The SEI unit with the car's messages cleaned; b"" when nothing is left of it."""
        messages, touched = [], False
        for kind, payload in _sei_messages(unescape(nal[1:])):
            protobuf = _tesla_protobuf(payload) if kind == SEI_USER_DATA_UNREGISTERED else None
            if protobuf is None:
                messages.append((kind, payload))
                continue
            self.summary.sei_messages += 1
            parsed = _parse(protobuf)
            if parsed is not None and _has_location(parsed):
                self.summary.with_location += 1
            cleaned = without_location(protobuf)
            touched = True
            if cleaned is None:
                continue  # the car's identifier but a damaged message: dropped, not kept
            identifier = payload[: len(payload) - len(protobuf)]
            messages.append((kind, identifier + cleaned))
        if not touched:
            return nal
        if not messages:
            return b""
        rbsp = bytearray()
        for kind, payload in messages:
            for value in (kind, len(payload)):
                rbsp += b"\xff" * (value // 255) + bytes([value % 255])
            rbsp += payload
        return nal[:1] + escape(bytes(rbsp) + b"\x80")


def _has_location(message) -> bool:
    return any(getattr(message, name) for name in LOCATION_FIELDS)


def carries_location(path) -> bool:
    """Whether any SEI message of the car in the H.264 file at `path` holds a latitude,
    longitude or heading (demux only; stops at the first). False for anything unreadable."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return False
            stream = container.streams.video[0]
            if stream.codec_context.name != "h264":
                return False
            length_size = _length_size(stream.codec_context.extradata)
            for packet in container.demux(stream):
                for nal in split_nals(bytes(packet), length_size):
                    if _needs_rewrite(nal):
                        return True
    except (av.error.FFmpegError, OSError, ValueError):
        return False
    return False


def _needs_rewrite(nal: bytes) -> bool:
    """Does this unit hold a message of the car that cleaning would change?"""
    if not nal or nal[0] & 0x1F != NAL_SEI:
        return False
    for kind, payload in _sei_messages(unescape(nal[1:])):
        protobuf = _tesla_protobuf(payload) if kind == SEI_USER_DATA_UNREGISTERED else None
        if protobuf is not None and without_location(protobuf) != protobuf:
            return True
    return False


def strip_location(path_in, path_out) -> StripSummary:
    """Copy `path_in` to `path_out` (MP4) with latitude, longitude and heading cleared from
    every SEI message of the car, the rest of its telemetry kept (see `without_location`;
    a message of the car that does not parse is dropped).

    We rewrite rather than drop the SEI so the private original still tells the drive's story
    (speed, Autopilot) should it be processed again. Packets are remuxed with PyAV (no
    re-encoding); protobuf re-serialised without the three fields, emulation prevention
    re-applied, NAL lengths recomputed. The container's metadata (tags such as a phone's
    location) is not copied either. When the file holds no such SEI, nothing is written
    and `changed` is False: the caller keeps its file.
    """
    path_in, path_out = Path(path_in), Path(path_out)
    with av.open(str(path_in)) as source:
        video = source.streams.video[0] if source.streams.video else None
        if video is None or video.codec_context.name != "h264":
            return StripSummary()
        video_index = video.index
        rewriter = _Rewriter(_length_size(video.codec_context.extradata))
        # First pass: is there anything to remove? Most files (phones, older cars) have none.
        for packet in source.demux(video):
            if packet.size and any(
                _needs_rewrite(nal) for nal in split_nals(bytes(packet), rewriter.length_size)
            ):
                break
        else:
            return StripSummary()
    with (
        av.open(str(path_in)) as source,
        av.open(str(path_out), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        streams = {}
        for stream in source.streams:
            if stream.type in ("video", "audio"):
                streams[stream.index] = out.add_stream_from_template(stream)
        for packet in source.demux(*[source.streams[i] for i in streams]):
            if packet.dts is None and packet.size == 0:
                continue
            data = bytes(packet)
            if packet.stream.index == video_index:
                data = rewriter.packet(data)
                rewriter.summary.packets += 1
            copy = av.Packet(data)
            copy.pts, copy.dts = packet.pts, packet.dts
            copy.time_base = packet.time_base
            copy.is_keyframe = packet.is_keyframe
            copy.stream = streams[packet.stream.index]
            out.mux(copy)
    rewriter.summary.changed = True
    return rewriter.summary
