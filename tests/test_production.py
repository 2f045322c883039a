"""Production settings: refusals, the deploy checks, health, logs, static files."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "DJANGO_ALLOWED_HOSTS": "clips.example.org",
    "DJANGO_HTTPS": "1",
}


def manage(*args, env, timeout=120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_refused_in_one_line(result, name):
    """Exit non-zero with one line that names what to set and the laptop mode."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert name in lines[0] and "DJANGO_DEBUG=1" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
@pytest.mark.parametrize("how", ["missing", "empty", "blank"])
def test_production_refuses_to_start_without_its_secrets(missing, how, tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != missing} | {"VAR_DIR": str(tmp_path)}
    if how != "missing":
        env[missing] = "" if how == "empty" else "  "
    result = manage("check", env=env)
    assert_refused_in_one_line(result, missing)


def test_a_command_run_without_production_settings_says_what_to_set(tmp_path):
    message = tmp_path / "clip.eml"
    message.write_bytes(b"From: a@example.org\r\nSubject: hi\r\n\r\nno video\r\n")
    result = manage("ingest_mail", str(message), env={"VAR_DIR": str(tmp_path)})
    assert_refused_in_one_line(result, "DJANGO_SECRET_KEY")
    assert list(tmp_path.iterdir()) == [message]  # nothing was received


def test_the_web_server_refuses_to_start_without_its_secrets(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))}
    env = clean | PRODUCTION | {"DJANGO_SECRET_KEY": "", "VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_refused_in_one_line(result, "DJANGO_SECRET_KEY")


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION | {"VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_passes_in_object_storage_mode(tmp_path):
    env = PRODUCTION | {
        "VAR_DIR": str(tmp_path),
        "AWS_STORAGE_BUCKET_NAME": "clips",
        "AWS_S3_ENDPOINT_URL": "https://s3.example.org",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "MEDIA_PUBLIC_BASE_URL": "https://cdn.example.org",
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = manage(
        "shell",
        "-c",
        "from django.conf import settings; import json; print(json.dumps(settings.SECURE_CSP['media-src']))",
        env=env,
    )
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == [
        "'self'",
        "blob:",  # the preview of a picked clip, read in the browser before it is sent
        "https://cdn.example.org",
        "https://s3.example.org",
    ]


def test_production_logs_are_json_lines(tmp_path):
    result = manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('gallery').warning('hello %s', 'there')",
        env=PRODUCTION | {"VAR_DIR": str(tmp_path)},
    )
    entry = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    assert (
        entry["message"] == "hello there"
        and entry["level"] == "WARNING"
        and entry["logger"] == "gallery"
    )


@pytest.mark.django_db
def test_production_headers(client, settings):
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain http
    response = client.get("/fr/")
    csp = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp
        and "frame-ancestors 'none'" in csp
    )
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_healthz_reports_a_broken_storage(client, settings, tmp_path):
    assert client.get("/healthz").json()["storage"] == "ok"
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "nowhere",
                "endpoint_url": "http://127.0.0.1:9",
                "access_key": "k",
                "secret_key": "s",
                "region_name": "us-east-1",
            },
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["storage"].startswith("error")


def test_bandit_finds_nothing_unjustified():
    bandit = Path(sys.executable).parent / "bandit"
    result = subprocess.run(
        [
            str(bandit),
            "-q",
            "-r",
            "config",
            "infra",
            "gallery",
            "submissions",
            "campaign",
            "-x",
            "*/migrations/*",
            "-f",
            "custom",
            "--msg-template",
            "{relpath}:{line} {test_id} {msg}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_setting_read_from_the_environment_is_listed_in_the_readme():
    source = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r"""environ(?:\.get)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    names |= set(re.findall(r"""environ\[["']([A-Z][A-Z0-9_]+)["']\]""", source))
    assert len(names) > 20  # the pattern still finds them
    readme = (ROOT / "README.md").read_text()
    assert sorted(name for name in names if f"`{name}`" not in readme) == []


def test_database_url_gives_the_connection_settings(tmp_path):
    url = "postgres://lavie:p%40ss@db.internal:5433/lavie?sslmode=require"
    shown = manage(
        "shell",
        "-c",
        "from django.conf import settings; import json; "
        "print(json.dumps(settings.DATABASES['default'], default=str))",
        env=PRODUCTION | {"VAR_DIR": str(tmp_path), "DATABASE_URL": url},
    )
    database = json.loads(shown.stdout.strip().splitlines()[-1])
    assert {k: database[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "lavie",
        "USER": "lavie",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": 5433,
    }
    assert database["OPTIONS"] == {"sslmode": "require"} and database["CONN_MAX_AGE"] == 60
    refused = manage("check", env=PRODUCTION | {"DATABASE_URL": "mysqlx://a@b/c"})
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "DATABASE_URL" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("debug", ["1", "0"])
def test_a_task_worker_prints_each_log_line_once(tmp_path, debug):
    """What `make run` shows (debug on) and production writes: a line per event, not two."""
    env = {"VAR_DIR": str(tmp_path), "DJANGO_DEBUG": debug, "LOG_FORMAT": "plain"}
    result = manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('django.tasks').info('Task id=1 state=RUNNING');"
        "logging.getLogger('gallery.tasks').info('clip 1 is no longer waiting')",
        env=(PRODUCTION if debug == "0" else {}) | env,
    )
    output = result.stdout + result.stderr
    assert output.count("Task id=1 state=RUNNING") == 1, output
    assert output.count("clip 1 is no longer waiting") == 1, output
