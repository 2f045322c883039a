"""What blanking a phone's geotag costs an upload: finding it, blanking it, the cleaned copy.

    .venv/bin/python bench/geotags_bench.py [--seconds 60] [--pad-mb 1000]

An iPhone-shaped MOV (mdta keys with com.apple.quicktime.location.ISO6709, rotation 90)
written by gallery/synth.py, padded with a top-level `free` box to the size of a long phone
recording (the blanking reads only the metadata boxes, so the padding stands in for media).
Then gallery.geotags on it; for scale, a plain file copy. A figure, not a test.
"""

import argparse
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gallery import geotags  # noqa: E402
from gallery.synth import synthesize  # noqa: E402

IPHONE_KEYS = {
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.location.accuracy.horizontal": "21.307141",
    "com.apple.quicktime.location.ISO6709": "+36.1318-115.1517+621.989/",
    "com.apple.quicktime.model": "iPhone 15 Pro Max",
    "com.apple.quicktime.creationdate": "2024-01-08T15:06:17-0800",
}


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def find(path):
    with path.open("rb") as fh:
        return geotags.find_geotags(fh)


def cleaned_copy(path):
    with (
        geotags.opened_without_geotags(path) as (fh, removed),
        open(path.with_name("cleaned.mov"), "wb") as out,
    ):
        shutil.copyfileobj(fh, out, 1024 * 1024)
    return removed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pad-mb", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="geotags-bench-") as tmp:
        source = Path(tmp) / "IMG_0001.MOV"
        _, made = timed(
            lambda: synthesize(
                source,
                seconds=args.seconds,
                width=640,
                height=360,
                rotation=90,
                metadata=IPHONE_KEYS,
            )
        )
        media_size = source.stat().st_size
        with source.open("ab") as fh:  # after moov: no sample offset moves
            pad = args.pad_mb * 1024 * 1024
            fh.write(struct.pack(">I4s", 1, b"free") + struct.pack(">Q", pad))
            fh.truncate(media_size + pad)
        size = source.stat().st_size
        print(
            f"file: {args.seconds:g} s 640x360 MOV, {media_size / 1e6:.1f} MB of media, "
            f"padded to {size / 1e6:.0f} MB (written in {made:.1f} s)"
        )
        patches, find_s = timed(find, source)
        _, copy_s = timed(shutil.copyfile, source, source.with_name("copy.mov"))
        _, clean_s = timed(cleaned_copy, source)
        in_place = source.with_name("copy.mov")
        _, remove_s = timed(geotags.remove_geotags, in_place)
        print(f"removed: {', '.join(n for p in patches for n in p.removed)}")
        print("| step | s |")
        print("|---|---:|")
        print(f"| find_geotags (reads the metadata boxes only) | {find_s:.4f} |")
        print(f"| remove_geotags in place | {remove_s:.4f} |")
        print(f"| opened_without_geotags, read whole (what store_original does) | {clean_s:.2f} |")
        print(f"| plain file copy, for scale | {copy_s:.2f} |")


if __name__ == "__main__":
    main()
