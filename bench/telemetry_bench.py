"""What the car's telemetry costs processing: reading the series and rewriting the original.

    .venv/bin/python bench/telemetry_bench.py [--seconds 60] [--width 1280 --height 960]

One camera file shaped like the car's (36 fps, SEI before every frame), written by
gallery/synth_telemetry.py; then gallery.telemetry.read_series and strip_location on it,
and, for scale, a plain demux of the same file. A figure, not a test.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402

from gallery import telemetry  # noqa: E402
from gallery.synth_telemetry import synthesize_dashcam  # noqa: E402


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def demux(path):
    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=960)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="telemetry-bench-") as tmp:
        source = Path(tmp) / "front.mp4"
        written, made = timed(
            lambda: synthesize_dashcam(
                source, seconds=args.seconds, width=args.width, height=args.height
            )
        )
        packets, demux_s = timed(demux, source)
        series, read_s = timed(telemetry.read_series, source)
        summary, strip_s = timed(telemetry.strip_location, source, Path(tmp) / "stripped.mp4")
        stored = len(json.dumps(series, separators=(",", ":")))
        print(
            f"file: {args.seconds:g} s {args.width}x{args.height} 36 fps, "
            f"{source.stat().st_size / 1e6:.1f} MB, {packets} packets, "
            f"{len(written.messages)} SEI messages (written in {made:.1f} s)"
        )
        print("| step | s | per minute of video, s |")
        print("|---|---:|---:|")
        per_minute = 60 / args.seconds
        for label, seconds in (
            ("demux only (PyAV, for scale)", demux_s),
            ("read_series (demux + NAL scan + protobuf, all frames)", read_s),
            ("strip_location (scan, then remux with rewritten SEI)", strip_s),
        ):
            print(f"| {label} | {seconds:.2f} | {seconds * per_minute:.2f} |")
        print(
            f"series stored: {len(series['t'])} rows, {stored} bytes of JSON; "
            f"messages rewritten: {summary.with_location}"
        )


if __name__ == "__main__":
    main()
