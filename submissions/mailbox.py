"""The submission address's mailbox over IMAP: fetch each message, record it, then archive it.

A message leaves the inbox (UID MOVE, else COPY + \\Deleted + EXPUNGE, to "Archive") only
after `receive` has committed its record. If the process dies in between, the next pass
fetches it again and `receive` recognises it, so nothing is lost or counted twice.
"""

import imaplib
import logging
import re
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

ARCHIVE = "Archive"
# What a dropped or refused connection looks like; it ends the pass, the next one reconnects.
CONNECTION_ERRORS = (imaplib.IMAP4.abort, OSError, EOFError, socket.timeout, ssl.SSLError)


class MailboxError(Exception):
    """The server refused a command (as opposed to the connection dropping)."""


@dataclass(frozen=True)
class MailboxConfig:
    secure: bool
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    mailbox: str = "INBOX"
    archive: str = ARCHIVE


def parse_mailbox_url(url: str) -> MailboxConfig:
    """imap://user:pass@host:143/INBOX or imaps://user:pass@host:993/INBOX (percent-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError(
            f"MAILBOX_URL scheme {parts.scheme!r} is not supported: use imap:// or imaps://"
        )
    if not parts.hostname or parts.username is None:
        raise ValueError(
            "MAILBOX_URL needs a user and a host, e.g. imaps://user:pass@host:993/INBOX"
        )
    secure = parts.scheme == "imaps"
    return MailboxConfig(
        secure=secure,
        host=parts.hostname,
        port=parts.port or (993 if secure else 143),
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def quoted(name):
    """A mailbox name as an IMAP string (imaplib sends arguments as they are)."""
    if re.fullmatch(r"[A-Za-z0-9._/-]+", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    """One logged-in connection with the inbox selected."""

    def __init__(self, config: MailboxConfig, *, timeout=60):
        self.config = config
        self.timeout = timeout
        self.imap = None

    def __enter__(self):
        config = self.config
        if config.secure:
            context = ssl.create_default_context()
            self.imap = imaplib.IMAP4_SSL(
                config.host, config.port, ssl_context=context, timeout=self.timeout
            )
        else:
            self.imap = imaplib.IMAP4(config.host, config.port, timeout=self.timeout)
        try:
            self._check(self.imap.login(config.user, config.password), "LOGIN")
            self.ensure_archive()
            self._check(self.imap.select(quoted(config.mailbox)), f"SELECT {config.mailbox}")
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc):
        self._close()

    def _close(self):
        if self.imap is None:
            return
        try:
            self.imap.logout()
        except (imaplib.IMAP4.error, *CONNECTION_ERRORS):
            pass
        self.imap = None

    @staticmethod
    def _check(response, what):
        status, data = response
        if status != "OK":
            raise MailboxError(f"{what}: {status} {data!r}")
        return data

    @property
    def capabilities(self):
        return set(self.imap.capabilities)

    def ensure_archive(self):
        status, data = self.imap.list('""', quoted(self.config.archive))
        if status == "OK" and any(item for item in data if item):
            return
        status, data = self.imap.create(quoted(self.config.archive))
        # Another poller may have created it meanwhile.
        if status != "OK" and b"ALREADYEXISTS" not in b" ".join(
            d for d in data if isinstance(d, bytes)
        ):
            raise MailboxError(f"CREATE {self.config.archive}: {status} {data!r}")

    def uids(self):
        data = self._check(self.imap.uid("SEARCH", None, "UNDELETED"), "SEARCH")
        return [uid.decode() for uid in (data[0] or b"").split()]

    def fetch(self, uid):
        """The message's raw bytes, without marking it read (BODY.PEEK[])."""
        data = self._check(self.imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid}")
        for item in data:
            if isinstance(item, tuple) and b"BODY[]" in item[0]:
                return item[1]
        raise MailboxError(f"FETCH {uid}: no message body in the answer")

    def archive(self, uid):
        target = quoted(self.config.archive)
        if "MOVE" in self.capabilities:
            self._check(self.imap.uid("MOVE", uid, target), f"MOVE {uid}")
            return
        self._check(self.imap.uid("COPY", uid, target), f"COPY {uid}")
        self._check(self.imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), f"STORE {uid}")
        if "UIDPLUS" in self.capabilities:
            self._check(self.imap.uid("EXPUNGE", uid), f"EXPUNGE {uid}")
        else:
            self._check(self.imap.expunge(), "EXPUNGE")


@dataclass
class PassResult:
    received: int = 0
    duplicates: int = 0
    archived: int = 0
    failed: int = 0
    error: str = ""

    def __str__(self):
        text = (
            f"{self.received} received, {self.duplicates} already recorded, "
            f"{self.archived} archived, {self.failed} left in the inbox"
        )
        return f"{text}; pass ended early: {self.error}" if self.error else text


def poll_once(config: MailboxConfig, *, receive, timeout=60) -> PassResult:
    """One pass over the inbox; never raises for a message or a dropped connection."""
    result = PassResult()
    try:
        with Mailbox(config, timeout=timeout) as mailbox:
            for uid in mailbox.uids():
                try:
                    raw = mailbox.fetch(uid)
                except MailboxError as error:
                    log.warning("IMAP message %s could not be fetched: %s", uid, error)
                    result.failed += 1
                    continue
                try:
                    inbound = receive(raw, via="imap")
                except Exception:
                    # Not recorded, so not archived: it stays for the next pass.
                    log.exception("IMAP message %s could not be recorded", uid)
                    result.failed += 1
                    continue
                if getattr(inbound, "newly_received", True):
                    result.received += 1
                else:
                    result.duplicates += 1
                try:
                    mailbox.archive(uid)
                    result.archived += 1
                except MailboxError as error:
                    log.warning("IMAP message %s recorded but not archived: %s", uid, error)
    except CONNECTION_ERRORS as error:
        result.error = f"connection lost: {type(error).__name__}: {error}"
        log.warning("IMAP pass on %s ended: %s", config.host, result.error)
    except (MailboxError, imaplib.IMAP4.error) as error:
        result.error = f"server refused: {error}"
        log.warning("IMAP pass on %s ended: %s", config.host, result.error)
    return result
