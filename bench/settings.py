"""Production settings plus one bare view, the floor the benchmark compares pages with."""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The bench counts pages built and templates rendered from these lines (BENCH_COUNT_RENDERS=1).
if os.environ.get("BENCH_COUNT_RENDERS") == "1":
    for name in ("infra.cache", "gallery.shells", "gallery.fragments"):
        LOGGING["loggers"][name] = {"level": "DEBUG"}  # noqa: F405
