import os
import signal
import subprocess  # nosec B404 - starts our own processes with fixed arguments
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the site (gunicorn) with a task worker, the watchdog and, when MAILBOX_URL is "
        "set, the mailbox poller; Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        python = sys.executable
        # Links in e-mails point where this server listens, unless SITE_URL says otherwise; the
        # processes that send mail (the site, the worker) read it as they start.
        os.environ.setdefault("SITE_URL", f"http://{host}:{port}")
        commands = [
            [
                python,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "120",
                "--access-logfile",
                "-",
            ],
            [python, "manage.py", "db_worker", "--no-reload", "--interval", "1"],
            [python, "manage.py", "watchdog"],
        ]
        names = ["The web server", "The task worker", "The watchdog"]
        if settings.MAILBOX_URL:
            commands.append([python, "manage.py", "ingest_mail", "--imap", "--interval", "30"])
            names.append("The mailbox poller")
        children = [subprocess.Popen(command) for command in commands]  # nosec B603 - fixed argv
        self.stdout.write(self.style.SUCCESS(f"Serving on http://{host}:{port}/ (Ctrl-C to stop)"))

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()

        stopping = []

        def stop_on_signal(*_):
            stopping.append(True)
            stop()

        signal.signal(signal.SIGTERM, stop_on_signal)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            stopping.append(True)
        finally:
            stopped = [child for child in children if child.poll() is not None]
            stop()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        if not stopping and stopped:
            # One of them ended by itself (a port already in use, a missing migration): the
            # others were stopped with it, and this command fails as it did.
            child = stopped[0]
            name = names[children.index(child)]
            hint = (
                f" Is port {port} already in use? Another one: --port or PORT."
                if child is children[0]
                else ""
            )
            self.stderr.write(f"{name} stopped (exit code {child.returncode}).{hint}")
            raise SystemExit(child.returncode or 1)
