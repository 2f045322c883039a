"""A corpus of real-world messages through e-mail intake: what is recorded, read, answered.

Each file goes in as a mail server hands it over, `manage.py ingest_mail FILE` and then
`manage.py ingest_mail -` (stdin), one process each, production settings, SQLite in a
temporary VAR_DIR; exit codes and the processes' peak memory are kept. Then every recorded
message is processed (unpack, probe, clips, reply) in this process, timed. Counts: recorded,
examined, answered, refused and why; and where our header repairs (parse.repair) read
something the standard library's modern parser alone (policy.default) does not.

Usage: python bench/mail_corpus.py CORPUS_DIR [CORPUS_DIR...]
(e.g. the spec/fixtures/emails folder of a mail library's public repository; not committed).
"""

import collections
import contextlib
import email
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import production_env  # noqa: E402

TIMEOUT = 60  # seconds for one message's intake: over it, the command hung


def messages(folders):
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                yield path


def ingest(paths, env):
    """Each message through `ingest_mail FILE` and `ingest_mail -`: exit codes, peak RSS."""
    codes = collections.Counter()
    failures = []
    started = time.monotonic()
    for path in paths:
        for route in ("file", "stdin"):
            args = [
                sys.executable,
                "manage.py",
                "ingest_mail",
                str(path) if route == "file" else "-",
            ]
            try:
                run = subprocess.run(
                    args, cwd=ROOT, env=env, capture_output=True, timeout=TIMEOUT,
                    input=path.read_bytes() if route == "stdin" else None,
                )  # fmt: skip
                code = run.returncode
            except subprocess.TimeoutExpired:
                code = "hung"
            codes[(route, code)] += 1
            if code != 0:
                failures.append((path.name, route, code, run.stderr.decode()[-300:]))
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return codes, failures, elapsed, peak


def leaves(message):
    return sum(1 for part in message.walk() if not part.is_multipart())


def stdlib_against_ours(paths):
    """Messages where our repairs read a field the standard parser alone loses or garbles."""
    from submissions import parse

    better = collections.Counter()
    examples = collections.defaultdict(list)
    for path in paths:
        raw = path.read_bytes()
        plain = email.message_from_bytes(raw, policy=policy.default)
        try:
            ours = parse.parse(raw)
        except parse.Unreadable:
            continue
        mended = [d for d in ours.defects if not d.endswith("Defect")]
        with contextlib.suppress(Exception):
            plain_sender = plain["From"].addresses[0].addr_spec if plain["From"] else ""
        if not plain["From"] or " " in plain_sender or '"' in plain_sender:
            plain_sender = ""
        for what, lost in (
            ("sender", not plain_sender and ours.sender),
            ("subject", not str(plain["Subject"] or "") and ours.subject),
            ("garbled subject (U+FFFD)", "\ufffd" in str(plain["Subject"] or "")
             and "\ufffd" not in ours.subject),
            ("Message-ID", not str(plain["Message-ID"] or "").strip() and ours.message_id),
            ("parts (an attachment unseen)", leaves(plain) < leaves(
                email.message_from_bytes(parse.repair(raw)[0], policy=policy.default))),
        ):  # fmt: skip
            if lost:
                better[what] += 1
                examples[what].append(path.name)
        for repair in mended:
            better[f"repair: {repair}"] += 1
    return better, examples


# What follows an owner's words in real mail, and must not reach the public description.
TAILS = [
    "-- \nCamille Martin\n06 12 34 56 78", "Sent from my iPhone", "Envoyé de mon iPhone",
    "Von meinem iPhone gesendet", "Verstuurd vanaf mijn iPhone", "Inviato da iPhone",
    "Enviado desde mi iPhone", "Get Outlook for Android",
    "On Tue, Nov 3, 2026 at 10:02 AM Team <clips@example.org>\nwrote:\n> hi",
    "Le mar. 3 nov. 2026 à 10:02, Équipe <clips@example.org> a écrit :\n> Bonjour,",
    "Am 03.11.2026 um 10:02 schrieb Team <clips@example.org>:\n> hallo",
    "Op di 3 nov. 2026 om 10:02 schreef Team <clips@example.org>:",
    "Il giorno mar 3 nov 2026 alle ore 10:02 Team ha scritto:",
    "El mar, 3 nov 2026 a las 10:02, Team (<clips@example.org>) escribió:",
    "-----Original Message-----\nFrom: Team\nSent: Tuesday",
    "From: Team <clips@example.org>\nSent: Tuesday, 3 November 2026 10:02",
    "________________________________\nDe : Team\nEnvoyé : mardi",
    "---------- Forwarded message ---------\nFrom: Luc",
    "Best regards,\nLucas", "Cordialement,\nLucas", "Mit freundlichen Grüßen\nLucas",
    "Met vriendelijke groet,\nLucas", "Cordiali saluti\nLucas", "Saludos cordiales,\nLucas",
    "Lucas, Italy", "Lucas\nMilano",
]  # fmt: skip
KEPT = [
    "- first stop: the lake\n- then the pass", "Thanks for the gallery, here is the pass.",
    # A last line that begins with a closing word and is the owner's: a place, a thanks.
    "Love Paris", "Merci Tesla", "Ciao Roma",
]  # fmt: skip


def stripping_comparison(paths):
    """Owner's words kept whole and tails cut: our rules, mail-parser-reply, the two chained;
    then how often the library would still change a body of the corpus after our rules."""
    from mailparser_reply.parser import EmailMessage

    from submissions import parse

    def library(text):
        # keep_hyphen_lists: an owner's "- first stop" list is no signature.
        reader = EmailMessage(text=text, languages=list(parse.LANGUAGES), keep_hyphen_lists=True)
        return reader.read().replies[0].body.strip()

    def ours(text):
        return parse.strip_quotes_and_signature(text, signed="Lucas")

    ways = {
        "ours (intake)": ours,
        "mail-parser-reply alone": library,
        "ours, then the library": lambda text: library(ours(text)),
    }
    words = "The coast road at sunset."
    for name, strip in ways.items():
        cut = sum(strip(f"{words}\n\n{tail}\nmore") == words for tail in TAILS)
        kept = sum(strip(f"{words}\n{text}") == f"{words}\n{text}" for text in KEPT)
        print(f"  {name:26s} tails cut {cut}/{len(TAILS)}, owner's lines kept {kept}/{len(KEPT)}")
    changed = shorter = read = 0
    for path in paths:
        try:
            parsed = parse.parse(path.read_bytes())
        except parse.Unreadable:
            continue
        read += 1
        after = library(parsed.description) if parsed.description else ""
        if " ".join(after.split()) != " ".join(parsed.description.split()):
            changed += 1
            shorter += len(after) < len(parsed.description) and parsed.description.startswith(after)
    print(
        f"  corpus: the library, run after ours, changes {changed} of {read} descriptions "
        f"(beyond whitespace); {shorter} of them by cutting a tail off"
    )


def process_all():
    from django.test import override_settings

    from submissions.models import InboundEmail
    from submissions.tasks import process_inbound_email

    times = []
    pending = InboundEmail.objects.filter(status=InboundEmail.Status.RECEIVED).order_by("pk")
    # Staff notes in English, to be counted (they are written in STAFF_LANGUAGE_CODE,
    # whatever language the worker runs in); the console mailer's output out of the way.
    staff_english = override_settings(STAFF_LANGUAGE_CODE="en")
    with staff_english, contextlib.redirect_stdout(io.StringIO()):
        for pk in pending.values_list("pk", flat=True):
            started = time.monotonic()
            process_inbound_email.call(pk)
            times.append(time.monotonic() - started)
    return times


def outcome(inbound):
    """(what happened, why) for one record."""
    first = inbound.reason.splitlines()[0] if inbound.reason else ""
    if inbound.status == "failed":
        return "failed", first
    if first.startswith(("Automatic message", "The message has no sender", "The same message")):
        return "set aside before examination", first.split(" (")[0].split(" #")[0]
    no_reply = [line for line in inbound.reason.splitlines() if line.startswith("No reply sent")]
    if inbound.reply:
        return f"answered ({inbound.reply})", ""
    if no_reply:
        why = no_reply[0].removeprefix("No reply sent: ").split(" (")[0].rstrip(".")
        if why.startswith("automatic sender"):
            why = "automatic sender (noreply, mailer-daemon...)"
        return "examined, no reply", why
    return "examined, no reply", f"? {first}"


def main():
    folders = sys.argv[1:]
    if not folders:
        sys.exit(__doc__)
    paths = list(messages(folders))
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
        env = os.environ | production_env(tmp, LOG_LEVEL="ERROR")
        env.pop("DJANGO_DEBUG", None)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        codes, failures, ingest_seconds, ingest_peak = ingest(paths, env)

        os.environ.update(env | {"DJANGO_SETTINGS_MODULE": "config.settings"})
        import django

        django.setup()
        from gallery.models import Clip
        from submissions.models import InboundEmail

        times = process_all()
        records = list(InboundEmail.objects.all())
        outcomes = collections.Counter(outcome(r) for r in records)
        better, examples = stdlib_against_ours(paths)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(f"{len(paths)} messages from {', '.join(folders)}")
        print(f"\nintake ({ingest_seconds:.0f} s for {2 * len(paths)} runs, "
              f"peak RSS of one ingest_mail process {ingest_peak:.0f} MiB):")  # fmt: skip
        for (route, code), count in sorted(codes.items(), key=str):
            print(f"  ingest_mail {'FILE' if route == 'file' else '-'}: exit {code} x {count}")
        for name, route, code, err in failures:
            print(f"  ! {name} ({route}) exit {code}: {err.strip()}")
        print(f"\nrecorded: {len(records)} (distinct messages by Message-ID and content)")
        by_status = collections.Counter(r.status for r in records)
        print("  " + ", ".join(f"{status} {count}" for status, count in sorted(by_status.items())))
        print(f"clips: {Clip.objects.count()}")
        print("\noutcomes:")
        for (what, why), count in sorted(outcomes.items(), key=lambda i: (i[0][0], -i[1])):
            print(f"  {count:4d}  {what}" + (f": {why}" if why else ""))
        if times:
            print(
                f"\nprocessing: {sum(times):.1f} s in all, mean {1000 * sum(times) / len(times):.0f} ms,"
                f" max {1000 * max(times):.0f} ms; peak RSS of this process {peak:.0f} MiB"
            )
        print("\nquotes and signatures (a labelled set of real tails):")
        stripping_comparison(paths)
        print("\nread by our repairs where the standard parser alone (policy.default) does not:")
        for what, count in better.most_common():
            sample = ", ".join(examples[what][:3])
            print(f"  {count:4d}  {what}" + (f" (e.g. {sample})" if sample else ""))


if __name__ == "__main__":
    main()
