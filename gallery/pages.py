"""The gallery's side of the page cache (infra/cache.py): what its pages depend on, when
they are retired, and the one query a gallery page needs (gallery_page; its cards come from
gallery/fragments.py, the page around them from gallery/shells.py).

Once per page version each process has the catalogue (every published clip's id in the
gallery's order with a bit per theme, and on PostgreSQL its row version; with a shared
cache read once, by the process that made the change): a theme selection's list is then a
filter in memory, a page of it one query by primary key or none, its total the list's
length.

Cached pages are retired only by changes a visitor can see: a clip published, unpublished,
withdrawn or featured (the model sends `catalogue_changed`), an edit of a published clip,
its themes or captions, and any change to a theme. An upload, a processing step or a review
decision that publishes nothing leaves them alone.
"""

import hashlib
import json
from array import array
from functools import lru_cache
from itertools import compress, islice
from typing import NamedTuple

import numpy
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections, router
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import Http404
from django.utils.translation import get_language

from gallery import fragments
from gallery.filters import POPULAR, page_number
from gallery.models import Caption, Clip, ClipAngle, Theme, theme_counts
from gallery.seo import canonical_gallery_query
from gallery.signals import catalogue_changed
from infra.cache import (
    bump_version,
    current_version,
    has_shared_cache,
    keep_shared,
    pages_retired,
    per_version,
    per_version_known,
    read_shared,
)


def gallery_themes():
    """The themes with their counts of published clips, once per page version (with a shared
    cache, once for every process)."""
    return per_version("theme-counts", lambda: list(theme_counts()), shared=True)


def first_gallery_page_of_version():
    """True for the first gallery page this process serves under the current page version
    (it reads the themes, which leaves one query for its clips), then False."""
    if per_version_known("gallery-served") is None:
        per_version("gallery-served", lambda: True)
        return True
    return False


class KnownCountPaginator(Paginator):
    """A paginator told its total, so it does not count again."""

    def __init__(self, object_list, per_page, *, count):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count


def _selection_total(selected):
    """The number of published clips with any of `selected`, if known without a query: a
    theme's kept count, or a total already counted under this page version."""
    if len(selected) == 1:
        return next(t.published_count for t in gallery_themes() if t.slug == selected[0])
    return per_version_known("count:" + ",".join(sorted(selected)))


# One bit per theme in a catalogue's masks, summed in a signed 64-bit integer by the database.
MAX_THEMES = 63


class Catalogue(NamedTuple):
    """Every published clip in the gallery's order (or a selection of them): their ids
    (array of int64), theme bits (array of uint64, bit i for the i-th of gallery_themes())
    and, on PostgreSQL, their row versions (array of int64, see ROW_VERSION; None
    elsewhere)."""

    ids: array
    masks: array
    stamps: array | None


def _catalogue(*, may_read=True):
    """The Catalogue of the current page version, read in one query (one row per clip and
    theme): a selection's list is then a filter in memory, not a query of its own. With a
    shared cache the first process to read it under a page version (as a rule the one that
    made the change, see prepare_page_version) keeps it there (16 to 24 bytes a clip) and
    the others take it from there: after a publish, N processes make one query, not N.
    None when it is not kept there and not `may_read`."""
    themes = gallery_themes()
    key = f"catalogue:{current_version()}:" + ",".join(str(theme.pk) for theme in themes)
    if (kept := read_shared(key)) is not None and len(kept) == len(Catalogue._fields):
        arrays = [array(code) for code in ("q", "Q", "q")]
        for column, data in zip(arrays, kept, strict=True):
            if data is not None:
                column.frombytes(data)
        return Catalogue(*arrays[:2], arrays[2] if kept[2] is not None else None)
    if not may_read:
        return None
    catalogue = _read_catalogue(themes)
    kept = tuple(column.tobytes() if column is not None else None for column in catalogue)
    keep_shared(key, kept, timeout=CATALOGUE_TIMEOUT)
    return catalogue


# A catalogue is kept for one page version; a version rarely lasts this long.
CATALOGUE_TIMEOUT = 24 * 3600

# A row's version on PostgreSQL: the transaction that wrote it and the command within it
# (its system columns xmin and cmin, new with every UPDATE whatever sent it, even twice in one
# transaction: https://www.postgresql.org/docs/current/ddl-system-columns.html), one in the
# high 32 bits and one in the low (a transaction id past 2**31 makes it negative: bits, not
# an overflow; PostgreSQL shifts without a check). Cards are kept under it (fragments.CardRef):
# a cold gallery page then reads no row of a clip unchanged since its card was rendered
# (_cards_of).
ROW_VERSION = {
    "postgresql": '("gallery_clip"."xmin"::text::bigint << 32)'
    ' | "gallery_clip"."cmin"::text::bigint'
}


def _read_catalogue(themes):
    """The published clips' Catalogue, in one query."""
    bit = [When(theme_id=theme.pk, then=Value(1 << i)) for i, theme in enumerate(themes)]
    # Summed, not OR-ed: a clip has each theme once, and SQLite has no bitwise aggregate.
    per_clip = (
        Clip.themes.through.objects.order_by()
        .values("clip_id")
        .annotate(bits=Cast(Sum(Case(*bit, default=Value(0))), BigIntegerField()))
        .values_list("clip_id", "bits")
    )
    published = Clip.objects.published().for_gallery()
    if (stamped := _with_row_version(published)) is not None:
        ids_part = (stamped.values_list("pk", "stamp"), "pk", "stamp")
    else:
        ids_part = (published.values_list("pk"), "pk")
    ids, *stamps, clip_ids, bits = _as_lists(ids_part, (per_clip, "clip_id", "bits"))
    ids = numpy.array(ids, dtype=numpy.int64)
    masks = numpy.zeros(len(ids), dtype=numpy.uint64)
    if clip_ids:
        clip_ids = numpy.array(clip_ids, dtype=numpy.int64)
        order = numpy.argsort(clip_ids)
        clip_ids, bits = clip_ids[order], numpy.array(bits, dtype=numpy.uint64)[order]
        at = numpy.searchsorted(clip_ids, ids).clip(max=len(clip_ids) - 1)
        masks = numpy.where(clip_ids[at] == ids, bits[at], masks)
    return Catalogue(
        array("q", ids.tobytes()),
        array("Q", masks.tobytes()),
        array("q", stamps[0]) if stamps else None,
    )


# How a column of a subquery's rows comes back as one value: an array on PostgreSQL, JSON
# text on SQLite. At 100,000 clips that is 3 times cheaper than a row a clip, whose
# converting by the database driver costs more than the query itself.
_AS_ONE_VALUE = {
    "postgresql": ("array_agg({})", lambda value: value or []),
    "sqlite": ("json_group_array({})", json.loads),
}


def _as_lists(*parts):
    """Each part's columns as lists, in the part's order, in one query: a part is a
    values_list queryset and the names of its columns. The columns of one part are read in
    one pass, so their lists stay aligned."""
    connection = connections[parts[0][0].db]
    if (as_one := _AS_ONE_VALUE.get(connection.vendor)) is None:  # a row a clip
        return [list(zip(*rows, strict=True)) or [()] * len(names) for rows, *names in parts]
    template, decode = as_one
    tables, params = [], []
    for at, (rows, *names) in enumerate(parts):
        sql, part_params = rows.query.sql_with_params()
        columns = ", ".join(
            template.format(f"s.{connection.ops.quote_name(name)}") for name in names
        )
        # The aggregates read the ordered subquery in its order (no join or grouping above).
        tables.append(f"(SELECT {columns} FROM ({sql}) s) p{at}")  # noqa: S608  # nosec B608
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM " + ", ".join(tables), params)  # noqa: S608  # nosec B608
        return [decode(value) for value in cursor.fetchone()]


def gallery_list(selected, *, may_read=True):
    """The Catalogue of a selection's published clips in the gallery's order (its masks
    those of the selection: the bits it asks), from the catalogue kept once per page version
    in this process; None when the catalogue is not read yet and `may_read` is false (the
    page is then one query, its total within it). A page read from the list is one query by
    primary key whatever its depth, or none (_cards_of), and its total is the list's
    length: no count, no OFFSET. Memory: 16 to 24 bytes per published clip, and as much per
    clip of each selection asked for (at most one list per theme selection)."""
    chosen = sorted(set(selected))
    name = "ids:" + ",".join(chosen)
    if (known := per_version_known(name)) is not None:
        return known
    if len(gallery_themes()) > MAX_THEMES:
        return None
    if per_version_known("catalogue") is None and not may_read:
        # Another process may have read it (with a shared cache): no query then.
        if (kept := _catalogue(may_read=False)) is None:
            return None
        per_version("catalogue", lambda: kept)
    catalogue = per_version("catalogue", _catalogue)
    if not chosen:
        return catalogue
    want = sum(1 << i for i, theme in enumerate(gallery_themes()) if theme.slug in chosen)
    return per_version(name, lambda: _with_any(catalogue, want))


def _with_any(catalogue, want):
    """The Catalogue of the clips whose theme bits share one with `want`, in their order:
    numpy over the arrays' own memory, some 0.3 ms at 100,000 clips where a Python loop
    takes 10 (each process does it once per selection and page version)."""
    masks = numpy.frombuffer(catalogue.masks, dtype=numpy.uint64)
    kept = masks & numpy.uint64(want) != 0

    def chosen(column, code):
        return array(code, numpy.frombuffer(column, dtype=column.typecode)[kept].tobytes())

    stamps = catalogue.stamps
    return Catalogue(
        chosen(catalogue.ids, "q"),
        chosen(catalogue.masks, "Q"),
        chosen(stamps, "q") if stamps is not None else None,
    )


def gallery_page(selected, number, order="", *, may_read_catalogue=True):
    """One page of the gallery's clips, as what their cards are made from (_card_source),
    with the selection's total. Newest first, from the catalogue's list (gallery_list) when
    it is read or `may_read_catalogue`; else, and for POPULAR (most watched first), one
    query, the total counted within it (once per page version) when not known."""
    size = settings.GALLERY_PAGE_SIZE
    listed = gallery_list(selected, may_read=may_read_catalogue) if order != POPULAR else None
    if listed is not None:
        paginator = KnownCountPaginator((), size, count=len(listed.ids))
        number = paginator.validate_number(max(1, min(number, paginator.num_pages)))
        at = slice((number - 1) * size, number * size)
        return Page(_cards_of(listed, at), number, paginator)
    matching = Clip.objects.published().with_any_theme(selected)
    ordered = matching.most_watched() if order == POPULAR else matching.for_gallery()
    ordered, columns, card = _card_source(ordered)
    clips = ordered.values_list(*columns)
    total = _selection_total(selected)
    if total is None:
        # All published clips share one status: grouping by it gives one row, the count,
        # which the database works out once for the whole query.
        count = matching.order_by().values("status").annotate(n=Count("pk")).values("n")
        start = (number - 1) * size
        rows = list(ordered.values_list(*columns, Subquery(count))[start : start + size])
        if rows or number == 1:  # else the page is past the end: count, then show the last
            total = rows[0][-1] if rows else 0
            per_version("count:" + ",".join(sorted(selected)), lambda: total)
            rows = [card(row[:-1]) for row in rows]
            return Page(rows, number, KnownCountPaginator(clips, size, count=total))
        total = matching.count()
    paginator = KnownCountPaginator(clips, size, count=total)
    number = paginator.validate_number(max(1, min(number, paginator.num_pages)))
    start = (number - 1) * size
    return Page([card(row) for row in clips[start : start + size]], number, paginator)


def _card_source(queryset):
    """`queryset` with what its clips' cards are made from, the names of those columns, and
    what makes a card's source of a row of them: the card's columns, and on PostgreSQL
    their row version too (a fragments.CardRef: the card is kept under it, as the gallery's
    pages read from the catalogue name it). The columns come along so that a card not yet
    rendered costs no query of its own."""
    if (stamped := _with_row_version(queryset)) is not None:
        return stamped, (*card_columns(), "stamp"), _card_ref
    return queryset, card_columns(), card_row


def _with_row_version(queryset):
    """`queryset` with each clip's row version as `stamp` (ROW_VERSION), or None where its
    database has none."""
    if (row_version := ROW_VERSION.get(connections[queryset.db].vendor)) is None:
        return None
    return queryset.annotate(stamp=RawSQL(row_version, ()))  # noqa: S611  # nosec B611 - a constant


def _card_ref(row):
    return fragments.CardRef(row[0], row[-1], card_row(row[:-1]))


# Stands for the values a prepared query is run with (no clip has a negative id).
_SENTINEL = -987_654_321


@lru_cache(maxsize=64)
def _prepared(alias, kind, n=1):
    """SQL compiled once per database and shape, and where its values go: the ORM's compiling
    costs more than these queries themselves (a page by primary key, a clip by its id)."""
    sentinels = [_SENTINEL - i for i in range(n)]
    if kind == "rows":
        query = (
            Clip.objects.using(alias)
            .filter(pk__in=sentinels)
            .order_by()  # in the caller's order
            .values_list(*card_columns())
        )
    else:  # one table, by primary key: its themes come from the catalogue
        query = (
            Clip.objects.using(alias)
            .published()
            .filter(pk=sentinels[0])
            .order_by()
            .values_list(*_CLIP_COLUMNS)
        )
    compiler = query.query.get_compiler(alias)
    sql, params = compiler.as_sql()
    # What the ORM does to each value read (dates, JSON), done here without it.
    converters = compiler.get_converters([col for col, _sql, _alias in compiler.select])
    return sql, tuple(params), tuple(params.index(s) for s in sentinels), converters


_CLIP_COLUMNS = tuple(field.attname for field in Clip._meta.concrete_fields)


def _params(prepared, values):
    sql, params, at, _converters = prepared
    params = list(params)
    for i, value in zip(at, values, strict=True):
        params[i] = value
    return sql, params


def card_columns():
    """The card's columns as pages read them: the thumbnails as their JSON text (decoded
    only for a card not kept)."""
    return [
        Cast("thumbnails", TextField()) if name == "thumbnails" else name
        for name in fragments.CARD_FIELDS
    ]


def card_row(row):
    """A row of card columns in one form whichever way it was read (its cache key)."""
    pk, title, language, thumbnails, duration, featured, credit_name, credit_country = row
    return (pk, title, language, thumbnails, duration, bool(featured), credit_name, credit_country)


def _cards_of(listed, at):
    """What the cards of the clips at `at` (a slice or a list of positions) in `listed` (a
    Catalogue) are made from: with row versions (PostgreSQL), each clip's id and version
    (fragments.CardRef), whose card is kept under them, so that no row is read unless the
    clip changed; else their rows, in one query by primary key."""
    if isinstance(at, slice):
        ids = listed.ids[at].tolist()
        stamps = listed.stamps[at].tolist() if listed.stamps is not None else None
    else:
        ids = [listed.ids[i] for i in at]
        stamps = [listed.stamps[i] for i in at] if listed.stamps is not None else None
    if stamps is None:
        # By primary key alone: the list holds published clips of this page version.
        return rows_by_pk(ids)
    return [fragments.CardRef(pk, stamp) for pk, stamp in zip(ids, stamps, strict=True)]


def rows_by_pk(pks):
    """Card rows of these clips, in this order (those that exist)."""
    if not pks:
        return []
    alias = router.db_for_read(Clip)
    sql, params = _params(_prepared(alias, "rows", len(pks)), pks)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        found = {row[0]: card_row(row) for row in cursor.fetchall()}
    return [found[pk] for pk in pks if pk in found]


def published_clip(pk, row=None):
    """A published clip for its page, or 404: one query, on its own table by primary key
    (none when `row`, its row as _clip_row read it, is given). Its themes come from the
    catalogue kept for the page version, and whether it has captions or angles from the sets
    kept beside it, so that `clip.themes.all()`, `clip.captions.all()` and
    `clip.angles.all()` read no row unless it has some."""
    if row is None and (row := _clip_row(pk)) is None:
        raise Http404
    alias = router.db_for_read(Clip)
    connection = connections[alias]
    # Made a model as the ORM would (its converters, from_db): a raw queryset costs more
    # than the query.
    row = list(row)
    for at, (converters, expression) in _prepared(alias, "clip")[3].items():
        for converter in converters:
            row[at] = converter(row[at], expression, connection)
    clip = Clip.from_db(alias, _CLIP_COLUMNS, row)
    if (themes := clip_themes(clip.pk)) is not None:
        _prefetched(clip, "themes", Theme, themes)
    with_captions, with_angles = _clips_with_extras()
    if clip.pk not in with_captions:
        _prefetched(clip, "captions", Caption, [])
    if clip.pk not in with_angles:
        _prefetched(clip, "angles", ClipAngle, [])
    prefetch_related_objects([clip], *(name for name in ("themes", "captions", "angles")
                                       if name not in clip._prefetched_objects_cache))  # fmt: skip
    return clip


def _clip_row(pk):
    """Published clip `pk`'s row (_CLIP_COLUMNS) as the database gives it, before the ORM's
    converters (a tuple of str, int, float and None on SQLite), or None: one query."""
    alias = router.db_for_read(Clip)
    sql, params = _params(_prepared(alias, "clip"), [pk])
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def clip_themes(pk):
    """A published clip's themes in the gallery's order, from the catalogue (None when the
    catalogue cannot tell: more than MAX_THEMES themes, or a clip it does not list)."""
    if (found := _listed_at(pk)) is None:
        return None
    catalogue, at = found
    return _themes_of(catalogue.masks[at])


def _themes_of(mask):
    return [theme for i, theme in enumerate(gallery_themes()) if mask >> i & 1]


def _listed_at(pk):
    """(the current catalogue, where it lists clip `pk`: an index into its arrays), or None
    when it does not list it or cannot tell (more than MAX_THEMES themes). Found by
    bisection in its ids, sorted once per page version (16 bytes a clip)."""
    if len(gallery_themes()) > MAX_THEMES:
        return None
    catalogue = per_version("catalogue", _catalogue)
    ids, positions = per_version("catalogue-index", _catalogue_index)
    at = int(numpy.searchsorted(ids, pk))
    if at < len(ids) and ids[at] == pk:
        return catalogue, int(positions[at])
    return None


def _catalogue_index():
    """The catalogue's ids in increasing order and, for each, its position in the catalogue
    (two numpy arrays of int64)."""
    ids = numpy.frombuffer(per_version("catalogue", _catalogue).ids, dtype=numpy.int64)
    positions = numpy.argsort(ids, kind="stable")
    return ids[positions], positions


class ListedClip(NamedTuple):
    """A published clip as the current page version's catalogue lists it: its id, its row
    version (ROW_VERSION; where the database has none, a digest of its row, which comes
    along) and its themes in the gallery's order."""

    pk: int
    stamp: int | str
    themes: list
    row: tuple | None = None


def listed_clip(pk):
    """The ListedClip of clip `pk` when its page can be told from the catalogue and its row
    version: the catalogue lists it and it has no captions and no camera angles (rows of
    other tables, which its row version does not cover). On PostgreSQL the row version is
    the catalogue's and nothing is read; elsewhere its row is read and stands for one, so
    that a kept page needs no model made and no rendering. None otherwise: not published,
    more than MAX_THEMES themes."""
    if (found := _listed_at(pk)) is None:
        return None
    catalogue, at = found
    with_captions, with_angles = _clips_with_extras()
    if pk in with_captions or pk in with_angles:
        return None
    themes = _themes_of(catalogue.masks[at])
    if catalogue.stamps is not None:
        return ListedClip(pk, catalogue.stamps[at], themes)
    if (row := _clip_row(pk)) is None:  # unpublished since the catalogue was read
        return None
    digest = hashlib.blake2s(repr(row).encode(), digest_size=12).hexdigest()
    return ListedClip(pk, digest, themes, row)


def _clips_with_extras():
    """The ids of clips with captions and of clips with camera angles, read once per page
    version in one query (both are rare: a clip page without either reads nothing more)."""

    def read():
        captions = Caption.objects.order_by().values_list("clip_id", Value("c")).distinct()
        angles = ClipAngle.objects.order_by().values_list("clip_id", Value("a")).distinct()
        with_captions, with_angles = set(), set()
        for clip_id, kind in captions.union(angles).order_by():
            (with_captions if kind == "c" else with_angles).add(clip_id)
        return frozenset(with_captions), frozenset(with_angles)

    return per_version("clips-with-extras", read)


def _prefetched(clip, name, model, rows):
    """What prefetch_related leaves on `clip` for `name`, from rows already at hand."""
    rows_qs = model.objects.all()
    rows_qs._result_cache, rows_qs._prefetch_done = list(rows), True
    clip.__dict__.setdefault("_prefetched_objects_cache", {})[name] = rows_qs


def related_clips(pk, themes, count=4):
    """Cards (rows of card columns, or fragments.CardRef) of the newest clips but clip `pk`
    sharing one of `themes` (Theme objects) with it: the first of those themes' selection,
    read once per theme set, language and page version in this process."""
    slugs = sorted(theme.slug for theme in themes)

    def first():
        themes = gallery_themes()
        if slugs and len(themes) <= MAX_THEMES:  # from the catalogue
            catalogue = per_version("catalogue", _catalogue)
            want = sum(1 << i for i, theme in enumerate(themes) if theme.slug in slugs)
            matching = compress(range(len(catalogue.ids)), (m & want for m in catalogue.masks))
            listed = _cards_of(catalogue, list(islice(matching, count + 1)))
            if catalogue.stamps is not None:
                # Named, not read: each of their cards kept now (one cache read), so that no
                # page of the list reads a row for one.
                fragments.cards(listed)
            return listed
        matching = Clip.objects.published().with_any_theme(slugs).for_gallery()
        matching, columns, card = _card_source(matching)
        return [card(row) for row in matching.values_list(*columns)[: count + 1]]

    rows = per_version(f"related:{get_language()}:" + ",".join(slugs), first)
    return [row for row in rows if row[0] != pk][:count]


def selected_themes(request):
    """The known themes a query string names, in its order (GalleryFilter.selected())."""
    known = per_version("theme-slugs", lambda: frozenset(t.slug for t in gallery_themes()))
    return [slug for slug in request.GET.getlist("theme") if slug in known]


def gallery_query(request):
    """The gallery's query in its one spelling (known themes, sorted; a valid page number):
    all that its pages depend on, so stray or repeated parameters share one cached page."""
    return canonical_gallery_query(selected_themes(request), page_number(request.GET))


def feed_query(request):
    """A feed depends on its themes only."""
    return canonical_gallery_query(selected_themes(request), 1)


@receiver(catalogue_changed, dispatch_uid="pages-catalogue-changed")
def retire_pages(sender, **kwargs):
    bump_version()


@receiver(pages_retired, dispatch_uid="pages-prepare-version")
def prepare_page_version(sender, **kwargs):
    """With a shared cache, the process that retired the pages (a staff decision, an owner's
    withdrawal, a worker's publish) reads the new version's themes and catalogue once for
    every process: their first visitors then read them from the cache, instead of each
    process querying them (at 100,000 clips some 170 ms on PostgreSQL)."""
    if has_shared_cache():
        gallery_list([])


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
def caption_saved(sender, instance, raw=False, origin=None, **kwargs):
    if isinstance(origin, Clip) or getattr(origin, "model", None) is Clip:
        return  # deleted with its clip, which retires the pages if it was public
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
