"""Faults: storage out of reach during an upload, the database restarted under load."""

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from gallery.models import Clip
from submissions.models import Submission
from tests.factories import files_under, form_data, post, upload, wait_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.django_db
def test_storage_out_of_reach_during_an_upload(client, settings, sample_video, media_storage):
    from django.utils.csp import CSP  # noqa: F401 - settings import check

    dead = {
        "bucket_name": "clips",
        "endpoint_url": "http://127.0.0.1:9",
        "access_key": "k",
        "secret_key": "s",
        "region_name": "us-east-1",
        "addressing_style": "path",
    }
    settings.STORAGES = settings.STORAGES | {
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": dead | {"querystring_auth": True},
        },
    }
    before = files_under(media_storage)
    response = post(client, form_data(upload(sample_video)), lang="en")
    assert response.status_code == 503
    assert "We could not store your clip just now. Nothing was kept" in response.content.decode()
    assert Clip.objects.count() == 0 and Submission.objects.count() == 0
    assert files_under(media_storage) == before


@pytest.mark.django_db
def test_database_failure_while_saving_leaves_no_file(
    client, sample_video, media_storage, monkeypatch
):
    def broken(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("the database went away")

    monkeypatch.setattr(Submission.objects, "create", broken)
    before = files_under(media_storage)
    response = post(client, form_data(upload(sample_video)), lang="en")
    # The owner is told, not shown a 500: nothing was kept, send it again in a few minutes.
    assert response.status_code == 503
    assert "We could not store your clip just now. Nothing was kept" in response.content.decode()
    assert files_under(media_storage) == before
    assert Clip.objects.count() == 0


@pytest.mark.django_db
def test_a_page_that_needs_the_database_while_it_is_away_answers_503(client, monkeypatch):
    """A page not in the cache when the database is out of reach: a branded 503 in the
    visitor's language that says to come back (Retry-After), never a 500."""
    from django.db import OperationalError

    from gallery import views

    def away(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "published_clip", away)
    response = client.get("/fr/clips/123/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert "Cette page n’est pas disponible pour le moment" in page
    assert 'href="/fr/"' in page  # the way back


@pytest.mark.skipif(
    "PGDATA_DIR" not in os.environ, reason="needs the PostgreSQL server of `make test-postgres`"
)
@pytest.mark.django_db(transaction=True)
def test_site_recovers_by_itself_after_a_database_restart(live_server_factory_env):
    """Two gunicorn workers sharing a Redis cache, as nodes do in production (CACHE_URL)."""
    base, run_as, _ = live_server_factory_env

    def get(path):
        return http_get(base + path)

    kept = [f"/en/?theme=weekend&page={n}" for n in (1, 2, 3)]
    # An owner's status page is never cached: every visit reads the database.
    owner = Submission.objects.create(email="owner@example.org", language="en")
    status_page = owner.get_status_url()
    # Each page once: whichever worker renders it keeps it in the shared cache for both.
    assert [get(path)[0] for path in kept * 4] == [200] * 12

    stop = threading.Event()
    results = []  # (time, page kept or not, status, headers, body)

    def load(pages):
        n = 0
        while not stop.is_set():
            n += 1
            path = pages[n % len(pages)] if pages else status_page
            status, headers, body = get(path)
            results.append((time.monotonic(), bool(pages), status, headers, body))

    threads = [threading.Thread(target=load, args=(kept,)) for _ in range(3)]
    threads.append(threading.Thread(target=load, args=([],)))
    for thread in threads:
        thread.start()
    assert wait_for(lambda: len(results) >= 40, timeout=60), "the load never got going"

    pg_ctl = postgres_control(run_as)

    # Stopped (then started again, below) rather than restarted in one go: the outage lasts
    # until the load has met it, however slowly a busy machine answers.
    stopped = time.monotonic()
    pg_ctl("-m", "fast", "stop")
    try:
        met = wait_for(
            lambda: (
                sum(r[0] > stopped for r in list(results) if r[1]) >= 20
                and any(r[0] > stopped and r[2] == 503 for r in list(results))
            ),
            timeout=120,
        )
    finally:
        down = time.monotonic()
        pg_ctl("start")
    back = time.monotonic()
    connection.close()  # this test's own connection was cut by the restart too
    assert met, "the load did not meet the outage"
    # Enough answers after the restart that every node's connections have been tried again.
    assert wait_for(lambda: sum(r[0] > back + 1 for r in list(results)) >= 40, timeout=60)
    stop.set()
    for thread in threads:
        thread.join()

    # While it is away, the cached pages are all served.
    during = [r for r in results if stopped <= r[0] <= down]
    assert {r[2] for r in during if r[1]} == {200}, [r[2] for r in during if r[1]]
    # A page that needs the database says so, in the visitor's language, and when to come
    # back: never a 500.
    away = [r for r in results if r[2] == 503]
    assert {r[2] for r in results if not r[1]} <= {200, 503}
    for _, _, _, headers, body in away:
        assert headers["Retry-After"] == "30"
        assert "no-store" in headers["Cache-Control"]
        assert "This page is not available just now" in body
    settled = [r for r in results if r[0] > back + 1]
    # Once it is back, every node answers again without being restarted.
    assert len(settled) >= 40
    assert [r[2] for r in settled if r[1]] == [200] * sum(r[1] for r in settled)
    assert {r[2] for r in settled if not r[1]} == {200}


@pytest.mark.skipif(
    "PGDATA_DIR" not in os.environ, reason="needs the PostgreSQL server of `make test-postgres`"
)
@pytest.mark.django_db(transaction=True)
def test_workers_started_while_the_database_is_away_serve_the_pages_kept(
    live_server_factory_env,
):
    """A worker that has served nothing yet when the database goes away (one gunicorn replaced,
    a node that boots or is reloaded during the outage) still serves every page the others
    kept in the shared cache: nothing it needs to find a kept page reads the database."""
    base, run_as, server = live_server_factory_env
    kept = [f"/en/?theme=weekend&page={n}" for n in (1, 2, 3)]
    kept += ["/en/?theme=design&theme=weekend", "/fr/?page=2"]
    for path in kept * 3:
        assert http_get(base + path)[0] == 200, path
    status_page = Submission.objects.create(email="owner@example.org", language="en")
    status_page = status_page.get_status_url()
    before = workers_of(server.pid)
    assert len(before) == 2

    pg_ctl = postgres_control(run_as)
    pg_ctl("-m", "fast", "stop")
    try:
        # Every worker replaced by a new one, which boots while the database is away.
        server.send_signal(signal.SIGHUP)
        assert wait_for(
            lambda: len(now := workers_of(server.pid)) == 2 and not now & before, timeout=120
        ), "the workers were not replaced"
        assert wait_for(lambda: http_get(base + "/healthz")[0] == 503, timeout=120)
        answers = {path: [http_get(base + path)[0] for _ in range(6)] for path in kept}
        status = http_get(base + status_page)
    finally:
        pg_ctl("start")
        connection.close()  # this test's own connection was cut by the restart too
    assert answers == {path: [200] * 6 for path in kept}
    # What needs the database says so, never a 500.
    assert status[0] == 503 and status[1]["Retry-After"] == "30"


def postgres_control(run_as):
    """pg_ctl on the run's PostgreSQL server: `pg_ctl("-m", "fast", "stop")`, `pg_ctl("start")`
    (with the options it was started with: its port, socket folder, settings)."""
    data = os.environ["PGDATA_DIR"]
    with open(os.path.join(data, "postmaster.opts")) as opts:
        words = shlex.split(opts.read())[1:]
    options = shlex.join(w for i, w in enumerate(words) if "-D" not in (w, words[i - 1]))

    def pg_ctl(*action):
        if action == ("start",):
            action = ("-o", options, "start")
        # The server keeps its output open: send it to its log, not to a pipe we would wait on.
        log = os.path.join(os.path.dirname(data), "server.log")
        subprocess.run(
            [*run_as, os.environ["PG_CTL"], "-D", data, "-w", "-l", log, *action],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    return pg_ctl


def http_get(url):
    """(status, headers, body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), ""
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()
    except OSError:
        return 0, {}, ""


def workers_of(master):
    """The pids of a gunicorn master's workers (its children, read from /proc: proc(5))."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == master:  # fields after the command: state, ppid, ...
            children.add(int(stat.parent.name))
    return children


@pytest.fixture
def live_server_factory_env(tmp_path, redis_server):
    """A gunicorn node with production settings on the PostgreSQL server of the run and a
    Redis shared by its workers."""
    from tests.factories import free_port

    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "VAR_DIR": str(tmp_path),
        "CACHE_URL": redis_server.url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "PAGE_CACHE_VERSION_TTL": "0",
        "LOG_LEVEL": "CRITICAL",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--log-level",
            "error",
        ],
        cwd=ROOT,
        env=env,
    )
    # Until a worker answers (the master listens long before its workers have booted, which
    # takes tens of seconds on a busy machine).
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30):
                break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.2)
    run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    yield f"http://127.0.0.1:{port}", run_as, server
    server.terminate()
    server.wait()
