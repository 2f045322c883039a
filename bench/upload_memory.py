"""Peak memory of a web process while it receives a large upload, and upload throughput.

Starts gunicorn (one sync worker, production settings, SQLite in a temporary VAR_DIR),
streams a multipart POST of SIZE bytes to /en/submit/ over loopback and samples the worker's
resident memory every 20 ms. Compares the upload's wall time with writing the same bytes to
a file on the same disk. Usage: python bench/upload_memory.py [SIZE_MIB]   (default 1024)
"""

import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port, prepare_site, start_gunicorn  # noqa: E402

CHUNK = 1024 * 1024


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main():
    size = int(sys.argv[1]) * CHUNK if len(sys.argv) > 1 else 1024 * CHUNK
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        env = os.environ | {
            "VAR_DIR": tmp,
            "DJANGO_SECRET_KEY": "bench",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "FILE_UPLOAD_TEMP_DIR": tmp,
            "MAX_UPLOAD_BYTES": str(size * 2),
            "DJANGO_HTTPS": "0",
        }
        env.pop("DJANGO_DEBUG", None)
        prepare_site(env)
        port = free_port()
        server = start_gunicorn(port, env, workers=1, extra=("--timeout", "600"))
        try:
            time.sleep(1)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            conn.request("GET", "/en/submit/")
            page = conn.getresponse()
            cookie = page.getheader("Set-Cookie").split(";")[0]
            token = cookie.split("=", 1)[1]
            page.read()
            worker = children(server.pid)[0]
            idle = rss_kib(worker)

            boundary = "benchboundary7d2f"
            fields = {
                "csrfmiddlewaretoken": token,
                "title": "Bench",
                "themes": "weekend",
                "credit_name": "Bench",
                "credit_country": "FR",
                "email": "b@example.org",
                "consent": "on",
            }
            head = "".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                for k, v in fields.items()
            )
            head += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n'
                "Content-Type: video/mp4\r\n\r\n"
            )
            tail = f"\r\n--{boundary}--\r\n"
            body_len = len(head.encode()) + size + len(tail.encode())

            peak = [idle]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    try:
                        peak[0] = max(peak[0], rss_kib(worker))
                    except FileNotFoundError:
                        return
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            block = os.urandom(CHUNK)
            started = time.perf_counter()
            conn.putrequest("POST", "/en/submit/")
            conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
            conn.putheader("Content-Length", str(body_len))
            conn.putheader("Cookie", cookie)
            conn.putheader("Referer", f"http://127.0.0.1:{port}/en/submit/")
            conn.endheaders()
            conn.send(head.encode())
            for _ in range(size // CHUNK):
                conn.send(block)
            conn.send(tail.encode())
            response = conn.getresponse()
            response.read()
            upload_seconds = time.perf_counter() - started
            stop.set()
            sampler.join()

            target = Path(tmp) / "disk-write-test"
            started = time.perf_counter()
            with target.open("wb") as fh:
                for _ in range(size // CHUNK):
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
            disk_seconds = time.perf_counter() - started
            target.unlink()
        finally:
            server.terminate()
            server.wait()

    mib = size / CHUNK
    print(f"upload size            {mib:.0f} MiB (answered HTTP {response.status})")
    print(f"worker RSS idle        {idle / 1024:.1f} MiB")
    print(
        f"worker RSS peak        {peak[0] / 1024:.1f} MiB  (+{(peak[0] - idle) / 1024:.1f} MiB above idle)"
    )
    print(f"upload                 {upload_seconds:.2f} s  ({mib / upload_seconds:.0f} MiB/s)")
    print(f"same bytes to disk     {disk_seconds:.2f} s  ({mib / disk_seconds:.0f} MiB/s)")
    print(f"upload / disk time     {upload_seconds / disk_seconds:.2f}x")


if __name__ == "__main__":
    main()
