"""The mailer SMTP_URL configures, against a real SMTP server (aiosmtpd on loopback): STARTTLS
on the submission port, implicit TLS for smtps://, and a password given percent-encoded."""

import email
import importlib
import re
import signal
import smtplib
import socket
import subprocess
import threading
import time
import urllib.request
from email import policy

import pytest
from django.apps import apps
from django.conf import global_settings
from django.contrib.auth.models import Group, User
from django.core.mail import EmailMessage, mailers, send_mail
from django.test import override_settings
from playwright.sync_api import expect

from config.settings import mailer_from_url
from gallery.models import Clip
from submissions.models import Submission
from tests.factories import form_data, free_port, manage, post, said_in, upload, worker_env

pytestmark = pytest.mark.django_db

USER, PASSWORD = "mailer@example.org", "p@ss:w/rd%#?"  # as tests/conftest.py's server wants


def use(settings, url):
    settings.MAILERS = {"default": mailer_from_url(url)}


def parsed(sent):
    return email.message_from_bytes(sent["message"], policy=policy.default)


def test_an_owner_receipt_goes_out_over_starttls_with_the_decoded_password(
    client, settings, smtp_server, sample_video, django_capture_on_commit_callbacks
):
    try:
        # smtp://…:587 means STARTTLS: the server here refuses anything before it.
        server = smtp_server("starttls", port=587)
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot listen on port 587 here: {error}")
    use(settings, server.url("smtp"))
    assert "%40" in server.url("smtp") and "%25" in server.url("smtp")  # really encoded

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, form_data(upload(sample_video)), lang="de").status_code == 302

    (sent,) = server.received
    assert sent["tls"] and sent["login"] == USER
    assert server.logins == [(USER, PASSWORD)]
    assert sent["recipients"] == ["camille@example.org"]
    receipt = parsed(sent)
    assert receipt["To"] == "camille@example.org"
    assert receipt["Subject"] == said_in("de", "We have received your clip")
    assert "/de/my/" in receipt.get_content()


def test_smtps_speaks_tls_from_the_first_byte(settings, smtp_server):
    server = smtp_server("ssl")
    use(settings, server.url("smtps"))
    assert send_mail("Bonjour", "Corps", "site@example.org", ["owner@example.org"]) == 1
    (sent,) = server.received
    assert sent["tls"] and sent["login"] == USER and parsed(sent)["Subject"] == "Bonjour"


def test_a_wrong_password_is_refused_and_nothing_is_sent(settings, smtp_server):
    server = smtp_server("ssl")
    use(settings, server.url("smtps", password="not-the-password"))
    # Opened as a context, the refused connection is closed at once (not when collected,
    # which kept the server's TLS shutdown waiting 30 seconds).
    message = EmailMessage("Bonjour", "Corps", "site@example.org", ["owner@example.org"])
    with pytest.raises(smtplib.SMTPAuthenticationError), mailers.default as mailer:
        mailer.send_messages([message])
    assert server.logins == [(USER, "not-the-password")] and server.received == []


def test_a_password_goes_out_over_starttls_on_any_port(settings, smtp_server):
    server = smtp_server("starttls")  # a port other than 587
    use(settings, server.url("smtp"))
    assert send_mail("Bonjour", "Corps", "site@example.org", ["owner@example.org"]) == 1
    (sent,) = server.received
    assert sent["tls"] and sent["login"] == USER


def test_plain_smtp_cannot_reach_a_server_that_wants_tls_first(settings, smtp_server):
    # The negative control for STARTTLS: the same server refuses a client that skips it (a
    # local relay's URL: no credentials, not the submission port).
    server = smtp_server("starttls")
    use(settings, f"smtp://localhost:{server.port}")
    with pytest.raises(smtplib.SMTPException):
        send_mail("Bonjour", "Corps", "site@example.org", ["owner@example.org"])
    assert server.received == []


def receipt_printed_by(mailer, settings, client, capsys, sample_video, capture):
    """The French receipt of a web submission as a console mailer prints it."""
    settings.MAILERS = {"default": mailer}
    settings.SITE_URL = "http://127.0.0.1:8811"
    capsys.readouterr()
    with capture(execute=True):
        assert post(client, form_data(upload(sample_video)), lang="fr").status_code == 302
    status_url = settings.SITE_URL + Submission.objects.get().get_status_url()
    return capsys.readouterr().out, status_url


def test_the_console_mailer_prints_bodies_a_person_can_read_and_copy_links_from(
    settings, client, capsys, sample_video, django_capture_on_commit_callbacks
):
    printed, status_url = receipt_printed_by(
        mailer_from_url("console://"),
        settings,
        client,
        capsys,
        sample_video,
        django_capture_on_commit_callbacks,
    )
    assert len(status_url) > 78  # longer than a line of a quoted-printable body
    assert "Content-Transfer-Encoding: 8bit" in printed
    assert "quoted-printable" not in printed and "base64" not in printed
    assert status_url in printed.splitlines()  # whole, on a line of its own
    # The accented letters as they are, in UTF-8.
    keep = said_in("fr", "Keep this link to yourself: anyone who has it can withdraw your clip.")
    assert keep in printed and "è" in keep
    # The subject too, decoded: not "=?utf-8?q?re=C3=A7u?=".
    subject = said_in("fr", "We have received your clip")
    assert f"Subject: {subject}" in printed.splitlines() and "ç" in subject
    assert "=?utf-8?" not in printed
    # What it printed is the message itself: a mail reader reads the same text from it.
    printed_message = printed.split("-" * 79)[0].encode()
    message = email.message_from_bytes(printed_message, policy=policy.default)
    assert status_url in message.get_content() and keep in message.get_content()


def test_djangos_own_console_mailer_would_cut_the_link(
    settings, client, capsys, sample_video, django_capture_on_commit_callbacks
):
    """The control for the test above: the same receipt through Django's console backend."""
    printed, status_url = receipt_printed_by(
        {"BACKEND": "django.core.mail.backends.console.EmailBackend", "OPTIONS": {}},
        settings,
        client,
        capsys,
        sample_video,
        django_capture_on_commit_callbacks,
    )
    assert "quoted-printable" in printed and status_url not in printed.splitlines()


# A whole submission on `make run`'s server (serve_all, debug on, the console mailer) on a port
# other than 8000, with no SITE_URL: the links in its e-mails must lead back to that port.


class Terminal:
    """What a server prints, as someone watching its terminal sees it."""

    def __init__(self, process):
        self.lines = []
        self.thread = threading.Thread(target=self.read, args=(process.stdout,), daemon=True)
        self.thread.start()

    def read(self, stream):
        for line in stream:
            self.lines.append(line)

    def mails(self):
        """The e-mails printed so far, parsed from the text as it stands in the terminal."""
        text = "".join(self.lines)
        found = []
        for chunk in text.split("-" * 79 + "\n")[:-1]:
            start = chunk.find("Content-Type: text/plain")
            if start >= 0:
                raw = chunk[start:].encode()
                found.append(email.message_from_bytes(raw, policy=policy.default))
        return found

    def wait_for_mail(self, subject, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for mail in self.mails():
                if subject in mail["Subject"]:
                    return mail
            time.sleep(0.2)
        raise AssertionError(f"no mail {subject!r} in:\n{''.join(self.lines)[-3000:]}")


def wait_until_served(url, server, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped"
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer")


@pytest.fixture
def moderator():
    importlib.import_module("gallery.migrations.0005_moderators_group").create_group(apps, None)
    # Hashed as the site hashes: the server below runs in its own process, which does not
    # know the cheap hasher the tests use in theirs (tests/conftest.py).
    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):
        user = User.objects.create_user("mona", password="a-long-secret-42", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_link_in_a_whole_submissions_mails_answers_on_the_port_the_site_is_served_on(
    page, media_storage, sample_video, moderator, tmp_path
):
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    env = worker_env(media_storage, PORT=str(port), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    for name in ("SITE_URL", "SMTP_URL"):  # as `make run` starts it on a laptop
        env.pop(name, None)
    server = manage(
        "serve_all", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    terminal = Terminal(server)
    try:
        wait_until_served(site, server)
        clip_file = tmp_path / "Galibier.mp4"
        clip_file.write_bytes(sample_video.read_bytes())
        page.goto(f"{site}/en/submit/")
        page.get_by_label("Title").fill("Col du Galibier")
        page.get_by_label("Weekend").check()
        page.get_by_label("First name").fill("Lucía")
        page.get_by_label("Country").select_option("ES")
        page.get_by_label("E-mail").fill("lucia@example.org")
        page.get_by_label("I filmed this clip").check()
        page.get_by_label("Your clip").set_input_files(str(clip_file))
        page.get_by_role("button", name="Send my clip").click()
        expect(page).to_have_url(f"{site}/en/submit/thanks/", timeout=60_000)
        receipt = terminal.wait_for_mail("We have received your clip")

        # The clip is prepared by the server's worker, then a moderator publishes it.
        deadline = time.monotonic() + 180
        while Clip.objects.get().status != Clip.Status.REVIEW and time.monotonic() < deadline:
            time.sleep(0.5)
        assert Clip.objects.get().status == Clip.Status.REVIEW
        page.goto(f"{site}/admin/login/")
        page.get_by_label("Username").fill("mona")
        page.get_by_label("Password").fill("a-long-secret-42")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Open the queue").click()
        page.get_by_role("link", name="Col du Galibier").click()
        page.get_by_role("button", name="Approve and publish").click()
        expect(page.locator(".messagelist")).to_contain_text("Published.")
        published = terminal.wait_for_mail("is online")

        links = []
        for mail in (receipt, published):
            links += re.findall(r"https?://\S+", mail.get_content())
        status = Submission.objects.get().get_status_url()
        clip = Clip.objects.get().get_absolute_url()
        assert {site + status, site + clip} <= set(links)
        for link in links:
            assert link.startswith(site + "/"), link
            with urllib.request.urlopen(link, timeout=30) as answer:  # noqa: S310
                assert (answer.status, answer.url) == (200, link)  # there, not redirected
    except BaseException:
        print("".join(terminal.lines)[-20_000:])  # what the server said, shown with the failure
        raise
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_make_runs_server_stops_with_a_clear_error_when_its_port_is_taken(media_storage):
    # Before, the worker and the watchdog kept running, and whatever held the port answered.
    with socket.socket() as taken:
        port = free_port()
        taken.bind(("127.0.0.1", port))
        taken.listen()
        server = manage(
            "serve_all",
            "--port",
            str(port),
            env=worker_env(media_storage, DJANGO_DEBUG="1"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, said = server.communicate(timeout=60)
    assert server.returncode == 1
    assert f"The web server stopped (exit code 1). Is port {port} already in use?" in said
