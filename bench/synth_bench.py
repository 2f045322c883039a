"""Time gallery.synth.synthesize(), which every media test uses to make its clips.

    .venv/bin/python bench/synth_bench.py [--runs 10]

A figure, not a test: it was once a pass/fail test (`< 2.5 s`) that a busy machine could fail
and a slow change could pass.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gallery.synth import synthesize  # noqa: E402

SHAPES = [
    ("2 s 320x180 (a typical test clip)", {"seconds": 2, "width": 320, "height": 180}),
    ("6 s 320x180 (the session's sample video)", {"seconds": 6}),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        synthesize(Path(tmp) / "warm.mp4", seconds=0.2)  # imports and codec set-up
        print("| clip | runs | median s | min s | max s |")
        print("|---|---:|---:|---:|---:|")
        for label, shape in SHAPES:
            times = []
            for run in range(args.runs):
                started = time.perf_counter()
                synthesize(Path(tmp) / f"c{run}.mp4", title="Quick", **shape)
                times.append(time.perf_counter() - started)
            print(
                f"| {label} | {args.runs} | {statistics.median(times):.3f} | "
                f"{min(times):.3f} | {max(times):.3f} |"
            )


if __name__ == "__main__":
    main()
