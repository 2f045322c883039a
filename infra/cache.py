"""Anonymous pages served from the cache (each process's memory, or one Redis shared by every
process and node with CACHE_URL), keyed by the site's page version and all else they show.

A cached visit costs at most one indexed read of the version row (none during a burst,
see PAGE_CACHE_VERSION_TTL). The apps call `bump_version()` when something visitors can see
changes (the gallery does it on its `catalogue_changed` signal), which retires every cached
page: at once on the node that made the change, within PAGE_CACHE_VERSION_TTL on the others.
The ETag carries the version, so browsers and proxies revalidate with a 304.

This module imports no models: it reads and bumps its own row (infra.PageVersion).
"""

import contextlib
import hashlib
import logging
import os
import pickle  # nosec B403 - reads what Django's own Redis backend writes (RedisSerializer)
import re
import struct
import time
import zlib
from contextvars import ContextVar
from functools import cache, wraps

import lz4.frame
from django.apps import apps
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.core.signals import setting_changed
from django.db import DatabaseError, InterfaceError, connection, transaction
from django.db.models import F
from django.dispatch import Signal, receiver
from django.http import HttpResponse
from django.http.request import split_domain_port
from django.middleware.csp import get_nonce
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.crypto import salted_hmac
from django.utils.csp import generate_nonce
from django.utils.http import quote_etag
from django.utils.translation import get_language
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


@cache
def nonce_placeholder():
    """What stands for the CSP nonce in a stored page: secret, so no text a visitor sent (a
    clip's title) can spell it and be handed the next visitor's nonce."""
    return salted_hmac("infra.cache.nonce", "placeholder", algorithm="sha256").hexdigest().encode()


# The version this process read last, and when. Within VERSION_TTL a burst of visits costs
# no query at all; a change made in this process is seen at once, one made on another node
# within VERSION_TTL.
_known = {"version": None, "read_at": 0.0}


# While a cached view runs, the version its key was made with: the page, the values it
# reads through per_version and its key all belong to that one version.
_pinned = ContextVar("page_version", default=None)


def current_version():
    if (pinned := _pinned.get()) is not None:
        return pinned
    now = time.monotonic()
    if _known["version"] is not None and now - _known["read_at"] < settings.PAGE_CACHE_VERSION_TTL:
        return _known["version"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version FROM infra_pageversion WHERE id = 1")
            row = cursor.fetchone()
    except (DatabaseError, InterfaceError):
        # The database is away (a restart, a failover): keep serving the pages we have, of
        # the version this process read last or, in a process that has read none yet, the
        # one the shared cache keeps (a page of an older version is better than an error).
        version = _known["version"]
        if version is None:
            version = _shared_version()
            if version is None:
                raise
            # Kept, so that the shared cache is read once; the database is asked again at
            # the next visit (read_at is not moved).
            _known["version"] = version
        log.warning("page version unavailable; serving cached pages of version %s", version)
        return version
    version = row[0] if row else 0
    if version != _known["version"]:
        _share_version(version)
        _deflated_known.clear()
    _known.update(version=version, read_at=now)
    return version


VERSION_KEY = "page-version"


def _shared_version():
    try:
        return caches["default"].get(VERSION_KEY)
    except Exception:  # the backends raise their own client's errors
        return None


def _share_version(version):
    """Keep the version read last where a process that starts while the database is away
    can find it (with CACHE_URL, every process and node)."""
    try:
        caches["default"].set(VERSION_KEY, version, timeout=None)
    except Exception:
        log.warning("cache unavailable: page version not kept", exc_info=True)


def forget_version():
    _known["version"] = None
    _values.update(version=None, values={})
    _seen.update(version=None, answers={})
    _deflated_known.clear()


def _bump():
    forget_version()
    # Looked up, not imported: the cache knows no models and imports before apps are ready.
    rows = apps.get_model("infra", "PageVersion").objects
    if not rows.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now()):
        rows.get_or_create(pk=1, defaults={"version": 2})


def bump_version():
    """Retire every cached page: now, and again once the change commits, since a page
    rendered from the old rows in between would otherwise be kept under the new version.
    Inside bumps_coalesced(), once for all when the change commits."""
    if (asked := _coalesced.get()) is not None:
        asked.append(True)
        return
    _bump()
    transaction.on_commit(_bump_committed)


# Sent by the process that retired the pages, once the new version has committed: what every
# page of that version reads first may be prepared there (with a shared cache, for every
# process and node) instead of by each web process on its first visitor.
pages_retired = Signal()


def _bump_committed():
    _bump()
    for receiver_, error in pages_retired.send_robust(sender=None):
        if isinstance(error, Exception):
            log.warning("preparing the new page version failed in %s", receiver_, exc_info=error)


_coalesced = ContextVar("page_bumps_coalesced", default=None)


@contextlib.contextmanager
def bumps_coalesced():
    """The pages retired by the changes made inside (a deletion of many clips, each asking)
    are retired once, when the transaction commits: one bump, not a few per row. This
    process forgets the version at once, like bump_version."""
    if _coalesced.get() is not None:  # an outer one bumps
        yield
        return
    asked = []
    token = _coalesced.set(asked)
    try:
        yield
    finally:
        _coalesced.reset(token)
    if asked:
        forget_version()
        transaction.on_commit(_bump_committed)


def no_query(request):
    return ""


def page_origin(request):
    """The scheme and host a page's absolute links are built from, or None when the host is
    not one ALLOWED_HOSTS names exactly (a wildcard match, another port, other capitals):
    such pages are served but not kept, so made-up host names cannot fill the cache.
    Worked out once per host, port and scheme in this process (and again when the settings
    change); a host ALLOWED_HOSTS refuses raises DisallowedHost, as request.get_host()."""
    seen = (request._get_raw_host(), request.META.get("SERVER_PORT"), request.scheme)
    if (known := _origins.get(seen, _MISSING)) is not _MISSING:
        return known
    host = request.get_host()
    domain, port = split_domain_port(host)
    origin = f"{request.scheme}://{host}"
    if host != host.lower() or (port and port != str(request.META.get("SERVER_PORT", ""))):
        origin = None
    exact = {h.lower() for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")}
    if domain not in exact and not (settings.DEBUG and domain in ("localhost", "127.0.0.1")):
        origin = None
    if len(_origins) >= 64:  # made-up host names (a wildcard in ALLOWED_HOSTS)
        _origins.clear()
    _origins[seen] = origin
    return origin


_origins = {}


@receiver(setting_changed)
def _forget_origins(**kwargs):
    _origins.clear()


def cached_page(view=None, *, query=no_query, partials=()):
    """Cache a public GET view's 200 answers for anonymous visitors, with ETag and 304.

    A stored page is keyed by all it depends on: the page version, the language, the origin
    its absolute links use (page_origin), the path, `query(request)` (the part of the query
    string the page reads; the rest is ignored, so made-up parameters cannot fill the cache
    with copies of one page) and the `X-Partial` header when it names one of `partials`.
    """
    if view is None:
        return lambda view: cached_page(view, query=query, partials=partials)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or (
            # Without a session cookie no one is signed in: the session is not even read.
            settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated
        ):
            return view(request, *args, **kwargs)
        version = current_version()
        pin = _pinned.set(version)
        try:
            return serve(request, version, *args, **kwargs)
        finally:
            _pinned.reset(pin)

    def serve(request, version, *args, **kwargs):
        origin = page_origin(request)
        if origin is None:
            return view(request, *args, **kwargs)
        partial = request.headers.get("X-Partial", "")
        asked = query(request)
        fingerprint = "|".join(
            [
                str(version),
                get_language() or "",
                origin,
                request.path,
                asked,
                partial if partial in partials else "",
            ]
        )
        key = "page:" + hashlib.blake2s(fingerprint.encode(), digest_size=16).hexdigest()
        etag = quote_etag(f"v{version}-{key[5:21]}")
        # Django's own precondition rules (what condition() runs), before any rendering;
        # condition() itself would also stamp this ETag on the view's 404s and redirects.
        if (unchanged := get_conditional_response(request, etag=etag)) is not None:
            # A 304 carries the 200's ETag, Cache-Control and Vary (RFC 9110, 15.4.5), and no
            # Content-Security-Policy: a browser merges a 304's headers into the page it keeps
            # (RFC 9111, 4.3.4), whose policy must go on naming that page's own nonce.
            # (What csp_override({}) and csp_report_only_override({}) set on a response.)
            unchanged._csp_config = unchanged._csp_ro_config = {}
            return _validators(unchanged, etag)

        stored = read_many([key], tiers=_page_tiers()).get(key)
        if stored is None:
            log.debug("building page %s%s", request.path, asked)
            try:
                response = view(request, *args, **kwargs)
                if hasattr(response, "render") and callable(response.render):
                    response = response.render()
            except (DatabaseError, InterfaceError):
                # The database is away: a page another process kept will do (else a 503).
                if (stored := _unpacked(read_shared(_outage_key(key)))) is None:
                    raise
                log.warning("database unavailable: serving page %s kept by another process", key)
                keep_many({key: stored}, timeout=PAGE_TIMEOUT, tiers=_page_tiers())
            else:
                if response.status_code != 200 or response.streaming or response.cookies:
                    return response
                stored = _page_record(request, response)
                keep_many({key: stored}, timeout=PAGE_TIMEOUT, tiers=_page_tiers())
                # Kept for the others too, read only when the database is away: every process
                # and node can then serve every page one of them has built. (Written once
                # asked again instead, a page some workers had built once was missing in an
                # outage under load. Its compression costs a cold page some 15 microseconds.)
                keep_shared(_outage_key(key), _packed(stored), timeout=PAGE_TIMEOUT, wait=False)
        content = stored["content"]
        if stored["uses_nonce"]:
            content = content.replace(nonce_placeholder(), str(get_nonce(request)).encode())
        response = HttpResponse(content, content_type=stored["type"], headers=stored["headers"])
        _validators(response, etag)
        # What served_again needs to answer the same request again by itself.
        response.kept_page = (
            version,
            key,
            stored,
            get_nonce(request) if stored["uses_nonce"] else None,
        )
        return response

    return wrapper


# Seconds a built page is kept (a page version rarely lasts longer).
PAGE_TIMEOUT = 3600


def _page_record(request, response):
    """What is kept of a page: its content (the CSP nonce as the placeholder), type and the
    headers that come with it."""
    content = response.content
    nonce = get_nonce(request)
    if nonce:  # keep each answer's CSP nonce its own: store a placeholder
        content = content.replace(str(nonce).encode(), nonce_placeholder())
    return {
        "content": content,
        "type": response["Content-Type"],
        "headers": {h: response[h] for h in ("Content-Language", "Link") if h in response},
        "uses_nonce": bool(nonce),
    }


def _outage_key(key):
    """Where the shared cache keeps page `key`'s outage copy: named by its packing, so that
    processes of an earlier release (a rolling deploy) keep and read theirs elsewhere."""
    return key + ":lz4"


def _packed(stored):
    """A page record as the shared cache keeps it (under _outage_key), its content
    compressed (an LZ4 frame, https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md):
    a 19 KB gallery page takes 5 KB in Redis, which then keeps the fragments that cold pages
    are made of instead of whole pages evicting them (maxmemory, allkeys-lru). Some 15
    microseconds a page, where zlib's fastest level took 200 (for 3.6 KB)."""
    return {**stored, "content": lz4.frame.compress(stored["content"])}


def _unpacked(stored):
    """The page record that _packed() made (None for None)."""
    if stored is None:
        return None
    return {**stored, "content": lz4.frame.decompress(stored["content"])}


def _validators(response, etag):
    response["ETag"] = etag
    # Shared caches may keep it, but must ask again before reuse: publication is immediate.
    response["Cache-Control"] = "public, max-age=0, must-revalidate"
    # Cookie: a signed-in visitor gets another page (the session is not read when no cookie
    # is sent, so the session middleware would not say so).
    # Accept-Encoding: served_again sends the page gzip-encoded to those who accept it.
    patch_vary_headers(response, ["X-Partial", "Cookie", "Accept-Encoding"])
    return response


def served_again(get_response):
    """Middleware, first in MIDDLEWARE: a page cached_page served to an anonymous visitor is
    served again to the next visitor who asks the very same thing, without the rest of the
    middleware, URL resolving or the view. A warm page then costs less than the least a view
    costs through the whole stack.

    The same thing is the same page version, scheme, host, port, path, query string and
    X-Partial header, from a visitor without a session or messages cookie and without
    conditions (If-None-Match and the like go through the stack, which answers 304). What
    is served is what the whole stack answered the first time (its status 200 and every
    header it set), with a fresh CSP nonce in the page and its Content-Security-Policy.
    Only pages whose language is in their address are served so (not those that vary with
    Accept-Language), and only while the settings stay as they were.
    """

    def middleware(request):
        if (same := _request_seen(request)) is None:
            return _encoded(request, get_response(request))
        try:
            version = current_version()
        except (DatabaseError, InterfaceError):  # the stack answers (a page it keeps, a 503)
            return _encoded(request, get_response(request))
        if (answer := _answer_again(same, version)) is not None:
            log.debug("serving page again %s", request.path)
            return _encoded(request, answer)
        # The page, if cached_page serves it, is of the version just read (no second read).
        pin = _pinned.set(version)
        try:
            response = get_response(request)
        finally:
            _pinned.reset(pin)
        if (kept := getattr(response, "kept_page", None)) is not None:
            _remember(same, kept, response)
        return _encoded(request, response)

    return middleware


# What served_again can answer, by request (see _request_seen): the key of the page's record
# and the headers the whole stack set (its CSP nonce as the placeholder). One set per page
# version, in this process: about a kilobyte each, at most _SEEN_LIMIT.
_seen = {"version": None, "answers": {}}
_SEEN_LIMIT = 10_000

# Conditional requests go through the stack, which answers 304 with the headers it sets.
_CONDITIONS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
)


def _request_seen(request):
    """What makes two requests the same to served_again, or None for one that must go through
    the whole stack: not a GET or HEAD, a condition, a session (someone may be signed in) or
    messages waiting to be shown."""
    meta = request.META
    if request.method not in ("GET", "HEAD") or any(name in meta for name in _CONDITIONS):
        return None
    if "HTTP_COOKIE" in meta:
        cookies = request.COOKIES
        if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
            return None
    return (
        request.scheme,
        meta.get("HTTP_HOST", ""),
        meta.get("HTTP_X_FORWARDED_HOST", ""),  # with USE_X_FORWARDED_HOST
        meta.get("HTTP_X_FORWARDED_PORT", ""),
        meta.get("SERVER_NAME", ""),
        meta.get("SERVER_PORT", ""),
        request.path,
        meta.get("QUERY_STRING", ""),
        meta.get("HTTP_X_PARTIAL", ""),
    )


def _answer_again(same, version):
    if _seen["version"] != version or (seen := _seen["answers"].get(same)) is None:
        return None
    key, headers, nonce_at = seen
    if (stored := read_many([key], tiers=_page_tiers()).get(key)) is None:
        return None  # the page itself has left the cache
    content, nonce = stored["content"], None
    if nonce_at is not None:
        nonce = generate_nonce().encode()
        placeholder = nonce_placeholder()
        content = content.replace(placeholder, nonce)
        headers = dict(headers)
        for name in nonce_at:
            headers[name] = headers[name].replace(placeholder.decode(), nonce.decode())
    response = HttpResponse(content, headers=headers)
    response.headers["Content-Length"] = str(len(content))
    response.kept_page = (version, key, stored, nonce.decode() if nonce_at is not None else None)
    return response


def _remember(same, kept, response):
    """Keep what the whole stack answered to `same` (a page cached_page served), when another
    visitor asking the same may be handed it as it is."""
    version, key, stored, nonce = kept
    vary = response.get("Vary", "").lower()
    if (
        response.status_code != 200
        or response.streaming
        or response.cookies
        or "accept-language" in vary  # its language came from the visitor, not the address
    ):
        return
    content = stored["content"]
    if nonce is not None:
        content = content.replace(nonce_placeholder(), str(nonce).encode())
    if response.content != content:  # something after the view changed it
        return
    headers, nonce_at = {}, []
    for name, value in response.items():
        if name == "Content-Length":
            continue
        if nonce is not None and str(nonce) in value:
            value = value.replace(str(nonce), nonce_placeholder().decode())
            nonce_at.append(name)
        headers[name] = value
    if _seen["version"] != version:
        _seen.update(version=version, answers={})
    answers = _seen["answers"]
    if len(answers) >= _SEEN_LIMIT:  # made-up query strings
        answers.clear()
    answers[same] = (key, headers, tuple(nonce_at) if nonce is not None else None)


# Accept-Encoding naming gzip, read as django.middleware.gzip reads it.
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
# A gzip member's header (RFC 1952, 2.3): deflate, no name, no time, unknown system.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# A last, empty deflate block with fixed codes (RFC 1951, 3.2.3 and 3.2.6): ends the stream.
_LAST_BLOCK = b"\x03\x00"


def _encoded(request, response):
    """`response` gzip-encoded (RFC 9110, 8.4.1.3) when it is a page cached_page served
    (`kept_page`) as it was kept and the request accepts gzip; else `response` itself.
    The page's pieces between its nonces are compressed once in this process (_deflated);
    each answer joins them around its own nonce. A 30 KB page then costs some 0.03 ms to
    encode instead of 0.4. Its ETag becomes weak (RFC 9110, 8.8.1): the same page, other
    bytes. No secret is on these pages for a compression side channel to find (BREACH):
    they are the same for every anonymous visitor, but for a nonce new in each answer."""
    kept = getattr(response, "kept_page", None)
    if (
        kept is None
        or response.status_code != 200
        or response.has_header("Content-Encoding")
        or not _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    ):
        return response
    _version, key, stored, nonce = kept
    content = response.content
    pieces = _deflated_pieces(key, stored)
    nonce = str(nonce).encode() if nonce is not None else b""
    if stored["content"].replace(nonce_placeholder(), nonce) != content:
        return response  # something after the view changed the page
    # The nonce as a stored block (RFC 1951, 3.2.4): the pieces end on a byte boundary.
    deflated_nonce = b"\x00" + struct.pack("<HH", len(nonce), len(nonce) ^ 0xFFFF) + nonce
    body = [_GZIP_HEADER, pieces[0]]
    for piece in pieces[1:]:
        body += [deflated_nonce, piece]
    body += [_LAST_BLOCK, struct.pack("<II", zlib.crc32(content), len(content) & 0xFFFFFFFF)]
    response.content = b"".join(body)
    response["Content-Length"] = str(len(response.content))
    response["Content-Encoding"] = "gzip"
    if (etag := response.get("ETag")) and not etag.startswith("W/"):
        response["ETag"] = "W/" + etag
    return response


def _deflated(data):
    """`data` as raw deflate blocks (RFC 1951) ending on a byte boundary, none of them the
    last (a sync flush): such runs, each compressed on its own, join into one stream."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _deflated_pieces(key, stored):
    """The pieces of the page kept under `key` between its nonce placeholders, deflated
    (_deflated), kept in this process for the page version: at most _DEFLATED_LIMIT pages,
    some 4 KB each, forgotten when another version is read (a key names one page only
    within its version; a restored database may set the version back)."""
    if (pieces := _deflated_known.get(key)) is None:
        pieces = [_deflated(piece) for piece in stored["content"].split(nonce_placeholder())]
        if len(_deflated_known) >= _DEFLATED_LIMIT:
            _deflated_known.clear()
        _deflated_known[key] = pieces
    return pieces


_deflated_known = {}
_DEFLATED_LIMIT = 4000


@receiver(setting_changed)
def _forget_seen(**kwargs):
    _seen.update(version=None, answers={})


# Values computed once per page version, kept in this process as they are (no copy, no
# pickling): they are read on every visit. A new version starts an empty set.
_values = {"version": None, "values": {}}


def per_version(name, compute, *, shared=False):
    """A value computed once per page version in this process (theme counts, totals).
    Callers must not change what they get: the next visitor gets the same object.

    `shared`: with a shared cache (CACHE_URL), computed once per version for every process
    and node: read from there first, else computed and kept there. A process started while
    the database is away (a worker replaced during an outage) then still finds what a cached
    page's key is made of, and with it the pages the others kept. Values of some kilobytes
    at most: each process reads it once per version. Raises what `compute` raises when the
    shared cache does not have it."""
    version = current_version()
    if _values["version"] != version:
        _values.update(version=version, values={})
    values = _values["values"]
    if name not in values:
        if not shared:
            values[name] = compute()
            return values[name]
        key = f"per-version:{version}:{name}"
        if (kept := read_shared(key)) is not None:
            values[name] = kept
        else:
            values[name] = compute()
            keep_shared(key, values[name], timeout=PAGE_TIMEOUT)
    return values[name]


def per_version_known(name):
    """The value per_version keeps under `name` for the current version, or None."""
    if _values["version"] != current_version():
        return None
    return _values["values"].get(name)


class NearCache(LocMemCache):
    """This process's memory in front of the shared cache (CACHES["near"] for fragments and
    shells, CACHES["near-pages"] for whole pages): values are kept as they are, not
    pickled, since pages, cards and shells are read on every cold page.
    Whoever reads a value must not change it (they are strings, bytes, tuples and the page
    records cached_page never changes). Its keys are the site's own, so they skip
    memcached's key checks. OPTIONS: MAX_ENTRIES, and MAX_BYTES (what its values weigh,
    about: text and bytes by their length)."""

    def __init__(self, name, params):
        super().__init__(name, params)
        self._max_bytes = params.get("OPTIONS", {}).get("MAX_BYTES", 64 * 1024 * 1024)
        self._sizes = {}
        self._bytes = 0

    def get(self, key, default=None, version=None):
        return self.get_many([key], version=version).get(key, default)

    def get_many(self, keys, version=None):
        found = {}
        now = time.time()
        with self._lock:
            for key in keys:
                made = self.make_key(key, version)
                value = self._cache.get(made, _MISSING)
                if value is _MISSING:
                    continue
                expires = self._expire_info.get(made)
                if expires is not None and expires <= now:
                    self._delete(made)
                    continue
                self._cache.move_to_end(made, last=False)
                found[key] = value
        return found

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self.set_many({key: value}, timeout=timeout, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        expires = self.get_backend_timeout(timeout)
        with self._lock:
            for key, value in data.items():
                self._store(self.make_key(key, version), value, expires)
        return []

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        made = self.make_key(key, version)
        with self._lock:
            if self._has_expired(made):
                self._store(made, value, self.get_backend_timeout(timeout))
                return True
            return False

    def _store(self, made, value, expires):
        """Keep `value` as the most recently used; then drop the least recently used ones
        while more than MAX_ENTRIES or MAX_BYTES are kept (one page is some 30 KB, a card
        1 KB: a count alone bounds neither memory nor what fits)."""
        kept, sizes = self._cache, self._sizes
        self._bytes -= sizes.get(made, 0)
        kept[made] = value
        kept.move_to_end(made, last=False)
        self._expire_info[made] = expires
        sizes[made] = size = _size(value)
        self._bytes += size
        while (len(kept) > self._max_entries or self._bytes > self._max_bytes) and len(kept) > 1:
            oldest, _value = kept.popitem()
            del self._expire_info[oldest]
            self._bytes -= sizes.pop(oldest)

    def _delete(self, key):
        if not super()._delete(key):
            return False
        self._bytes -= self._sizes.pop(key)
        return True

    def clear(self):
        with self._lock:
            self._cache.clear()
            self._expire_info.clear()
            self._sizes, self._bytes = {}, 0

    def incr(self, key, delta=1, version=None):
        made = self.make_key(key, version)
        with self._lock:
            if self._has_expired(made):
                self._delete(made)
                raise ValueError(f"Key '{key}' not found")
            self._cache[made] += delta
            return self._cache[made]


_MISSING = object()


def _size(value):
    """About what a kept value weighs in bytes: text and bytes by their length, a page
    record by its content, a shell by its pieces."""
    if isinstance(value, (str, bytes)):
        return len(value) + 64
    if isinstance(value, dict):
        return sum(_size(item) for item in value.values()) + 64
    if isinstance(value, (tuple, list)):
        return sum(_size(item) for item in value) + 64
    return 64


def _tiers():
    """The caches to read, nearest first: with a shared cache (CACHE_URL), this process's
    memory in front of it. Every key names content that never changes (pages carry their
    version, fragments their clip's content), so a copy kept near can never be stale."""
    if has_shared_cache():
        return (caches["near"], caches["default"])
    return (caches["default"],)


def _redis(cache):
    """One client per Redis cache in this process: Django's backend makes a new one (a
    hundred and more response callbacks to register) for every call."""
    client = cache.__dict__.get("_infra_client")
    if client is None:
        client = cache.__dict__["_infra_client"] = cache._cache.get_client(write=True)
    return client


def _connection(tier):
    """A connection of this Redis cache's own, kept out of the client's pool: a page's cache
    reads and writes are sent and read on it directly, without the client's per-command
    machinery (pool checkout, retry wrapper, reply callbacks), a third of their CPU. Django
    gives each thread its own cache object, so each thread has its own connection."""
    conn = tier.__dict__.get("_infra_connection")
    if conn is None or conn.pid != os.getpid():
        conn = tier.__dict__["_infra_connection"] = _redis(tier).connection_pool.make_connection()
    return conn


def _exchange(tier, commands):
    """Send `commands` (tuples of RESP arguments) in one write and read their replies, in
    order. A connection found broken (a Redis restart) is opened again once; a second
    failure raises the client's ConnectionError or TimeoutError. Any failure, an error
    reply included (ResponseError), closes the connection: replies left unread would
    otherwise be taken for the next command's."""
    conn = _connection(tier)
    try:
        conn.send_packed_command(conn.pack_commands(commands), check_health=False)
        return [conn.read_response() for _ in commands]
    except (RedisConnectionError, RedisTimeoutError, OSError):
        conn.disconnect()
    except BaseException:
        conn.disconnect()
        raise
    try:  # once more, on a new connection
        conn.send_packed_command(conn.pack_commands(commands), check_health=False)
        return [conn.read_response() for _ in commands]
    except BaseException:
        conn.disconnect()
        raise


def _get_many(tier, keys):
    if type(tier) is RedisCache:
        # One MGET, the values as Django's backend stores them.
        (values,) = _exchange(tier, [("MGET", *(tier.make_key(key) for key in keys))])
        loads = tier._cache._serializer.loads
        if type(tier._cache._serializer) is RedisSerializer:
            loads = _loads
        pairs = zip(keys, values, strict=True)
        return {key: loads(value) for key, value in pairs if value is not None}
    return tier.get_many(keys)


def _loads(value):
    """RedisSerializer.loads without its int() attempt (an exception) for each pickle."""
    return pickle.loads(value) if value[:1] == b"\x80" else int(value)  # noqa: S301  # nosec B301 - our own cache


def _set_many(tier, values, timeout):
    if type(tier) is RedisCache:
        # One round trip, no MULTI/EXEC: each key stands alone (Django's set_many sends
        # MULTI, MSET, an EXPIRE a key and EXEC).
        dumps = tier._cache._serializer.dumps
        _exchange(
            tier,
            [
                ("SET", tier.make_key(key), dumps(value), "EX", timeout)
                for key, value in values.items()
            ],
        )
        return
    tier.set_many(values, timeout=timeout)


def _page_tiers():
    """Where whole pages are kept: this process's memory (with a shared cache, apart from the
    fragments: CACHES["near-pages"])."""
    if has_shared_cache():
        return (caches["near-pages"],)
    return (caches["default"],)


def forget_near():
    """Forget what this process keeps in front of the shared cache: pages and fragments (as
    a process that has served none of them finds it)."""
    for alias in ("near", "near-pages"):
        if alias in settings.CACHES:
            caches[alias].clear()


def read_many(keys, tiers=None):
    """Cached values by key; none when the cache cannot be reached (a Redis restart): pages
    are then rendered, slower but served."""
    found = {}
    missing = list(keys)
    tiers = tiers or _tiers()
    for depth, tier in enumerate(tiers):
        try:
            got = _get_many(tier, missing)
        except Exception:  # the backends raise their own client's errors
            log.warning("cache unavailable: rendering without it", exc_info=True)
            break
        if got and depth:
            tiers[0].set_many(got, timeout=NEAR_TIMEOUT)
        found |= got
        missing = [key for key in missing if key not in got]
        if not missing:
            break
    return found


def has_shared_cache():
    """True when the cache is shared by every process and node (CACHE_URL)."""
    return "near" in settings.CACHES


def read_shared(key):
    """A value only the shared cache keeps (None without one, or when it is unreachable):
    large values each process keeps by itself once read (per_version), such as the
    gallery's catalogue, which other processes would otherwise read from the database."""
    if not has_shared_cache():
        return None
    try:
        return _get_many(caches["default"], [key]).get(key)
    except Exception:
        log.warning("cache unavailable: %s not read", key, exc_info=True)
        return None


def keep_shared(key, value, timeout, *, wait=True):
    """Keep `value` in the shared cache only (nothing without one; a warning when it cannot
    be reached). With `wait` false, the write is sent and its reply not awaited (Redis's
    CLIENT REPLY SKIP): for a copy kept in case of need, whose write then costs no round
    trip; a write that fails is not known."""
    if not has_shared_cache():
        return
    tier = caches["default"]
    try:
        if wait or type(tier) is not RedisCache:
            _set_many(tier, {key: value}, timeout)
            return
        command = ("SET", tier.make_key(key), tier._cache._serializer.dumps(value), "EX", timeout)
        _send_only(tier, [("CLIENT", "REPLY", "SKIP"), command])
    except Exception:
        log.warning("cache unavailable: %s not kept", key, exc_info=True)


def _send_only(tier, commands):
    """Send `commands`, each of which makes no reply (CLIENT REPLY SKIP before each one
    that would), on this thread's connection; one that is found broken is opened again once."""
    conn = _connection(tier)
    packed = conn.pack_commands(commands)
    try:
        conn.send_packed_command(packed, check_health=False)
    except (RedisConnectionError, RedisTimeoutError, OSError):
        conn.disconnect()
        try:
            conn.send_packed_command(packed, check_health=False)
        except BaseException:
            conn.disconnect()
            raise


# Seconds a process keeps its own copy of what it read from the shared cache.
NEAR_TIMEOUT = 300


def keep_many(values, timeout, tiers=None):
    tiers = tiers or _tiers()
    for tier in tiers:
        try:
            near = tier is not tiers[-1]
            _set_many(tier, values, min(timeout, NEAR_TIMEOUT) if near else timeout)
        except Exception:
            log.warning("cache unavailable: not kept", exc_info=True)
