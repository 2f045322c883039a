import csv
import io
from datetime import UTC, timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import caches
from django.utils import timezone

from campaign import dashboard
from gallery.models import Clip, ClipTransition, PlayDay, RejectionReason, Theme
from gallery.tasks import process_clip
from tests.factories import add_plays, make_clip, make_history

pytestmark = pytest.mark.django_db

URL = "/admin/campaign/dashboard/"


def chart(name, today=None):
    return next(c for c in dashboard.charts(today) if c.name == name)


def column(found, series_label):
    """{label: value} of one series of a chart."""
    values = dict(found.series + found.table_only)[series_label]
    return dict(zip(found.labels, values, strict=True))


@pytest.fixture
def campaign():
    """A week of known arrivals and decisions (last week, Monday first), plays, a queue."""
    today = timezone.localdate()
    base = dashboard.week_start(today) - timedelta(days=7)
    # UTC times: hours between them are real hours, whatever the daylight saving time.
    monday = dashboard.start_of(base).astimezone(UTC)

    def at(days, hours):
        return monday + timedelta(days=days, hours=hours)

    P, R, W = Clip.Status.PUBLISHED, Clip.Status.REJECTED, Clip.Status.WITHDRAWN
    web, email = Clip.Source.WEB, Clip.Source.EMAIL
    clips = {
        "A": make_history(
            arrived=at(0, 8),
            decided=at(2, 8),
            status=P,
            source=web,
            credit_country="FR",
            themes=["performance"],
        ),
        "B": make_history(
            arrived=at(0, 10),
            decided=at(1, 10),
            status=R,
            source=email,
            reason_code=RejectionReason.QUALITY,
            credit_country="DE",
            themes=["autopilot", "design"],
        ),
        "D": make_history(
            arrived=at(2, 8),
            decided=at(2, 14),
            status=P,
            source=web,
            credit_country="",
            themes=["weekend"],
        ),
        "E": make_history(
            arrived=at(2, 9),
            decided=at(3, 9),
            status=R,
            source=web,
            reason_code=RejectionReason.PEOPLE,
            credit_country="IT",
            themes=["performance"],
        ),
        "G": make_history(
            arrived=at(3, 8),
            decided=at(4, 20),
            status=P,
            source=email,
            credit_country="FR",
            themes=["design"],
        ),
        "C": make_history(arrived=at(3, 9), source=email, credit_country="FR", themes=["design"]),
        "H": make_history(
            arrived=at(4, 8),
            decided=at(5, 8),
            status=W,
            source=web,
            credit_country="FR",
            themes=["performance"],
        ),
        # Arrived long before the 90 days shown, decided in them.
        "old": make_history(
            arrived=at(-120, 8),
            decided=at(1, 12),
            status=P,
            source=web,
            credit_country="FR",
            themes=["autopilot"],
        ),
    }
    add_plays(clips["A"], today, 5)
    add_plays(clips["A"], today - timedelta(days=3), 2)
    add_plays(clips["D"], today - timedelta(days=10), 4)
    add_plays(clips["G"], today, 1)
    return {"clips": clips, "base": base, "today": today}


def day(value):
    return dashboard.day_label(value)


def test_clips_received_per_day_by_source(campaign):
    base = campaign["base"]
    found = chart("arrivals")
    assert len(found.labels) == 90
    web, email = column(found, "Web form"), column(found, "E-mail")
    assert (web[day(base)], email[day(base)]) == (1, 1)
    assert (web[day(base + timedelta(days=2))], email[day(base + timedelta(days=2))]) == (2, 0)
    assert (web[day(base + timedelta(days=3))], email[day(base + timedelta(days=3))]) == (0, 2)
    assert web[day(base + timedelta(days=4))] == 1
    # The clip that arrived 120 days ago is outside the chart.
    assert sum(web.values()) == 4 and sum(email.values()) == 3


def test_decisions_per_day_with_the_reasons(campaign):
    base = campaign["base"]
    found = chart("decisions")
    published = column(found, "Published")
    quality = column(found, "Rejected: quality")
    people = column(found, "Rejected: people or plates")
    withdrawn = column(found, "Withdrawn by the owner")
    assert published[day(base + timedelta(days=1))] == 1
    assert published[day(base + timedelta(days=2))] == 2
    assert published[day(base + timedelta(days=4))] == 1
    assert quality[day(base + timedelta(days=1))] == 1
    assert people[day(base + timedelta(days=3))] == 1
    assert withdrawn[day(base + timedelta(days=5))] == 1
    rejected = column(found, "Rejected")
    assert rejected[day(base + timedelta(days=1))] == 1
    assert rejected[day(base + timedelta(days=3))] == 1
    assert sum(published.values()) == 4 and sum(withdrawn.values()) == 1
    assert sum(rejected.values()) == 2
    reasons = column(chart("rejections"), "Rejected")
    assert reasons["quality"] == 1 and reasons["people or plates"] == 1
    assert sum(reasons.values()) == 2


def test_median_and_90th_percentile_time_to_decision_per_week(campaign):
    found = chart("time-to-decision")
    last_week = found.labels[-2]
    median = column(found, "Median (hours)")
    p90 = column(found, "90th percentile (hours)")
    decisions = column(found, "Decisions")
    # Hours: 48, 24, 6, 24, 36 and 121 days + 4 h for the old clip; the withdrawal is no
    # review decision.
    assert decisions[last_week] == 6
    assert median[last_week] == 30.0
    assert p90[last_week] == 121 * 24 + 4
    assert found.labels[-1] not in [label for label, n in decisions.items() if n]


def test_published_and_waiting_clips_by_country_and_theme(campaign):
    countries = chart("countries")
    assert countries.labels[0] == "France"
    assert column(countries, "Published")["France"] == 3
    assert column(countries, "Waiting for review")["France"] == 1
    assert column(countries, "Published")["Not given"] == 1
    assert "Germany" not in countries.labels  # rejected clips are not counted
    themes = chart("themes")
    published, waiting = column(themes, "Published"), column(themes, "Waiting for review")
    assert published == {
        "Performance": 1,
        "Autopilot": 1,
        "Technology": 0,
        "Weekend": 1,
        "Design": 1,
    }
    assert waiting["Design"] == 1 and sum(waiting.values()) == 1


def test_plays_per_day_and_most_watched_of_the_week(campaign):
    today = campaign["today"]
    plays = column(chart("plays"), "Plays")
    assert plays[day(today)] == 6
    assert plays[day(today - timedelta(days=3))] == 2
    assert plays[day(today - timedelta(days=10))] == 4
    top = chart("most-watched")
    assert top.labels == [campaign["clips"]["A"].title, campaign["clips"]["G"].title]
    assert dict(top.series)["Last 7 days"] == [7, 1]


def test_processing_queue():
    clip = make_clip(status=Clip.Status.PROCESSING)
    waiting = process_clip.enqueue(clip.pk)
    running = process_clip.enqueue(clip.pk)
    failed = process_clip.enqueue(clip.pk)
    old_failure = process_clip.enqueue(clip.pk)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk=running.id).update(status="RUNNING")
    DBTaskResult.objects.filter(pk=failed.id).update(status="FAILED", finished_at=timezone.now())
    DBTaskResult.objects.filter(pk=old_failure.id).update(
        status="FAILED", finished_at=timezone.now() - timedelta(days=2)
    )
    assert waiting.id
    assert [count for _key, _label, count in dashboard.processing_queue()] == [1, 1, 1]


@pytest.fixture
def staff(client):
    user = User.objects.create_user("moderator", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_clip"))
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


def test_the_page_shows_charts_tables_and_csv(campaign, client, staff):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="campaign-chart__svg') == 8
    assert 'role="img" aria-labelledby="chart-arrivals-title"' in html
    assert 'id="chart-arrivals-title"' in html and 'id="chart-arrivals-caption"' in html
    # Nothing the CSP refuses: no inline style or script anywhere in the page's charts.
    assert "<style" not in html and " style=" not in html
    assert "<script>" not in html and "onload=" not in html
    assert html.count("The numbers as a table") == 8
    assert "?csv=countries" in html

    response = client.get(URL, {"csv": "countries"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Country", "Published", "Waiting for review"]
    assert rows[1] == ["France", "3", "1"]
    assert client.get(URL, {"csv": "nonsense"}).status_code == 404


def test_csv_labels_cannot_become_spreadsheet_formulas(client, staff):
    clip = make_clip(title='=HYPERLINK("http://evil.example")')
    add_plays(clip, timezone.localdate(), 3)
    rows = list(csv.reader(io.StringIO(client.get(URL, {"csv": "most-watched"}).content.decode())))
    assert rows[1][0].startswith("'=")


def test_the_dashboard_is_for_staff_only(client):
    assert client.get(URL).status_code == 302  # to the log-in page
    assert client.get(URL, {"csv": "arrivals"}).status_code == 302
    visitor = User.objects.create_user("visitor", password="pw")
    visitor.user_permissions.add(Permission.objects.get(codename="view_clip"))
    client.force_login(visitor)
    assert client.get(URL)["Location"].startswith("/admin/login/")
    # Staff who may not see clips are refused too.
    helper = User.objects.create_user("helper", password="pw", is_staff=True)
    client.force_login(helper)
    assert client.get(URL).status_code == 403
    assert b"campaign/dashboard" not in client.get("/admin/").content


def test_moderators_find_it_on_the_admin_home(client):
    moderator = User.objects.create_user("mod", password="pw", is_staff=True)
    group = Group.objects.filter(permissions__codename="view_clip").first()
    if group is None:
        pytest.skip("no moderators group in this database")
    moderator.groups.add(group)
    client.force_login(moderator)
    assert b"/admin/campaign/dashboard/" in client.get("/admin/").content
    assert client.get(URL).status_code == 200


def many_clips(count):
    """`count` published clips with themes, transitions and a year of plays, in bulk."""
    now = timezone.now()
    themes = list(Theme.objects.all())
    clips = Clip.objects.bulk_create(
        Clip(
            title=f"Bulk {n}",
            credit_name="Bulk",
            credit_country=["FR", "DE", "IT", "ES", "NL"][n % 5],
            source=Clip.Source.WEB if n % 3 else Clip.Source.EMAIL,
            status=Clip.Status.PUBLISHED,
            created_at=now - timedelta(days=n % 365, hours=3),
            published_at=now - timedelta(days=n % 365),
        )
        for n in range(count)
    )
    Clip.themes.through.objects.bulk_create(
        Clip.themes.through(clip=clip, theme=themes[n % len(themes)])
        for n, clip in enumerate(clips)
    )
    ClipTransition.objects.bulk_create(
        ClipTransition(
            clip=clip,
            from_status=Clip.Status.REVIEW,
            to_status=Clip.Status.PUBLISHED,
            at=clip.published_at,
        )
        for clip in clips
    )
    today = timezone.localdate()
    PlayDay.objects.bulk_create(
        PlayDay(clip=clip, day=today - timedelta(days=n % 365), plays=n % 7 + 1)
        for n, clip in enumerate(clips)
    )


@pytest.mark.parametrize("count", [100, 10_000])
def test_queries_per_view_do_not_grow_with_the_catalogue(
    count, client, staff, django_assert_num_queries
):
    many_clips(count)
    client.get(URL)  # the session and the user are loaded once the same way
    caches["default"].clear()  # the charts are computed again
    with django_assert_num_queries(QUERIES):
        assert client.get(URL).status_code == 200


def test_charts_are_drawn_once_per_period_the_queue_is_always_live(
    client, staff, django_assert_num_queries, settings
):
    settings.CAMPAIGN_DASHBOARD_SECONDS = 300
    client.get(URL)
    clip = make_clip(status=Clip.Status.PROCESSING)
    process_clip.enqueue(clip.pk)
    with django_assert_num_queries(QUERIES - 8):  # of the dashboard's nine, the queue only
        html = client.get(URL).content.decode()
    assert "renewed every 5 minutes" in html
    assert '<span class="campaign__number">1</span> Waiting' in html


# Session, user, permissions (2), then the dashboard: arrivals, decisions, times, countries,
# themes (2), plays, most watched, queue.
QUERIES = 13


def test_clip_titles_in_charts_and_tables_stay_text(client, staff):
    clip = make_clip(title='<script>alert(1)</script><img src=x onerror="alert(2)">')
    add_plays(clip, timezone.localdate(), 3)
    html = client.get(URL).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_decisions_within_the_hour_are_drawn_not_said_missing():
    from campaign.charts import render

    now = timezone.now()
    make_history(arrived=now - timedelta(minutes=2), decided=now, status=Clip.Status.PUBLISHED)
    found = chart("time-to-decision")
    assert 0.0 in found.series[0][1]  # the week's median: decided within the hour
    svg = render(found)
    assert "No data yet" not in svg and "<path" in svg
