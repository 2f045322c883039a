"""Uploads before the form: the tus server, the form's tokens, several files, the clean-up."""

import base64
import json
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import signing
from django.core.management import call_command
from django.test import Client

from gallery.models import Clip
from submissions import kept, tus
from submissions.models import Submission
from tests.factories import form_data, post, upload, zip_bytes

pytestmark = pytest.mark.django_db

TUS = {"Tus-Resumable": "1.0.0"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_partial_uploads():
    shutil.rmtree(tus.root())
    yield
    shutil.rmtree(tus.root())


def metadata(**values):
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client, length, name="clip.mp4", **headers):
    return client.post(
        "/en/submit/tus/",
        headers=TUS
        | {"Upload-Length": str(length), "Upload-Metadata": metadata(filename=name)}
        | headers,
    )


def patch(client, location, data, offset):
    return client.generic(
        "PATCH",
        location,
        data,
        content_type="application/offset+octet-stream",
        headers=TUS | {"Upload-Offset": str(offset)},
    )


def send(client, path, name=None):
    """Upload a file the way tus-js-client does, in two chunks; the token it ends with."""
    data = Path(path).read_bytes()
    location = create(client, len(data), name=name or Path(path).name)["Location"]
    half = len(data) // 2
    assert patch(client, location, data[:half], 0).status_code == 204
    finished = patch(client, location, data[half:], half)
    assert finished.status_code == 204
    return finished["Upload-Token"]


def test_tus_upload_continues_from_the_offset_and_ends_with_a_token(client):
    options = client.options("/en/submit/tus/")
    assert options.status_code == 204
    assert options["Tus-Version"] == "1.0.0"
    assert set(options["Tus-Extension"].split(",")) == {"creation", "expiration", "termination"}

    data = bytes(range(256)) * 40
    created = create(client, len(data))
    assert created.status_code == 201 and created["Upload-Offset"] == "0"
    assert "Upload-Expires" in created and "Upload-Token" not in created
    location = created["Location"]

    assert patch(client, location, data[:4000], 0)["Upload-Offset"] == "4000"
    # The browser lost the answer and sends from 0 again: told where the server is.
    conflict = patch(client, location, data[:4000], 0)
    assert conflict.status_code == 409 and conflict["Upload-Offset"] == "4000"
    head = client.head(location, headers=TUS)
    assert head["Upload-Offset"] == "4000" and head["Upload-Length"] == str(len(data))
    assert "Upload-Token" not in head  # no token for an unfinished upload

    done = patch(client, location, data[4000:], 4000)
    assert done.status_code == 204 and done["Upload-Offset"] == str(len(data))
    token = done["Upload-Token"]
    assert kept.read(token).size == len(data)
    # Asked again (a reload after the last chunk), the token comes with the offset.
    assert client.head(location, headers=TUS)["Upload-Token"]
    partial = tus.load(location.rstrip("/").rsplit("/", 1)[1])
    assert partial.data.read_bytes() == data and partial.received == len(data)


def test_tus_refuses_too_much_and_wrong_requests(client, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    assert create(client, 1001).status_code == 413
    location = create(client, 10)["Location"]
    assert patch(client, location, b"x" * 11, 0).status_code == 413
    assert client.generic("PATCH", location, b"x", content_type="text/plain").status_code in (
        412,
        415,
    )
    assert client.post("/en/submit/tus/", headers={"Upload-Length": "10"}).status_code == 412
    assert client.head("/en/submit/tus/" + "0" * 32 + "/", headers=TUS).status_code == 404


def test_tus_termination_removes_the_partial_upload(client):
    location = create(client, 100)["Location"]
    patch(client, location, b"x" * 40, 0)
    assert len(list(tus.root().glob("*.part"))) == 1
    assert client.delete(location, headers=TUS).status_code == 204
    assert client.head(location, headers=TUS).status_code == 404
    assert list(tus.root().glob("*.part")) == []


def test_tus_needs_the_csrf_token(settings):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/en/submit/")
    csrf = page.cookies[settings.CSRF_COOKIE_NAME].value
    assert create(browser, 10).status_code == 403
    location = create(browser, 10, **{"X-CSRFToken": csrf})["Location"]
    refused = browser.generic(
        "PATCH",
        location,
        b"x" * 10,
        content_type="application/offset+octet-stream",
        headers=TUS | {"Upload-Offset": "0"},
    )
    assert refused.status_code == 403
    accepted = browser.generic(
        "PATCH",
        location,
        b"x" * 10,
        content_type="application/offset+octet-stream",
        headers=TUS | {"Upload-Offset": "0", "X-CSRFToken": csrf},
    )
    assert accepted.status_code == 204 and accepted["Upload-Token"]


def test_tus_creations_are_rate_limited(client, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"upload-ip": "2/3600"}
    assert [create(client, 10).status_code for _ in range(3)] == [201, 201, 429]


def test_a_form_sent_back_keeps_the_uploaded_file_and_then_makes_its_clip(
    client, sample_video, django_capture_on_commit_callbacks
):
    token = send(client, sample_video, name="balade.mp4")
    response = post(client, form_data(None, upload_ticket=token, credit_name=""), lang="en")
    assert response.status_code == 400
    form = response.context["form"]
    assert "credit_name" in form.errors and "video" not in form.errors
    assert [(u.name, u.size) for u in form.kept_uploads] == [
        ("balade.mp4", sample_video.stat().st_size)
    ]
    page = response.content.decode()
    assert "Kept: balade.mp4" in page and f'value="{token}" checked' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form_data(None, upload_ticket=token), lang="en")
    assert response.status_code == 302
    clip = Clip.objects.get()
    assert clip.original.read() == sample_video.read_bytes()
    assert list(tus.root().glob("*.part")) == []  # the upload went into the clip


def test_a_token_makes_one_clip_only(client, sample_video):
    token = send(client, sample_video)
    assert post(client, form_data(None, upload_ticket=token), lang="en").status_code == 302
    again = post(client, form_data(None, upload_ticket=token), lang="en")
    assert again.status_code == 400
    status_url = Submission.objects.get().get_status_url()
    assert again.context["form"].errors["video"] == [
        f"{sample_video.name} was already sent: its clip is with our team. "
        f'Follow it on <a href="{status_url}">its page</a>.'
    ]
    # The same token from a browser that was never given the page, another address typed:
    # where the link is (the receipt of the address it came from), not the link.
    other = post(
        Client(REMOTE_ADDR="198.51.100.9"),
        form_data(None, upload_ticket=token, email="someone.else@example.org"),
        lang="en",
    )
    assert other.context["form"].errors["video"] == [
        f"{sample_video.name} was already sent: its clip is with our team. "
        "The receipt e-mail sent to the address it came from has the link to its page."
    ]
    assert status_url not in other.content.decode()
    assert Clip.objects.count() == 1 and Submission.objects.count() == 1
    assert Clip.objects.get().original.read() == sample_video.read_bytes()  # nothing lost


def test_tampered_foreign_or_expired_tokens_are_refused(client, sample_video, monkeypatch):
    token = send(client, sample_video)
    refused = "Your file did not arrive. Please send it again."
    # Another upload's id, a name that leaves the folder, an unfinished upload's id:
    # none can be named without the site's signature.
    other = create(client, 100)["Location"].rstrip("/").rsplit("/", 1)[1]
    for forged in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        signing.dumps({"k": "tus", "r": other, "n": "x.mp4", "s": 100}, salt="other-salt"),
        signing.dumps(
            {"k": "tus", "r": other, "n": "x.mp4", "s": 100}, salt=kept.SALT, key="not-ours"
        ),
        signing.dumps({"k": "tus", "r": "../../x", "n": "x", "s": 1}, salt=kept.SALT, key="no"),
    ):
        response = post(client, form_data(None, upload_ticket=forged), lang="en")
        assert response.context["form"].errors["video"] == [refused]
    # Signed by the site, but for an upload that is not finished.
    unfinished = kept.issue(kept.LOCAL, other, name="x.mp4", size=100)
    response = post(client, form_data(None, upload_ticket=unfinished), lang="en")
    assert response.context["form"].errors["video"] == [refused]
    monkeypatch.setattr(kept, "MAX_AGE", -1)
    response = post(client, form_data(None, upload_ticket=token), lang="en")
    assert response.context["form"].errors["video"] == [refused]
    assert Clip.objects.count() == 0


def test_several_files_make_one_clip_each(client, sample_video, tmp_path):
    from gallery.synth import synthesize

    second = synthesize(tmp_path / "second.mp4", seconds=1, width=320, height=240, seed=3)
    data = form_data([upload(sample_video), upload(second)])
    assert post(client, data, lang="en").status_code == 302
    assert Clip.objects.count() == 2 and Submission.objects.count() == 1


def test_a_zip_and_a_cut_off_dashcam_file_work_from_the_web_too(client, tmp_path):
    from gallery.synth import synthesize

    healthy, victim = (
        synthesize(tmp_path / name, seconds=1, width=320, height=240, fps=36, audio=False, seed=s)
        for name, s in (("healthy.mp4", 1), ("victim.mp4", 2))
    )
    data = victim.read_bytes()
    cut = tmp_path / "2026-11-01_10-01-00-front.mp4"
    cut.write_bytes(data[: int((data.rfind(b"moov") - 4) * 0.95)])
    archive = tmp_path / "clips.zip"
    archive.write_bytes(zip_bytes({"2026-11-01_10-00-00-front.mp4": healthy.read_bytes()}))
    # The zip by token (sent with tus), the cut-off file as a plain upload, in one form.
    token = send(client, archive)
    fields = form_data([upload(cut)], upload_ticket=token)
    response = post(client, fields, lang="en")
    assert response.status_code == 302, response.context["form"].errors
    # Two minutes of one camera: one clip, the rescued minute joined after the healthy one.
    clip = Clip.objects.get()
    [angle] = clip.angles.all()
    assert angle.camera == "front" and len(angle.originals) == 2


def test_clean_uploads_removes_stale_partial_uploads_only(client, settings):
    stale = create(client, 100)["Location"].rstrip("/").rsplit("/", 1)[1]
    fresh = create(client, 100)["Location"].rstrip("/").rsplit("/", 1)[1]
    info = tus.root() / f"{stale}.json"
    described = json.loads(info.read_text())
    described["created"] = time.time() - 25 * 3600
    info.write_text(json.dumps(described))
    call_command("clean_uploads")
    assert sorted(p.name for p in tus.root().glob("*.part")) == [f"{fresh}.part"]
    assert tus.load(stale) is None and tus.load(fresh) is not None


def test_the_vendored_tus_client_is_the_npm_package():
    vendored = (ROOT / "static/js/vendor/tus.min.js").read_bytes()
    package = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    header, _, body = vendored.partition(b"\n")
    assert header.startswith(b"/*! tus-js-client " + package["tus-js-client"].encode())
    npm = ROOT / "node_modules/tus-js-client/dist/tus.min.js"
    assert body == npm.read_bytes()
    # Its source map too: the manifest storage of collectstatic follows the reference.
    map_file = "static/js/vendor/tus.min.js.map"
    assert (ROOT / map_file).read_bytes() == npm.with_name("tus.min.js.map").read_bytes()
    assert (
        json.loads((npm.parents[1] / "package.json").read_text())["version"]
        == (package["tus-js-client"])
    )


def test_the_upload_cap_setting_is_the_one_tus_announces(client):
    options = client.options("/en/submit/tus/")
    assert options["Tus-Max-Size"] == str(django_settings.MAX_UPLOAD_BYTES)


def test_without_javascript_a_form_sent_back_keeps_its_file_too(
    client, sample_video, django_capture_on_commit_callbacks
):
    response = post(client, form_data(upload(sample_video), credit_name=""), lang="en")
    assert response.status_code == 400
    [kept_upload] = response.context["form"].kept_uploads
    assert (kept_upload.name, kept_upload.size) == (sample_video.name, sample_video.stat().st_size)
    assert f'value="{kept_upload.token}" checked' in response.content.decode()
    # Sent again with the token the page holds, and no file.
    with django_capture_on_commit_callbacks(execute=True):
        done = post(client, form_data(None, upload_ticket=kept_upload.token), lang="en")
    assert done.status_code == 302
    assert Clip.objects.get().original.read() == sample_video.read_bytes()
    assert list(tus.root().glob("*.part")) == []
