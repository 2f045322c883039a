"""Settings for La vie en Model 3, read from the environment (README lists every name)."""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"


def required(name):
    """A value production cannot run without: missing or empty, start-up stops with one line
    (manage.py and wsgi.py print it) that says what to set."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} is missing or empty: production needs DJANGO_SECRET_KEY and "
            "DJANGO_ALLOWED_HOSTS (README, Settings); DJANGO_DEBUG=1 is the laptop mode, "
            "which needs neither."
        )
    return value


# Production must say its secret and its hosts; a laptop in debug mode may not.
if DEBUG:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "insecure-local-development-key"
    ALLOWED_HOSTS = (os.environ.get("DJANGO_ALLOWED_HOSTS") or "127.0.0.1,localhost,[::1]").split(
        ","
    )
else:
    SECRET_KEY = required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = [host.strip() for host in required("DJANGO_ALLOWED_HOSTS").split(",")]
    if not all(ALLOWED_HOSTS):
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS has an empty name: give host names separated by commas."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_tasks_db",
    "anymail",
    "axes",
    "django_countries",
    "infra",
    "gallery",
    "submissions",
    "campaign",
]

MIDDLEWARE = [
    # First: a cached page asked again as it was is answered as the whole stack answered it.
    "infra.cache.served_again",
    "django.middleware.security.SecurityMiddleware",
    "infra.middleware.permissions_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Django's, answering 503 when the database fails to save a session (a restart).
    "infra.middleware.SessionMiddleware",
    # Before LocaleMiddleware: media and the health check vary with no language.
    "infra.middleware.language_free",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, whose reading of the POST data is the first read of a body.
    "infra.bodies.BodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view that fails for want of the database answers 503 and a page, not a 500.
    "infra.middleware.DatabaseAwayMiddleware",
    # Last: it turns a locked-out log-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


if "DATABASE_URL" in os.environ:
    # postgres://user:pass@host:port/name (query parameters become OPTIONS) or sqlite:///path
    try:
        DATABASES = {
            "default": dj_database_url.parse(
                os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True
            )
        }
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL: {error}") from None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # The web server and the task worker share the file: wait instead of failing.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            # Kept open between requests, as DATABASE_URL's are: a new SQLite connection reads
            # the whole schema again at its first query (a cold page then costs 10x more).
            "CONN_MAX_AGE": 60,
            # A file, not memory, so that test threads and worker processes share it; one per
            # test run, so that runs side by side do not meet.
            "TEST": {"NAME": VAR_DIR / f"test-{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
# The language of notes written for staff (an inbound e-mail's reason): the site's, whatever
# language the worker or request that writes them speaks.
STAFF_LANGUAGE_CODE = LANGUAGE_CODE
LANGUAGES = [
    ("fr", _("French")),
    ("en", _("English")),
    ("de", _("German")),
    ("nl", _("Dutch")),
    ("it", _("Italian")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"

STATICFILES_STORAGE_BACKEND = (
    "django.contrib.staticfiles.storage.StaticFilesStorage"
    if DEBUG
    else "whitenoise.storage.CompressedManifestStaticFilesStorage"
)
# How long a signed link to private media (staff review, the owner's page) stays valid.
PRIVATE_MEDIA_URL_SECONDS = int(os.environ.get("PRIVATE_MEDIA_URL_SECONDS", 3600))
# How long a staff preview link of an unpublished clip's page stays valid.
PREVIEW_SECONDS = int(os.environ.get("PREVIEW_SECONDS", 3600))
# Published media never change under a name (each processing writes a new folder).
PUBLIC_MEDIA_CACHE_CONTROL = "public, max-age=31536000, immutable"


def s3_storages(
    *,
    bucket,
    public_bucket="",
    endpoint_url=None,
    access_key=None,
    secret_key=None,
    region="us-east-1",
    public_base_url="",
):
    """STORAGES for object storage.

    The private bucket holds originals, unpublished media and raw e-mails; published media
    are copied to a publicly readable bucket (or, with one bucket, a public/ prefix).
    """
    common = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        "access_key": access_key,
        "secret_key": secret_key,
        "region_name": region,
        "signature_version": "s3v4",
        "addressing_style": "path",
        "file_overwrite": False,
    }
    base = urlsplit(public_base_url or "")
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": common
            | {
                "bucket_name": public_bucket or bucket,
                "location": "" if public_bucket else "public",
                "default_acl": None if public_bucket else "public-read",
                "querystring_auth": False,
                "object_parameters": {"CacheControl": PUBLIC_MEDIA_CACHE_CONTROL},
                "custom_domain": (base.netloc + base.path.rstrip("/")) or None,
                "url_protocol": (base.scheme or "https") + ":",
            },
        },
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": common
            | {
                "location": "" if public_bucket else "private",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": PRIVATE_MEDIA_URL_SECONDS,
            },
        },
        "staticfiles": {"BACKEND": STATICFILES_STORAGE_BACKEND},
    }


if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES = s3_storages(
        bucket=os.environ["AWS_STORAGE_BUCKET_NAME"],
        public_bucket=os.environ.get("AWS_PUBLIC_BUCKET_NAME", ""),
        endpoint_url=os.environ.get("AWS_S3_ENDPOINT_URL"),
        access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
        secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        region=os.environ.get("AWS_S3_REGION_NAME", "us-east-1"),
        public_base_url=os.environ.get("MEDIA_PUBLIC_BASE_URL", ""),
    )
else:
    STORAGES = {
        # Published renditions, posters, thumbnails and captions.
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT / "public", "base_url": "/media/"},
        },
        # Originals, unpublished media, raw e-mails: reached only through signed links.
        "private": {
            "BACKEND": "infra.storage.SignedFileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT / "private", "base_url": "/media/"},
        },
        "staticfiles": {"BACKEND": STATICFILES_STORAGE_BACKEND},
    }
# Tests and a fresh checkout may render before collectstatic has written the manifest.
WHITENOISE_MANIFEST_STRICT = False
WHITENOISE_USE_FINDERS = DEBUG

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def mailer_from_url(url):
    """The default mailer from SMTP_URL: smtp://user:pass@host:587 (STARTTLS) or smtps://… (TLS).

    A password never travels in clear: smtp:// with credentials always asks for STARTTLS
    (on whatever port), as does port 587; smtp://host:25 without them is a local relay.
    """
    parts = urlsplit(url)
    if parts.scheme == "console":
        # Django's, printing bodies readable (8-bit UTF-8) so a link copies from the terminal.
        return {"BACKEND": "infra.mail.EmailBackend", "OPTIONS": {}}
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL scheme {parts.scheme!r} is not supported")
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": parts.hostname or "localhost",
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_ssl": parts.scheme == "smtps",
            "use_tls": parts.scheme == "smtp" and (parts.port == 587 or bool(parts.username)),
            "timeout": 20,
        },
    }


MAILERS = {
    "default": mailer_from_url(
        os.environ.get("SMTP_URL", "console://" if DEBUG else "smtp://localhost:25")
    )
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "La vie en Model 3 <clips@example.org>")
SUBMISSION_ADDRESS = os.environ.get("SUBMISSION_ADDRESS", "clips@example.org")
MAILBOX_URL = os.environ.get("MAILBOX_URL", "")
# E-mailed clips: automatic replies per sender and hour; days raw messages are kept after
# processing (manage.py purge_inbound); the receiving servers whose Authentication-Results
# are trusted (comma-separated authserv-ids; empty: the topmost header).
MAIL_REPLIES_PER_HOUR = int(os.environ.get("MAIL_REPLIES_PER_HOUR", 3))
INBOUND_RETENTION_DAYS = int(os.environ.get("INBOUND_RETENTION_DAYS", 30))
MAIL_AUTHSERV_ID = os.environ.get("MAIL_AUTHSERV_ID", "")
# Inbound webhooks of e-mail providers (/hooks/...): basic auth "user:password" for all,
# and Mailgun's signing key. A provider's hook answers 404 until its secret is set.
ANYMAIL = {
    "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
}


# Content Security Policy: our own files only; inline scripts only with the request's nonce.
def origin(url):
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


# Where media come from besides this site: the object store and its CDN.
MEDIA_ORIGINS = sorted(
    {
        o
        for o in (
            origin(os.environ.get("AWS_S3_ENDPOINT_URL")),
            origin(os.environ.get("MEDIA_PUBLIC_BASE_URL")),
        )
        if o
    }
    | (
        {"https://*.amazonaws.com"}
        if os.environ.get("AWS_STORAGE_BUCKET_NAME") and not os.environ.get("AWS_S3_ENDPOINT_URL")
        else set()
    )
)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *MEDIA_ORIGINS],
    # blob: the preview of a picked clip, read in the browser before it is sent.
    "media-src": [CSP.SELF, "blob:", *MEDIA_ORIGINS],
    # Direct uploads go from the browser to the object store.
    "connect-src": [CSP.SELF, *MEDIA_ORIGINS],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
# Behind TLS (production): secure cookies, HSTS, redirect to https. Off for plain-http
# local runs and tests (DJANGO_HTTPS=0).
HTTPS = os.environ.get("DJANGO_HTTPS", "0" if DEBUG else "1") == "1"
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# The load balancer's health checks come over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Powerful browser features this site never uses; full screen only for its own player.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), browsing-topics=(), fullscreen=(self)"
)

GALLERY_PAGE_SIZE = 24
# Seconds a clip may sit in processing without progress before the watchdog requeues it.
PROCESSING_STALE_SECONDS = int(os.environ.get("PROCESSING_STALE_SECONDS", 30 * 60))
PROCESSING_MAX_ATTEMPTS = 3
# Seconds a render (outputs made again) may go without a sign of life before the watchdog
# queues it again: its worker was killed. Generous: a render reports once a minute.
RENDER_STALE_SECONDS = int(os.environ.get("RENDER_STALE_SECONDS", 60 * 60))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JSONFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django gives its loggers a console handler of their own in debug: their lines
        # (a task's start and end among them) would print twice, there and at the root.
        "django": {"handlers": [], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
    },
}

# Limits on what owners may send.
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 2 * 1024**3))
MAX_CLIP_SECONDS = int(os.environ.get("MAX_CLIP_SECONDS", 600))
MAX_VIDEO_SIDE = 4096
FILE_UPLOAD_HANDLERS = ["submissions.uploads.CappedUploadHandler"]
FILE_UPLOAD_TEMP_DIR = os.environ.get("FILE_UPLOAD_TEMP_DIR") or None

# The licence terms owners accept; bump when the text of the terms page changes.
TERMS_VERSION = "2026-11"

# The public address of the site, for links in e-mails.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# Load balancers in front of the web nodes that append to X-Forwarded-For (0: none).
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 0))
# The scheme a proxy says the visitor used is believed only when there is a proxy: with none,
# anyone could send X-Forwarded-Proto and have pages built with https links (and cached).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
# Limits per client address and per e-mail address: "count/seconds".
RATE_LIMITS = {
    "submit-ip": os.environ.get("RATE_LIMIT_SUBMIT_IP", "20/3600"),
    "submit-email": os.environ.get("RATE_LIMIT_SUBMIT_EMAIL", "10/3600"),
    "upload-ip": os.environ.get("RATE_LIMIT_SUBMIT_IP", "20/3600"),
    "status-ip": os.environ.get("RATE_LIMIT_STATUS_IP", "300/3600"),
    "status-change-ip": os.environ.get("RATE_LIMIT_STATUS_CHANGE_IP", "30/3600"),
}

# Staff log-in (django-axes): after LOGIN_MAX_FAILURES failures for an account from one
# address, that account is locked from that address for LOGIN_LOCKOUT_MINUTES. Never the
# account everywhere: anyone who knows a moderator's name could then lock them out.
# Records stay bounded: one row per account, address and browser, deleted once the
# cool-off is over (at the next failure) or on success; failures while locked are not
# added, and successful log-ins are not logged.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_MAX_FAILURES", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "infra.clients.client_ip"
AXES_LOCKOUT_CALLABLE = "infra.lockout.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Media of rejected and withdrawn clips are deleted after this many days (manage.py purge_media).
RETENTION_DAYS = int(os.environ.get("RETENTION_DAYS", 30))

# Rendered anonymous pages and clip fragments (infra/cache.py, gallery/fragments.py) live in
# the cache: each process's own memory by default (the laptop), or one Redis that every
# process and node shares with CACHE_URL=redis://host:6379/0, so a page or a clip card is
# rendered once for all of them. The page version (one row in the database) retires pages on
# every node at once; fragments are keyed by their clip's content and need no retiring.
# Seconds a web process trusts the page version it read (0: read it on every visit).
PAGE_CACHE_VERSION_TTL = float(os.environ.get("PAGE_CACHE_VERSION_TTL", 1))
CACHE_URL = os.environ.get("CACHE_URL", "").strip()
# With CACHE_URL, megabytes of page shells and clip fragments each web process keeps in front
# of Redis (a card weighs some 1.1 KB: 100,000 clips' cards, 110 MB), and megabytes of whole
# pages (some 30 KB each), kept apart: a crawler's walk through pages asked once evicts other
# pages, not the fragments every cold page is made of.
NEAR_CACHE_MB = int(os.environ.get("NEAR_CACHE_MB", 128))
NEAR_PAGES_MB = int(os.environ.get("NEAR_PAGES_MB", 32))
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "lavie",
        },
        # Each process keeps the fragments and the pages it uses most in front of Redis.
        "near": {
            "BACKEND": "infra.cache.NearCache",
            "LOCATION": "near",
            "OPTIONS": {"MAX_ENTRIES": 400_000, "MAX_BYTES": NEAR_CACHE_MB * 1024 * 1024},
        },
        "near-pages": {
            "BACKEND": "infra.cache.NearCache",
            "LOCATION": "near-pages",
            "OPTIONS": {"MAX_ENTRIES": 20_000, "MAX_BYTES": NEAR_PAGES_MB * 1024 * 1024},
        },
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

# Play counts (gallery/plays.py): a repeat from one address within PLAY_REPEAT_SECONDS is not
# counted again, nor more than PLAYS_PER_ADDRESS_PER_MINUTE plays a minute; "most watched"
# ranks the plays of the last PLAY_RANKING_DAYS days, its pages cached PLAY_RANKING_REFRESH s.
PLAY_REPEAT_SECONDS = int(os.environ.get("PLAY_REPEAT_SECONDS", 60))
PLAYS_PER_ADDRESS_PER_MINUTE = int(os.environ.get("PLAYS_PER_ADDRESS_PER_MINUTE", 20))
PLAY_RANKING_DAYS = int(os.environ.get("PLAY_RANKING_DAYS", 30))
PLAY_RANKING_REFRESH = int(os.environ.get("PLAY_RANKING_REFRESH", 3600))
# The campaign dashboard's charts are drawn at most once per this many seconds.
CAMPAIGN_DASHBOARD_SECONDS = int(os.environ.get("CAMPAIGN_DASHBOARD_SECONDS", 300))
