"""Load: 200 concurrent visitors for 60 s over mixed gallery, filter and clip pages.

Seeds published clips in PostgreSQL, serves the site with gunicorn and production settings,
and drives it with wrk and a script that picks a page at random for every request. Prints
p50/p99 latency, requests per second and the count of errors (any answer that is not 2xx
or 3xx, and socket errors). Run:
    scripts/with-postgres.sh .venv/bin/python bench/load.py [--clips 2000] [--visitors 200] [--seconds 60]
"""

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port, prepare_site, production_env, start_gunicorn  # noqa: E402
from bench.web import make_media, seed, setup_django  # noqa: E402

LUA = """
paths = {%s}
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    # As the Docker image runs it: gthread workers keep visitors' connections alive.
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--warm-up", type=int, default=10, help="seconds of load before the measured run (0: none)"
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("run under scripts/with-postgres.sh")

    var_dir = tempfile.mkdtemp(prefix="bench-load-")
    env = production_env(var_dir)
    os.environ.pop("DJANGO_DEBUG", None)
    run_env = os.environ | env
    prepare_site(run_env)
    setup_django(env | {"DJANGO_SETTINGS_MODULE": "config.settings"})
    seed(args.clips, make_media(var_dir))

    from gallery.models import Clip

    rng = random.Random(7)
    themes = ["performance", "autopilot", "technology", "weekend", "design"]
    ids = list(Clip.objects.values_list("pk", flat=True))
    paths = []
    for lang in ("fr", "en", "de"):
        paths.append(f"/{lang}/")
        for _ in range(10):
            picked = rng.sample(themes, rng.randint(1, 2))
            query = "&".join(f"theme={t}" for t in picked)
            paths.append(f"/{lang}/?{query}&page={rng.randint(1, 5)}")
        paths += [f"/{lang}/clips/{pk}/" for pk in rng.sample(ids, 30)]
    script = Path(var_dir) / "mixed.lua"
    script.write_text(LUA % ", ".join(f'"{p}"' for p in paths))

    port = free_port()
    server = start_gunicorn(
        port,
        run_env,
        workers=args.web_workers,
        extra=("--backlog", "2048", "--threads", str(args.threads)),
    )

    def drive(seconds):
        return subprocess.run(
            ["wrk", "-t2", f"-c{args.visitors}", f"-d{seconds}s", "--timeout", "10s", "--latency",
             "-s", str(script), f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    try:
        if args.warm_up:
            # The burst after a deploy: every worker renders each page once.
            print("cold start:", summary(drive(args.warm_up)))
        out = drive(args.seconds)
    finally:
        server.terminate()
        server.wait()
    print(
        f"{len(paths)} distinct pages (gallery, filters, clip pages in 3 languages), {args.clips} clips, "
        f"gunicorn {args.web_workers} workers x {args.threads} threads, {os.cpu_count()} cores"
    )
    print(out)
    print(summary(out))


def summary(out):
    """p50, p99, requests per second and errors (non-2xx/3xx answers, socket errors)."""
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    rps = re.search(r"Requests/sec:\s+(\S+)", out).group(1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return f"p50 {latency['50']}  p99 {latency['99']}  {rps} req/s  errors {errors}"


if __name__ == "__main__":
    main()
