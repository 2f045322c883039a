"""Pages assembled by joining strings, not by the template engine.

A page's shell is everything around what changes from one page to the next: the header,
the filters, the language switcher, the footer. It is rendered once through the page's own
template with a marker in each slot (the cards, the page number, the query in its links, the
CSP nonce), split at the markers and kept: in this process, and in the shared cache beside
the fragments. A page is then its shell with the slots filled: no template is rendered for a
page whose shell and fragments are kept. The nonce is a slot like any other, filled from
the request, so each answer keeps its own.

A gallery shell is kept per language, origin, theme selection, order, theme counts, total
and place in the pages (first, middle, last); a clip page's per clip content (its body
fragment's key) and language. Keys also carry the release (templates, translations, static
file names), so a deploy starts new shells.
"""

import logging
import re
import secrets
from functools import lru_cache

from django.middleware.csp import get_nonce
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from gallery import fragments
from gallery.templatetags.seo import grouped
from infra.cache import keep_many, read_many

log = logging.getLogger(__name__)

# Markers exist only while a shell is rendered and split in this process; random, so that no
# text a visitor or an owner typed (a clip's title) can spell one. Hex and letters only: they
# pass unchanged through HTML escaping and URL quoting.
_TOKEN = "s" + secrets.token_hex(8)
_SLOTS = re.compile(f"{_TOKEN}([a-z0-9]+?){_TOKEN}")
# Shells this process keeps without asking the cache (a few KB each).
_NEAR_LIMIT = 2048
_near = {}


def forget_near():
    _near.clear()


def slot(name):
    return mark_safe(f"{_TOKEN}{name}{_TOKEN}")  # noqa: S308  # nosec B308 B703 - hex and letters


def _split(html):
    """[text, slot name, text, slot name, ..., text]."""
    return tuple(_SLOTS.split(html))


def fill(pieces, values):
    """The shell with each slot replaced by its (already escaped) value."""
    out = list(pieces)
    for i in range(1, len(out), 2):
        out[i] = values[out[i]]
    return "".join(out)


def _shell(key, make, cards=()):
    """The shell kept under `key`, or made (make() gives what is kept: the pieces of the
    HTML with markers, _split()) and kept; and the cards of `cards`
    (fragments.card_keys()), read in the same cache read."""
    pieces = _near.get(key)
    card_keys = [card_key for card_key, _clip, _eager in cards]
    if pieces is None:
        found = read_many([key, *card_keys])
        pieces = found.get(key)
        if pieces is None:
            log.debug("rendering page shell %s", key)
            pieces = make()
            keep_many({key: pieces}, timeout=fragments.FRAGMENT_TIMEOUT)
        if len(_near) >= _NEAR_LIMIT:
            _near.clear()
        _near[key] = pieces
    else:
        found = read_many(card_keys) if card_keys else {}
    return pieces, fragments.cards_from(cards, found)


def _nonce(request, pieces):
    # Read only when the page uses it: reading it puts it in the CSP header.
    return str(get_nonce(request)) if "nonce" in pieces[1::2] else ""


# Numbers no catalogue reaches stand for a gallery page's numbers while its shell is
# rendered (the template groups their digits the active language's way); each is then
# replaced by a slot. All nine digits long: none is a part of another.
_NUMBER, _TOTAL, _PAGES, _THEME_COUNT = 987_654_321, 987_654_322, 987_654_323, 987_654_330


class _ShellPaginator:
    def __init__(self, page):
        count = page.paginator.count
        # 0 and 1 choose their own plural form and no pager: kept as they are.
        self.count = count if count < 2 else _TOTAL
        self.num_pages = _PAGES


class _ShellPage:
    """Stands for a gallery page while its shell is rendered: the same place in the pages
    (previous? next? empty?), its numbers markers."""

    def __init__(self, page):
        self.paginator = _ShellPaginator(page)
        self.number = _NUMBER
        self.object_list = [None] if page.object_list else []
        self._previous, self._next = page.has_previous(), page.has_next()

    def has_previous(self):
        return self._previous

    def has_next(self):
        return self._next

    def has_other_pages(self):
        return self._previous or self._next


class _ShellTheme:
    def __init__(self, theme, i):
        self.slug, self.label, self.published_count = theme.slug, theme.label, _THEME_COUNT + i


def _grouped(number):
    return _grouped_in(get_language(), number)


@lru_cache(maxsize=8192)
def _grouped_in(language, number):
    return str(conditional_escape(grouped(number)))


def gallery(request, origin, template, context):
    """A gallery page (or its results partial, `template` "...#results") from its shell.
    `context` is what the template would be given but its cards (the page's rows give them);
    its page-specific values become slots.
    A shell serves every page of a selection at the same place in the pages (first, middle,
    last), whatever the counts: a publish changes counts, not shells."""
    page, themes = context["page"], context["themes"]
    total = page.paginator.count
    key = fragments._key(
        "gallery-shell",
        get_language(),
        origin,
        template,
        sorted(set(context["selected"])),
        context["order"],
        [(t.slug, t.label) for t in themes],
        min(total, 2),
        bool(page.object_list),
        page.has_previous(),
        page.has_next(),
    )

    def render():
        shell_context = context | {
            "page": _ShellPage(page),
            "themes": [_ShellTheme(theme, i) for i, theme in enumerate(themes)],
            "cards": [slot("cards")],
            "canonical_query": slot("query"),
            "previous_query": page.has_previous() and slot("previous"),
            "next_query": page.has_next() and slot("next"),
            "csp_nonce": slot("nonce"),
        }
        html = render_to_string(template, shell_context, request)
        numbers = {_NUMBER: "number", _TOTAL: "total", _PAGES: "pages"}
        numbers |= {_THEME_COUNT + i: f"theme{i}" for i in range(len(themes))}
        for number, name in numbers.items():
            html = html.replace(_grouped(number), slot(name))
        return html

    wanted = fragments.card_keys(page.object_list, eager_first=True)
    pieces, cards = _shell(key, lambda: _split(render()), wanted)
    values = {
        "cards": "".join(cards),
        "query": conditional_escape(context["canonical_query"]),
        "previous": conditional_escape(context["previous_query"] or ""),
        "next": conditional_escape(context["next_query"] or ""),
        "number": _grouped(page.number),
        "total": _grouped(total),
        "pages": _grouped(page.paginator.num_pages),
        "nonce": _nonce(request, pieces),
    }
    values |= {f"theme{i}": _grouped(theme.published_count) for i, theme in enumerate(themes)}
    return fill(pieces, values)


def clip_page(request, origin, clip, related, *, angle=None):
    """A clip's page opening on `angle` (a ClipAngle, None for the leading one): its shell
    (all but the related clips' cards) is kept per clip content, angle and language, like
    its body."""
    key = fragments._key("clip-shell", fragments.body_key(clip, origin, angle), bool(related))

    def make():
        return _split(_clip_shell(request, origin, clip, related, angle))

    pieces, cards = _shell(key, make, fragments.card_keys(related))
    return fill(pieces, {"related": "".join(cards), "nonce": _nonce(request, pieces)})


def listed_clip_page(request, origin, listed, related, read_clip):
    """(slug, HTML) of the page of a clip the catalogue lists (pages.ListedClip: no captions,
    no angles), its shell kept under the clip's id and row version, its themes and the
    language: its row is read (read_clip() gives the Clip) only to render a shell not kept.
    The slug (of its title) comes with the shell, for the page's canonical address."""
    key = fragments._key(
        "listed-clip-shell",
        get_language(),
        origin,
        listed.pk,
        listed.stamp,
        [(theme.pk, theme.slug, theme.label) for theme in listed.themes],
        bool(related),
    )

    def make():
        clip = read_clip()
        return clip.slug, _split(_clip_shell(request, origin, clip, related, None))

    (slug, pieces), cards = _shell(key, make, fragments.card_keys(related))
    return slug, fill(pieces, {"related": "".join(cards), "nonce": _nonce(request, pieces)})


def _clip_shell(request, origin, clip, related, angle):
    """A clip page's HTML with markers for its related cards and the CSP nonce."""
    context = {
        "clip": clip,
        "canonical_path": clip.get_absolute_url(),
        "body": fragments.body(request, clip, origin, angle=angle),
        "angle": angle,
        "related": [None] if related else [],
        "related_cards": [slot("related")],
        "csp_nonce": slot("nonce"),
    }
    return render_to_string("gallery/clip_detail.html", context, request)
