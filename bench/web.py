"""Requests per second and latency of the public pages against a bare Django view.

Seeds 10,000 and then 100,000 published clips (they share their poster files) in PostgreSQL,
serves the site with gunicorn and production settings, and drives each page with wrk.
Run with `make bench` (which provides PostgreSQL), or:
    scripts/with-postgres.sh .venv/bin/python bench/web.py [--sizes 10000 100000] [--seconds 10]
"""

import argparse
import gzip
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port, prepare_site, production_env, start_gunicorn  # noqa: E402


def setup_django(env):
    os.environ.update(env)
    import django

    django.setup()


def seed(target, media):
    """Bring the catalogue to `target` published clips (rows only; files are shared)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from gallery.models import Clip, Theme

    themes = list(Theme.objects.all())
    have = Clip.objects.count()
    rng = random.Random(have)
    now = timezone.now()
    through = Clip.themes.through
    batch = 5000
    while have < target:
        count = min(batch, target - have)
        with transaction.atomic():
            clips = Clip.objects.bulk_create(
                [
                    Clip(
                        title=f"Bench clip {have + i}",
                        description="A day out with the car.",
                        credit_name="Camille",
                        credit_country="FR",
                        status=Clip.Status.PUBLISHED,
                        featured=(have + i) % 500 == 0,
                        published_at=now - timedelta(minutes=have + i),
                        duration=12.0,
                        width=1280,
                        height=720,
                        **media,
                    )
                    for i in range(count)
                ]
            )
            through.objects.bulk_create(
                [
                    through(clip_id=clip.pk, theme_id=theme.pk)
                    for clip in clips
                    for theme in rng.sample(themes, rng.randint(1, 3))
                ]
            )
        have += count
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    from infra.cache import _bump

    _bump()


def make_media(var_dir):
    """One real processed clip whose files every bench clip points at."""
    from django.core.files.storage import storages

    from gallery import media as m
    from gallery.synth import synthesize

    work = Path(tempfile.mkdtemp(prefix="bench-media-"))
    source = synthesize(work / "clip.mp4", seconds=4, width=1280, height=720, title="Bench")
    info = m.probe(source)
    poster = m.make_poster(source, work / "out", probe_result=info)
    public = storages["default"]
    names = {}
    for image in [poster.poster, *poster.thumbnails]:
        with image.path.open("rb") as fh:
            names[image.path.name] = public.save(f"clips/1/bench/{image.path.name}", fh)
    thumbs = {}
    for image in poster.thumbnails:
        entry = thumbs.setdefault(image.width, {"width": image.width, "height": image.height})
        entry[image.format] = names[image.path.name]
    shutil.rmtree(work)
    return {
        "poster": names["poster.jpg"],
        "video": "clips/1/bench/720p.mp4",
        "thumbnails": [thumbs[w] for w in sorted(thumbs)],
    }


def wrk(url, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label):
        value, unit = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket": socket_errors.group(1) if socket_errors else "",
    }


def queries_per_request(path):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    with CaptureQueriesContext(connection) as cold:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as warm:
        client.get(path)
    return len(cold.captured_queries), len(warm.captured_queries), response.content


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("run under scripts/with-postgres.sh (or `make bench`)")

    var_dir = tempfile.mkdtemp(prefix="bench-web-")
    env = production_env(var_dir, DJANGO_SETTINGS_MODULE="bench.settings")
    os.environ.pop("DJANGO_DEBUG", None)
    run_env = os.environ | env
    prepare_site(run_env)
    setup_django(env)
    media = make_media(var_dir)

    results = {}
    sizes_html = {}
    for size in args.sizes:
        started = time.perf_counter()
        seed(size, media)
        seeded = time.perf_counter() - started
        from gallery.models import Clip

        middle = Clip.objects.order_by("pk")[size // 2]
        pages = {
            "floor (bare view)": "/__floor__",
            "gallery": "/fr/",
            "gallery, 2 themes": "/fr/?theme=performance&theme=weekend",
            "gallery, page 40": "/fr/?page=40",
            "clip page": middle.get_absolute_url(),
            "feed": "/fr/feed/",
        }
        counts = {}
        for name, path in pages.items():
            cold, warm, content = queries_per_request(path)
            counts[name] = (cold, warm)
            if name == "gallery":
                sizes_html[size] = (len(content), len(gzip.compress(content)))
        port = free_port()
        server = start_gunicorn(port, run_env, workers=args.web_workers)
        try:
            for path in pages.values():
                wrk(
                    f"http://127.0.0.1:{port}{path}", 2, args.connections
                )  # warm every worker's cache
            # Rounds interleave the pages, so a passing load on the machine hits them alike;
            # each page keeps its best round.
            for _ in range(args.rounds):
                for name, path in pages.items():
                    run = wrk(f"http://127.0.0.1:{port}{path}", args.seconds, args.connections)
                    best = results.get((size, name))
                    if best is None or run["rps"] > best["rps"]:
                        results[(size, name)] = run | {"queries": counts[name]}
        finally:
            server.terminate()
            server.wait()
        print(f"seeded {size} clips in {seeded:.0f} s", flush=True)

    floor = {size: results[(size, "floor (bare view)")]["rps"] for size in args.sizes}
    print()
    print(
        f"machine: {os.cpu_count()} cores; gunicorn {args.web_workers} sync workers; "
        f"wrk -t2 -c{args.connections} -d{args.seconds}s, best of {args.rounds} interleaved rounds"
    )
    print(
        f"{'clips':>7}  {'page':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>8} {'queries':>9} {'errors':>6}"
    )
    for (size, name), r in results.items():
        ratio = r["rps"] / floor[size]
        cold, warm = r["queries"]
        print(
            f"{size:>7}  {name:<20} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {ratio:>7.2f}x {cold:>4}/{warm:<4} {r['errors']:>6}"
        )
    if len(args.sizes) >= 2:
        small, large = args.sizes[0], args.sizes[-1]
        print()
        for name in pages:
            if name.startswith("floor"):
                continue
            a, b = results[(small, name)]["p50"], results[(large, name)]["p50"]
            print(f"p50 at {large} / p50 at {small}, {name:<20} {b / a:.2f}x")
    print()
    print("queries: first request (cache empty) / next ones (cached)")
    for size, (raw, packed) in sizes_html.items():
        print(f"gallery HTML at {size} clips: {raw / 1024:.1f} KB, {packed / 1024:.1f} KB gzip")
    static = Path(var_dir) / "static"
    css_js = [
        p
        for p in static.rglob("*")
        if p.suffix in (".css", ".js")
        and re.search(r"\.[0-9a-f]{12}\.(css|js)$", p.name)
        and not p.name.startswith(("admin", "base"))
    ]
    site_assets = [p for p in css_js if "admin" not in p.parts]
    packed = sum(len(gzip.compress(p.read_bytes())) for p in site_assets)
    print(
        f"site CSS + JS: {sum(p.stat().st_size for p in site_assets) / 1024:.1f} KB, {packed / 1024:.1f} KB gzip "
        f"({', '.join(sorted(p.name for p in site_assets))})"
    )
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
