"""Time gallery.media.transcode() against one ffmpeg command line doing the same work.

    .venv/bin/python bench/media_bench.py [--seconds 60] [--keep]

The source (1080p30 H.264/AAC, synthesized once) is cached in the temp dir. The ffmpeg
line runs with each `--ffmpeg BINARY` given, else the `ffmpeg` on PATH (apt-get install -y
ffmpeg), else is skipped. Debian 12's ffmpeg is 5.1; PyAV bundles FFmpeg 9, so a static
FFmpeg 9 binary (e.g. from `pip install --target DIR imageio-ffmpeg`) is the fairer match.
"""

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gallery import media  # noqa: E402
from gallery.synth import synthesize  # noqa: E402


def ffmpeg_command(binary, src, out_dir, info, prefix="ffmpeg", crf=23, preset="veryfast"):
    """The same job as transcode(): one decode, split, two x264 encodes, AAC, no metadata."""
    sizes = media._rendition_sizes(info.width, info.height, (720, 1080))
    gop = max(1, round(2 * info.fps))
    labels = [label for label, _ in sizes]
    graph = f"[0:v]split={len(sizes)}" + "".join(f"[s{i}]" for i in range(len(sizes))) + ";"
    graph += ";".join(
        f"[s{i}]scale={w}:{h},setsar=1,format=yuv420p[{labels[i]}]"
        for i, (_, (w, h)) in enumerate(sizes)
    )
    cmd = [
        binary,
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-filter_complex",
        graph,
    ]
    for label in labels:
        cmd += [
            "-map",
            f"[{label}]",
            "-map",
            "0:a?",
            "-map_metadata",
            "-1",
            "-map_chapters",
            "-1",
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-crf",
            str(crf),
            "-profile:v",
            "high",
            "-g",
            str(gop),
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ac",
            "2",
            "-ar",
            "48000",
            "-movflags",
            "+faststart",
            str(out_dir / f"{prefix}-{label}.mp4"),
        ]
    return cmd


def cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(fn, who=resource.RUSAGE_SELF):
    """(wall, cpu) seconds of fn(); CPU time is the steadier figure on a shared machine."""
    cpu, wall = cpu_seconds(who), time.perf_counter()
    fn()
    return time.perf_counter() - wall, cpu_seconds(who) - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the outputs")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest counts")
    parser.add_argument(
        "--ffmpeg",
        action="append",
        default=[],
        metavar="BINARY",
        help="an ffmpeg binary to compare with (repeatable; default: ffmpeg on PATH)",
    )
    args = parser.parse_args()

    cache = Path(tempfile.gettempdir()) / "media-bench"
    src = cache / f"source-1080p30-{args.seconds}s.mp4"
    if not src.exists():
        started = time.perf_counter()
        synthesize(
            src.with_suffix(".part.mp4"),
            seconds=args.seconds,
            width=1920,
            height=1080,
            fps=30,
            title="Benchmark",
            seed=11,
        )
        src.with_suffix(".part.mp4").rename(src)
        print(f"synthesized {src} in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    info = media.probe(src)
    print(f"probe: {time.perf_counter() - started:.3f} s  {info}")

    with tempfile.TemporaryDirectory(prefix="media-bench-") as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        poster = media.make_poster(src, out, probe_result=info)
        print(
            f"poster + {len(poster.thumbnails)} thumbnails: {time.perf_counter() - started:.3f} s"
        )

        binaries = args.ffmpeg or ([shutil.which("ffmpeg")] if shutil.which("ffmpeg") else [])
        versions = {
            b: subprocess.run([b, "-version"], capture_output=True, text=True).stdout.split()[2]
            for b in binaries
        }
        ours, theirs, renditions = [], {b: [] for b in binaries}, []

        def run_ours():
            renditions[:] = media.transcode(src, out, probe_result=info)

        # Interleaved, so a burst of load elsewhere hits both sides alike.
        for _ in range(args.repeat):
            ours.append(timed(run_ours))
            for binary in binaries:
                cmd = ffmpeg_command(
                    binary, src, out, info, prefix=f"ffmpeg{binaries.index(binary)}"
                )
                theirs[binary].append(
                    timed(lambda cmd=cmd: subprocess.run(cmd, check=True), resource.RUSAGE_CHILDREN)
                )
        wall, cpu = min(w for w, _ in ours), min(c for _, c in ours)
        made = ", ".join(
            f"{r.label} {r.width}x{r.height} {r.size / 1e6:.1f} MB" for r in renditions
        )
        print(f"transcode(): wall {wall:.2f} s, CPU {cpu:.2f} s ({made})")
        print(f"  {info.duration / wall:.2f}x realtime")
        for index, binary in enumerate(binaries):
            their_wall = min(w for w, _ in theirs[binary])
            their_cpu = min(c for _, c in theirs[binary])
            made = ", ".join(
                f"{p.name} {p.stat().st_size / 1e6:.1f} MB"
                for p in sorted(out.glob(f"ffmpeg{index}-*"))
            )
            print(f"ffmpeg CLI {versions[binary]}: wall {their_wall:.2f} s, CPU {their_cpu:.2f} s")
            print(f"  ({made})")
            print(f"  transcode()/ffmpeg: wall {wall / their_wall:.2f}, CPU {cpu / their_cpu:.2f}")
        if not binaries:
            print("no ffmpeg binary: CLI comparison skipped")
        if args.keep:
            kept = cache / "outputs"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(out, kept)
            print(f"outputs kept in {kept}")


if __name__ == "__main__":
    main()
