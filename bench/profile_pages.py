"""Where a cold page's time goes: cProfile and query counts, in-process, SQLite.

Seeds published clips, renders every card and clip body once (as a crawler's first pass
would), retires the pages (a publish), then profiles cold gallery pages (each a distinct
theme/page combination) and cold clip pages (each a distinct clip). Run:
    .venv/bin/python bench/profile_pages.py [--clips 10000] [--pages 60] [--top 25]
        [--cache redis] [--fresh]
With --fresh the process drops what it keeps near (shells, fragments read from Redis)
before measuring, as a gunicorn worker that did not serve the first pass has nothing near.
"""

import argparse
import cProfile
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import prepare_site, production_env, start_redis  # noqa: E402
from bench.web import (  # noqa: E402
    drop_near,
    gallery_paths,
    make_media,
    seed,
    selections,
    setup_django,
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--cache", choices=["memory", "redis"], default="memory")
    parser.add_argument("--fresh", action="store_true", help="nothing kept near when measuring")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-profile-")
    redis = None
    extra = {}
    if args.cache == "redis":
        redis, extra["CACHE_URL"] = start_redis(var_dir)
    env = production_env(var_dir, DJANGO_SETTINGS_MODULE="bench.settings", **extra)
    os.environ.pop("DJANGO_DEBUG", None)
    try:
        prepare_site(os.environ | env)
        setup_django(env)
        seed(args.clips, make_media(var_dir))
        run(args)
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait()
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from gallery.models import Clip
    from infra.cache import _bump

    gallery = gallery_paths(selections())[: args.pages]
    ids = list(Clip.objects.published().values_list("pk", flat=True))
    clips = [f"/fr/clips/{pk}/" for pk in random.Random(3).sample(ids, args.pages)]
    client = Client()
    for path in ["/__floor__", "/fr/terms/", *gallery, *clips]:  # fragments rendered once
        assert client.get(path).status_code == 200, path
    for name, paths in (
        ("floor", ["/__floor__"] * args.pages),
        ("gallery", gallery),
        ("clip", clips),
    ):
        _bump()
        if args.fresh:
            drop_near()
        time.sleep(0.01)
        profile = cProfile.Profile()
        started, started_wall = time.process_time(), time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            profile.enable()
            for path in paths:
                client.get(path)
            profile.disable()
        ms = (time.process_time() - started) * 1000 / len(paths)
        wall = (time.perf_counter() - started_wall) * 1000 / len(paths)
        print(f"\n== {name}, cold after a publish: {ms:.2f} ms CPU, {wall:.2f} ms wall per page "
              "(with the profiler), "
              f"{len(queries.captured_queries) / len(paths):.1f} queries per page")  # fmt: skip
        stats = pstats.Stats(profile).strip_dirs().sort_stats(args.sort)
        stats.print_stats(args.top)
        profile.dump_stats(f"/tmp/profile-{name}.pstats")


if __name__ == "__main__":
    main()
