"""Requests per second and latency of the public pages against a bare Django view.

Seeds 10,000 and then 100,000 published clips (they share their poster files), serves the
site with gunicorn and production settings, and drives each page with wrk: warm (the same
page again and again) and cold (every request a page not served before: a distinct
theme/page combination, a distinct clip). Then counts how often 4 gunicorn processes render
the same pages, with each process's memory as the cache and with one shared Redis.
Run with `make bench` (PostgreSQL and Redis provided), or on SQLite:
    .venv/bin/python bench/web.py [--sizes 10000] [--seconds 5] [--cache redis]
Only the cold pages after a publish, each after its floor run (SQLite, then PostgreSQL):
    .venv/bin/python bench/web.py --cache redis --cold-only
    scripts/with-postgres.sh .venv/bin/python bench/web.py --cache redis --cold-only
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

from bench.common import (  # noqa: E402
    free_port,
    prepare_site,
    production_env,
    start_gunicorn,
    start_redis,
)


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
    from gallery.models import recount_themes
    from infra.cache import _bump

    recount_themes()

    _bump()


def publish():
    """A change every visitor sees, as staff make it in the admin (here, in this process):
    a clip featured, listed first from now on. It retires every cached page, and the
    process that made it prepares what the new version's pages read first (the themes and
    the catalogue, with CACHE_URL for every process)."""
    from gallery.models import Clip

    Clip.objects.published().filter(featured=False).for_gallery().last().set_featured(True)


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


def wrk(url, seconds, connections, headers=()):
    asked = [arg for header in headers for arg in ("-H", header)]
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
        + [*asked, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out):
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


def gallery_paths(size_by_selection, page_size=24):
    """Every gallery address, each theme selection with each of its pages, shuffled."""
    paths = []
    for selection, total in size_by_selection.items():
        query = "&".join(f"theme={slug}" for slug in selection)
        for page in range(1, max(1, -(-total // page_size)) + 1):
            parts = [query] if query else []
            if page > 1:
                parts.append(f"page={page}")
            paths.append("/fr/" + ("?" + "&".join(parts) if parts else ""))
    random.Random(1).shuffle(paths)
    return paths


def selections():
    from itertools import combinations

    from django.db.models import Count

    from gallery.models import Clip, Theme

    slugs = list(Theme.objects.order_by("order", "slug").values_list("slug", flat=True))
    totals = {}
    for n in range(len(slugs) + 1):
        for chosen in combinations(slugs, n):
            clips = Clip.objects.published().with_any_theme(list(chosen))
            totals[chosen] = clips.aggregate(n=Count("pk"))["n"]
    return totals


def wrk_each_once(port, paths, seconds, connections):
    """wrk over `paths`, each requested once across both threads (a cold page every time)."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    table = ",".join(f'"{p}"' for p in paths)
    script.write_text(
        f"local paths = {{{table}}}\n"
        "local counter = 0\n"
        "local ids = 0\n"
        "function setup(thread) thread:set('id', ids); ids = ids + 1 end\n"
        "function request()\n"
        "  local i = (counter * 2 + id) % #paths + 1\n"
        "  counter = counter + 1\n"
        "  return wrk.format('GET', paths[i])\n"
        "end\n"
    )
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
             "-s", str(script),
             f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        script.unlink()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    result = parse_wrk(out)
    result["wrapped"] = requests > len(paths)  # some pages were asked twice: not all cold
    return result


def count_renders(run_env, paths, repeats, cache_url):
    """What 4 gunicorn processes do when each path is asked `repeats` times: pages built
    (the view run: with a shared cache each process puts a page together once, from the
    shell and cards it reads), page shells and cards rendered (templates)."""
    import urllib.request

    env = run_env | {"BENCH_COUNT_RENDERS": "1", "CACHE_URL": cache_url}
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:
        server = start_gunicorn(port, env, workers=4, stdout=log)
        try:
            for _ in range(repeats):
                for path in paths:
                    # A new connection each time: the kernel hands it to any of the 4.
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as response:
                        response.read()
        finally:
            server.terminate()
            server.wait()
        log.seek(0)
        lines = log.read().splitlines()
        return {
            "built": sum("building page" in line for line in lines),
            "shells": sum("rendering page shell" in line for line in lines),
            "cards": sum("rendering card" in line for line in lines),
        }


def cpu_per_request(gallery, clip_paths, count=300):
    """CPU milliseconds per request in this process (Django's test client, same settings):
    what a page costs whatever else the machine runs, which wall-clock rates on a shared
    machine do not show. `count` cold pages each: the one-off costs of a page version (the
    themes, the catalogue read once per process) spread over them as over a crawler's walk."""
    from django.test import Client

    from infra.cache import _bump

    client = Client()

    def cpu(paths):
        started = time.process_time()
        for path in paths:
            assert client.get(path).status_code == 200, path
        return (time.process_time() - started) * 1000 / len(paths)

    cpu(["/__floor__", "/fr/terms/", "/de/"])  # templates loaded
    figures = {"floor (bare view)": cpu(["/__floor__"] * 60)}
    figures["gallery, cold, empty cache"] = cpu(gallery[:count])
    figures["clip page, cold, empty cache"] = cpu(clip_paths[:count])
    _bump()
    figures["gallery, cold, after a publish"] = cpu(gallery[:count])
    figures["clip page, cold, after a publish"] = cpu(clip_paths[:count])
    # As a web process that did not serve the first pass finds them: nothing kept near.
    _bump()
    drop_near()
    figures["gallery, cold, after a publish, far"] = cpu(gallery[:count])
    drop_near()
    figures["clip page, cold, after a publish, far"] = cpu(clip_paths[:count])
    return figures


def warm_cpu_per_request(pages, count=1000, rounds=3):
    """CPU milliseconds per request for each page asked again and again, in this process:
    `rounds` interleaved rounds of `count` requests each, the least kept. What a warm page
    costs the server, free of the load wrk and the other processes put on the machine."""
    from django.test import Client

    client = Client()
    best = {}
    for _ in range(rounds):
        for name, path in pages.items():
            if name.startswith("floor"):
                continue
            assert client.get(path).status_code == 200, path  # kept, and answered again
            started = time.process_time()
            for _ in range(count):
                client.get(path)
            ms = (time.process_time() - started) * 1000 / count
            best[f"{name}, warm"] = min(ms, best.get(f"{name}, warm", ms))
    return best


def drop_near():
    """Forget what this process keeps in front of the shared cache (shells, fragments)."""
    from gallery import shells
    from infra.cache import forget_near

    forget_near()
    shells.forget_near()


def prime(paths):
    """Visit each address once in this process (its cards, bodies and shells kept)."""
    from django.test import Client

    client = Client()
    for path in paths:
        assert client.get(path).status_code == 200, path


def prime_over_http(port, paths):
    import urllib.request

    for path in paths:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as response:
            response.read()


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
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="warm pages: interleaved rounds, each page keeping its best (highest req/s)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cold-connections", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--cache", choices=["memory", "redis"], default="memory")
    parser.add_argument("--no-warm", action="store_true", help="cold pages and renders only")
    parser.add_argument("--cpu-only", action="store_true", help="CPU per request, in-process")
    parser.add_argument(
        "--cold-only",
        action="store_true",
        help="only the cold pages after a publish and the floor runs before them (wrk)",
    )
    parser.add_argument("--cpu-pages", type=int, default=300, help="cold pages per CPU figure")
    parser.add_argument(
        "--primed", type=int, default=8000, help="addresses walked again after a publish"
    )
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-web-")
    redis, redis_url = start_redis(var_dir)
    extra = {"CACHE_URL": redis_url} if args.cache == "redis" else {}
    env = production_env(var_dir, DJANGO_SETTINGS_MODULE="bench.settings", **extra)
    os.environ.pop("DJANGO_DEBUG", None)
    run_env = os.environ | env
    try:
        prepare_site(run_env)
        setup_django(env)
        media = make_media(var_dir)
        run(args, run_env, media, redis_url, var_dir)
    finally:
        redis.terminate()
        redis.wait()
        shutil.rmtree(var_dir, ignore_errors=True)


def flush(redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def run(args, run_env, media, redis_url, var_dir):
    from django.db import connection

    from infra.cache import _bump

    results = {}
    sizes_html = {}
    renders = {}
    pages = {}
    queries = {}
    cpu = {}
    for size in args.sizes:
        started = time.perf_counter()
        seed(size, media)
        seeded = time.perf_counter() - started
        print(f"seeded {size} clips in {seeded:.0f} s", flush=True)
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
        for name, path in pages.items():
            cold, warm, content = queries_per_request(path)
            queries[name] = (cold, warm)
            if name == "gallery":
                sizes_html[size] = (len(content), len(gzip.compress(content)))
        gallery = gallery_paths(selections())
        clip_paths = [
            f"/fr/clips/{pk}/"
            for pk in Clip.objects.published().order_by("?").values_list("pk", flat=True)
        ]
        flush(redis_url)
        if not args.cold_only:
            cpu[size] = cpu_per_request(gallery, clip_paths, args.cpu_pages)
            cpu[size] |= warm_cpu_per_request(pages)
            flush(redis_url)
        if args.cpu_only:
            continue
        port = free_port()
        server = start_gunicorn(port, run_env, workers=args.web_workers)

        def measure(
            name,
            path=None,
            paths=None,
            connections=args.connections,
            port=port,
            size=size,
            headers=(),
        ):
            if paths is not None:
                result = wrk_each_once(port, paths, args.seconds, connections)
            else:
                url = f"http://127.0.0.1:{port}{path}"
                result = wrk(url, args.seconds, connections, headers)
            print(f"  {size} {name}: {result['rps']:.0f} req/s", flush=True)
            best = results.get((size, name))
            if best is None or result["rps"] > best["rps"]:  # warm pages: their best round
                results[(size, name)] = result | {"queries": queries.get(name, ("", ""))}

        try:
            # Workers load the site after the port opens: let them (and the templates) load.
            for path in ("/__floor__", "/fr/terms/", "/de/", "/de/clips/1/"):
                wrk(f"http://127.0.0.1:{port}{path}", 2, 4)

            # Cold first, on an empty cache: every request a page not served before.
            # Each cold run right after a floor run of the same length: on a shared machine
            # the two then see the same load, and the ratio is taken between them.
            def cold(name, paths, size=size):
                measure(f"floor, -c16, before: {name}", "/__floor__", connections=16)
                measure(name, paths=paths, connections=args.cold_connections)
                results[(size, name)]["floor"] = f"floor, -c16, before: {name}"

            if not args.cold_only:
                cold("gallery, cold, empty cache", gallery)
                cold("clip page, cold, empty cache", clip_paths)
            # A publish retires every page; the fragments and shells stay. The first
            # --primed addresses are visited once (in this process, through the same
            # cache), as a crawler's first pass would; then a publish, and wrk walks them
            # again: every page cold, its cards and shell already rendered.
            primed_gallery, primed_clips = gallery[: args.primed], clip_paths[: args.primed]
            # Through the server: pages, shells and bodies are kept per origin (host and port),
            # so a pass in this process (the test client's host) would prime none of them.
            if args.cache == "redis":
                prime_over_http(port, primed_gallery + primed_clips)
            else:  # each process keeps its own: visit them twice
                prime_over_http(port, (primed_gallery + primed_clips) * 2)
            publish()
            connection.close()
            time.sleep(1.5)  # PAGE_CACHE_VERSION_TTL: the server reads the new version
            cold("gallery, cold, after a publish", primed_gallery)
            cold("clip page, cold, after a publish", primed_clips)
            if not (args.no_warm or args.cold_only):
                for path in pages.values():  # warm every worker's cache
                    wrk(f"http://127.0.0.1:{port}{path}", 2, args.connections)
                for _ in range(args.rounds):
                    for name, path in pages.items():
                        measure(name, path)
                    # As browsers ask for it: gzip-encoded (wrk asks for no encoding).
                    measure("gallery, gzip", "/fr/", headers=["Accept-Encoding: gzip, br"])
                    measure(
                        "clip page, gzip", pages["clip page"], headers=["Accept-Encoding: gzip"]
                    )
        finally:
            server.terminate()
            server.wait()
        if not renders and not args.cold_only:
            sample = gallery[:20]
            _bump()
            flush(redis_url)
            renders["memory"] = count_renders(run_env, sample, 8, "")
            _bump()
            flush(redis_url)
            renders["redis"] = count_renders(run_env, sample, 8, redis_url)
            renders["pages"] = len(sample)

    database = connection.vendor
    print()
    print(
        f"CPU ms per request, in-process ({database}, cache: {args.cache}; "
        f"{args.cpu_pages} cold pages each; warm: 1,000 requests, least of 3 rounds):"
    )
    for size, figures in cpu.items():
        floor = figures["floor (bare view)"]
        for name, ms in figures.items():
            print(f"{size:>7}  {name:<34} {ms:>8.2f} ms  floor/page {floor / ms:>6.3f}x")
    if args.cpu_only:
        return
    print()
    print(
        f"machine: {os.cpu_count()} cores; {database}; cache: {args.cache}; gunicorn "
        f"{args.web_workers} sync workers; wrk -t2 -d{args.seconds}s, -c{args.connections} "
        f"(warm) / -c{args.cold_connections} (cold); cold pages one run each, warm pages the "
        f"best of {args.rounds} interleaved rounds"
    )
    print(
        f"{'clips':>7}  {'page':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>8} "
        f"{'queries':>9} {'errors':>6}"
    )
    for (size, name), r in results.items():
        floor_name = r.get("floor") or ("" if name.startswith("floor") else "floor (bare view)")
        floor_rps = results.get((size, floor_name), {}).get("rps") or r["rps"]
        ratio = r["rps"] / floor_rps
        cold, warm = r["queries"]
        note = " (wrapped: some pages asked twice)" if r.get("wrapped") else ""
        if r.get("socket"):
            note += f" socket errors: {r['socket']}"
        print(
            f"{size:>7}  {name:<34} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
            f"{ratio:>7.3f}x {cold!s:>4}/{warm!s:<4} {r['errors']:>6}{note}"
        )
    if len(args.sizes) >= 2 and not (args.no_warm or args.cold_only):
        small, large = args.sizes[0], args.sizes[-1]
        print()
        for name in pages:
            if name.startswith("floor"):
                continue
            a, b = results[(small, name)]["p50"], results[(large, name)]["p50"]
            print(f"p50 at {large} / p50 at {small}, {name:<20} {b / a:.2f}x")
        if small in cpu and large in cpu:
            print()
            for name in cpu[small]:
                if name.endswith(", warm") and name in cpu[large]:
                    a, b = cpu[small][name], cpu[large][name]
                    print(f"CPU at {large} / CPU at {small}, {name:<26} {b / a:.2f}x")
    if args.cold_only:
        return
    print()
    print(
        f"4 gunicorn processes, {renders['pages']} distinct gallery pages each asked 8 times "
        "(a new connection each): pages built / page shells rendered / cards rendered"
    )
    for cache in ("memory", "redis"):
        r = renders[cache]
        print(f"  {cache:<7} {r['built']:>4} / {r['shells']:>4} / {r['cards']:>4}")
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


if __name__ == "__main__":
    main()
