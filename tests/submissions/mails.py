"""Messages shaped like those real mail clients send, built for the e-mail ingestion tests."""

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

SENDER = "Camille Martin <camille@example.org>"


def message(
    *,
    subject="Mon week-end en Model 3",
    body="Voici ma vidéo de la balade.\n",
    sender=SENDER,
    to="clips@example.org",
    message_id=True,
    headers=None,
):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if subject is not None:
        msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 20, 10, 30, tzinfo=UTC))
    if message_id:
        msg["Message-ID"] = (
            message_id if isinstance(message_id, str) else make_msgid(domain="example.org")
        )
    if body is not None:
        msg.set_content(body)
    # After the content: set_content drops Content-* headers given before it.
    for name, value in (headers or {}).items():
        msg[name] = value
    return msg


def clip_mail(video, *, filename="balade.mp4", maintype="video", subtype="mp4", **kwargs):
    """A plain message with one video attached: what most phones send."""
    msg = message(**kwargs)
    msg.add_attachment(video, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def alternative_mail(video, **kwargs):
    """multipart/mixed( multipart/alternative(text, html), video ): Gmail, Outlook."""
    msg = message(body=None, **kwargs)
    msg.set_content(
        "Le col de la Bonette ce dimanche, en Autopilot.\n\n-- \nCamille\n06 12 34 56 78\n"
    )
    msg.add_alternative(
        "<p>Le col de la Bonette ce dimanche, en <b>Autopilot</b>.</p><div>-- <br>Camille</div>",
        subtype="html",
    )
    msg.add_attachment(video, maintype="video", subtype="mp4", filename="bonette.mp4")
    return msg.as_bytes()


def apple_inline_mail(video, *, message_id="<8E2A1C4D-APPLE@example.org>"):
    """Apple Mail (iPhone): the video inline between two text parts, no Content-Type guess."""
    encoded = base64.encodebytes(video).decode()
    return (
        "From: =?utf-8?Q?Zo=C3=A9_Lef=C3=A8vre?= <zoe@example.fr>\r\n"
        'Content-Type: multipart/mixed; boundary="Apple-Mail-4F1C0B7E"\r\n'
        "Mime-Version: 1.0 (1.0)\r\n"
        "Subject: =?utf-8?Q?Acc=C3=A9l=C3=A9ration_sur_le_circuit?=\r\n"
        f"Message-Id: {message_id}\r\n"
        "Date: Sat, 21 Nov 2026 09:12:44 +0100\r\n"
        "To: clips@example.org\r\n"
        "X-Mailer: iPhone Mail (21F90)\r\n"
        "\r\n"
        "--Apple-Mail-4F1C0B7E\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Le 0-100 en vid=C3=A9o\r\n"
        "--Apple-Mail-4F1C0B7E\r\n"
        "Content-Type: video/quicktime; name=IMG_0420.MOV; x-apple-part-url=9C1E-4B8A\r\n"
        "Content-Disposition: inline; filename=IMG_0420.MOV\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{encoded}\r\n"
        "--Apple-Mail-4F1C0B7E\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "\r\n"
        "Envoy=C3=A9 de mon iPhone\r\n"
        "--Apple-Mail-4F1C0B7E--\r\n"
    ).encode()


def forwarded_mail(video, **kwargs):
    """An owner forwards a message that had the video attached (message/rfc822)."""
    inner = message(
        subject="Notre balade du week-end",
        sender="Luc <luc@example.net>",
        body="Salut, la vidéo d'hier !\n",
    )
    inner.add_attachment(video, maintype="video", subtype="mp4", filename="samedi.mp4")
    outer = message(
        subject="Fwd: Notre balade du week-end",
        body="Je vous transfère la vidéo de mon ami.\n",
        **kwargs,
    )
    outer.add_attachment(inner)
    return outer.as_bytes()


def encoded_names_mail(video):
    """An RFC 2231 file name (Thunderbird) and an RFC 2047 subject."""
    encoded = base64.encodebytes(video).decode()
    return (
        "From: Jürgen <juergen@example.de>\r\n"
        "To: clips@example.org\r\n"
        "Subject: =?UTF-8?B?QVc6IFdHOiBGYWhydCBpbnMgR3LDvG5l?=\r\n"
        "Message-ID: <rfc2231@example.de>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Language: de-DE\r\n"
        "\r\n"
        "Hallo, hier ist mein Video.\r\n"
        "--b1\r\n"
        "Content-Type: video/mp4;\r\n"
        " name*=UTF-8''%C3%9Cber%20die%20Br%C3%BCcke.mp4\r\n"
        "Content-Disposition: attachment;\r\n"
        " filename*0*=UTF-8''%C3%9Cber%20die;\r\n"
        " filename*1*=%20Br%C3%BCcke.mp4\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{encoded}\r\n"
        "--b1--\r\n"
    ).encode()


def html_only_mail(**kwargs):
    msg = message(body=None, **kwargs)
    msg.set_content(
        "<html><head><style>p { color: red }</style><script>alert('x')</script></head>"
        "<body><p>Hello, here is my <i>weekend</i> drive!</p>"
        "<blockquote>On Monday you wrote: old text</blockquote></body></html>",
        subtype="html",
    )
    return msg


def broken_boundary_mail(video, *, closed=False, boundary_matches=True):
    """A multipart message whose closing boundary is missing, or whose declared one is wrong."""
    encoded = base64.encodebytes(video).decode()
    declared = "real-boundary" if boundary_matches else "announced-boundary"
    message_id = f"<broken-{int(closed)}-{int(boundary_matches)}@example.org>"
    return (
        "From: Sam <sam@example.org>\r\n"
        "To: clips@example.org\r\n"
        "Subject: broken\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{declared}"\r\n'
        "\r\n"
        "--real-boundary\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Here is my clip\r\n"
        "--real-boundary\r\n"
        "Content-Type: video/mp4; name=clip.mp4\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{encoded}" + ("--real-boundary--\r\n" if closed else "")
    ).encode()
