"""CPU per request by process while wrk drives cold pages: the web workers, Redis, the
database server and wrk itself, read from /proc (Linux). On 2 cores every process shares the
same CPUs, so a page's rate against the floor is its whole cost against the floor's.

Seeds 10,000 published clips (SIZE=N for another count), serves them with gunicorn (2
workers) and Redis, visits 4,000 gallery addresses and 4,000 clip pages once through the
server (their shells, cards and bodies kept), retires every page (a publish), then runs wrk
over them: the floor, cold gallery pages, the floor, cold clip pages, the floor, a warm
gallery page and a warm clip page. SQLite by default; PostgreSQL:
    scripts/with-postgres.sh .venv/bin/python bench/cpu_split.py
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import web  # noqa: E402
from bench.common import (  # noqa: E402
    free_port,
    prepare_site,
    production_env,
    start_gunicorn,
    start_redis,
)


def ticks(pid):
    """CPU seconds (user + system) of one process, in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # it ended
        return 0
    return int(fields[11]) + int(fields[12])


def pids(*command):
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in out.split()]


def main():
    var_dir = tempfile.mkdtemp(prefix="bench-cpu-")
    redis, redis_url = start_redis(var_dir)
    env = production_env(var_dir, DJANGO_SETTINGS_MODULE="bench.settings", CACHE_URL=redis_url)
    run_env = os.environ | env
    prepare_site(run_env)
    web.setup_django(env)
    web.seed(int(os.environ.get("SIZE", 10_000)), web.make_media(var_dir))
    from django.db import connection

    from gallery.models import Clip
    from infra.cache import _bump

    gallery = web.gallery_paths(web.selections())[:4000]
    clips = [
        f"/fr/clips/{pk}/"
        for pk in Clip.objects.published().order_by("?").values_list("pk", flat=True)[:4000]
    ]
    web.flush(redis_url)
    port = free_port()
    server = start_gunicorn(port, run_env, workers=2)
    hz = os.sysconf("SC_CLK_TCK")

    def snapshot():
        workers = pids("pgrep", "-P", str(server.pid)) + [server.pid]
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has ended
        return {
            "web": sum(ticks(pid) for pid in workers) / hz,
            "redis": ticks(redis.pid) / hz,
            "database": sum(ticks(pid) for pid in pids("pgrep", "-x", "postgres")) / hz,
            "wrk": children.ru_utime + children.ru_stime,
            "wall": time.perf_counter(),
        }

    def measure(name, path=None, paths=None):
        before = snapshot()
        if paths:
            result = web.wrk_each_once(port, paths, 5, 16)
        else:
            result = web.wrk(f"http://127.0.0.1:{port}{path}", 5, 16)
        after = snapshot()
        requests = result["rps"] * (after["wall"] - before["wall"])
        parts = {
            part: (after[part] - before[part]) * 1000 / requests
            for part in ("web", "redis", "database", "wrk")
        }
        print(
            f"{name:<28} {result['rps']:7.0f} req/s   CPU ms a request: "
            + "  ".join(f"{part} {ms:.3f}" for part, ms in parts.items())
            + f"  total {sum(parts.values()):.3f}",
            flush=True,
        )

    try:
        for path in ("/__floor__", "/fr/terms/", "/de/", "/de/clips/1/"):
            web.wrk(f"http://127.0.0.1:{port}{path}", 2, 4)  # workers loaded
        web.prime_over_http(port, gallery + clips)
        _bump()
        connection.close()
        time.sleep(1.5)  # PAGE_CACHE_VERSION_TTL: the server reads the new version
        print(f"{connection.vendor}, {Clip.objects.published().count()} clips")
        measure("floor", "/__floor__")
        measure("gallery, cold after a publish", paths=gallery)
        measure("floor", "/__floor__")
        measure("clip page, cold after a publish", paths=clips)
        measure("floor", "/__floor__")
        measure("gallery, warm", "/fr/")
        measure("clip page, warm", clips[0])
    finally:
        server.terminate()
        server.wait()
        redis.terminate()
        redis.wait()


if __name__ == "__main__":
    main()
