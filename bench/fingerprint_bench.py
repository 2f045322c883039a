"""What the duplicate check adds to processing a clip (gallery/fingerprint.py).

    .venv/bin/python bench/fingerprint_bench.py [--catalogue 1000]

Per clip shape: the original's SHA-256, the frame hashes, and comparing the fingerprint with
a catalogue of earlier ones (the same length each), beside the transcode of the same clip.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")

import django  # noqa: E402

django.setup()

from gallery import fingerprint, media  # noqa: E402
from gallery.synth import synthesize  # noqa: E402

SHAPES = [
    ("10 s 1080p25", {"seconds": 10, "width": 1920, "height": 1080}),
    ("30 s 720p25", {"seconds": 30, "width": 1280, "height": 720}),
]


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalogue", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(1)
    print(
        f"| clip | SHA-256 s | frame hashes s | compare with {args.catalogue} s "
        "| transcode s | check / transcode |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="fp-bench-") as tmp:
        fingerprint.frame_hashes(synthesize(Path(tmp) / "warm.mp4", seconds=0.5))
        for label, shape in SHAPES:
            clip = synthesize(Path(tmp) / "clip.mp4", title="Bench", seed=5, **shape)
            _, sha = timed(fingerprint.sha256_of, clip)
            hashes, hashing = timed(fingerprint.frame_hashes, clip)
            others = [
                [f"{rng.getrandbits(64):016x}:{rng.getrandbits(42):011x}" for _ in hashes]
                for _ in range(args.catalogue)
            ]
            started = time.perf_counter()
            for other in others:
                fingerprint.similarity(hashes, other)
            comparing = time.perf_counter() - started
            info = media.probe(clip)
            out = Path(tmp) / label.replace(" ", "")
            out.mkdir()
            started = time.perf_counter()
            media.transcode(clip, out, probe_result=info)
            transcoding = time.perf_counter() - started
            check = sha + hashing + comparing
            print(
                f"| {label} | {sha:.3f} | {hashing:.2f} | {comparing:.2f} | {transcoding:.1f} "
                f"| {check / transcoding:.0%} |"
            )


if __name__ == "__main__":
    main()
