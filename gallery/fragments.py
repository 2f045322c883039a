"""Clip cards and clip page bodies, rendered once and kept in the cache (shared by every
process and node with CACHE_URL).

A fragment's key is a digest of everything it shows: the clip's columns (and, for a page
body, its themes and captions), the language, the templates, and for a body the origin its
absolute links use. An edit of one clip changes its keys, so that clip alone is rendered
again, at once and on every node, and nothing has to be retired; stale fragments age out.
Fragments never hold a CSP nonce: they are rendered without the request's nonce.
Pages are put together from these fragments and a shell (gallery/shells.py) by joining
strings; every key also carries the release (templates, translations, static file names).
"""

import hashlib
import json
import logging
from functools import cache
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import get_template, render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from gallery.models import Clip
from infra.cache import keep_many, read_many

log = logging.getLogger(__name__)

# Kept for a week at most; the cache also drops the least used ones first.
FRAGMENT_TIMEOUT = 7 * 24 * 3600
CARD_TEMPLATE = "includes/clip_card.html"
BODY_TEMPLATE = "gallery/clip_body.html"
# The columns a card shows: the gallery fetches only these.
CARD_FIELDS = (
    "id",
    "title",
    "language",
    "thumbnails",
    "duration",
    "featured",
    "credit_name",
    "credit_country",
)
_BODY_TEMPLATES = (
    BODY_TEMPLATE,
    "includes/player.html",
    "includes/share.html",
    "includes/telemetry_strip.html",
)


@cache
def release():
    """What a deploy changes besides the code: templates, translations, static file names."""
    digest = hashlib.blake2s(digest_size=8)
    folders = [Path(d) for t in settings.TEMPLATES for d in t.get("DIRS", ())]
    for folder in folders:
        for path in sorted(folder.rglob("*.html")):
            digest.update(path.read_bytes())
    for folder in settings.LOCALE_PATHS:
        for path in sorted(Path(folder).rglob("*.mo")):
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(str(getattr(staticfiles_storage, "manifest_hash", "")).encode())
    return digest.hexdigest()


@cache
def _templates_digest(names):
    """Templates change with a deploy: new templates, new keys (old fragments age out)."""
    sources = [get_template(name).template.source for name in names]
    return hashlib.blake2s("\0".join(sources).encode(), digest_size=8).hexdigest()


def _key(kind, *parts):
    payload = json.dumps([release(), *parts], default=str, separators=(",", ":"))
    return f"frag:{kind}:" + hashlib.blake2s(payload.encode(), digest_size=16).hexdigest()


class CardRef(NamedTuple):
    """A published clip's card named by the clip's id and row version (gallery.pages:
    ROW_VERSION): kept under them, so its row (CARD_FIELDS) is read only to render it,
    unless it came along."""

    pk: int
    stamp: int
    row: tuple | None = None


def _card_values(clip):
    """What a card's key is made of: a CardRef, a row of CARD_FIELDS as the gallery reads
    it, or a clip's columns."""
    if isinstance(clip, CardRef):
        return ("ref", clip.pk, clip.stamp)
    if isinstance(clip, tuple):
        return clip
    return tuple(clip.__dict__.get(name) for name in CARD_FIELDS)


def _card_key(language, values):
    """The key of a card: a digest of the release, the card template, the language and the
    card's columns. A row seen before in this process (the same clip unchanged) costs a
    dictionary lookup; a Clip's columns (its thumbnails a list) are digested each time."""
    try:
        return _card_keys_known[language, values]
    except KeyError:
        pass
    except TypeError:  # unhashable: a Clip's columns
        return _card_digest(language, values)
    if len(_card_keys_known) >= _CARD_KEYS_KNOWN_LIMIT:
        _card_keys_known.clear()
    key = _card_keys_known[language, values] = _card_digest(language, values)
    return key


# Card keys this process worked out, by (language, row): some 600 bytes each.
_CARD_KEYS_KNOWN_LIMIT = 20_000
_card_keys_known = {}


def _card_digest(language, values):
    # repr, not JSON: the values are plain Python (str, float, bool, lists and dicts from
    # JSON) whose repr is the same in every process.
    payload = repr((release(), _templates_digest((CARD_TEMPLATE,)), language, values))
    return "frag:card:" + hashlib.blake2s(payload.encode(), digest_size=16).hexdigest()


# How a card's image loads (the card template): lazily, but for the first card of a page,
# which is likely the page's largest image in view (LCP). One card is kept per clip and
# language; a page's first is the kept one with its image asked for at once. A publish
# shifts every page by one clip: each page then has another first card, which costs a
# replacement, not a render.
_LAZY_IMAGE = 'loading="lazy" decoding="async" '
_EAGER_IMAGE = 'fetchpriority="high" '


def _asked_at_once(card):
    return card.replace(_LAZY_IMAGE, _EAGER_IMAGE, 1)


def card_keys(clips, *, eager_first=False):
    """(key, clip, eager) for each clip's card, to read with other keys in one cache read."""
    language = get_language()
    wanted = []
    for i, clip in enumerate(clips):
        eager = eager_first and i == 0
        wanted.append((_card_key(language, _card_values(clip)), clip, eager))
    return wanted


def cards(clips, *, eager_first=False):
    """Each clip's card (an <li>), from the cache or rendered and kept: one cache read.
    `clips` are Clip objects or rows of CARD_FIELDS (the gallery reads rows: cheaper)."""
    wanted = card_keys(clips, eager_first=eager_first)
    return cards_from(wanted, read_many([key for key, _clip, _eager in wanted]) if wanted else {})


def cards_from(wanted, found):
    """The cards of card_keys()'s `wanted`: those in `found` (what the cache gave), the
    others rendered and kept (the rows of those named by a CardRef read in one query; a
    clip deleted since has no card)."""
    missing = [(key, clip) for key, clip, _eager in wanted if key not in found]
    refs = [clip.pk for _key, clip in missing if isinstance(clip, CardRef) and clip.row is None]
    rows = {}
    if refs:
        read = Clip.objects.filter(pk__in=refs).order_by().values_list(*CARD_FIELDS)
        rows = {row[0]: row for row in read}
    rendered = {}
    for key, clip in missing:
        if isinstance(clip, CardRef) and (clip := clip.row or rows.get(clip.pk)) is None:
            continue
        if key in rendered:
            continue
        if isinstance(clip, tuple):
            columns = dict(zip(CARD_FIELDS, clip, strict=True))
            if isinstance(columns["thumbnails"], str):  # read as its JSON text
                columns["thumbnails"] = json.loads(columns["thumbnails"])
            clip = Clip(**columns)
        log.debug("rendering card %s", key)
        rendered[key] = render_to_string(CARD_TEMPLATE, {"clip": clip, "eager": False})
    if rendered:
        keep_many(rendered, timeout=FRAGMENT_TIMEOUT)
        found = found | rendered
    # Rendered by our template.
    return [
        mark_safe(_asked_at_once(found[key]) if eager else found[key])  # noqa: S308  # nosec B308 B703
        for key, _clip, eager in wanted
        if key in found
    ]


def body_key(clip, origin, angle=None):
    """The key of a clip's body: everything it shows (its columns, themes, captions and
    angles), the angle it opens on, the language and the origin of its absolute links.
    Pages built around the body extend it."""
    return _key(
        "body",
        get_language(),
        origin,
        _templates_digest(_BODY_TEMPLATES),
        {k: v for k, v in clip.__dict__.items() if not k.startswith("_")},
        [(t.pk, t.slug, t.label) for t in clip.themes.all()],
        [(c.pk, c.language, c.label, c.file.name) for c in clip.captions.all()],
        [(a.pk, a.camera, a.order, a.video.name) for a in clip.angles.all()],
        angle.camera if angle else "",
    )


def body(request, clip, origin, *, angle=None):
    """The clip page's <article> (player, angles, text, themes, share links), opening on
    `angle` (a ClipAngle; None for the leading one). Its absolute links use `origin`; with
    None (a host kept out of the cache) it is rendered and not kept."""
    context = {"clip": clip, "angle": angle, "request": request, "LANGUAGE_CODE": get_language()}
    if origin is None:
        return mark_safe(render_to_string(BODY_TEMPLATE, context))  # noqa: S308  # nosec B308 B703
    key = body_key(clip, origin, angle)
    html = read_many([key]).get(key)
    if html is None:
        log.debug("rendering clip body %s", key)
        html = render_to_string(BODY_TEMPLATE, context)
        keep_many({key: html}, timeout=FRAGMENT_TIMEOUT)
    return mark_safe(html)  # noqa: S308  # nosec B308 B703 - rendered by our template
