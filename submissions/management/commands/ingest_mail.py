import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from submissions import mailbox, receive

# sysexits.h, as mail servers' pipe transports read them.
EX_SOFTWARE = 70  # a fault of ours: the mail server bounces the message rather than loop
EX_TEMPFAIL = 75  # the database or storage is down: the mail server keeps it and retries


class Command(BaseCommand):
    help = (
        "Record e-mails sent to the submission address and queue their processing: from the "
        "IMAP mailbox of MAILBOX_URL (--imap), from .eml files, or one message on stdin (-)."
    )
    # Run once per message by a mail server's pipe: start fast, and let a database outage
    # reach the EX_TEMPFAIL below instead of failing the checks (which would bounce the mail).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help=".eml files; - reads one message from stdin")
        parser.add_argument("--imap", action="store_true", help="read the mailbox of MAILBOX_URL")
        parser.add_argument(
            "--sender",
            help=(
                'the envelope sender as the mail server gives it (Postfix/Exim: "$SENDER"; '
                "empty for a bounce): no automatic reply goes to a bounce or a robot's address"
            ),
        )
        parser.add_argument("--once", action="store_true", help="with --imap: one pass, then exit")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="with --imap: seconds between passes (60)"
        )

    def handle(self, *args, files, imap, once, interval, sender, **options):
        if imap == bool(files):
            raise CommandError("Give either --imap or files (- for stdin).")
        if imap:
            return self.poll(once=once, interval=interval)
        failed = 0
        for name in files:
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as error:
                self.stderr.write(f"{name}: {error}")
                failed += 1
                continue
            try:
                inbound = receive.receive(
                    raw, via="stdin" if name == "-" else "file", envelope_sender=sender
                )
            except receive.Unavailable as error:
                self.stderr.write(f"{name}: not recorded, try again later: {error}")
                sys.exit(EX_TEMPFAIL)
            except Exception as error:
                # Whatever a message holds is recorded (receive.py); this is a bug of ours,
                # and retrying the same bytes forever would not mend it.
                self.stderr.write(f"{name}: not recorded: {type(error).__name__}: {error}")
                sys.exit(EX_SOFTWARE)
            state = "recorded" if inbound.newly_received else "already recorded"
            self.stdout.write(f"{name}: {state} as inbound e-mail {inbound.pk}")
        if failed:
            # A mail server's pipe transport retries (or bounces) on a non-zero exit.
            raise CommandError(f"{failed} file(s) could not be read")

    def poll(self, *, once, interval):
        if not settings.MAILBOX_URL:
            raise CommandError("MAILBOX_URL is not set.")
        try:
            config = mailbox.parse_mailbox_url(settings.MAILBOX_URL)
        except ValueError as error:
            raise CommandError(str(error)) from error
        while True:
            result = mailbox.poll_once(config, receive=receive.receive)
            if once or result.received or result.failed or result.error:
                self.stdout.write(f"{config.host}/{config.mailbox}: {result}")
            if once:
                return
            time.sleep(interval)
