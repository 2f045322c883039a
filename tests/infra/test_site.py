"""What any site needs: the health check, the client's address, the Permissions-Policy."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import RequestFactory

from infra.clients import client_ip

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
