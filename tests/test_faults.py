"""Faults: storage out of reach during an upload, the database restarted under load."""

import os
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
    with pytest.raises(Exception, match="went away"):
        post(client, form_data(upload(sample_video)), lang="en")
    assert files_under(media_storage) == before


@pytest.mark.skipif(
    "PGDATA_DIR" not in os.environ, reason="needs the PostgreSQL server of `make test-postgres`"
)
@pytest.mark.django_db(transaction=True)
def test_site_recovers_by_itself_after_a_database_restart(live_server_factory_env):
    base, run_as = live_server_factory_env
    errors_after_recovery = []
    ok_before = []

    def get(path):
        try:
            with urllib.request.urlopen(base + path, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    ok_before = [get("/en/?page=1") for _ in range(20)]
    assert set(ok_before) == {200}

    stop = threading.Event()
    results = []

    def load():
        while not stop.is_set():
            results.append(
                (time.monotonic(), get(f"/en/?theme=weekend&page={len(results) % 3 + 1}"))
            )

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    # Long enough that both workers have served (and kept) every page the load asks for.
    assert wait_for(lambda: len(results) >= 200, timeout=60), "the load never got going"
    restarted = time.monotonic()
    # The server keeps its output open: send it to its log, not to a pipe we would wait on.
    subprocess.run(
        [
            *run_as,
            os.environ["PG_CTL"],
            "-D",
            os.environ["PGDATA_DIR"],
            "-m",
            "fast",
            "-w",
            "-l",
            os.path.join(os.path.dirname(os.environ["PGDATA_DIR"]), "server.log"),
            "restart",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    back = time.monotonic()
    connection.close()  # this test's own connection was cut by the restart too
    # Enough answers after the restart that every node's connections have been tried again.
    assert wait_for(lambda: sum(at > back + 1 for at, _ in list(results)) >= 40, timeout=60)
    stop.set()
    for thread in threads:
        thread.join()
    # While it restarts, the cached pages are all served; once it is back, every node answers
    # again without being restarted.
    during = [status for at, status in results if restarted <= at <= back]
    settled = [status for at, status in results if at > back + 1]
    assert during, "no request was made while the database restarted"
    assert set(during) == {200}, during
    errors_after_recovery = [s for s in settled if s != 200]
    assert len(settled) >= 40 and not errors_after_recovery, errors_after_recovery[:5]
    assert restarted < back


@pytest.fixture
def live_server_factory_env(tmp_path):
    """A gunicorn node with production settings on the PostgreSQL server of the run."""
    import socket

    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "DATABASE_URL": url,
        "VAR_DIR": str(tmp_path),
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
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    yield f"http://127.0.0.1:{port}", run_as
    server.terminate()
    server.wait()
