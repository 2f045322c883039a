"""The campaign in numbers: each chart of the staff dashboard as plain data.

Every figure comes from one aggregating query over an indexed range (days, statuses), so a
view costs the same number of queries however many clips and plays there are.
"""

import math
import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.tasks import TaskResultStatus
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gallery.models import (
    Clip,
    ClipTransition,
    EuropeanCountries,
    PlayDay,
    RejectionReason,
    Theme,
)

DAYS = 90
WEEKS = 13
TOP_CLIPS = 10
# Clip states shown beside each other in the country and theme charts.
STANDING = [
    (Clip.Status.PUBLISHED, _("Published")),
    (Clip.Status.REVIEW, _("Waiting for review")),
]


@dataclass
class Chart:
    """One chart: labels along one axis, one list of numbers per series."""

    name: str  # in URLs (?csv=name) and element ids
    title: str
    description: str
    # "days" (stacked bars over time), "line", "bars" (horizontal, stacked), "hbars" (grouped)
    kind: str
    labels: list = field(default_factory=list)
    series: list = field(default_factory=list)  # [(label, [number or None, ...]), ...]
    table_only: list = field(default_factory=list)  # more series, in the table and CSV only
    label_heading: str = ""
    links: list = field(default_factory=list)  # admin links for the labels, if any

    def table(self):
        """Header and rows: one row per label, one column per series."""
        every = self.series + self.table_only
        header = [str(self.label_heading)] + [str(label) for label, _values in every]
        rows = []
        for index, label in enumerate(self.labels):
            cells = [values[index] for _label, values in every]
            link = self.links[index] if self.links else ""
            rows.append({"label": str(label), "link": link, "cells": cells})
        return header, rows


def local_day_range(days, today=None):
    today = today or timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def start_of(day):
    """Midnight at the start of `day` in the site's time zone (for indexed datetime ranges)."""
    return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))


def day_label(day):
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def arrivals(days):
    """Clips received per day, by the way they came."""
    since = start_of(days[0])
    rows = (
        Clip.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "source")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(row["day"], row["source"]): row["n"] for row in rows}
    sources = list(Clip.Source.choices)
    known = {value for value, _label in sources}
    sources += sorted({(s, s) for _day, s in counts if s not in known})
    return Chart(
        name="arrivals",
        title=_("Clips received per day"),
        description=_(
            "Clips that arrived each day of the last %(days)s days, by the way they came."
        )
        % {"days": len(days)},
        kind="days",
        labels=[day_label(day) for day in days],
        label_heading=pgettext_lazy("calendar", "Day"),
        series=[
            (label, [counts.get((day, value), 0) for day in days])
            for value, label in sources
            if any(counts.get((day, value)) for day in days) or value in known - {"demo"}
        ],
    )


def decisions(days):
    """Clips published, rejected and withdrawn per day; and the rejections by reason."""
    since = start_of(days[0])
    decided = [Clip.Status.PUBLISHED, Clip.Status.REJECTED, Clip.Status.WITHDRAWN]
    rows = (
        ClipTransition.objects.filter(to_status__in=decided, at__gte=since)
        .annotate(day=TruncDate("at"))
        .values("day", "to_status", "reason_code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {}
    for row in rows:
        keys = [row["to_status"]]
        if row["to_status"] == Clip.Status.REJECTED:
            keys.append("rejected:" + (row["reason_code"] or RejectionReason.OTHER))
        for key in keys:
            counts[(row["day"], key)] = counts.get((row["day"], key), 0) + row["n"]

    def per_day(key):
        return [counts.get((day, key), 0) for day in days]

    by_reason = [(label, per_day("rejected:" + code)) for code, label in REASON_NAMES.items()]
    per_day_chart = Chart(
        name="decisions",
        title=_("Decisions per day"),
        description=_(
            "Clips published, rejected (by reason) and withdrawn each day of the last "
            "%(days)s days."
        )
        % {"days": len(days)},
        kind="days",
        labels=[day_label(day) for day in days],
        label_heading=pgettext_lazy("calendar", "Day"),
        series=[
            (_("Published"), per_day(Clip.Status.PUBLISHED)),
            (_("Rejected"), per_day(Clip.Status.REJECTED)),
            (_("Withdrawn by the owner"), per_day(Clip.Status.WITHDRAWN)),
        ],
        # A legend of ten colours over 90 days is hard to read: the reasons per day are in
        # the table, their totals in a chart of their own.
        table_only=[
            (_("Rejected: %(reason)s") % {"reason": label}, values) for label, values in by_reason
        ],
    )
    reasons_chart = Chart(
        name="rejections",
        title=_("Rejections by reason"),
        description=_("Clips rejected in the last %(days)s days, by the reason given.")
        % {"days": len(days)},
        kind="hbars",
        labels=[label for label, _values in by_reason],
        label_heading=_("Reason"),
        series=[(_("Rejected"), [sum(values) for _label, values in by_reason])],
    )
    return per_day_chart, reasons_chart


# Short names of the rejection reasons, for a legend (the full sentences are for owners).
REASON_NAMES = {
    RejectionReason.NOT_MODEL3: _("not a Model 3"),
    RejectionReason.QUALITY: _("quality"),
    RejectionReason.PEOPLE: _("people or plates"),
    RejectionReason.UNSAFE: _("unsafe driving"),
    RejectionReason.RIGHTS: _("rights"),
    RejectionReason.OFF_TOPIC: _("off topic"),
    RejectionReason.DUPLICATE: _("duplicate"),
    RejectionReason.OTHER: _("other"),
}


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list (the value below which `fraction` lie)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def week_start(day):
    return day - timedelta(days=day.weekday())


def times_to_decision(weeks, today=None):
    """Median and 90th percentile of the hours from arrival to the review decision, per week
    (the week of the decision, Monday first)."""
    today = today or timezone.localdate()
    mondays = [week_start(today) - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    rows = ClipTransition.objects.filter(
        to_status__in=[Clip.Status.PUBLISHED, Clip.Status.REJECTED],
        from_status=Clip.Status.REVIEW,
        at__gte=start_of(mondays[0]),
    ).values_list("at", "clip__created_at")
    hours = {monday: [] for monday in mondays}
    for decided_at, arrived_at in rows:
        monday = week_start(timezone.localdate(decided_at))
        if monday in hours:
            hours[monday].append((decided_at - arrived_at).total_seconds() / 3600)
    medians, p90s, counts = [], [], []
    for monday in mondays:
        values = sorted(hours[monday])
        medians.append(round(statistics.median(values), 1) if values else None)
        p90 = percentile(values, 0.9)
        p90s.append(round(p90, 1) if p90 is not None else None)
        counts.append(len(values))
    return Chart(
        name="time-to-decision",
        title=_("Time from arrival to decision"),
        description=_(
            "Hours from a clip's arrival to its publication or rejection, per week of the "
            "decision: the median and the 90th percentile."
        ),
        kind="line",
        labels=[day_label(monday) for monday in mondays],
        label_heading=_("Week (Monday)"),
        series=[
            (_("Median (hours)"), medians),
            (_("90th percentile (hours)"), p90s),
        ],
        table_only=[(_("Decisions"), counts)],
    )


def by_country():
    """Published and waiting clips by the owner's country, the most first."""
    rows = (
        Clip.objects.filter(status__in=[status for status, _label in STANDING])
        .values("credit_country", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    names = dict(EuropeanCountries())
    counts, totals = {}, {}
    for row in rows:
        code = row["credit_country"]
        counts[(code, row["status"])] = row["n"]
        totals[code] = totals.get(code, 0) + row["n"]
    codes = sorted(totals, key=lambda code: (-totals[code], code))
    return Chart(
        name="countries",
        title=_("Clips by country"),
        description=_("Published clips and clips waiting for review, by the owner's country."),
        kind="bars",
        labels=[str(names.get(code, code)) if code else _("Not given") for code in codes],
        label_heading=_("Country"),
        series=[
            (label, [counts.get((code, status), 0) for code in codes]) for status, label in STANDING
        ],
    )


def by_theme():
    """Published and waiting clips by theme (a clip with two themes counts in both)."""
    themes = list(Theme.objects.order_by("order", "slug"))
    rows = (
        Clip.themes.through.objects.filter(clip__status__in=[status for status, _label in STANDING])
        .values("theme_id", "clip__status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(row["theme_id"], row["clip__status"]): row["n"] for row in rows}
    return Chart(
        name="themes",
        title=_("Clips by theme"),
        description=_(
            "Published clips and clips waiting for review, by theme; a clip with several "
            "themes counts in each."
        ),
        kind="bars",
        labels=[theme.label for theme in themes],
        label_heading=_("Theme"),
        series=[
            (label, [counts.get((theme.pk, status), 0) for theme in themes])
            for status, label in STANDING
        ],
    )


def plays_per_day(days):
    rows = (
        PlayDay.objects.filter(day__gte=days[0]).values("day").annotate(n=Sum("plays")).order_by()
    )
    counts = {row["day"]: row["n"] for row in rows}
    return Chart(
        name="plays",
        title=_("Plays per day"),
        description=_(
            "Plays of published clips each day of the last %(days)s days (a play counts once "
            "the video has played for a few seconds)."
        )
        % {"days": len(days)},
        kind="days",
        labels=[day_label(day) for day in days],
        label_heading=pgettext_lazy("calendar", "Day"),
        series=[(_("Plays"), [counts.get(day, 0) for day in days])],
    )


def most_watched(today=None):
    """The clips played most in the last seven days, with the seven days before beside."""
    today = today or timezone.localdate()
    this_week = today - timedelta(days=6)
    week_before = today - timedelta(days=13)
    rows = list(
        PlayDay.objects.filter(day__gte=week_before)
        .values("clip", "clip__title")
        .annotate(
            recent=Sum("plays", filter=Q(day__gte=this_week)),
            before=Sum("plays", filter=Q(day__lt=this_week)),
        )
        .filter(recent__gt=0)
        .order_by("-recent", "clip")[:TOP_CLIPS]
    )
    return Chart(
        name="most-watched",
        title=_("Most watched, last 7 days"),
        description=_(
            "The %(count)s clips played most in the last 7 days, and their plays in the 7 "
            "days before."
        )
        % {"count": TOP_CLIPS},
        kind="hbars",
        labels=[row["clip__title"] for row in rows],
        links=[reverse("admin:gallery_clip_change", args=[row["clip"]]) for row in rows],
        label_heading=_("Clip"),
        series=[
            (_("Last 7 days"), [row["recent"] or 0 for row in rows]),
            (_("The 7 days before"), [row["before"] or 0 for row in rows]),
        ],
    )


def processing_queue():
    """Processing tasks waiting and running now, and failed in the last day."""
    if not apps.is_installed("django_tasks_db"):
        return None
    from django_tasks_db.models import DBTaskResult

    day_ago = timezone.now() - timedelta(days=1)
    counts = DBTaskResult.objects.aggregate(
        waiting=Count("pk", filter=Q(status=TaskResultStatus.READY)),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        failed=Count("pk", filter=Q(status=TaskResultStatus.FAILED, finished_at__gte=day_ago)),
    )
    return [
        ("waiting", _("Waiting"), counts["waiting"]),
        ("running", _("Running"), counts["running"]),
        ("failed", _("Failed in the last day"), counts["failed"]),
    ]


def charts(today=None):
    days = local_day_range(DAYS, today)
    return [
        arrivals(days),
        *decisions(days),
        times_to_decision(WEEKS, today),
        by_country(),
        by_theme(),
        plays_per_day(days),
        most_watched(today),
    ]
