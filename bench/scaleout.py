"""Scale-out check: two gunicorn web nodes and two task workers on one PostgreSQL and one S3.

Twenty clips are submitted at once (alternating between the two web nodes); the script waits
until the workers have processed them and checks that each was processed exactly once and
ended in review. Needs PostgreSQL: run it as
    scripts/with-postgres.sh .venv/bin/python bench/scaleout.py [--clips 20]
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port, prepare_site, start_gunicorn  # noqa: E402


def submit(port, path, title):
    import urllib3

    http = urllib3.PoolManager()
    base = f"http://127.0.0.1:{port}"
    page = http.request("GET", f"{base}/en/submit/")
    cookie = page.headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.data.decode()).group(1)
    fields = [
        ("csrfmiddlewaretoken", token),
        ("title", title),
        ("themes", "weekend"),
        ("credit_name", "Bench"),
        ("credit_country", "FR"),
        ("email", "bench@example.org"),
        ("consent", "on"),
        ("video", (Path(path).name, Path(path).read_bytes(), "video/mp4")),
    ]
    started = time.perf_counter()
    response = http.request(
        "POST",
        f"{base}/en/submit/",
        fields=fields,
        redirect=False,
        headers={"Cookie": cookie, "Referer": f"{base}/en/submit/"},
    )
    return response.status, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=20)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("run under scripts/with-postgres.sh (needs DATABASE_URL=postgres://…)")

    from gallery.synth import synthesize
    from tests.conftest import start_s3, stop_s3

    with tempfile.TemporaryDirectory(prefix="scaleout-") as tmp:
        server = start_s3(Path(tmp) / "s3")
        env = (
            os.environ
            | server.env()
            | {
                "DJANGO_SECRET_KEY": "bench",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
                "DJANGO_HTTPS": "0",
                "VAR_DIR": tmp,
                "LOG_LEVEL": "WARNING",
                "SMTP_URL": "console://",
                # Twenty clips from one address and one sender in a minute: past the limits
                # a real owner meets, which are not what this run measures.
                "RATE_LIMIT_SUBMIT_IP": "1000/3600",
                "RATE_LIMIT_SUBMIT_EMAIL": "1000/3600",
            }
        )
        env.pop("DJANGO_DEBUG", None)
        manage = [sys.executable, "manage.py"]
        prepare_site(env)
        clip = synthesize(Path(tmp) / "clip.mp4", seconds=4, width=640, height=360, title="Scale")

        ports = [free_port(), free_port()]
        processes = [start_gunicorn(port, env, workers=2) for port in ports]
        processes += [
            subprocess.Popen(
                [
                    *manage,
                    "db_worker",
                    "--no-reload",
                    "--no-startup-delay",
                    "--interval",
                    "0.5",
                    "--worker-id",
                    f"worker-{n}",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            for n in (1, 2)
        ]
        try:
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.clips) as pool:
                results = list(
                    pool.map(
                        lambda i: submit(ports[i % 2], clip, f"Scale {i:02d}"), range(args.clips)
                    )
                )
            submitted = time.perf_counter() - started
            statuses = [status for status, _ in results]

            check = (
                "from gallery.models import Clip, ClipTransition; "
                "from django_tasks_db.models import DBTaskResult; "
                "print(Clip.objects.filter(status='review').count(), Clip.objects.count(), "
                "ClipTransition.objects.filter(to_status='review').count(), "
                "max(Clip.objects.values_list('processing_attempts', flat=True) or [0]), "
                "DBTaskResult.objects.filter(status='SUCCESSFUL').count(), "
                "Clip.objects.values('original').distinct().count())"
            )
            deadline = time.monotonic() + 300
            while True:
                out = subprocess.run(
                    [*manage, "shell", "-c", check],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                review, total, transitions, attempts, successful, originals = (
                    int(x) for x in out.stdout.strip().splitlines()[-1].split()
                )
                if review == total == args.clips or time.monotonic() > deadline:
                    break
                time.sleep(1)
            processed = time.perf_counter() - started
            workers = (
                subprocess.run(
                    [
                        *manage,
                        "shell",
                        "-c",
                        "from django_tasks_db.models import DBTaskResult; from collections import Counter; "
                        "print(dict(Counter(w for r in DBTaskResult.objects.all() for w in r.worker_ids)))",
                    ],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            objects = len(
                server.client().list_objects_v2(Bucket=server.private_bucket).get("Contents", [])
            )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
            stop_s3(server)

    print(f"web nodes              2 (gunicorn, 2 workers each) on ports {ports}")
    print(
        f"task workers           2 (db_worker) ; database {urllib.parse.urlsplit(os.environ['DATABASE_URL']).scheme}; S3 SeaweedFS"
    )
    print(
        f"submissions            {args.clips} at once -> HTTP {sorted(set(statuses))} in {submitted:.1f} s"
    )
    print(f"clips in review        {review} of {total}")
    print(f"processing→review      {transitions} transitions; highest attempt count {attempts}")
    print(f"task results           {successful} successful; tasks per worker {workers}")
    print(f"objects in private S3  {objects} ({originals} distinct originals)")
    print(f"all processed after    {processed:.1f} s")
    ok = review == total == transitions == successful == originals == args.clips and attempts == 1
    print("RESULT", "each clip processed exactly once, all in review" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
