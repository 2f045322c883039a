"""Time and peak memory of a dashcam event's processing steps, at the car's own size.

Generates CAMERAS camera files of SECONDS at 1280x960, 36 fps, no audio (gallery.synth),
then, each step in a fresh process (its peak resident memory is its own): joining two
minutes of one camera (packets copied), one angle's 720p rendition, and the 1280x720 mosaic
of every angle's rendition. Usage: python bench/dashcam_bench.py [--cameras 4] [--seconds 10]
"""

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CAMERAS = ("front", "back", "left_repeater", "right_repeater", "left_pillar", "right_pillar")


def _run(step, args, queue):
    from gallery import media, mosaic

    start = time.perf_counter()
    if step == "join":
        mosaic.join(*args)
    elif step == "rendition":
        media.transcode(args[0], args[1], heights=(720,))
    elif step == "mosaic":
        mosaic.make_mosaic(*args)
    queue.put((time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def measured(step, *args):
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_run, args=(step, args, queue))
    process.start()
    seconds, peak_kib = queue.get()
    process.join()
    return seconds, peak_kib / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    options = parser.parse_args()
    from gallery.synth import synthesize

    with tempfile.TemporaryDirectory(prefix="bench-dashcam-") as tmp:
        work = Path(tmp)
        sources = []
        for seed, camera in enumerate(CAMERAS[: options.cameras]):
            sources.append(
                synthesize(
                    work / f"2026-06-01_10-42-12-{camera}.mp4",
                    seconds=options.seconds, width=1280, height=960, fps=36, audio=False,
                    seed=seed,
                )
            )  # fmt: skip
        second = synthesize(
            work / "2026-06-01_10-43-12-front.mp4",
            seconds=options.seconds, width=1280, height=960, fps=36, audio=False, seed=99,
        )  # fmt: skip
        rows = [("join two minutes", *measured("join", [sources[0], second], work / "joined.mp4"))]
        renditions = []
        total = 0.0
        for index, source in enumerate(sources):
            folder = work / f"r{index}"
            seconds, peak = measured("rendition", source, folder)
            total += seconds
            renditions.append(folder / "720p.mp4")
            if index == 0:
                rows.append(("one angle's 720p rendition", seconds, peak))
        rows.append((f"all {len(sources)} angles' renditions (sum)", total, float("nan")))
        rows.append(("mosaic 1280x720 30 fps", *measured("mosaic", renditions, work / "m.mp4")))
        print(f"{options.cameras} cameras, {options.seconds:g} s each, 1280x960 36 fps")
        print(f"{'step':40} {'seconds':>8} {'peak MiB':>9}")
        for name, seconds, peak in rows:
            print(f"{name:40} {seconds:8.2f} {peak:9.0f}")


if __name__ == "__main__":
    main()
