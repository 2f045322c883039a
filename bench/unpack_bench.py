"""What opening archives costs: time and peak memory to open or refuse each kind.

Each case runs in a fresh Python process; tracemalloc gives the memory allocated while it calls
`submissions.unpack.unpack` on one in-memory piece, as the e-mail intake does. The cases: a
zip bomb (1 GiB of zeros deflated to about 1 MB), one under the size bound (400 MiB), nested
zips 8 deep, 60 members, a 100 MiB stored zip of incompressible bytes (a video stands for
it), a 50 MiB TNEF attachment, and a TNEF of 1,000 tiny attributes before a 20 MiB file.
Usage: python bench/unpack_bench.py
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASE = r"""
import io, json, os, struct, sys, time, tracemalloc, zipfile
sys.path.insert(0, {root!r})
from submissions import unpack

def zipped(files, method=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()

def bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as fh:
            chunk = bytes(1024 * 1024)
            for _ in range(1024):
                fh.write(chunk)
    return buffer.getvalue()

def bomb_under_size():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w") as fh:
            chunk = bytes(1024 * 1024)
            for _ in range(400):
                fh.write(chunk)
    return buffer.getvalue()

def nested():
    data = zipped({{"clip.mp4": os.urandom(1024)}})
    for level in range(8):
        data = zipped({{f"level{{level}}.zip": data}})
    return data

def attribute(level, ident, kind, data):
    return struct.pack("<BHHI", level, ident, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

def tnef():
    out = struct.pack("<IH", 0x223E9F78, 1)
    out += attribute(1, 0x9006, 8, struct.pack("<I", 0x10000))
    out += attribute(2, 0x9002, 6, bytes(22))
    out += attribute(2, 0x8010, 1, b"CLIP.MOV\x00")
    out += attribute(2, 0x800F, 6, os.urandom(50 * 1024 * 1024))
    return out

def hostile_tnef():
    out = struct.pack("<IH", 0x223E9F78, 1)
    out += b"".join(attribute(1, 0x0009, 8, b"\x00\x00") for _ in range(1000))
    out += attribute(2, 0x9002, 6, bytes(22)) + attribute(2, 0x800F, 6, bytes(20 * 1024 * 1024))
    return out

builders = {{
    "bomb": bomb,
    "bomb_under_size": bomb_under_size,
    "hostile_tnef": hostile_tnef,
    "nested": nested,
    "members": lambda: zipped({{f"f{{n}}.txt": b"x" for n in range(60)}}),
    "stored": lambda: zipped({{"clip.mp4": os.urandom(100 * 1024 * 1024)}}, zipfile.ZIP_STORED),
    "tnef": tnef,
}}
data = builders[{case!r}]()
tracemalloc.start()
start = time.perf_counter()
name = "winmail.dat" if "tnef" in {case!r} else "x.zip"
pieces = list(unpack.unpack([unpack.Piece(name=name, data=data)]))
elapsed = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({{
    "input_mib": len(data) / 2**20, "seconds": elapsed, "peak_mib": peak / 2**20, "outcome": [(p.where, p.skipped or "ok") for p in pieces][:3],
}}))
"""


def main():
    print("| case | input MiB | seconds | allocated at peak MiB | outcome |")
    print("|---|---:|---:|---:|---|")
    for case in ("bomb", "bomb_under_size", "nested", "members", "stored", "tnef", "hostile_tnef"):
        run = subprocess.run(
            [sys.executable, "-c", CASE.format(root=str(ROOT), case=case)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        r = json.loads(run.stdout.strip().splitlines()[-1])
        outcome = "; ".join(f"{where}: {why}" for where, why in r["outcome"])
        print(
            f"| {case} | {r['input_mib']:.2f} | {r['seconds']:.3f} | "
            f"{r['peak_mib']:.1f} | {outcome} |"
        )


if __name__ == "__main__":
    main()
