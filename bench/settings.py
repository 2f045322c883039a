"""Production settings plus one bare view, the floor the benchmark compares pages with."""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The bench counts page renders from these lines (BENCH_COUNT_RENDERS=1).
if os.environ.get("BENCH_COUNT_RENDERS") == "1":
    LOGGING["loggers"]["infra.cache"] = {"level": "DEBUG"}  # noqa: F405
