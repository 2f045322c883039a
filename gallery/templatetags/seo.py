from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import get_language

from gallery import seo

register = template.Library()


@register.inclusion_tag("includes/seo_head.html", takes_context=True)
def seo_head(context, path=None, query=""):
    """Canonical URL and hreflang alternates (with x-default) of the page at `path` + `query`."""
    request = context["request"]
    path = path or request.path
    links = seo.alternates(request, path, query)
    by_code = {link["code"]: link["url"] for link in links}
    return {
        "canonical": by_code.get(get_language(), request.build_absolute_uri(path + query)),
        "alternates": links,
        "x_default": by_code[settings.LANGUAGE_CODE],
    }


@register.inclusion_tag("includes/language_switcher.html", takes_context=True)
def language_switcher(context):
    """Links to this page, with its filters, in every language; each named in itself.

    The page's address is its canonical one when the view gives it (`canonical_path`: a clip
    page kept for every address of the clip), and its filters come in their canonical
    spelling (the gallery's `canonical_query`), never as the visitor typed them: cached
    pages depend on nothing else.
    """
    request = context["request"]
    query = context.get("canonical_query", "")
    current = get_language()
    return {
        "current": current,
        "current_name": seo.language_name(current),
        "languages": seo.alternates(request, context.get("canonical_path") or request.path),
        "query": query,
    }


@register.simple_tag(takes_context=True)
def json_ld(context, data):
    # The nonce is lazy and falsy until first read: reading it here puts it in the CSP header.
    nonce = context.get("csp_nonce")
    return seo.json_ld_script(data, nonce="" if nonce is None else str(nonce))


@register.simple_tag(takes_context=True)
def video_object(context, clip):
    return seo.video_object(context["request"], clip)


@register.simple_tag(takes_context=True)
def open_graph(context, clip):
    return seo.open_graph(context["request"], clip)


@register.simple_tag(takes_context=True)
def share_links(context, clip):
    return seo.share_links(clip, context["request"].build_absolute_uri(clip.get_absolute_url()))


@register.simple_tag(takes_context=True)
def embed_code(context, clip):
    return seo.embed_html(context["request"], clip)[0]


@register.simple_tag(takes_context=True)
def absolute_url(context, url):
    return seo.absolute(context["request"], url)


@register.filter
def grouped(number):
    """An integer with the active language's digit grouping (1 234 in French, 1,234 in English)."""
    return number_format(number, force_grouping=True)


@register.filter
def whole_seconds(seconds):
    """A duration as a whole number of seconds, at least 1 (what video sitemaps accept)."""
    try:
        return max(1, round(float(seconds)))
    except (TypeError, ValueError):
        return 1


@register.filter
def iso_datetime(value):
    """An aware datetime as ISO 8601 to the second, with its offset (for datetime="" and feeds)."""
    return seo.iso_datetime(value)
