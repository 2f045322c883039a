"""The mailer SMTP_URL configures, against a real SMTP server (aiosmtpd on loopback): STARTTLS
on the submission port, implicit TLS for smtps://, and a password given percent-encoded."""

import email
import smtplib
from email import policy

import pytest
from django.core.mail import send_mail

from config.settings import mailer_from_url
from tests.factories import form_data, post, said_in, upload

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
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send_mail("Bonjour", "Corps", "site@example.org", ["owner@example.org"])
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
