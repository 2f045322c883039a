"""What the benchmarks share: ports, a prepared site, gunicorn servers."""

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, *, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def production_env(var_dir, **extra):
    """Production settings on loopback: plain HTTP, quiet logs, e-mail to the console."""
    return {
        "DJANGO_SECRET_KEY": "bench",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DJANGO_HTTPS": "0",
        "VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        "SMTP_URL": "console://",
        **extra,
    }


def prepare_site(env):
    """Migrate the database and collect the static files, as a release does."""
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def start_gunicorn(port, env, *, workers=2, log_level="warning", extra=(), stdout=None):
    """gunicorn serving the site on 127.0.0.1:port; returns once it listens."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "--log-level", log_level, *extra],
        cwd=ROOT, env=env, stdout=stdout,
    )  # fmt: skip
    try:
        wait_for_port(port, seconds=30)
    except RuntimeError:
        server.kill()
        raise
    return server


def start_redis(folder):
    """A throw-away Redis (Debian's redis-server) on a free loopback port, nothing on disk.
    Returns (process, url)."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder), "--maxmemory", "512mb",
         "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port)
    return process, f"redis://127.0.0.1:{port}/0"
