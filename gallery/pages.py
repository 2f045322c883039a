"""The gallery's side of the page cache (infra/cache.py): what its pages depend on, and
when they are retired.

Cached pages are retired only by changes a visitor can see: a clip published, unpublished,
withdrawn or featured (the model sends `catalogue_changed`), an edit of a published clip,
its themes or captions, and any change to a theme. An upload, a processing step or a review
decision that publishes nothing leaves them alone.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from gallery.filters import page_number
from gallery.models import Caption, Clip, Theme, theme_counts
from gallery.seo import canonical_gallery_query
from gallery.signals import catalogue_changed
from infra.cache import bump_version, per_version


def gallery_themes():
    """The themes with their counts of published clips, once per page version."""
    return per_version("theme-counts", lambda: list(theme_counts()))


def _selected_themes(request):
    known = per_version("theme-slugs", lambda: frozenset(t.slug for t in gallery_themes()))
    return [slug for slug in request.GET.getlist("theme") if slug in known]


def gallery_query(request):
    """The gallery's query in its one spelling (known themes, sorted; a valid page number):
    all that its pages depend on, so stray or repeated parameters share one cached page."""
    return canonical_gallery_query(_selected_themes(request), page_number(request.GET))


def feed_query(request):
    """A feed depends on its themes only."""
    return canonical_gallery_query(_selected_themes(request), 1)


@receiver(catalogue_changed, dispatch_uid="pages-catalogue-changed")
def retire_pages(sender, **kwargs):
    bump_version()


def _is_public(clip_id):
    return Clip.objects.filter(pk=clip_id, status=Clip.Status.PUBLISHED).exists()


# Staff edits (admin, shell) save rows directly; only those of published clips show.
@receiver(post_save, sender=Clip, dispatch_uid="pages-clip-save")
@receiver(post_delete, sender=Clip, dispatch_uid="pages-clip-delete")
def clip_saved(sender, instance, raw=False, **kwargs):
    if not raw and instance.status == Clip.Status.PUBLISHED:
        catalogue_changed.send(sender=Clip)


@receiver(post_save, sender=Caption, dispatch_uid="pages-caption-save")
@receiver(post_delete, sender=Caption, dispatch_uid="pages-caption-delete")
def caption_saved(sender, instance, raw=False, **kwargs):
    if not raw and _is_public(instance.clip_id):
        catalogue_changed.send(sender=Caption)


@receiver(m2m_changed, sender=Clip.themes.through, dispatch_uid="pages-clip-themes")
def themes_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # a theme's clips changed: visible if one of them is published
        visible = action == "post_clear" or any(_is_public(pk) for pk in pk_set or ())
    else:
        visible = instance.status == Clip.Status.PUBLISHED
    if visible:
        catalogue_changed.send(sender=Clip)


# Theme names and order show on every page, whatever the clips.
@receiver(post_save, sender=Theme, dispatch_uid="pages-theme-save")
@receiver(post_delete, sender=Theme, dispatch_uid="pages-theme-delete")
def theme_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        catalogue_changed.send(sender=Theme)
