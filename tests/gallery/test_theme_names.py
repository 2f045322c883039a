"""A theme's name in each language: entered in the admin, shown to visitors in theirs."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gallery.models import Theme
from tests.factories import make_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_en():
    User.objects.create_superuser("ada", password="secret-pass-123")
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(User.objects.get(username="ada"))
    return client


def test_a_theme_named_in_german_shows_in_german_and_falls_back_elsewhere(admin_client_en):
    page = admin_client_en.post(
        "/admin/gallery/theme/add/",
        {"slug": "winter", "order": 9, "name_de": "Winterfahrt", "name_en": "Winter drive"},
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    make_clip(themes=["winter"], title="Snow on the Stelvio")

    assert "Winterfahrt" in Client().get("/de/").content.decode()
    dutch = Client().get("/nl/").content.decode()
    assert "Winter drive" in dutch and "Winterfahrt" not in dutch  # English first
    Theme.objects.filter(slug="winter").update(name_en="")
    assert "Winterfahrt" not in Client().get("/it/").content.decode()

    # The list of themes says which languages still lack a name.
    listing = admin_client_en.get("/admin/gallery/theme/").content.decode()
    assert "FR, EN, NL, IT, ES" in listing


def test_the_built_in_themes_are_named_in_every_language():
    technology = Theme.objects.get(slug="technology")
    assert technology.missing_languages == []
    assert (technology.name_de, technology.name_it, technology.name_es) == (
        "Technologie",
        "Tecnologia",
        "Tecnología",
    )
    make_clip(themes=["technology"])
    assert "Tecnología" in Client().get("/es/").content.decode()
