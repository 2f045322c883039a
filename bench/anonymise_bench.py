"""Faces and plates: recall, false regions, unreadability after blurring, cost per minute.

    .venv/bin/python bench/anonymise_bench.py [--seconds 20] [--scenes 8] [--sample 1.0]

1. Speed and memory: a composed 1080p30 clip (faces and plates moving), decoded once to
   time decoding alone, then run through `track_video` (sampled detection + tracking +
   back-filling, its own decoding included), then transcoded to both renditions with the
   regions blurred (the blurring timed on its own), in a fresh process. Wall time and CPU
   time are both given: the machine is shared, so wall time depends on the neighbours.
2. Recall and readability: `--scenes` labelled 720p and 1080p clips of 6 s; recall of faces
   >= 40 px high and plates >= 80 px wide in each frame; then every 10th frame's plates that
   the OCR reads on the original are read again after blurring.
3. False regions: clips without faces or plates (textures, a road, cars without plates).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _threads():
    import cv2

    cv2.setNumThreads(2)


def measure(path, sample):
    """In a child process: decode alone, detection + tracking (blurring.detect), then the
    real transcode to both renditions with the regions blurred, timing the blurring inside
    it on its own thread's clock; JSON on stdout."""
    _threads()
    import av

    from gallery import anonymise, blurring, media

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    result = {}
    c0, t0 = cpu(), time.perf_counter()
    frames = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(format="rgb24")
            frames += 1
    result["decode"] = (time.perf_counter() - t0, cpu() - c0)
    anonymise.FaceDetector()(__import__("numpy").zeros((64, 64, 3), "uint8"))  # load the nets
    anonymise.recognise([__import__("numpy").zeros((48, 160, 3), "uint8")])
    c0, t0 = cpu(), time.perf_counter()
    anonymiser = anonymise.Anonymiser(sample_every_s=sample)
    track = anonymise.track_video(path, anonymiser=anonymiser)
    region_set = blurring.from_track(track)
    result["track"] = (time.perf_counter() - t0, cpu() - c0)
    result["rss_after_detection_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    blurrer = blurring.Blurrer(region_set)
    spent = [0.0, 0]

    def timed(frame):
        start = time.thread_time()
        out = blurrer.frame(frame)
        spent[0] += time.thread_time() - start
        spent[1] += out is not frame
        return out

    info = media.probe(path)
    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = cpu(), time.perf_counter()
        media.transcode(path, tmp, probe_result=info, frame_filter=timed)
        result["transcode"] = (time.perf_counter() - t0, cpu() - c0)
    result["blur"] = spent[0]
    result["blurred_frames"] = spent[1]
    result["frames"] = frames
    result["samples"] = anonymiser.detections
    result["tracks"] = len(region_set["tracks"])
    result["json_bytes"] = len(json.dumps(region_set, separators=(",", ":")))
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def speed(folder, seconds, sample):
    from gallery import synth_bystanders as sb

    scene = sb.compose(
        width=1920,
        height=1080,
        fps=30,
        seconds=seconds,
        faces=4,
        plates=3,
        plain_cars=1,
        face_heights=(40, 220),
        plate_widths=(80, 320),
        seed=101,
    )
    path = folder / "speed.mp4"
    sb.write(scene, path)
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path), "--sample", str(sample)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    per_min = 60 / seconds
    print(
        f"\n1080p30, {seconds:.0f} s, {result['frames']} frames, {result['samples']} samples, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for step in ("decode", "track", "transcode"):
        wall, cpu_s = result[step]
        print(
            f"  {step:10s} per minute of video: wall {wall * per_min:6.1f} s, "
            f"CPU {cpu_s * per_min:6.1f} s"
        )
    blur = result["blur"] * per_min
    detect = result["track"][1] * per_min
    print(
        f"  blurring inside the transcode ({result['blurred_frames']} rendition frames): "
        f"CPU {blur:.1f} s per minute"
    )
    print(f"  detection + tracking + blurring, CPU per minute of 1080p: {detect + blur:.1f} s")
    print(
        f"  peak memory {result['rss_after_detection_mb']:.0f} MB after detection, "
        f"{result['max_rss_mb']:.0f} MB with the transcode; region set "
        f"{result['json_bytes'] / 1024:.1f} KiB for {result['tracks']} tracks"
    )


def quality(folder, scenes, sample):
    import av

    from gallery import synth_bystanders as sb
    from gallery.anonymise import Anonymiser, blur, read_text, track_video

    total = sb.Score()
    read_before = read_after = 0
    seconds_clean = 0.0
    false_clean = 0
    for i in range(scenes):
        width, height = ((1280, 720), (1920, 1080))[i % 2]
        scene = sb.compose(
            width=width,
            height=height,
            fps=15,
            seconds=6.0,
            faces=4,
            plates=3,
            plain_cars=1,
            face_heights=(40, height // 4),
            plate_widths=(80, width // 6),
            seed=200 + i,
        )
        path = folder / f"q{i}.mp4"
        truths = sb.write(scene, path)
        track = track_video(path, anonymiser=Anonymiser(sample_every_s=sample))
        result = sb.score(truths, track)
        for kind in ("face", "plate"):
            total.seen[kind] += result.seen[kind]
            total.found[kind] += result.found[kind]
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                plates = [t for t in truths[index] if t.kind == "plate" and t.width >= 80]
                if index % 10 or not plates:
                    continue
                rgb = frame.to_ndarray(format="rgb24")
                before = [t for t, _, _ in read_text(rgb)]
                after = [t for t, _, _ in read_text(blur(rgb, track.frames[index]))]
                for plate in plates:
                    if _readable(plate.text, before):
                        read_before += 1
                        read_after += _readable(plate.text, after)
        print(
            f"  scene {i} {width}x{height}: faces {result.recall('face'):.3f} of {result.seen['face']}, "
            f"plates {result.recall('plate'):.3f} of {result.seen['plate']}",
            flush=True,
        )
    for i in range(max(2, scenes // 2)):
        width, height = ((1280, 720), (1920, 1080))[i % 2]
        scene = sb.compose(
            width=width,
            height=height,
            fps=15,
            seconds=20.0,
            faces=0,
            plates=0,
            plain_cars=3,
            seed=300 + i,
        )
        path = folder / f"clean{i}.mp4"
        sb.write(scene, path)
        track = track_video(path, anonymiser=Anonymiser(sample_every_s=sample))
        false_clean += len(track.track_ids)
        seconds_clean += scene.seconds
        print(
            f"  clean {i} {width}x{height}: {len(track.track_ids)} regions in {scene.seconds:.0f} s",
            flush=True,
        )
    print(
        f"\nrecall, faces >= 40 px high: {total.recall('face'):.3f} of {total.seen['face']} face-frames"
    )
    print(
        f"recall, plates >= 80 px wide: {total.recall('plate'):.3f} of {total.seen['plate']} plate-frames"
    )
    print(
        f"plates read by the OCR before blurring: {read_before}; still readable after: {read_after}"
    )
    print(
        f"false regions on clean footage: {false_clean} in {seconds_clean:.0f} s "
        f"({false_clean / seconds_clean * 10:.2f} per 10 s)"
    )


def _readable(text, lines):
    wanted = "".join(c for c in text if c.isalnum())
    for line in lines:
        got = "".join(c for c in line.upper() if c.isalnum())
        if any(wanted[i : i + 4] in got for i in range(len(wanted) - 3)):
            return True
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--sample", type=float, default=1.0)
    parser.add_argument("--measure")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.sample)
        return
    _threads()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.skip_speed:
            speed(folder, args.seconds, args.sample)
        if not args.skip_quality:
            quality(folder, args.scenes, args.sample)


if __name__ == "__main__":
    main()
