import os
import shutil
from pathlib import Path

import pytest
from django.test import override_settings

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


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
    """Code run outside a request speaks English in tests (requests choose their own language)."""
    from django.utils import translation

    with translation.override("en"):
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
    from tests import s3

    server = s3.start(tmp_path_factory.mktemp("s3"))
    yield server
    s3.stop(server)


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


@pytest.fixture(autouse=True)
def fresh_page_cache():
    """Each test starts with no cached pages (the cache lives in the process)."""
    from django.core.cache import caches

    from infra.cache import forget_version

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
