"""Time from `make run` on a fresh var/ (no database, no media) to the first gallery page.

    .venv/bin/python bench/first_page.py [--full] [--timeout 600]

Runs `make run` with an empty temporary VAR_DIR on a free PORT (the venv and node_modules
already installed), prints when each step's first line appears (migrate, demo clips, serving),
when the gallery first answers 200 with cards whose posters load, and, with --full, when the
worker has published the queued demo clips too (all cards of the first page). Then stops the
server it started (its own process group) and deletes the temporary folder.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402

MILESTONES = [
    ("migrate done", re.compile(r"Applying .*OK|No migrations to apply")),
    ("demo clip 1 published", re.compile(r"\[1/\d+\]")),
    ("inline demo clips done", re.compile(r"more demo clips queued|\[(\d+)/\1\]")),
    ("server starting", re.compile(r"Serving on")),
]


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our local server
            return response.status, response.read().decode(errors="replace")
    except OSError:
        return None, ""


def cpu_seconds(session):
    """CPU time (user + system) spent so far by every process of `session`, finished or not.

    A live process's own time plus what it has reaped (cutime/cstime) covers each finished
    child once; on a machine shared with other work this, not the wall time, is comparable.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # field 6 of stat: the session id
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / tick


def cards(base, html):
    """(card count, how many of their poster images answer 200 with a picture)."""
    srcs = re.findall(r'<li class="card">.*?<img src="([^"]+)"', html, re.DOTALL)
    good = 0
    for src in srcs:
        try:
            with urllib.request.urlopen(urllib.parse.urljoin(base, src), timeout=5) as r:  # noqa: S310
                good += r.status == 200 and r.headers.get_content_type().startswith("image/")
        except OSError:
            pass
    return html.count('<li class="card">'), good


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also wait for every demo clip")
    parser.add_argument("--clips", type=int, default=24, help="cards a full first page shows")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="first-page-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))},
        "VAR_DIR": str(var),
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",  # each step's lines as they come, for the milestones
    }
    base = f"http://127.0.0.1:{port}"
    seen = {}
    start = time.monotonic()
    make = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopped as a whole below
    )

    def read_lines():
        for line in make.stdout:
            for name, pattern in MILESTONES:
                if name not in seen and pattern.search(line):
                    seen[name] = time.monotonic() - start
                    print(f"{seen[name]:7.1f} s  {name}", flush=True)

    threading.Thread(target=read_lines, daemon=True).start()
    first = full = None
    try:
        while time.monotonic() - start < args.timeout and make.poll() is None:
            status, html = fetch(f"{base}/fr/")
            if status == 200:
                count, posters = cards(base, html)
                now = time.monotonic() - start
                if first is None and count and posters == count:
                    first = now
                    print(
                        f"{now:7.1f} s  first page: {count} cards, posters load "
                        f"({cpu_seconds(make.pid):.1f} CPU s used; load average "
                        f"{os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
                    if not args.full:
                        break
                if args.full and count >= args.clips and posters == count:
                    full = now
                    print(
                        f"{now:7.1f} s  full page: {count} cards, posters load "
                        f"({cpu_seconds(make.pid):.1f} CPU s used; load average "
                        f"{os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
                    break
            time.sleep(0.5)
        if first is None:
            print(f"no gallery page with cards within {args.timeout:.0f} s", file=sys.stderr)
            return 1
        if args.full and full is None:
            print(f"the first page did not fill within {args.timeout:.0f} s", file=sys.stderr)
            return 1
        return 0
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
