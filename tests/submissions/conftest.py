"""A real IMAP server (dovecot) for the e-mail ingestion tests, and a tiny video to attach."""

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_USER = "clips@example.test"
IMAP_PASSWORD = "s3cret/@%#?"  # characters a MAILBOX_URL must percent-encode

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
auth_failure_delay = 0
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ImapServer:
    host: str
    port: int
    user: str
    password: str

    @property
    def url(self):
        from urllib.parse import quote

        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"imap://{credentials}@{self.host}:{self.port}/INBOX"

    def connect(self):
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def append(self, *messages, mailbox="INBOX"):
        imap = self.connect()
        try:
            for raw in messages:
                status, data = imap.append(mailbox, None, None, raw)
                assert status == "OK", data
        finally:
            imap.logout()

    def count(self, mailbox="INBOX"):
        imap = self.connect()
        try:
            status, data = imap.select(mailbox, readonly=True)
            if status != "OK":
                return None  # no such mailbox
            status, data = imap.search(None, "UNDELETED")
            return len(data[0].split())
        finally:
            imap.logout()

    def reset(self):
        """An empty inbox and no Archive mailbox, as on a fresh account."""
        imap = self.connect()
        try:
            status, data = imap.select("INBOX")
            if int(data[0]):
                imap.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                imap.expunge()
            imap.close()
            imap.delete("Archive")
        finally:
            imap.logout()


@pytest.fixture(scope="session")
def imap_server():
    """dovecot on a free loopback port, configured as TOOLCHAIN.md says, for the whole session."""
    if not Path(DOVECOT).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{DOVECOT} is missing: .ci/system-packages.sh installs dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd); CI runs these tests")
    # Not under pytest's private tmp dir: dovecot's unprivileged processes must reach the mail.
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    port = free_port()
    if os.geteuid() == 0:
        uid = gid = 65534
        users = ""
        for path in (root / "mail",):
            os.chown(path, uid, gid)
    else:
        # Unprivileged (a developer's machine): every dovecot process runs as this user.
        uid, gid = os.getuid(), os.getgid()
        name = pwd.getpwuid(uid).pw_name
        users = f"default_login_user = {name}\ndefault_internal_user = {name}\n"
    (root / "passwd").write_text(
        f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{uid}:{gid}::{root}/mail::\n"
    )
    (root / "dovecot.conf").write_text(DOVECOT_CONF.format(root=root, port=port, users=users))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace")
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                pytest.fail(f"dovecot exited with {process.returncode}: {output}{log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("dovecot did not open its port within 15 s")
                time.sleep(0.02)
        yield ImapServer("127.0.0.1", port, IMAP_USER, IMAP_PASSWORD)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap(imap_server, settings):
    """The IMAP server with an empty inbox, and MAILBOX_URL pointing at it."""
    imap_server.reset()
    settings.MAILBOX_URL = imap_server.url
    return imap_server


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory):
    """Bytes of a 2-second 160x90 H.264 clip: small enough to attach to many messages."""
    from gallery.synth import synthesize

    return synthesize(
        tmp_path_factory.mktemp("mail") / "tiny.mp4", seconds=2, width=160, height=90
    ).read_bytes()


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Receive raw bytes as a mail server would hand them over, then run the processing task."""
    from submissions.receive import receive
    from submissions.tasks import process_inbound_email

    def deliver(raw, *, via="file"):
        with django_capture_on_commit_callbacks(execute=True):
            inbound = receive(raw, via=via)
        with django_capture_on_commit_callbacks(execute=True):
            process_inbound_email.call(inbound.pk)
        inbound.refresh_from_db()
        return inbound

    return deliver


def queued(task_name):
    """Arguments of the queued tasks of one kind (django-tasks-db rows)."""
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(task_path__endswith=f".{task_name}").order_by("enqueued_at")
    return [row.args_kwargs["args"] for row in rows]
