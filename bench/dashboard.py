"""The campaign dashboard and the play beacon at scale.

Seeds 100,000 clips spread over a year (published, waiting, rejected with reasons,
withdrawn; web and e-mail; countries; themes) with their recorded decisions, and a year of
daily play counts, then measures in-process:
- the staff dashboard's render time and queries;
- the gallery's "most watched" page when it is not cached (first visit of a ranking epoch);
- the beacon's cost per play: counted (UPDATE of the day's row), first of the day (INSERT),
  damped repeat (cache only), crawler (nothing), and with wrk through gunicorn.
Run: scripts/with-postgres.sh .venv/bin/python bench/dashboard.py [--clips 100000]
(without DATABASE_URL it runs on SQLite in a temporary folder).
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port, prepare_site, production_env, start_gunicorn  # noqa: E402

COUNTRIES = ["FR", "DE", "NL", "BE", "IT", "ES", "PT", "CH", "AT", "SE", "NO", "GB", ""]


def seed(clips_wanted, plays_per_day):
    from django.db import connection, transaction
    from django.utils import timezone

    from gallery.models import Clip, ClipTransition, PlayDay, RejectionReason, Theme

    rng = random.Random(22)
    now = timezone.now()
    themes = list(Theme.objects.all())
    through = Clip.themes.through
    reasons = [code for code in RejectionReason.values]
    batch = 5000
    made = 0
    published_ids = []
    while made < clips_wanted:
        count = min(batch, clips_wanted - made)
        rows, fates = [], []
        for i in range(count):
            arrived = now - timedelta(seconds=rng.randrange(365 * 86400))
            roll = rng.random()
            fate = (
                "published" if roll < 0.8 else
                "rejected" if roll < 0.9 else
                "withdrawn" if roll < 0.95 else
                "review"
            )  # fmt: skip
            wait = timedelta(hours=rng.expovariate(1 / 30))
            decided = min(arrived + wait, now)
            rows.append(
                Clip(
                    title=f"Bench clip {made + i}",
                    credit_name="Camille",
                    credit_country=rng.choice(COUNTRIES),
                    source=Clip.Source.WEB if rng.random() < 0.7 else Clip.Source.EMAIL,
                    status=fate,
                    created_at=arrived,
                    status_changed_at=decided,
                    published_at=decided if fate == "published" else None,
                )
            )
            fates.append((fate, arrived, decided))
        with transaction.atomic():
            created = Clip.objects.bulk_create(rows)
            through.objects.bulk_create(
                [
                    through(clip_id=clip.pk, theme_id=theme.pk)
                    for clip in created
                    for theme in rng.sample(themes, rng.randint(1, 2))
                ]
            )
            transitions = []
            for clip, (fate, arrived, decided) in zip(created, fates, strict=True):
                transitions.append(
                    ClipTransition(clip=clip, from_status="processing", to_status="review",
                                   at=arrived + timedelta(minutes=2))
                )  # fmt: skip
                if fate != "review":
                    transitions.append(
                        ClipTransition(
                            clip=clip,
                            from_status="review",
                            to_status=fate,
                            at=decided,
                            reason_code=rng.choice(reasons) if fate == "rejected" else "",
                        )
                    )
                if fate == "published":
                    published_ids.append(clip.pk)
            ClipTransition.objects.bulk_create(transitions)
        made += count
    today = timezone.localdate()
    rows = 0
    for offset in range(365):
        day = today - timedelta(days=offset)
        chosen = rng.sample(published_ids, min(plays_per_day, len(published_ids)))
        PlayDay.objects.bulk_create(
            [PlayDay(clip_id=pk, day=day, plays=rng.randint(1, 40)) for pk in chosen],
            batch_size=5000,
        )
        rows += len(chosen)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {"clips": made, "play_rows": rows, "published": len(published_ids)}


def timed(function, repeat):
    times = []
    for _n in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure_dashboard(repeat):
    from django.contrib.auth.models import User
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from campaign import dashboard
    from campaign.charts import render

    user = User.objects.create_superuser("bench", password="bench")
    client = Client()
    client.force_login(user)
    client.get("/admin/campaign/dashboard/")  # warm: imports, templates, session

    def cold():
        caches["default"].clear()  # the charts are computed and drawn again
        return client.get("/admin/campaign/dashboard/")

    times = timed(cold, repeat)
    cached = timed(lambda: client.get("/admin/campaign/dashboard/"), repeat)
    charts_ms = timed(lambda: dashboard.charts(), repeat)
    drawing_ms = timed(lambda: [render(chart) for chart in dashboard.charts()], repeat)
    with CaptureQueriesContext(connection) as queries:
        response = cold()
    assert response.status_code == 200
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    return {
        "cached_ms": statistics.median(cached),
        "data_ms": statistics.median(charts_ms),
        "drawing_ms": statistics.median(drawing_ms) - statistics.median(charts_ms),
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "queries": len(queries.captured_queries),
        "sql_ms": sum(float(q["time"]) for q in queries.captured_queries) * 1000,
        "slowest": [(float(q["time"]) * 1000, q["sql"][:90]) for q in slowest],
        "bytes": len(response.content),
    }


def measure_popular(repeat):
    from django.core.cache import caches
    from django.test import Client

    from infra.cache import forget_version

    client = Client()

    def cold():
        caches["default"].clear()
        forget_version()
        assert client.get("/fr/", {"order": "popular"}).status_code == 200

    def newest():
        caches["default"].clear()
        forget_version()
        assert client.get("/fr/").status_code == 200

    client.get("/fr/", {"order": "popular"})
    cached = timed(lambda: client.get("/fr/", {"order": "popular"}), repeat * 4)
    return {
        "popular_cold_ms": statistics.median(timed(cold, repeat)),
        "newest_cold_ms": statistics.median(timed(newest, repeat)),
        "popular_cached_ms": statistics.median(cached),
    }


def measure_beacon(plays):
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client

    from gallery.models import Clip, PlayDay

    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140.0 Safari/537.36"
    client = Client()
    ids = list(Clip.objects.published().values_list("pk", flat=True)[:plays])
    PlayDay.objects.filter(day__gte=time_today()).delete()
    caches["default"].clear()
    results = {}

    def run(label, address, clip_ids, user_agent=agent):
        times, queries = [], []

        def count(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            for n, pk in enumerate(clip_ids):
                started = time.perf_counter()
                client.post(f"/plays/{pk}", REMOTE_ADDR=address(n), HTTP_USER_AGENT=user_agent)
                times.append((time.perf_counter() - started) * 1e6)
        results[label] = {
            "median_us": statistics.median(times),
            "queries_per_play": len(queries) / len(clip_ids),
        }

    # First play of the day for each clip: the row is created.
    run("first of the day (INSERT)", lambda n: f"10.1.{n // 250}.{n % 250}", ids)
    # Other visitors: the day's row is updated.
    run("counted (UPDATE)", lambda n: f"10.2.{n // 250}.{n % 250}", ids)
    # The same visitors reloading: damped in the cache, no query.
    run("repeat (damped)", lambda n: f"10.2.{n // 250}.{n % 250}", ids)
    run("crawler", lambda n: f"10.3.{n // 250}.{n % 250}", ids, user_agent="Googlebot/2.1")
    return results


def time_today():
    from django.utils import timezone

    return timezone.localdate()


def wrk_beacon(env, clip_ids, seconds):
    """Requests per second of counted plays through gunicorn, each from another address."""
    port = free_port()
    server = start_gunicorn(port, env | {"TRUSTED_PROXIES": "1"}, workers=2)
    # The port opens before the workers have loaded Django: wait for a first answer.
    for _n in range(2):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/plays/{clip_ids[0]}", method="POST", data=b""
        )
        urllib.request.urlopen(request, timeout=60).close()  # noqa: S310 - our own server
    script = Path(tempfile.mkdtemp(prefix="bench-lua-")) / "plays.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["User-Agent"] = "Mozilla/5.0 Chrome/140.0"\n'
        'wrk.headers["Content-Length"] = "0"\n'
        f"ids = {{{','.join(str(pk) for pk in clip_ids[:500])}}}\n"
        "request = function()\n"
        '  wrk.headers["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. '
        'math.random(0, 255) .. "." .. math.random(1, 254)\n'
        '  return wrk.format(nil, "/plays/" .. ids[math.random(1, #ids)])\n'
        "end\n"
    )
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script),
             f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    return out.stdout + out.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--plays-per-day", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-dashboard-")
    env = production_env(var_dir, DJANGO_SETTINGS_MODULE="config.settings")
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    prepare_site(env)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    started = time.perf_counter()
    sizes = seed(args.clips, args.plays_per_day)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"database: {connection.vendor}; seeded {sizes} in {time.perf_counter() - started:.0f} s")

    dash = measure_dashboard(args.repeat)
    print(
        f"dashboard: median {dash['median_ms']:.0f} ms, best {dash['min_ms']:.0f} ms, "
        f"{dash['queries']} queries, {dash['sql_ms']:.0f} ms in SQL, {dash['bytes'] / 1024:.0f} KB; "
        f"data {dash['data_ms']:.0f} ms, drawing {dash['drawing_ms']:.0f} ms; "
        f"cached {dash['cached_ms']:.0f} ms"
    )
    for ms, sql in dash["slowest"]:
        print(f"  {ms:7.1f} ms  {sql}")
    popular = measure_popular(args.repeat)
    print(
        f"gallery, most watched: {popular['popular_cold_ms']:.0f} ms uncached "
        f"(newest first: {popular['newest_cold_ms']:.0f} ms), "
        f"{popular['popular_cached_ms']:.1f} ms cached"
    )
    for label, figures in measure_beacon(2000).items():
        print(
            f"beacon, {label}: {figures['median_us']:.0f} µs per play, "
            f"{figures['queries_per_play']:.2f} queries per play"
        )
    from gallery.models import Clip

    ids = list(Clip.objects.published().values_list("pk", flat=True)[:500])
    print(wrk_beacon(env, ids, args.wrk_seconds))
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
