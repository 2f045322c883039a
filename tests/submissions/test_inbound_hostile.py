"""A generated corpus of malformed e-mail: each message is recorded with its reason, quickly and
in bounded memory, and the poller goes on with the next one."""

import base64
import time
import tracemalloc

import pytest

from gallery.models import Clip
from submissions.models import InboundEmail
from tests.factories import clip_mail, ingest_once, process_all

pytestmark = pytest.mark.django_db

HEAD = (
    b"From: Mallory <mallory@example.org>\r\nTo: clips@example.org\r\n"
    b"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
)


def deep_nesting(depth=3000):
    """multipart/mixed inside multipart/mixed, thousands deep, a video at the bottom."""
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    video = b"Content-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
    return HEAD + b"Message-ID: <deep@example.org>\r\nSubject: deep\r\n" + opening + video + closing


def deep_forwards(depth=1000):
    """A forward of a forward of a forward... (message/rfc822 nesting)."""
    inner = b"Subject: innermost\r\n\r\nhello\r\n"
    for _ in range(depth):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    return HEAD + b"Message-ID: <forwards@example.org>\r\nSubject: forwards\r\n" + inner


def thousands_of_parts(count=5000):
    parts = b"".join(
        b"--many\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="part%d.mp4"\r\n\r\nxx\r\n' % i
        for i in range(count)
    )
    return (
        HEAD + b"Message-ID: <many@example.org>\r\nSubject: many parts\r\n"
        b'Content-Type: multipart/mixed; boundary="many"\r\n\r\n' + parts + b"--many--\r\n"
    )


def giant_headers():
    """A 4 MB subject line and 20,000 more header lines."""
    return (
        HEAD + b"Message-ID: <giant@example.org>\r\n"
        b"Subject: " + b"A" * 4_000_000 + b"\r\n"
        + b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 50) for i in range(20_000))
        + b"\r\nbody\r\n"
    )  # fmt: skip


def bad_encodings():
    """Undecodable words, an unknown charset, broken base64 and quoted-printable, raw 8-bit."""
    return (
        HEAD + b"Message-ID: <encodings@example.org>\r\n"
        b"Subject: =?x-unknown-charset?B?////?= =?utf-8?Q?=FF=FE?= \xff\xfe latin \xe9t\xe9\r\n"
        b'Content-Type: multipart/mixed; boundary="enc"\r\n\r\n'
        b"--enc\r\nContent-Type: text/plain; charset=x-klingon\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\xff broken =\r\n"
        b"--enc\r\nContent-Type: video/mp4; name*=x-unknown''%FF%FE.mp4\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!! not base64 @@@@ ====\r\n"
        b"--enc--\r\n"
    )


def missing_boundaries():
    """A multipart without a boundary, and one whose boundary never appears."""
    return [
        HEAD + b"Message-ID: <noboundary@example.org>\r\nSubject: no boundary\r\n"
        b"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: video/mp4\r\n\r\nAAAA\r\n",
        HEAD + b"Message-ID: <unused@example.org>\r\nSubject: unused boundary\r\n"
        b'Content-Type: multipart/mixed; boundary="never"\r\n\r\n--other\r\n'
        b"Content-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"\x00" * 300)
        + b"\r\n--other--\r\n",
    ]


CORPUS = {
    "deep nesting": deep_nesting,
    "deep forwards": deep_forwards,
    "thousands of parts": thousands_of_parts,
    "giant headers": giant_headers,
    "bad encodings": bad_encodings,
    "no boundary": lambda: missing_boundaries()[0],
    "unused boundary": lambda: missing_boundaries()[1],
}


FAILED, IGNORED = InboundEmail.Status.FAILED, InboundEmail.Status.IGNORED
# What becomes of each: refused outright (failed), or read and found to hold no video
# (ignored), and the words of the reason staff read.
EXPECTED = {
    "deep nesting": (FAILED, "This message has too many parts (> 800; at most 200)."),
    "deep forwards": (FAILED, "This message is nested too deeply to be read."),
    "thousands of parts": (FAILED, "This message has too many parts (> 800; at most 200)."),
    "giant headers": (IGNORED, "No usable video."),
    # Base64 that stops mid-group reads as a cut: said once, its defect in the log.
    "bad encodings": (IGNORED, "Damaged MIME structure: 8-bit header read as Windows-1252"),
    "no boundary": (IGNORED, "Damaged MIME structure: NoBoundaryInMultipartDefect"),
    "unused boundary": (IGNORED, "Damaged MIME structure: StartBoundaryNotFoundDefect"),
}


@pytest.mark.parametrize("name", CORPUS)
def test_each_hostile_message_is_recorded_with_its_reason_in_bounded_time_and_memory(
    deliver, media_storage, name
):
    raw = CORPUS[name]()
    tracemalloc.start()
    started = time.monotonic()
    try:
        inbound = deliver(raw)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    status, reason = EXPECTED[name]
    assert (inbound.status, name) == (status, name)
    assert reason in inbound.reason, inbound.reason
    assert "Error" not in inbound.reason, f"{name}: {inbound.reason}"  # said, not a traceback
    # Kept whole, for staff to look at: nothing a sender sent is lost.
    assert (media_storage / "private" / inbound.raw.name).read_bytes() == raw
    assert Clip.objects.count() == 0
    assert elapsed < 20, f"{name} took {elapsed:.1f} s"
    assert peak < 40 * len(raw) + 64 * 2**20, f"{name} peaked at {peak / 2**20:.0f} MiB"


def test_the_poller_goes_through_the_whole_corpus_and_keeps_going(imap, tiny_video):

    imap.append(*[make() for make in CORPUS.values()], clip_mail(tiny_video))
    output = ingest_once()
    assert f"{len(CORPUS) + 1} received" in output and "archived" in output
    assert imap.count("INBOX") == 0
    process_all()
    records = InboundEmail.objects.all()
    assert records.count() == len(CORPUS) + 1
    assert not records.filter(status=InboundEmail.Status.RECEIVED).exists()
    hostile = records.exclude(status=InboundEmail.Status.PROCESSED)
    assert hostile.count() == len(CORPUS) and all(r.reason for r in hostile)
    # The good message after them all still became a clip.
    assert Clip.objects.count() == 1
