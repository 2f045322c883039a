"""Helpers the tests share, as plain functions: real rows through the real transitions,
the web form's data, e-mails shaped like real clients send them, the site's public pages,
and the worker processes. Servers (S3, IMAP, SMTP) are fixtures in conftest.py."""

import base64
import io
import itertools
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html.parser import HTMLParser
from pathlib import Path

import pillow_heif
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from PIL import Image as PILImage

from gallery.models import Caption, Clip, Theme
from gallery.synth import colour_pattern
from submissions.models import ClipDraft, InboundEmail, Submission

ROOT = Path(__file__).resolve().parents[1]
_titles = itertools.count(1)


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


# Servers the tests start listen on ports of 10,000-22,767 (their SeaweedFS companions, at
# port + 10,000, stay below the kernel's own ports from 32,768). Runs side by side on one
# machine (CI's two) take turns: TEST_PORTS=K/N gives this run the ports equal to K - 1
# modulo N, so that no other run takes a port between our check and our server's bind.
_PORTS = range(10_000, 22_768)
_ports_given = set()


def port_is_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on and this run has not handed out
    before, from this run's share of the test ports (TEST_PORTS=K/N, default 1/1). Raises
    RuntimeError when none is found."""
    k, n = (int(part) for part in os.environ.get("TEST_PORTS", "1/1").split("/"))
    first = _PORTS.start + (k - 1 - _PORTS.start) % n
    for _ in range(500):
        port = random.randrange(first, _PORTS.stop, n)
        if port not in _ports_given and port_is_free(port):
            _ports_given.add(port)
            return port
    raise RuntimeError(f"no free port among TEST_PORTS={k}/{n}")


def wait_for(predicate, timeout, step=0.1):
    """Poll until `predicate()` is true or `timeout` seconds have passed; return whether it was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def theme(slug):
    return Theme.objects.get(slug=slug)


def emailed_by_a_german_owner(name, title):
    """The clip of an owner who wrote in German and e-mailed a file that is no video, stored
    as `originals/<name>`."""
    from infra.storage import private_storage

    original = private_storage().save(f"originals/{name}", ContentFile(b"\x00" * 4000))
    submission = Submission.objects.create_with_clips(
        email="owner@example.org",
        language="de",
        source=Submission.Source.EMAIL,
        clips=[ClipDraft(original=original, title=title)],
    )
    return submission.clips.get()


def make_clip(
    *,
    status=Clip.Status.PUBLISHED,
    themes=(),
    title=None,
    featured=False,
    video=None,
    credit_name="Camille",
    credit_country="FR",
    description="",
    language="fr",
):
    """A clip in `status`. With `video` (a file path) it is really processed, else it gets
    placeholder media names."""
    clip = Clip.objects.create(
        title=title or f"Clip {next(_titles)}",
        description=description,
        credit_name=credit_name,
        credit_country=credit_country,
        featured=featured,
        language=language,
    )
    if themes:
        clip.themes.set(Theme.objects.filter(slug__in=themes))
    if video is not None:
        with open(video, "rb") as fh:
            clip.original.save("upload.mp4", File(fh))
    if status == Clip.Status.PROCESSING:
        return clip
    if status == Clip.Status.FAILED:
        clip.mark_failed("test failure")
        return clip
    if video is not None:
        from gallery import processing

        processing.process(clip)
        clip.refresh_from_db()
        assert clip.status == Clip.Status.REVIEW, clip.failure_text
    else:
        folder = f"clips/{clip.pk}/t"
        placeholder_media(folder)
        clip.mark_processed(
            video=f"{folder}/720p.mp4",
            poster=f"{folder}/poster.jpg",
            duration=12.0,
            width=1280,
            height=720,
            size=len(b"placeholder 720p.mp4"),
            thumbnails=[
                {
                    "width": w,
                    "height": w * 9 // 16,
                    "webp": f"{folder}/thumb-{w}.webp",
                    "jpeg": f"{folder}/thumb-{w}.jpg",
                }
                for w in (320, 640)
            ],
        )
    if status == Clip.Status.REVIEW:
        return clip
    if status in (Clip.Status.PUBLISHED, Clip.Status.REJECTED):
        clip.approve(by=None) if status == Clip.Status.PUBLISHED else clip.reject(
            by=None, reason="test"
        )
    elif status == Clip.Status.WITHDRAWN:
        clip.withdraw()
    return clip


def placeholder_media(folder):
    """Tiny stand-ins for processed files, for tests that never play them."""
    from django.core.files.base import ContentFile

    from infra.storage import private_storage

    for name in (
        "720p.mp4",
        "poster.jpg",
        "thumb-320.webp",
        "thumb-320.jpg",
        "thumb-640.webp",
        "thumb-640.jpg",
    ):
        private_storage().save(f"{folder}/{name}", ContentFile(b"placeholder " + name.encode()))


def owned_clip(*, status=Clip.Status.REVIEW, video=None, consent=True, language="en"):
    submission = Submission.objects.create(email="owner@example.org", language=language)
    if consent:
        submission.give_consent()
    clip = make_clip(status=Clip.Status.PROCESSING, video=video)
    Clip.objects.filter(pk=clip.pk).update(submission=submission)
    clip.refresh_from_db()
    if status != Clip.Status.PROCESSING:
        if video is not None:
            from gallery import processing

            processing.process(clip)
        else:
            make_processed(clip)
        clip.refresh_from_db()
    if status == Clip.Status.PUBLISHED:
        clip.approve(by=None)
    elif status == Clip.Status.REJECTED:
        clip.reject(by=None, reason="Out of focus")
    return submission, clip


def make_processed(clip):
    placeholder_media(f"clips/{clip.pk}/x")
    clip.mark_processed(
        video=f"clips/{clip.pk}/x/720p.mp4",
        poster=f"clips/{clip.pk}/x/poster.jpg",
        thumbnails=[],
        duration=3,
        width=640,
        height=360,
        size=10,
    )


def said_in(language, text, **values):
    """`text` as the site's catalogue says it in `language`; for another language than
    English, checked to be really translated (so a test cannot compare English with English)."""
    from django.utils import translation

    with translation.override(language):
        said = translation.gettext(text)
    assert language == "en" or said != text, f"no {language} translation of {text!r}"
    return said % values if values else said


# The web form


def form_data(video, **overrides):
    data = {
        "video": video,
        "title": "Col de la Bonette",
        "description": "Montée tranquille",
        "themes": ["weekend", "design"],
        "credit_name": "Camille",
        "credit_country": "FR",
        "email": "camille@example.org",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def upload(path, name=None, content_type="video/mp4"):
    return SimpleUploadedFile(
        name or Path(path).name, Path(path).read_bytes(), content_type=content_type
    )


def heic_photo(path, width=320, height=240):
    """A real HEIC photo (an HEVC still in HEIF), as an iPhone takes it and keeps a Live
    Photo's still."""
    picture = PILImage.fromarray(colour_pattern(width, height))
    pillow_heif.from_pillow(picture).save(path, quality=80)
    return Path(path)


def post(client, data, lang="fr"):
    # The test client builds uploads in memory; the site's own handler streams to disk.
    assert settings.FILE_UPLOAD_HANDLERS == ["submissions.uploads.CappedUploadHandler"]
    return client.post(f"/{lang}/submit/", data)


# E-mail

SENDER = "Camille Martin <camille@example.org>"


def mail_message(
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
    msg = mail_message(**kwargs)
    msg.add_attachment(video, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def alternative_mail(video, **kwargs):
    """multipart/mixed( multipart/alternative(text, html), video ): Gmail, Outlook."""
    msg = mail_message(body=None, **kwargs)
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
    inner = mail_message(
        subject="Notre balade du week-end",
        sender="Luc <luc@example.net>",
        body="Salut, la vidéo d'hier !\n",
    )
    inner.add_attachment(video, maintype="video", subtype="mp4", filename="samedi.mp4")
    outer = mail_message(
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
    msg = mail_message(body=None, **kwargs)
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


# What mail clients wrap, and what they send instead of a file


def _tnef_attribute(level, attribute_id, attribute_type, data):
    """One TNEF attribute (MS-OXTNEF 2.1.3.1): level, id and type, length, data, checksum."""
    checksum = sum(data) & 0xFFFF
    return (
        struct.pack("<BHHI", level, attribute_id, attribute_type, len(data))
        + data
        + struct.pack("<H", checksum)
    )


def _mapi_unicode(property_id, value):
    """A one-property MAPI list (MS-OXTNEF 2.1.3.4): a PtypString, UTF-16LE, padded to 4."""
    text = (value + "\x00").encode("utf-16-le")
    padding = b"\x00" * (-len(text) % 4)
    return struct.pack("<IHHII", 1, 0x001F, property_id, 1, len(text)) + text + padding


def tnef_bytes(files, *, body="Voici la vidéo."):
    """A winmail.dat as Outlook writes it: version, code page, body, then each attachment.

    `files` maps long file names to bytes.
    """
    message, attachment = 0x01, 0x02
    dword, byte, string, text = 0x0008, 0x0006, 0x0001, 0x0002
    out = struct.pack("<IH", 0x223E9F78, 0x1234)
    out += _tnef_attribute(message, 0x9006, dword, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef_attribute(message, 0x9007, byte, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += _tnef_attribute(message, 0x8008, string, b"IPM.Microsoft Mail.Note\x00")
    out += _tnef_attribute(message, 0x800C, text, body.encode("cp1252") + b"\x00")  # attBody
    for index, (name, data) in enumerate(files.items()):
        short = f"CLIP{index}~1{Path(name).suffix[:4].upper()}".encode("cp1252") + b"\x00"
        out += _tnef_attribute(
            attachment, 0x9002, byte, struct.pack("<IIIIHI", 1, 0xFFFFFFFF, 0, 0, 0, 0)
        )
        out += _tnef_attribute(attachment, 0x8010, string, short)  # attAttachTitle (8.3)
        out += _tnef_attribute(attachment, 0x800F, byte, data)  # attAttachData
        # attAttachment: the MAPI properties, among them PidTagAttachLongFilename.
        out += _tnef_attribute(attachment, 0x9005, byte, _mapi_unicode(0x3707, name))
    return out


def outlook_tnef_mail(files, **kwargs):
    """Outlook's rich-text mail: a text part, then everything else inside winmail.dat."""
    msg = mail_message(sender="Lucas Rossi <lucas@example.it>", **kwargs)
    msg.add_attachment(
        tnef_bytes(files), maintype="application", subtype="ms-tnef", filename="winmail.dat"
    )
    return msg.as_bytes()


def zip_bytes(files, *, compression=zipfile.ZIP_DEFLATED):
    """A zip archive of `files` (name -> bytes, or a (bytes, compression) pair)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2026, 11, 20, 10, 30, 0)), data, compression)
    return buffer.getvalue()


def zip_mail(archive, *, filename="clips.zip", **kwargs):
    msg = mail_message(**kwargs)
    msg.add_attachment(archive, maintype="application", subtype="zip", filename=filename)
    return msg.as_bytes()


def link_mail(text, html=None, **kwargs):
    """A message that carries a link to the clip, not the clip (text and, as clients do, HTML)."""
    msg = mail_message(body=text, **kwargs)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def gmail_drive_mail(**kwargs):
    """Gmail over its 25 MB limit: the file goes to Drive, the message carries a chip link."""
    url = "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/view?usp=drive_web"
    return link_mail(
        f"Voici la vidéo de notre balade du week-end.\n\n IMG_2291.MOV\n<{url}>\n",
        f'<div dir="ltr">Voici la vidéo de notre balade du week-end.</div>'
        f'<div class="gmail_chip gmail_drive_chip"><a href="{url}" target="_blank">'
        f"<span>IMG_2291.MOV</span></a></div>",
        subject="Balade du week-end",
        **kwargs,
    )


def mail_drop_mail(**kwargs):
    """Apple Mail's Mail Drop: the attachment replaced by an iCloud link and its expiry date."""
    url = "https://www.icloud.com/attachment/?u=https%3A%2F%2Fcvws.icloud-content.com%2FB%2FAbC&uk=x&f=IMG_0512.MOV&sz=412345678"
    return link_mail(
        "Le superchargeur de Nuits-Saint-Georges\n\n"
        f"IMG_0512.MOV <{url}>\nDate d'expiration : 20 décembre 2026\n\nEnvoyé de mon iPhone\n",
        f'<div>Le superchargeur de Nuits-Saint-Georges</div><br><a href="{url}">'
        "<div>IMG_0512.MOV</div><div>Date d'expiration : 20 décembre 2026</div></a>",
        subject="Superchargeur",
        sender="Zoé Lefèvre <zoe@example.fr>",
        **kwargs,
    )


def wetransfer_mail(**kwargs):
    """An owner forwards the confirmation WeTransfer sent them, with the download link."""
    return link_mail(
        "---------- Forwarded message ---------\nFrom: WeTransfer <noreply@wetransfer.com>\n"
        "Subject: Your files were sent successfully to clips@example.org\n\n"
        "Your transfer of 1 file (812 MB) was sent.\nDownload link: https://we.tl/t-a1B2c3D4e5\n"
        "Files: route-napoleon.mp4\n",
        subject="Fwd: Your files were sent successfully",
        sender="Noah Weber <noah@example.de>",
        **kwargs,
    )


def mms_mail(video, *, sender="+33612345678@mms.example-carrier.fr", text="Sortie de garage"):
    """A carrier's MMS gateway: a phone number, a SMIL layout, a text file, a 3GP."""
    smil = (
        '<smil><head><layout><root-layout/><region id="Text" top="70%" height="30%"/>'
        '<region id="Image" top="0" height="70%"/></layout></head><body><par dur="5000ms">'
        '<video src="VID_0001.3gp" region="Image"/><text src="text_0.txt" region="Text"/>'
        "</par></body></smil>"
    )
    msg = mail_message(subject="MMS", sender=sender, body=None)
    msg.set_content(smil.encode(), maintype="application", subtype="smil", filename="smil.smil")
    msg.add_attachment(text, subtype="plain", filename="text_0.txt")
    msg.add_attachment(video, maintype="video", subtype="3gpp", filename="VID_0001.3gp")
    return msg.as_bytes()


def ingest_once():
    out = io.StringIO()
    call_command("ingest_mail", "--imap", "--once", stdout=out)
    return out.getvalue()


def process_all():
    from submissions.tasks import process_inbound_email

    for pk in InboundEmail.objects.filter(status=InboundEmail.Status.RECEIVED).values_list(
        "pk", flat=True
    ):
        process_inbound_email.call(pk)


def queued(task_name):
    """Arguments of the queued tasks of one kind (django-tasks-db rows)."""
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(task_path__endswith=f".{task_name}").order_by("enqueued_at")
    return [row.args_kwargs["args"] for row in rows]


# Worker processes


def served_database_url():
    """DATABASE_URL of the database this test uses (SQLite or PostgreSQL), for its servers."""
    database = connection.settings_dict
    assert database["ENGINE"].endswith("sqlite3") or database["ENGINE"].endswith("postgresql")
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    return (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or 'localhost'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def worker_env(media_storage, **extra):
    url = served_database_url()
    return os.environ | {"DATABASE_URL": url, "VAR_DIR": str(media_storage.parent)} | extra


def manage(*args, env, **kwargs):
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, **kwargs)


# Pages


class Head(HTMLParser):
    """The <link>, <meta> and JSON-LD <script> elements of a page."""

    def __init__(self, html):
        super().__init__()
        self.links, self.metas, self.json_ld, self._in_ld = [], [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            self.links.append(attrs)
        elif tag == "meta":
            self.metas.append(attrs)
        elif tag == "script" and attrs.get("type") == "application/ld+json":
            self._in_ld = attrs
            self.json_ld.append({"attrs": attrs, "text": ""})

    def handle_data(self, data):
        if self._in_ld is not None:
            self.json_ld[-1]["text"] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_ld = None

    def link(self, rel, **match):
        return [
            link
            for link in self.links
            if link.get("rel") == rel and all(link.get(k) == v for k, v in match.items())
        ]

    def meta(self, key):
        """Values of <meta property=key> or <meta name=key>, in order."""
        return [m["content"] for m in self.metas if key in (m.get("property"), m.get("name"))]


def head(response):
    return Head(response.content.decode())


VTT = "WEBVTT\n\n00:00.000 --> 00:02.000\nBonjour !\n\n00:02.000 --> 00:05.000\nÀ bientôt.\n"


@dataclass
class Site:
    clip: Clip
    submission: Submission
    session_key: str
    pages: dict = field(default_factory=dict)


def make_site(*, video=None):
    """Three published clips (the first with `video` really processed, and captions), an owner
    with clips in several states, and the session of someone who has just sent a clip.
    `pages` maps a name to a path."""
    from django.contrib.sessions.backends.db import SessionStore

    from gallery.captions import sync_caption_files
    from submissions.views import THANKS_SESSION_KEY

    clip = make_clip(
        title="Lever de soleil sur le col",
        description="Un matin calme.\nAvant le travail.",
        themes=["weekend", "design"],
        language="fr",
        video=video,
    )
    # The others need no real video: nobody plays them here.
    make_clip(
        title="Autobahn, sans bruit", themes=["performance"], language="de", featured=True
    ).set_featured(True)
    make_clip(title="Frunk picnic", themes=["weekend"], language="en")
    for language in ("fr", "en", "de"):
        caption = Caption(clip=clip, language=language)
        caption.file.save("captions.vtt", ContentFile(VTT.encode()), save=True)
    sync_caption_files(clip, before=set())

    submission = Submission.objects.create(email="owner@example.org", language="nl")
    for status in (Clip.Status.REVIEW, Clip.Status.REJECTED):
        owned = make_clip(status=status, title=f"Mijn clip ({status})", language="nl")
        Clip.objects.filter(pk=owned.pk).update(submission=submission)
    # Sent from a phone: the status page asks for the name and country to show.
    submission.clips.filter(status=Clip.Status.REVIEW).update(credit_name="", credit_country="")
    # An e-mail that carried a Drive link, not the clip: its personal upload link.
    linked = InboundEmail.objects.create(
        message_id="<drive-link@example.org>",
        sha256="0" * 64,
        sender="owner@example.org",
        via="file",
        language="nl",
        draft={"title": "Rit naar zee", "description": "Mijn video.", "themes": ["weekend"]},
    )

    session = SessionStore()
    session[THANKS_SESSION_KEY] = submission.signed_token
    session.create()

    site = Site(clip=clip, submission=submission, session_key=session.session_key)
    site.pages = {
        "gallery": "/fr/",
        "filtered gallery": "/en/?theme=weekend&theme=performance",
        "clip": f"/de{clip.get_absolute_url()[3:]}",
        "submit": "/fr/submit/",
        "thanks": "/es/submit/thanks/",
        "status": submission.get_status_url(language="nl"),
        "personal link": linked.get_personal_link(language="nl"),
        "terms": "/it/terms/",
        "embed": f"/embed/{clip.pk}/",
    }
    return site


def session_cookie(site, url):
    return {"name": settings.SESSION_COOKIE_NAME, "value": site.session_key, "url": url}


def make_history(*, arrived, decided=None, status=Clip.Status.REVIEW, reason_code="", **kwargs):
    """A clip that arrived at `arrived` and, for a decided status, was decided at `decided`
    (aware datetimes): its row and its recorded transitions moved back in time."""
    from gallery.models import ClipTransition

    source = kwargs.pop("source", Clip.Source.WEB)
    clip = make_clip(status=Clip.Status.REVIEW, **kwargs)
    if status == Clip.Status.PUBLISHED:
        clip.approve(by=None)
    elif status == Clip.Status.REJECTED:
        clip.reject(by=None, reason_code=reason_code, reason="" if reason_code else "test")
    elif status == Clip.Status.WITHDRAWN:
        clip.withdraw()
    Clip.objects.filter(pk=clip.pk).update(source=source, created_at=arrived)
    ClipTransition.objects.filter(clip=clip, to_status=Clip.Status.REVIEW).update(at=arrived)
    if decided is not None:
        ClipTransition.objects.filter(clip=clip).exclude(to_status=Clip.Status.REVIEW).update(
            at=decided
        )
        if status == Clip.Status.PUBLISHED:
            Clip.objects.filter(pk=clip.pk).update(published_at=decided)
    clip.refresh_from_db()
    return clip


def add_plays(clip, day, plays):
    """`plays` counted plays of `clip` on `day` (a date)."""
    from gallery.models import PlayDay

    return PlayDay.objects.create(clip=clip, day=day, plays=plays)


def cache_entries():
    """How many entries the page cache holds, whichever backend it is (memory or Redis)."""
    from django.core.cache import caches

    cache = caches["default"]
    if hasattr(cache, "_cache") and isinstance(cache._cache, dict):
        return len(cache._cache)
    return cache._cache.get_client().dbsize()


def add_published_clips(count, themes):
    """Many published clips at once (rows only; they share one clip's media)."""
    from datetime import timedelta

    from django.utils import timezone

    from gallery.models import recount_themes

    model = make_clip(themes=themes)
    now = timezone.now()
    clips = Clip.objects.bulk_create(
        Clip(
            title=f"Bulk {i}",
            credit_name="Camille",
            status=Clip.Status.PUBLISHED,
            published_at=now - timedelta(seconds=i + 1),
            poster=model.poster.name,
            video=model.video.name,
            thumbnails=model.thumbnails,
            duration=12.0,
        )
        for i in range(count - 1)
    )
    through = Clip.themes.through
    through.objects.bulk_create(
        through(clip_id=clip.pk, theme_id=theme.pk)
        for clip in clips
        for theme in Theme.objects.filter(slug__in=themes)
    )
    recount_themes()


# Dashcam events (the car's own cameras)

# One colour per camera, so a picture tells which camera it came from.
CAMERA_COLOURS = {
    "front": (220, 40, 40),
    "back": (40, 200, 40),
    "left_repeater": (40, 40, 220),
    "right_repeater": (230, 220, 40),
    "left_pillar": (220, 40, 220),
    "right_pillar": (40, 210, 220),
}
# A made-up event's place: it must appear nowhere we store or show.
EVENT_CITY = "Villefranche-sur-Saône-Zzyzx"
EVENT_LAT = "45.987654"
EVENT_LON = "4.712345"


def dashcam_minute(folder, camera, *, start="2026-06-01_10-42-12", seconds=2.0, size=(320, 240),
                   fps=36, shade=1.0):  # fmt: skip
    """One camera's minute as the car writes it: H.264 MP4, no audio, its colour filling the
    picture (scaled by `shade`) with a white bar moving across it."""
    import av
    import numpy as np

    path = Path(folder) / f"{start}-{camera}.mp4"
    width, height = size
    colour = np.array([round(c * shade) for c in CAMERA_COLOURS[camera]], dtype=np.uint8)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28"}
        frames = round(seconds * fps)
        for n in range(frames):
            picture = np.empty((height, width, 3), dtype=np.uint8)
            picture[:] = colour
            x = (n * 7) % max(1, width - 8)
            picture[height - 12 :, x : x + 8] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def dashcam_event(folder, cameras=("front", "back", "left_repeater", "right_repeater"), *,
                  starts=("2026-06-01_10-42-12",), reason="user_interaction_honk", **kwargs):  # fmt: skip
    """An event folder: each camera's minutes, event.json (with a city and position), thumb.png.

    Returns {file name: bytes}, in the order the car lists them.
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for index, start in enumerate(starts):
        for camera in cameras:
            path = dashcam_minute(folder, camera, start=start, shade=1.0 - 0.4 * index, **kwargs)
            files[path.name] = path.read_bytes()
    event = {
        "timestamp": starts[0].replace("_", "T").replace("-", ":").replace(":", "-", 2),
        "city": EVENT_CITY,
        "est_lat": EVENT_LAT,
        "est_lon": EVENT_LON,
        "reason": reason,
        "camera": "0",
    }
    files["event.json"] = json.dumps(event).encode()
    thumb = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 0, 0)).save(thumb, "PNG")
    files["thumb.png"] = thumb.getvalue()
    return files


def dashcam_mail(files, **kwargs):
    """An e-mail with the event's files attached one by one."""
    msg = mail_message(**kwargs)
    for name, data in files.items():
        maintype, subtype = {
            ".mp4": ("video", "mp4"),
            ".json": ("application", "json"),
            ".png": ("image", "png"),
        }[Path(name).suffix]
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


# Geotags, as phones write them into the container (gallery/geotags.py)

# An iPhone 15 Pro's keys, in the order AVFoundation writes them (MediaInfo's dump of one).
IPHONE_KEYS = {
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.location.accuracy.horizontal": "21.307141",
    "com.apple.quicktime.location.ISO6709": "+36.1318-115.1517+621.989/",
    "com.apple.quicktime.model": "iPhone 15 Pro Max",
    "com.apple.quicktime.software": "17.2.1",
    "com.apple.quicktime.creationdate": "2024-01-08T15:06:17-0800",
}
# Android's MediaMuxer.setLocation: ISO 6709, latitude and longitude only.
ANDROID_XYZ = "+48.8584+002.2945/"
GEOTAG_COORDINATES = (b"36.1318", b"115.1517", b"621.989", b"48.8584", b"002.2945", b"21.307141")


def iphone_video(path, *, seconds=1.0, rotation=90):
    """A portrait MOV with an iPhone's mdta keys, its location among them."""
    from gallery.synth import synthesize

    return synthesize(
        path, seconds=seconds, width=160, height=96, rotation=rotation, metadata=IPHONE_KEYS
    )


def mp4_box(kind, payload):
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def xyz_box(value=ANDROID_XYZ, language=0x15C7):
    """A `©xyz` as MediaMuxer writes it: string length, packed language, ISO 6709 string."""
    return mp4_box(b"\xa9xyz", struct.pack(">HH", len(value), language) + value.encode())


def with_udta(path, *children):
    """`path` with a `udta` holding `children` added at the end of its `moov`, which PyAV
    writes last (no sample offset moves): the shape of an Android or 3GPP recording."""
    data = bytearray(Path(path).read_bytes())
    start = data.rindex(b"moov") - 4
    assert start + struct.unpack_from(">I", data, start)[0] == len(data), "moov is not last"
    data += mp4_box(b"udta", b"".join(children))
    struct.pack_into(">I", data, start, len(data) - start)
    Path(path).write_bytes(bytes(data))
    return Path(path)


def geotag_left(data):
    """The coordinates of the test geotags still in `data` (empty: none)."""
    return [coordinate for coordinate in GEOTAG_COORDINATES if coordinate in data]


def redis_cache(url):
    """The caches as CACHE_URL sets them: Redis, with each process's memory in front."""
    return {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
        "near": {"BACKEND": "infra.cache.NearCache", "LOCATION": "near"},
        "near-pages": {"BACKEND": "infra.cache.NearCache", "LOCATION": "near-pages"},
    }
