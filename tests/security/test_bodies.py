"""A request is allowed and counted before its body is read, on a real gunicorn server.

Each large body is streamed from a generator over a socket with a small send buffer: what
the client managed to send bounds what the server read. The upload folder is watched while
it is sent.
"""

import os
import secrets
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from submissions import ratelimit
from tests.factories import free_port, served_database_url

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
BOUNDARY = "----hardening-boundary"
HOOK_SECRET = "hooks:s3cr3t-passphrase"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(tmp_path):
    """Two gunicorn workers with production settings on this test's database."""
    port = free_port()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    env = os.environ | {
        "DATABASE_URL": served_database_url(),
        "VAR_DIR": str(tmp_path),
        "FILE_UPLOAD_TEMP_DIR": str(uploads),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "RATE_LIMIT_SUBMIT_IP": "3/3600",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key",
        "ANYMAIL_WEBHOOK_SECRET": HOOK_SECRET,
        "LOG_LEVEL": os.environ.get("TEST_SERVER_LOG_LEVEL", "CRITICAL"),
    }
    env.pop("DJANGO_DEBUG", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]
        + ["--log-level", "error"],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port, uploads
    finally:
        process.terminate()
        process.wait(timeout=30)


def token_field(token):
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f"{token}\r\n"
    ).encode()


def multipart_body(size, token=None, token_last=False):
    """A form with one file field of `size` bytes, made as it is sent; with `token`, the
    CSRF token field comes first (as a browser sends the page's form), or last."""
    if token and not token_last:
        yield token_field(token)
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    chunk = b"\0" * (64 * 1024)
    left = size
    while left > 0:
        yield chunk[:left]
        left -= len(chunk)
    if token and token_last:
        yield b"\r\n" + token_field(token)[:-2]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def folder_bytes(folder):
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def send(port, path, *, size, uploads, headers=(), content_type=None, method="POST", **token):
    """POST (or `method`) a body of about `size` bytes; return (status, bytes sent, most bytes seen on disk)."""
    content_type = content_type or f"multipart/form-data; boundary={BOUNDARY}"
    parts = list(multipart_body(0, **token))
    length = size + sum(len(p) for p in parts)
    head = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
        *headers,
    ]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sock.setblocking(False)
    body = multipart_body(size, **token)
    pending, sent, on_disk, answer = b"", 0, 0, b""
    deadline = time.monotonic() + 120
    sending = True
    while time.monotonic() < deadline:
        readable, writable, _ = select.select([sock], [sock] if sending else [], [], 1)
        on_disk = max(on_disk, folder_bytes(uploads))
        if readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
            sending = False  # the server has answered: no more body
        elif writable:
            if not pending:
                pending = next(body, b"")
                if not pending:
                    sending = False
                    continue
            try:
                count = sock.send(pending)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                sending = False
                continue
            sent += count
            pending = pending[count:]
    sock.close()
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split()[1]), sent, on_disk


def csrf_pair():
    """A well-formed CSRF cookie and the token that goes with it (Django accepts the secret
    itself as the token)."""
    secret = secrets.token_hex(16)
    return secret, secret


def test_large_bodies_are_refused_before_they_are_read(server):
    port, uploads = server
    cookie, token = csrf_pair()
    huge = 200 * MB

    # The measure works: an allowed upload is read, and spooled to disk while it arrives.
    # The page's form sends its CSRF token as its first field.
    status, sent, on_disk = send(
        port,
        "/en/submit/",
        size=3 * MB,
        uploads=uploads,
        headers=[f"Cookie: csrftoken={cookie}"],
        token=token,
    )
    assert status == 400  # not a video: the form answers with its errors
    assert sent > 3 * MB and on_disk > 1 * MB

    # A browser's small form (urlencoded, read whole) still goes through the capped stream.
    status, sent, _ = send(
        port,
        "/admin/login/",
        size=100,
        uploads=uploads,
        headers=[f"Cookie: csrftoken={cookie}"],
        content_type="application/x-www-form-urlencoded",
    )
    assert status == 403  # no token: refused, and answered (not a server error)

    # A made-up CSRF token (a cookie of the right form, a token that is not its own).
    # Refused unread: a forged token first, none, the right one after the file (where it
    # is not looked for), or in the address (never a place for it: logs, history).
    forged = secrets.token_hex(16)
    for path, fields in (
        ("/en/submit/", {"token": forged}),
        ("/en/submit/", {}),
        ("/en/submit/", {"token": token, "token_last": True}),
        (f"/en/submit/?csrfmiddlewaretoken={token}", {}),
    ):
        status, sent, on_disk = send(
            port,
            path,
            size=huge,
            uploads=uploads,
            headers=[f"Cookie: csrftoken={cookie}"],
            **fields,
        )
        assert status == 403
        assert sent < 1 * MB and on_disk == 0, (path, fields, sent, on_disk)

    # A resumable upload's chunk (tus PATCH) with a forged token: refused unread too.
    status, sent, _ = send(
        port,
        "/en/submit/tus/" + "0" * 32 + "/",
        size=huge,
        uploads=uploads,
        method="PATCH",
        content_type="application/offset+octet-stream",
        headers=[f"Cookie: csrftoken={cookie}", f"X-CSRFToken: {forged}", "Upload-Offset: 0"],
    )
    assert status == 403
    assert sent < 1 * MB

    # Routes that take no upload refuse a large body by its length, whatever it holds.
    for path in ("/healthz", "/fr/", "/en/submit/direct/", "/admin/login/"):
        status, sent, on_disk = send(port, path, size=huge, uploads=uploads)
        assert status == 413, path
        assert sent < 1 * MB and on_disk == 0, (path, sent, on_disk)

    # A client over its submission limit: refused (429) before its body is read.
    for _ in range(2):
        ratelimit.record("submit-ip", "127.0.0.1")
    status, sent, on_disk = send(
        port,
        "/en/submit/",
        size=huge,
        uploads=uploads,
        headers=[f"Cookie: csrftoken={cookie}"],
        token=token,
    )
    assert status == 429
    assert sent < 1 * MB and on_disk == 0, (sent, on_disk)

    # Inbound hooks: no credentials, nothing read (Mailgun's signature is checked on a form,
    # never on a JSON body held in memory).
    for path, kind in (
        ("/hooks/mailgun/inbound_mime/", None),
        ("/hooks/postmark/inbound/", "application/json"),
    ):
        status, sent, on_disk = send(port, path, size=60 * MB, uploads=uploads, content_type=kind)
        assert status == 401, path
        assert sent < 1 * MB and on_disk == 0, (path, sent, on_disk)
