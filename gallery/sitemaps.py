"""What crawlers read first: /robots.txt and /sitemap.xml (pages in every language, and each
published clip with a Google video entry)."""

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from gallery.models import Clip


class LocalizedSitemap(Sitemap):
    """One <url> a language, each listing the others (and x-default) as alternates."""

    i18n = True
    alternates = True

    def get_urls(self, page=1, site=None, protocol=None):
        urls = super().get_urls(page, site, protocol)
        # Django's own x-default drops the language prefix, which this site always has.
        for url in urls:
            default = [a for a in url["alternates"] if a["lang_code"] == settings.LANGUAGE_CODE]
            url["alternates"] += [
                {"location": a["location"], "lang_code": "x-default"} for a in default
            ]
        return urls


class PageSitemap(LocalizedSitemap):
    changefreq = "daily"

    def items(self):
        return ["gallery:index", "submissions:submit", "submissions:terms"]

    def location(self, name):
        return reverse(name)


class ClipSitemap(LocalizedSitemap):
    def items(self):
        return Clip.objects.published().order_by("-published_at", "-pk")

    def lastmod(self, clip):
        return clip.published_at


SITEMAPS = {"pages": PageSitemap, "clips": ClipSitemap}


@require_safe
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Allow: /",
        "Disallow: /admin/",
        # Owners' private status pages and the page after sending: nothing to index.
        "Disallow: /*/my/",
        "Disallow: /*/submit/thanks/",
        "",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
