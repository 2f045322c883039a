"""Owners' HDR footage: time and peak memory of processing iPhone-like 4K60 HLG; colour errors.

    DJANGO_SECRET_KEY=x DJANGO_ALLOWED_HOSTS=localhost .venv/bin/python bench/hdr_bench.py \
        [--seconds 2,5,10,30] [--ffmpeg BINARY | --no-ffmpeg] [--skip-4k] [--skip-colour]

The source (3840x2160 HEVC Main10 HLG in MOV, hvc1, rotation 90, Apple tags, AAC, 60 fps,
the colour pattern panning sideways) is made once and cached in the temp dir, then repeated
to each length. What a worker does with it (probe, poster and thumbnails, both renditions,
the fingerprint) runs in a child process with Django loaded, so its peak resident memory
(VmHWM after each step) is a worker's. Not ru_maxrss: Linux carries it across exec from the
process that forked the child, which here had just encoded the 4K source (1.7 GB). The ffmpeg command line doing the
same job (zscale + tonemap, split, two x264 and AAC encodes) runs under the same kind of
child. Then the colour error of every test case (the numbers tests/gallery/test_media.py
checks) is printed as a Markdown table. Other work on the machine slows every time here:
the load average is printed before and after each run.
"""

import argparse
import json
import os
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
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from gallery import fingerprint, media, processing  # what a worker has loaded
src, out = sys.argv[2], sys.argv[3]

def peak():
    with open("/proc/self/status") as status:
        return int(next(l for l in status if l.startswith("VmHWM")).split()[1]) / 1024

result = {"loaded_mb": peak()}
t = time.perf_counter(); info = media.probe(src); result["probe"] = time.perf_counter() - t
result["probe_peak_mb"] = peak()
t = time.perf_counter(); media.make_poster(src, out, probe_result=info)
result["poster"] = time.perf_counter() - t
result["poster_peak_mb"] = peak()
t = time.perf_counter(); made = media.transcode(src, out, probe_result=info)
result["transcode"] = time.perf_counter() - t
result["transcode_peak_mb"] = peak()
t = time.perf_counter(); fingerprint.frame_hashes(src)
result["fingerprint"] = time.perf_counter() - t
result["fingerprint_peak_mb"] = peak()
result.update({"duration": info.duration, "colour": info.colour.dynamic_range,
    "renditions": [[r.label, r.width, r.height, r.size] for r in made],
    "peak_rss_mb": peak(),
    "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2])})
print(json.dumps(result))
"""

MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - t, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)
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
    """The job transcode() does, on one ffmpeg command line.

    Debian's ffmpeg 5.1 has no tone mapping in `scale` (it came with FFmpeg 8); its own way
    is zscale to linear light, `tonemap`, zscale back to BT.709. Like transcode(): resized to
    1080p and converted once, then split to the 720p; capped at 60 fps (the 720p at 30 above
    60); upright (ffmpeg turns by the display matrix); square pixels; no metadata.
    """
    sizes = dict(media._rendition_sizes(info.width, info.height, (720, 1080)))
    (w1, h1), (w2, h2) = sizes["1080p"], sizes["720p"]
    caps = {label: media._fps_cap(label, info.fps) for label in sizes}
    sdr = (
        f"zscale=w={w1}:h={h1}:f=bicubic,zscale=t=linear:npl=100,format=gbrpf32le,"
        "zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,"
        "format=yuv420p"
    )
    graph = f"[0:v]{sdr},split=2[a][b];"
    graph += f"[a]fps={caps['1080p']},setsar=1[hd];"
    graph += f"[b]scale={w2}:{h2}:flags=bicubic,fps={caps['720p']},setsar=1[sd]"
    cmd = [binary, "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
    cmd += ["-filter_complex", graph]
    for label, name in (("hd", "1080p"), ("sd", "720p")):
        cmd += ["-map", f"[{label}]", "-map", "0:a?", "-map_metadata", "-1"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high"]
        cmd += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
        cmd += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
        cmd += ["-movflags", "+faststart", str(out_dir / f"ffmpeg-{name}.mp4")]
    return cmd


LOOP_SECONDS = 5  # encoded once, then repeated: 4K HEVC encoding is slow on small machines


def source(seconds):
    """The iPhone-like 4K60 HLG clip of `seconds`, made once and cached in the temp dir.

    4K HEVC encoding is slow on small machines: a multiple of LOOP_SECONDS is that piece
    played again and again; other lengths are encoded whole.
    """
    cache = Path(tempfile.gettempdir()) / "media-bench"
    cache.mkdir(exist_ok=True)
    piece = (
        cache / f"iphone-hlg-4k60-{LOOP_SECONDS if seconds % LOOP_SECONDS == 0 else seconds}s.mov"
    )
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
            seconds=LOOP_SECONDS if seconds % LOOP_SECONDS == 0 else seconds,
            metadata=APPLE_TAGS,
            pan=True,
        )
        part.rename(piece)
        print(f"synthesized {piece} in {time.perf_counter() - started:.0f} s")
    src = cache / f"iphone-hlg-4k60-{seconds}s.mov"
    if not src.exists():
        repeat(piece, src, seconds // LOOP_SECONDS)
    return src


def load_note():
    with open("/proc/loadavg") as loadavg:
        return f"load average {loadavg.read().split()[0]} on {os.cpu_count()} cores"


def four_k(seconds, ffmpeg, skip_ffmpeg=False, skip_ours=False):
    src = source(seconds)
    info = media.probe(src)
    print(f"\n{seconds} s source: {info}")
    with tempfile.TemporaryDirectory(prefix="hdr-bench-") as tmp:
        if skip_ours:
            return ffmpeg_line(src, tmp, info, ffmpeg)
        print(f"  gallery.media, starting at {load_note()}")
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), str(src), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
        ours = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"  {json.dumps(ours)}")
        total = sum(ours[step] for step in ("probe", "poster", "transcode", "fingerprint"))
        print(
            f"  whole processing {total:.1f} s ({ours['cpu_s']:.0f} s CPU) for"
            f" {ours['duration']:.0f} s of video ({total / ours['duration']:.2f}x its duration;"
            f" transcode alone {ours['transcode'] / ours['duration']:.2f}x),"
            f" peak RSS {ours['peak_rss_mb']:.0f} MB; ended at {load_note()}"
        )
        if not skip_ffmpeg:
            wall = ffmpeg_line(src, tmp, info, ffmpeg)
            if wall:
                print(
                    f"  transcode() / ffmpeg: {ours['transcode'] / wall:.2f} wall,"
                    f" whole processing / ffmpeg: {total / wall:.2f} wall"
                )


def ffmpeg_line(src, tmp, info, ffmpeg):
    """Time the same job on one ffmpeg command line; its wall time, or None without one."""
    binary = ffmpeg or shutil.which("ffmpeg")
    if not binary:
        print("  no ffmpeg binary: CLI comparison skipped")
        return None
    cmd = ffmpeg_command(binary, src, Path(tmp), info)
    print(f"  {binary}, starting at {load_note()}")
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True
    )
    wall, rss, cpu = map(float, measured.stdout.split())
    print(
        f"  ffmpeg CLI: {wall:.1f} s ({cpu:.0f} s CPU; {wall / info.duration:.2f}x the"
        f" duration), peak RSS {rss:.0f} MB; ended at {load_note()}"
    )
    return wall


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
    parser.add_argument(
        "--seconds", default="30", help="clip lengths, comma-separated (default 30)"
    )
    parser.add_argument("--ffmpeg", metavar="BINARY", help="default: ffmpeg on PATH")
    parser.add_argument("--no-ffmpeg", action="store_true", help="skip the command line")
    parser.add_argument("--ffmpeg-only", action="store_true", help="only the command line")
    parser.add_argument("--skip-4k", action="store_true", help="only the colour table")
    parser.add_argument("--skip-colour", action="store_true", help="only the 4K runs")
    args = parser.parse_args()
    if not args.skip_4k:
        for seconds in map(int, args.seconds.split(",")):
            four_k(seconds, args.ffmpeg, args.no_ffmpeg, args.ffmpeg_only)
    if not args.skip_colour:
        colour_table()


if __name__ == "__main__":
    main()
