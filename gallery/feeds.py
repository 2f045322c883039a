"""RSS and Atom feeds of the newest published clips, filtered like the gallery (`?theme=`)."""

from dataclasses import dataclass, field

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure
from django.utils.html import escape
from django.utils.translation import gettext as _

from gallery.filters import GalleryFilter
from gallery.models import Clip, Theme
from gallery.seo import SITE_NAME, canonical_gallery_query

FEED_SIZE = 50


@dataclass
class FeedQuery:
    """One request's feed: the themes asked for. Feed instances are shared between requests,
    so everything that depends on the request travels in this object."""

    request: HttpRequest
    themes: list = field(default_factory=list)

    @property
    def slugs(self):
        return [theme.slug for theme in self.themes]


class ClipFeed(Feed):
    def get_object(self, request):
        themes = list(Theme.objects.order_by("order", "slug"))
        selected = GalleryFilter(request.GET, themes=themes).selected()
        return FeedQuery(request, [theme for theme in themes if theme.slug in selected])

    def title(self, query):
        if query.themes:
            return f"{SITE_NAME}: {', '.join(theme.label for theme in query.themes)}"
        return SITE_NAME

    def link(self, query):
        return reverse("gallery:index") + canonical_gallery_query(query.slugs, 1)

    def feed_url(self, query):
        return query.request.path + canonical_gallery_query(query.slugs, 1)

    def description(self, query):
        return _("Short clips of everyday life with a Model 3, sent by owners across Europe.")

    def items(self, query):
        clips = (
            Clip.objects.published()
            .with_any_theme(query.slugs)
            .order_by("-published_at", "-pk")
            .prefetch_related("themes")[:FEED_SIZE]
        )
        for clip in clips:
            # Absolute URLs need the request, which item methods do not get.
            clip.feed_video_url = (
                query.request.build_absolute_uri(clip.video.url) if clip.video else ""
            )
            clip.feed_video_length = clip.size or 0
        return clips

    def item_title(self, clip):
        return clip.title

    def item_description(self, clip):
        # Readers take a description as HTML (Atom says type="html"): the owner's text is text.
        return escape(clip.description or clip.title)

    def item_pubdate(self, clip):
        return clip.published_at

    def item_updateddate(self, clip):
        return clip.published_at

    def item_author_name(self, clip):
        return clip.credit_name

    def item_categories(self, clip):
        return [theme.label for theme in clip.themes.all()]

    def item_enclosures(self, clip):
        if not clip.feed_video_url:
            return []
        return [Enclosure(clip.feed_video_url, str(clip.feed_video_length), "video/mp4")]


class AtomClipFeed(ClipFeed):
    feed_type = Atom1Feed

    def subtitle(self, query):
        return self.description(query)
