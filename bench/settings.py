"""Production settings plus one bare view, the floor the benchmark compares pages with."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
