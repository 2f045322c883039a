"""What search engines, feed readers and social sites read about a page: canonical and
alternate URLs, JSON-LD, Open Graph, share links and oEmbed sizes. Plain functions of a
request and a clip; templates and views only call them."""

import json
import math
from functools import lru_cache
from urllib.parse import quote, urlencode

from django.conf import settings
from django.urls import reverse, translate_url
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _

SITE_NAME = "La vie en Model 3"
# Open Graph wants a locale, not a language: the country where most of the speakers live.
OG_LOCALES = {
    "fr": "fr_FR",
    "en": "en_GB",
    "de": "de_DE",
    "nl": "nl_NL",
    "it": "it_IT",
    "es": "es_ES",
}
# The size an embedded player gets when the consumer asks for none.
EMBED_DEFAULT_WIDTH = 640


def language_name(code):
    """A language named in itself ("Deutsch", "Español"), as a language switcher shows it."""
    name = get_language_info(code)["name_local"]
    return name[:1].upper() + name[1:]


def canonical_gallery_query(selected, page_number, order=""):
    """The gallery's query in one spelling: sorted distinct themes, the order when it is not
    the newest first, and the page after the first. A gallery page spells six of them."""
    return _canonical_gallery_query(tuple(sorted(set(selected))), page_number, order)


@lru_cache(maxsize=4096)
def _canonical_gallery_query(themes, page_number, order):
    params = [("theme", slug) for slug in themes]
    if order == "popular":
        params.append(("order", order))
    if page_number and page_number > 1:
        params.append(("page", page_number))
    return f"?{urlencode(params)}" if params else ""


def alternates(request, path, query=""):
    """The same page in each language: [{"code", "name", "path", "url"}], for hreflang links and
    the language switcher (worked out once per request: translating a URL resolves it)."""
    known = request.__dict__.setdefault("_alternates", {})
    if (path, query) not in known:
        known[path, query] = _alternates(request, path, query)
    return known[path, query]


def _alternates(request, path, query):
    links = []
    for code, _name in settings.LANGUAGES:
        translated = translate_url(path, code)
        links.append(
            {
                "code": code,
                "name": language_name(code),
                "path": translated,
                "url": request.build_absolute_uri(translated + query),
            }
        )
    return links


def iso_duration(seconds):
    """Seconds as an ISO 8601 duration: 65.4 -> "PT1M5S"."""
    total = max(0, round(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}H" if hours else "",
        f"{minutes}M" if minutes else "",
        f"{secs}S" if secs or not total else "",
    ]
    return "PT" + "".join(parts)


def iso_datetime(value):
    """ISO 8601 to the second in the site's time zone: 2026-03-05T10:00:00+01:00."""
    return timezone.localtime(value).replace(microsecond=0).isoformat() if value else ""


def absolute(request, url):
    return request.build_absolute_uri(url) if url else ""


def embed_url(request, clip):
    return request.build_absolute_uri(reverse("embed", kwargs={"pk": clip.pk}))


def thumbnail_urls(request, clip):
    """The poster first, then every JPEG thumbnail, widest first."""
    urls = [absolute(request, clip.poster.url)] if clip.poster else []
    urls += [
        absolute(request, clip._url(t["jpeg"])) for t in reversed(clip.thumbnails) if t.get("jpeg")
    ]
    return urls


def video_object(request, clip):
    """schema.org VideoObject for the clip page (https://schema.org/VideoObject)."""
    data = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": clip.title,
        "description": clip.description or clip.title,
        "thumbnailUrl": thumbnail_urls(request, clip),
        "uploadDate": iso_datetime(clip.published_at),
        "duration": iso_duration(clip.duration),
        "contentUrl": absolute(request, clip.video.url) if clip.video else "",
        "embedUrl": embed_url(request, clip),
        "inLanguage": clip.language,
        "url": absolute(request, clip.get_absolute_url()),
        "width": clip.width,
        "height": clip.height,
        "author": {"@type": "Person", "name": clip.credit_name},
        "publisher": {"@type": "Organization", "name": SITE_NAME},
    }
    return {key: value for key, value in data.items() if value not in ("", None, [])}


_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def json_ld_script(data, nonce=""):
    """A <script type="application/ld+json"> element holding `data`, safe to put in HTML."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Escaped as json_script does: the data cannot close the element or open a comment.
    payload = mark_safe(payload.translate(_JSON_SCRIPT_ESCAPES))  # noqa: S308  # nosec B308 B703 - escaped above  # nosec B308 B703 - escaped
    if nonce:
        return format_html(
            '<script type="application/ld+json" nonce="{}">{}</script>', nonce, payload
        )
    return format_html('<script type="application/ld+json">{}</script>', payload)


def open_graph(request, clip):
    """Open Graph and Twitter card properties for a clip page, as (attribute, name, content)."""
    language = get_language()
    page = absolute(request, clip.get_absolute_url())
    poster = absolute(request, clip.poster.url) if clip.poster else ""
    video = absolute(request, clip.video.url) if clip.video else ""
    description = clip.description or clip.title
    width, height = clip.width or 1280, clip.height or 720
    player_width, player_height = oembed_size(clip, None, None)
    tags = [
        ("property", "og:site_name", SITE_NAME),
        ("property", "og:type", "video.other"),
        ("property", "og:title", clip.title),
        ("property", "og:description", description),
        ("property", "og:url", page),
        ("property", "og:locale", OG_LOCALES.get(language, language)),
        *[
            ("property", "og:locale:alternate", OG_LOCALES[code])
            for code, _n in settings.LANGUAGES
            if code != language
        ],
        ("property", "og:image", poster),
        ("property", "og:image:alt", clip.title),
        ("property", "og:video", video),
        *([("property", "og:video:secure_url", video)] if video.startswith("https:") else []),
        ("property", "og:video:type", "video/mp4"),
        ("property", "og:video:width", str(width)),
        ("property", "og:video:height", str(height)),
        ("name", "twitter:card", "player"),
        ("name", "twitter:title", clip.title),
        ("name", "twitter:description", description),
        ("name", "twitter:image", poster),
        ("name", "twitter:player", embed_url(request, clip)),
        ("name", "twitter:player:width", str(player_width)),
        ("name", "twitter:player:height", str(player_height)),
    ]
    return [(attr, name, content) for attr, name, content in tags if content]


def share_links(clip, url):
    """Plain share links (no scripts from the sites they point to), as (name, href)."""
    text = clip.title
    return [
        (
            _("E-mail"),
            "mailto:?" + urlencode({"subject": text, "body": f"{text}\n{url}"}, quote_via=_quote),
        ),
        ("WhatsApp", "https://wa.me/?" + urlencode({"text": f"{text} {url}"}, quote_via=_quote)),
        (
            "X",
            "https://twitter.com/intent/tweet?"
            + urlencode({"url": url, "text": text}, quote_via=_quote),
        ),
        (
            "Facebook",
            "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}, quote_via=_quote),
        ),
    ]


def _quote(value, safe="", encoding=None, errors=None):
    # %20 rather than "+": mail programs do not turn "+" back into spaces.
    return quote(value, safe=safe, encoding=encoding, errors=errors)


def oembed_size(clip, maxwidth, maxheight):
    """The player's size: the default width at the clip's aspect ratio, shrunk to fit the limits."""
    ratio = (clip.height / clip.width) if clip.width and clip.height else 9 / 16
    width = min(EMBED_DEFAULT_WIDTH, clip.width or EMBED_DEFAULT_WIDTH) if ratio <= 1 else 360
    height = width * ratio
    if maxwidth and width > maxwidth:
        width, height = maxwidth, maxwidth * ratio
    if maxheight and height > maxheight:
        width, height = maxheight / ratio, maxheight
    return max(1, math.floor(width)), max(1, math.floor(height))


def embed_html(request, clip, maxwidth=None, maxheight=None):
    """The <iframe> other sites paste (or get from oEmbed), with its width and height."""
    width, height = oembed_size(clip, maxwidth, maxheight)
    html = format_html(
        '<iframe src="{}" width="{}" height="{}" title="{}" allow="fullscreen; picture-in-picture" '
        'allowfullscreen loading="lazy" style="border:0"></iframe>',
        embed_url(request, clip),
        width,
        height,
        clip.title,
    )
    return html, width, height
