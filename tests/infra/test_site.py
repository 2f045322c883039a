"""What any site needs: the health check, the client's address, the Permissions-Policy."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.templatetags.static import static
from django.test import RequestFactory

from infra.clients import client_ip
from tests.factories import owned_clip

pytestmark = pytest.mark.django_db


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "storage": "ok"}


def test_favicon_ico_leads_to_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    # To the icon the pages name, which collectstatic ships (whitenoise serves it).
    assert response["Location"] == static("img/icon-48.png")
    assert Path(finders.find("img/icon-48.png")).read_bytes().startswith(b"\x89PNG")
    assert static("img/icon-48.png") in client.get("/fr/").content.decode()


def test_trusted_proxy_address_is_used_only_when_configured(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9"
    )
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXIES = 1
    assert client_ip(request) == "198.51.100.9"  # the last hop the balancer appended


def test_permissions_policy_header(client):
    policy = client.get("/en/")["Permissions-Policy"]
    assert "camera=()" in policy and "geolocation=()" in policy and "fullscreen=(self)" in policy


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="a dropped table is an OperationalError on SQLite only; on PostgreSQL "
    "tests/test_faults.py meets the same failure in a real restart",
)
def test_a_session_the_database_cannot_save_answers_503_not_500(client):
    """The owner's status page remembers in the session that this browser was given it. If
    the database fails between the view and the session's save (a restart), the visitor gets
    the 503 page with Retry-After, not a server error."""
    submission, _clip = owned_clip()
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("DROP TABLE django_session")
    response = client.get(submission.get_status_url())
    assert response.status_code == 503
    assert response["Retry-After"] == "30" and "no-store" in response["Cache-Control"]
    assert "This page is not available just now" in response.content.decode()
