"""Time and bytes to finish a large resumable upload cut twice, against an unbroken one.

Starts gunicorn (production settings, local storage, so the tus server) and Chromium with
the real form page and tus-js-client; picks a SIZE file and waits until the page says
"Received". The cut run switches the browser offline (Playwright's offline switch) for a
second at a third and at two thirds of the upload. Bytes are counted by the server (what
its PATCH handler read, in the upload's description) and by the browser (PATCH requests).
Usage: python bench/upload_resume.py [SIZE_MIB]   (default 200)
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.common import free_port, prepare_site, production_env, start_gunicorn  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def partial(folder):
    """(offset, bytes received in all) of the one upload in `folder`, or (0, 0)."""
    for info in folder.glob("*.json"):
        with_offset = info.with_suffix(".part")
        try:
            return with_offset.stat().st_size, json.loads(info.read_text())["received"]
        except (FileNotFoundError, ValueError):
            continue
    return 0, 0


def run(browser, url, file, folder, *, cuts):
    for old in folder.glob("*"):
        old.unlink()
    size = file.stat().st_size
    context = browser.new_context()
    page = context.new_page()
    patches = {"sent": 0, "failed": 0}
    page.on("requestfinished", lambda r: r.method == "PATCH" and patches.__setitem__(
        "sent", patches["sent"] + 1))  # fmt: skip
    page.on("requestfailed", lambda r: r.method == "PATCH" and patches.__setitem__(
        "failed", patches["failed"] + 1))  # fmt: skip
    page.goto(f"{url}/en/submit/")
    started = time.monotonic()
    page.get_by_label("Your clip").set_input_files(str(file))
    offline_seconds = 0.0
    for fraction in cuts:
        while partial(folder)[0] < size * fraction:
            if time.monotonic() - started > 600:
                raise RuntimeError("upload stalled")
            time.sleep(0.01)
        context.set_offline(True)
        time.sleep(1)
        offline_seconds += 1
        context.set_offline(False)
    expect(page.locator("[data-state]")).to_have_text("Received", timeout=600_000)
    elapsed = time.monotonic() - started
    offset, received = partial(folder)
    context.close()
    assert offset == size, (offset, size)
    return {
        "seconds": elapsed,
        "seconds_online": elapsed - offline_seconds,
        "received": received,
        "patch_requests": patches["sent"] + patches["failed"],
        "patch_failed": patches["failed"],
    }


def main():
    size = (int(sys.argv[1]) if len(sys.argv) > 1 else 200) * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp:
        env = os.environ | production_env(tmp, MAX_UPLOAD_BYTES=str(size * 2))
        env.pop("DJANGO_DEBUG", None)
        prepare_site(env)
        port = free_port()
        server = start_gunicorn(port, env, workers=2, extra=("--timeout", "600"))
        file = Path(tmp) / "drive.mp4"
        with file.open("wb") as out:
            for _ in range(size // (1024 * 1024)):
                out.write(os.urandom(1024 * 1024))
        folder = Path(tmp) / "media" / "private" / "partial-uploads"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                url = f"http://127.0.0.1:{port}"
                whole = run(browser, url, file, folder, cuts=())
                cut = run(browser, url, file, folder, cuts=(1 / 3, 2 / 3))
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    print(f"upload of {size / 2**20:.0f} MiB, tus chunks of 8 MiB, gunicorn 2 sync workers")
    for name, result in (("unbroken", whole), ("cut twice", cut)):
        print(
            f"{name:10} {result['seconds']:6.1f} s ({result['seconds_online']:.1f} s online)"
            f"  server received {result['received'] / 2**20:7.1f} MiB"
            f" ({result['received'] / size:.3f} x the file)"
            f"  PATCH requests {result['patch_requests']} ({result['patch_failed']} broken)"
        )
    print(f"bytes, cut / unbroken: {cut['received'] / whole['received']:.3f}")


if __name__ == "__main__":
    main()
