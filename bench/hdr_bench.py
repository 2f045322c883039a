"""Owners' HDR footage: time and peak memory of processing iPhone-like 4K60 HLG; colour errors.

    .venv/bin/python bench/hdr_bench.py [--seconds 30] [--ffmpeg BINARY] [--skip-4k]

The source (3840x2160 HEVC Main10 HLG in MOV, hvc1, rotation 90, Apple tags, AAC, 60 fps,
the colour pattern panning sideways) is made once and cached in the temp dir. probe, poster
and transcode run in a child process, so its peak resident memory (ru_maxrss) is theirs
alone; the ffmpeg command line doing the same job (zscale + tonemap, split, two x264 and AAC
encodes) runs under the same kind of child. Then the colour error of every test case
(the numbers tests/gallery/test_media.py checks) is printed as a Markdown table.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gallery import media, synth  # noqa: E402

APPLE_TAGS = {
    "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 15 Pro",
}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from gallery import media
src, out = sys.argv[2], sys.argv[3]
t = time.perf_counter(); info = media.probe(src); probe = time.perf_counter() - t
t = time.perf_counter(); media.make_poster(src, out, probe_result=info)
poster = time.perf_counter() - t
t = time.perf_counter(); made = media.transcode(src, out, probe_result=info)
transcode = time.perf_counter() - t
print(json.dumps({"probe": probe, "poster": poster, "transcode": transcode,
    "duration": info.duration, "colour": info.colour.dynamic_range,
    "renditions": [[r.label, r.width, r.height, r.size] for r in made],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def repeat(src, dst, times):
    """`src` played `times` times in a row, by copying its packets (each piece opens on a keyframe)."""
    import av

    part = dst.with_suffix(".part.mov")
    with av.open(str(src)) as inp:
        first, end = {}, {}
        for packet in inp.demux():
            if packet.dts is not None:
                index = packet.stream.index
                first[index] = min(first.get(index, packet.dts), packet.dts)
                end[index] = max(end.get(index, 0), packet.dts + (packet.duration or 0))
        length = {index: end[index] - first[index] for index in first}
        with av.open(
            str(part), "w", format="mov", options={"movflags": "use_metadata_tags"}
        ) as out:
            out.metadata.update(APPLE_TAGS)
            streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
            for s in inp.streams.video:
                streams[s.index].metadata.update(s.metadata)
            for turn in range(times):
                inp.seek(0)
                for packet in inp.demux():
                    if packet.dts is None:
                        continue
                    offset = turn * length[packet.stream.index]
                    packet.pts += offset
                    packet.dts += offset
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
    part.rename(dst)


def ffmpeg_command(binary, src, out_dir, info):
    """transcode()'s job on one ffmpeg line: HLG -> SDR BT.709, 1080p60 + 720p30, no metadata."""
    sdr = (
        "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
        "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
    )
    sizes = dict(media._rendition_sizes(info.width, info.height, (720, 1080)))
    graph = "[0:v]split=2[a][b];"
    graph += f"[a]scale={sizes['1080p'][0]}:{sizes['1080p'][1]},{sdr},fps=60[hd];"
    graph += f"[b]scale={sizes['720p'][0]}:{sizes['720p'][1]},{sdr},fps=30[sd]"
    cmd = [binary, "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
    cmd += ["-filter_complex", graph]
    for label, name in (("hd", "1080p"), ("sd", "720p")):
        cmd += ["-map", f"[{label}]", "-map", "0:a?", "-map_metadata", "-1"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high"]
        cmd += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
        cmd += ["-movflags", "+faststart", str(out_dir / f"ffmpeg-{name}.mp4")]
    return cmd


LOOP_SECONDS = 5  # encoded once, then repeated: 4K HEVC encoding is slow on small machines


def four_k(args):
    cache = Path(tempfile.gettempdir()) / "media-bench"
    cache.mkdir(exist_ok=True)
    piece = cache / f"iphone-hlg-4k60-{LOOP_SECONDS}s.mov"
    if not piece.exists():
        started = time.perf_counter()
        part = piece.with_suffix(".part.mov")
        synth.synthesize_colour(
            part,
            kind="hlg",
            width=2160,
            height=3840,
            rotation=90,
            fps=60,
            seconds=LOOP_SECONDS,
            metadata=APPLE_TAGS,
            pan=True,
        )
        part.rename(piece)
        print(f"synthesized {piece} in {time.perf_counter() - started:.0f} s")
    src = cache / f"iphone-hlg-4k60-{args.seconds}s.mov"
    if not src.exists():
        repeat(piece, src, -(-args.seconds // LOOP_SECONDS))
    info = media.probe(src)
    print(f"source: {info}")
    with tempfile.TemporaryDirectory(prefix="hdr-bench-") as tmp:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), str(src), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
        ours = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"gallery.media: {json.dumps(ours)}")
        total = ours["probe"] + ours["poster"] + ours["transcode"]
        print(
            f"  probe + poster + transcode {total:.1f} s for {ours['duration']:.0f} s of video"
            f" ({total / ours['duration']:.2f}x the clip's duration),"
            f" peak RSS {ours['peak_rss_mb']:.0f} MB"
        )
        binary = args.ffmpeg or shutil.which("ffmpeg")
        if binary:
            cmd = ffmpeg_command(binary, src, Path(tmp), info)
            measured = subprocess.run(
                [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True
            )
            wall, rss = map(float, measured.stdout.split())
            print(f"ffmpeg CLI ({binary}): {wall:.1f} s, peak RSS {rss:.0f} MB")
            print(f"  gallery.media / ffmpeg: {ours['transcode'] / wall:.2f} (transcode alone)")
        else:
            print("no ffmpeg binary: CLI comparison skipped")


def colour_table():
    cases = {
        "SDR BT.709": {"kind": "sdr", "name": "sdr.mp4", "size": (320, 180)},
        "BT.601": {"kind": "bt601", "name": "bt601.mp4", "size": (320, 180)},
        "HLG (iPhone, portrait)": {
            "kind": "hlg",
            "name": "hlg.mov",
            "size": (180, 320),
            "rotation": 90,
        },
        "PQ (HDR10)": {"kind": "pq", "name": "pq.mp4", "size": (320, 180)},
    }
    names = ("red", "green", "white", "skin", "paint", "sky")
    print("\n| source | output | luma diff | saturation diff | " + " | ".join(names) + " |")
    print("|---|---|---|---|" + "---|" * len(names))
    with tempfile.TemporaryDirectory(prefix="colour-bench-") as tmp:
        tmp = Path(tmp)
        for label, spec in cases.items():
            src = synth.synthesize_colour(
                tmp / spec["name"],
                kind=spec["kind"],
                width=spec["size"][0],
                height=spec["size"][1],
                rotation=spec.get("rotation", 0),
            )
            info = media.probe(src)
            poster = media.make_poster(src, tmp / label, probe_result=info)
            (rendition,) = media.transcode(src, tmp / label, probe_result=info)
            outputs = {
                "rendition": _first_frame(rendition.path),
                "poster": np.asarray(Image.open(poster.poster.path).convert("RGB")),
            }
            passthrough = _passthrough(src, info)
            if passthrough is not None:
                outputs["untreated (before)"] = passthrough
            for output, rgb in outputs.items():
                r = synth.colour_report(rgb)
                patches = " | ".join(f"{r[n]:.1f}" for n in names)
                print(
                    f"| {label} | {output} | {r['luma']:+.1f} | {r['saturation']:+.3f} "
                    f"| {patches} |"
                )
    print("\nPatch columns: CIEDE2000 against the scene (1 is the smallest visible step).")


def _first_frame(path):
    import av

    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.reformat(
            format="rgb24", src_colorspace="ITU709", src_color_range="MPEG", dst_color_range="JPEG"
        ).to_ndarray()


def _passthrough(src, info):
    """What the pipeline made of an HDR source before: matrix only, no transfer conversion."""
    if info.colour.dynamic_range == "SDR":
        return None
    import av

    with av.open(str(src)) as c:
        frame = next(c.decode(video=0))
    flat = media.Colour(matrix=info.colour.matrix)
    image = media._to_rgb(frame, flat, frame.width, frame.height)
    return np.asarray(media._upright(image, info.rotation))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--ffmpeg", metavar="BINARY", help="default: ffmpeg on PATH")
    parser.add_argument("--skip-4k", action="store_true", help="only the colour table")
    args = parser.parse_args()
    if not args.skip_4k:
        four_k(args)
    colour_table()


if __name__ == "__main__":
    main()
