"""Staff see a clip in review as visitors will, through a signed, expiring link."""

import html as markup
import re
import time

import pytest
from django.contrib.auth.models import Group, User
from django.core import signing
from django.test import Client

from gallery.models import Clip
from tests.factories import make_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    user = User.objects.create_user("mona", password="secret-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def view_on_site(client, clip):
    html = client.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    return re.search(r'<a href="([^"]+)" class="viewsitelink"', html).group(1)


def test_view_on_site_opens_the_preview_in_the_admin_users_language(staff):
    clip = make_clip(status=Clip.Status.REVIEW, title="Frost on the glass roof")
    link = view_on_site(staff, clip)
    assert link.startswith("/en/preview/")

    page = staff.get(link)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Frost on the glass roof" in html and 'lang="en"' in html
    assert "Preview: visitors cannot see this clip yet." in html
    # The video plays from its private copy: signed links, not the public one (none yet).
    video = markup.unescape(re.search(r'<source src="([^"]+)" type="video/mp4">', html).group(1))
    assert "sig=" in video and staff.get(video).status_code in (200, 206)
    assert "no-store" in page["Cache-Control"] and page["X-Robots-Tag"] == "noindex"
    # Visitors still get nothing on the public address.
    assert Client().get(clip.get_absolute_url()).status_code == 404


def test_a_german_admin_previews_the_german_page(staff):
    clip = make_clip(status=Clip.Status.REVIEW)
    german = Client(headers={"Accept-Language": "de"})
    german.force_login(User.objects.get(username="mona"))
    link = view_on_site(german, clip)
    assert link.startswith("/de/preview/")
    assert 'lang="de"' in german.get(link).content.decode()


def test_the_preview_is_refused_to_visitors_without_signature_or_late(staff, settings):
    clip = make_clip(status=Clip.Status.REVIEW, title="Frost on the glass roof")
    link = view_on_site(staff, clip)
    # Twice as staff first: a cached copy would be handed to the next visitor.
    assert staff.get(link).status_code == 200 and staff.get(link).status_code == 200
    assert Client().get(link).status_code == 404

    token = link.split("/")[3]
    pk, stamp, signature = token.split(":")
    for forged in (f"{pk}", f"{pk}:{stamp}:{signature[:-2]}xx", f"{pk + '0'}:{stamp}:{signature}"):
        assert staff.get(f"/en/preview/{forged}/").status_code == 404

    settings.PREVIEW_SECONDS = 60
    old = signing.TimestampSigner(salt="gallery.preview")
    old.timestamp = lambda: signing.b62_encode(int(time.time()) - 61)
    assert staff.get(f"/en/preview/{old.sign(str(clip.pk))}/").status_code == 404
    fresh = signing.TimestampSigner(salt="gallery.preview").sign(str(clip.pk))
    assert staff.get(f"/en/preview/{fresh}/").status_code == 200


def test_a_published_clip_links_to_its_public_page(staff):
    clip = make_clip(status=Clip.Status.PUBLISHED)
    assert view_on_site(staff, clip) == clip.get_absolute_url()
