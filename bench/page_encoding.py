"""CPU of sending a cached page gzip-encoded (infra.cache._encoded), in this process.

    .venv/bin/python bench/page_encoding.py [--answers 3000] [--kilobytes 30]

Builds a page record as cached_page keeps it (the site's gallery template repeated to the
size asked, one CSP nonce placeholder in the middle), then answers it `--answers` times
unencoded and as many times gzip-encoded, each with a nonce of its own, and prints the CPU
per answer of each, their difference, and the sizes. Every encoded answer is checked by
decoding it (gzip verifies its CRC and length).
"""

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=3000)
    parser.add_argument("--kilobytes", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.http import HttpResponse
    from django.test import RequestFactory

    from infra import cache

    placeholder = cache.nonce_placeholder()
    half = args.kilobytes * 512
    source = (ROOT / "templates/gallery/gallery.html").read_bytes()
    text = (source * (half // len(source) + 1))[:half]
    script = b'<script nonce="' + placeholder + b'">start()</script>'
    stored = {"content": text + script + text, "type": "text/html", "headers": {}}
    stored["uses_nonce"] = True
    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    def answer(nonce):
        response = HttpResponse(stored["content"].replace(placeholder, nonce.encode()))
        response.kept_page = (1, "page:bench", stored, nonce)
        response["ETag"] = '"v1-bench"'
        return response

    cache._encoded(request, answer("first"))  # the pieces compressed once
    started = time.process_time()
    for i in range(args.answers):
        answer(f"nonce{i:016d}")
    plain = (time.process_time() - started) * 1000 / args.answers
    started = time.process_time()
    for i in range(args.answers):
        encoded = cache._encoded(request, answer(f"nonce{i:016d}"))
    coded = (time.process_time() - started) * 1000 / args.answers
    decoded = gzip.decompress(encoded.content)
    assert decoded == stored["content"].replace(placeholder, f"nonce{i:016d}".encode())
    print(f"page {len(decoded) / 1024:.1f} KB, sent as {len(encoded.content) / 1024:.1f} KB")
    print(f"answer unencoded {plain:.3f} ms, gzip-encoded {coded:.3f} ms of CPU")
    print(f"encoding: {coded - plain:.3f} ms an answer ({args.answers} answers each)")


if __name__ == "__main__":
    main()
