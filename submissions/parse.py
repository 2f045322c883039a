"""Read an e-mail sent to the submission address: standard library only, no Django.

`parse(raw)` turns the bytes into a `ParsedEmail`: who sent it, a title, a description
without quoted replies and signatures, a guessed language and themes, the parts that might
hold a video (opened by `unpack`, judged later by their content), and whether we may answer
it (RFC 3834). Refusals carry a code; the process step words them for people.
"""

import contextlib
import email
import gc
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

from submissions.guess import credit_name, guess_themes, language_from_words
from submissions.links import notifying_service, sharing_services
from submissions.unpack import Piece, email_parts, is_body_text, label_of

LANGUAGES = ("fr", "en", "de", "nl", "it", "es")
MAX_DESCRIPTION = 2000
MAX_SUBJECT = 998
# Mail clients send a few parts (bodies, a video, a signature logo); thousands are an attack
# that would cost seconds of header parsing each pass.
MAX_PARTS = 200


class Unreadable(ValueError):
    """A message built to cost more than any owner's mail, or one the parser cannot make
    sense of: refused for `code`.

    Codes: "too_many_parts" (with `count` and `max`), "too_deep", "undecodable" (with
    `error`, what the parser raised).
    """

    def __init__(self, code, **params):
        super().__init__(code, params)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Authentication:
    """The receiving server's verdicts from Authentication-Results ("pass", "fail", ...)."""

    spf: str = ""
    dkim: str = ""
    dmarc: str = ""


@dataclass(frozen=True)
class Summary:
    """What `receive` needs before anything else: cheap, and never fails."""

    message_id: str
    sender: str
    subject: str


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # as written, with angle brackets; "" if the message has none
    sender: str  # the From address, lower case; "" if there is none
    sender_name: str  # the From display name
    subject: str  # decoded
    title: str  # the subject without Re:/Fwd: prefixes
    description: str  # the body without quoted replies and signatures
    language: str  # one of LANGUAGES, or "" when it cannot be told
    themes: tuple[str, ...]  # theme slugs guessed from the words
    credit_name: str
    # Every part but the body text, in order; attached messages whole (`unpack` opens them).
    parts: tuple[Piece, ...]
    # Why the message is itself automatic (a bounce, an out-of-office); "" for a person's mail.
    automatic: str = ""
    # Why we must not answer it; "" when a reply is allowed.
    no_reply: str = ""
    references: str = ""  # for threading our reply
    authentication: Authentication = field(default_factory=Authentication)
    defects: tuple[str, ...] = ()
    # File-sharing services linked to in the body (links.py), e.g. ("Google Drive",).
    shared_via: tuple[str, ...] = ()
    # What the message carries, whatever route or relay it came by (see `fingerprint`).
    fingerprint: str = ""
    # A file-sharing service's own notice sent on the owner's behalf ("WeTransfer"): then
    # `sender` is the owner (its Reply-To), not the service's no-reply address.
    relayed_by: str = ""
    body: str = ""  # the body text as sent, for staff beside the public description
    # The attachments that may have been cut off in transit (the message ends inside them,
    # or their base64 stops mid-quantum), by their labels (Piece.label).
    cut_off: tuple[str, ...] = ()


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def derived_message_id(checksum: str) -> str:
    return f"<{checksum}@sha256.invalid>"


def summary(raw: bytes) -> Summary:
    """Message-ID (derived from the checksum when missing), sender, subject: headers only."""
    try:
        end = _HEADER_BLOCK_END.search(raw)
        head = repair(raw[: end.end()] if end else raw)[0]
        headers = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
        message_id = _clean_message_id(_raw_header(headers, "Message-ID"))
        sender = sender_of(headers)[0]
        subject = _one_line(_header(headers, "Subject"))
    except Exception:  # whatever the headers hold, the message is recorded
        message_id, sender, subject = "", "", ""
    return Summary(
        message_id=message_id[:255] or derived_message_id(sha256(raw)),
        sender=sender[:254],
        subject=subject[:255],
    )


def parse(raw: bytes, *, trusted_authserv_ids=()) -> ParsedEmail:
    """The message read in full; raises `Unreadable` when it cannot be."""
    try:
        return _parse(raw, trusted_authserv_ids=trusted_authserv_ids)
    except (Unreadable, MemoryError):
        raise
    except Exception as error:  # a shape no repair foresaw: the sender is told (process.py)
        raise Unreadable("undecodable", error=f"{type(error).__name__}: {error}"[:300]) from error


def _replying(message, sender, relayed_by, trusted_authserv_ids):
    """What the headers say of answering a message (RFC 3834, threading, authentication),
    as ParsedEmail's fields."""
    return {
        "automatic": automatic_reason(message, sender),
        "no_reply": no_reply_reason(message, sender, relayed=bool(relayed_by)),
        "references": _one_line(
            " ".join(filter(None, [_header(message, "References"), _header(message, "Message-ID")]))
        )[-2000:],
        "authentication": authentication_results(message, trusted_authserv_ids),
    }


def headers_only(raw: bytes, *, trusted_authserv_ids=()) -> ParsedEmail:
    """What the headers alone say of a message whose body cannot be read (`Unreadable`):
    who sent it, whether we may answer (RFC 3834), in which language. No parts, no words."""
    end = _HEADER_BLOCK_END.search(raw)
    head = repair(raw[: end.end()] if end else raw)[0]
    message = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
    subject = _one_line(_header(message, "Subject"))[:MAX_SUBJECT]
    sender, sender_name, relayed_by = sender_of(message)
    title = "" if relayed_by else strip_subject_prefixes(subject)
    part_language = _first_text_part_language(raw[end.end() :] if end else b"", message)
    return ParsedEmail(
        message_id=_clean_message_id(_raw_header(message, "Message-ID")),
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        title=title,
        description="",
        language=detect_language(message, title, part_language=part_language),
        themes=(),
        credit_name=credit_name(sender_name, sender),
        parts=(),
        **_replying(message, sender, relayed_by, trusted_authserv_ids),
        relayed_by=relayed_by,
    )


def _parse(raw: bytes, *, trusted_authserv_ids=()) -> ParsedEmail:
    # Every part begins with a boundary line: too many such lines, and the message is not
    # parsed at all. The count after parsing is the exact one.
    if raw.count(b"\n--") > 4 * MAX_PARTS:
        raise _too_many_parts(f"> {4 * MAX_PARTS}")
    raw, mended = repair(raw)
    # The parse may go as deep as the recursion limit (its RecursionError is the refusal):
    # no garbage collection meanwhile, whose finalizers would find no stack left to run in.
    collecting = gc.isenabled()
    gc.disable()
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        parts = sum(1 for _ in message.walk())
    except RecursionError:  # forwards of forwards of forwards, hundreds deep
        raise Unreadable("too_deep") from None
    finally:
        if collecting:
            gc.enable()
    if parts > MAX_PARTS:
        raise _too_many_parts(parts)
    # Longer than any subject a person writes (RFC 5322's line limit); the words are read once.
    subject = _one_line(_header(message, "Subject"))[:MAX_SUBJECT]
    sender, sender_name, relayed_by = sender_of(message)
    text_parts, html_parts = [], []
    _collect_text(message, text_parts, html_parts)
    if text_parts:
        body = "\n\n".join(text_parts)
    else:
        body = "\n\n".join(html_to_text(html) for html in html_parts)
    credit = credit_name(sender_name, sender)
    description = strip_quotes_and_signature(body, signed=credit)[:MAX_DESCRIPTION].strip()
    title = strip_subject_prefixes(subject)
    if relayed_by:
        title = ""  # the service's words ("Camille sent you files"), not the owner's
    words = f"{title}\n{description}"
    pieces = tuple(email_parts(message))
    # After the parts: decoding their payloads is what finds broken base64 and the like.
    defects = [*mended, *(type(d).__name__ for part in message.walk() for d in part.defects)]
    return ParsedEmail(
        message_id=_clean_message_id(_raw_header(message, "Message-ID")),
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        title=title,
        description=description,
        language=detect_language(message, words),
        themes=guess_themes(words),
        credit_name=credit,
        parts=pieces,
        **_replying(message, sender, relayed_by, trusted_authserv_ids),
        defects=tuple(dict.fromkeys(defects)),
        shared_via=sharing_services("\n".join([*text_parts, *html_parts])),
        fingerprint=fingerprint(sender, body, pieces),
        body=body[: 4 * MAX_DESCRIPTION],
        relayed_by=relayed_by,
        cut_off=cut_off(message),
    )


# What the parser records when a message stops before its end: a multipart whose closing
# boundary never came, a base64 payload cut between two of its 4-character groups.
CUT_OFF_DEFECTS = {"CloseBoundaryNotFoundDefect"}
CUT_PAYLOAD_DEFECTS = {"InvalidBase64LengthDefect", "InvalidBase64PaddingDefect"}


def cut_off(message: Message) -> tuple[str, ...]:
    """The labels of the attachments a message cut short in transit ends inside.

    A multipart left open holds its last part up to the end of the message: that part may be
    cut, or whole when a client merely forgot the closing line (the video tells, once probed).
    """
    leaves, cut, unclosed = [], [], False
    for part in message.walk():
        names = {type(defect).__name__ for defect in part.defects}
        if part.is_multipart():
            unclosed = unclosed or bool(names & CUT_OFF_DEFECTS)
            continue
        if is_body_text(part):
            leaves.append(None)
            continue
        label = label_of(part)
        leaves.append(label)
        # Recorded when email_parts decoded the payload: call this after it.
        if names & CUT_PAYLOAD_DEFECTS:
            cut.append(label)
    if unclosed and leaves and leaves[-1] is not None:
        cut.append(leaves[-1])
    return tuple(dict.fromkeys(cut))


def fingerprint(sender: str, body: str, parts) -> str:
    """The same for two copies of one message, different for two messages.

    Relays and providers' webhooks add headers and re-wrap the text, so it is made of the
    sender and the attached files' bytes, or of the words when nothing is attached.
    """
    digest = hashlib.sha256(sender.encode())
    if parts:
        for data in sorted(hashlib.sha256(piece.data).digest() for piece in parts):
            digest.update(data)
    else:
        digest.update(" ".join(body.split()).encode("utf-8", "replace"))
    return digest.hexdigest()


# --------------------------------------------------------------------------- repairs
#
# The standard library's modern parser (policy.default) does the reading; these repairs run
# on the bytes first, where it gives up on shapes real mail has (see BENCHMARKS.md, "E-mail
# corpus"): each one was seen to lose a sender, a subject or an attachment without it.

_HEADER_BLOCK_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:")  # a field name, then the colon (RFC 5322)
_OBSOLETE_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]+:")  # "From  :", allowed by RFC 822
_MIME_FIELD = re.compile(
    rb"^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*", re.I | re.M
)
# An unquoted value runs to the ";" or the end of the line.
_UNQUOTED_PARAMETER = re.compile(
    rb"((?:^|[;\s])(?:boundary|name|filename)[ \t]*=[ \t]*)([^\"\s;][^;\r\n]*)", re.I | re.M
)
_TSPECIALS = re.compile(rb"[\s()<>@,;:\\\"/\[\]?=]")
# A parameter's name with no "=" and no value, last in its field: a header cut off in transit
# ("name*" of an RFC 2231 name). The standard parser raises on it in Content-Type, and in
# Content-Disposition drops the filename before it.
_TRUNCATED_PARAMETER = re.compile(rb";[ \t]*(?:\r?\n[ \t]+)?[^\s=;\"]+[ \t]*(?=\r?\Z)")


def repair(raw: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The message with its header fields readable by the standard parser, and what was mended.

    - a line in the header block that is no header field is skipped, not taken for the
      start of the body (which would lose every header after it);
    - the obsolete "Name  :" form (space before the colon) is read as "Name:";
    - header bytes that are not UTF-8 (RFC 6532) are read as Windows-1252 (Latin-1);
    - an unquoted boundary, name or filename holding "=", spaces or other special
      characters is quoted (unquoted, the parser cuts it there);
    - a last MIME parameter cut off before its value ("name*") is dropped.
    """
    mended = []
    end = _HEADER_BLOCK_END.search(raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    lines = head.split(b"\n")
    last_field = max((i for i, line in enumerate(lines) if _FIELD.match(line)), default=-1)
    kept = []
    for index, line in enumerate(lines):
        if line[:1] in (b" ", b"\t") and kept:
            kept.append(_as_utf8(line, mended))
            continue
        obsolete = _OBSOLETE_FIELD.match(line)
        if index == 0 and line.startswith(b"From ") and not obsolete:  # an mbox separator line
            kept.append(line)
            continue
        if obsolete:
            line = obsolete.group(1) + b":" + line[obsolete.end() :]
            mended.append("obsolete header field")
        elif not _FIELD.match(line):
            # A boundary line: the sender forgot the blank line before the body.
            if index < last_field and not line.startswith(b"--"):
                mended.append("malformed header line skipped")
                continue
            # Nothing but text from here: the message has no blank line after its headers.
            kept.append(b"")
            kept.extend(lines[index:])
            break
        kept.append(_as_utf8(line, mended))
    raw = b"\n".join(kept) + rest
    raw = _MIME_FIELD.sub(
        lambda field: _quote_parameters(
            _without_truncated_parameter(field.group(0), mended), mended
        ),
        raw,
    )
    return raw, tuple(dict.fromkeys(mended))


def _without_truncated_parameter(field: bytes, mended) -> bytes:
    """The field without a last parameter cut off before its "=": the part's other headers
    (its Content-Disposition's filename) or its type name it instead."""
    repaired = _TRUNCATED_PARAMETER.sub(b"", field)
    if repaired != field:
        mended.append("truncated MIME parameter dropped")
    return repaired


def _as_utf8(line: bytes, mended) -> bytes:
    if line.isascii():
        return line
    try:
        line.decode("utf-8")
        return line
    except UnicodeDecodeError:
        mended.append("8-bit header read as Windows-1252")
        return line.decode("cp1252", "replace").encode("utf-8")


def _quote_parameters(field: bytes, mended) -> bytes:
    def quote(match):
        value = match.group(2).rstrip()
        if not _TSPECIALS.search(value):
            return match.group(0)
        mended.append("unquoted MIME parameter")
        escaped = value.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        return match.group(1) + b'"' + escaped + b'"' + match.group(2)[len(value) :]

    return _UNQUOTED_PARAMETER.sub(quote, _as_utf8(field, mended))


# --------------------------------------------------------------------------- headers


def _header(message: Message, name: str) -> str:
    """A header as text; a malformed one is decoded leniently rather than raising."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # malformed headers are common in the wild
        return _raw_header(message, name)


def _raw_header(message: Message, name: str) -> str:
    """A header as the sender wrote it, encoded words decoded, before any parsing."""
    raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    try:
        return str(make_header(decode_header(str(raw))))
    except Exception:
        return str(raw)


def _one_line(value: str) -> str:
    return " ".join(_utf8(value or "").split())


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _utf8(value: str) -> str:
    """Text any database takes: raw 8-bit bytes the parser left escaped decoded (UTF-8 as
    RFC 6532 allows, else Windows-1252), control characters and NUL dropped."""
    if _ESCAPED_BYTE.search(value):
        escaped = value.encode("utf-8", "surrogateescape")
        try:
            value = escaped.decode("utf-8")
        except UnicodeDecodeError:
            value = escaped.decode("cp1252", "replace")
    # Lone surrogates of any other kind cannot be stored either.
    value = value.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", value)


def _clean_message_id(value: str) -> str:
    value = _one_line(value)
    # Folded in the middle by some senders: "<id@communication.aca\r\n\tdomia.fr>".
    match = re.search(r"<([^<>]+)>", value)
    if match and "@" in match.group(1):
        return "<" + "".join(match.group(1).split()) + ">"
    match = re.search(r"<[^<>\s]+>", value)
    if match:
        return match.group(0)
    return f"<{value}>" if value and " " not in value else ""


_BARE_ADDRESS = re.compile(r"^(?P<name>.*?)[\s,;:]+(?P<address>[^\s<>\"(),;:]+@[^\s<>\"(),;:]+)$")


_ADDRESS_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def sender_of(message: Message) -> tuple[str, str, str]:
    """(address, display name, service) of the person who sent the message.

    The From address, and service "". A file-sharing service's own notice ("Camille sent
    you files", from noreply@wetransfer.com) is the owner's doing: then the person is the
    one in Reply-To (else the address the subject names), and service names the service.
    """
    address, name = _sender(message)
    service = notifying_service(address)
    if not service or not ROBOT_SENDERS.search(address.split("@")[0]):
        return address, name, ""
    owner_name, owner = parseaddr(_one_line(_header(message, "Reply-To")))
    if "@" not in owner:
        found = _ADDRESS_IN_TEXT.search(_one_line(_header(message, "Subject")))
        owner_name, owner = "", found.group(0) if found else ""
    owner = _one_line(owner).lower()[:254]
    if "@" not in owner or notifying_service(owner) or ROBOT_SENDERS.search(owner.split("@")[0]):
        return address, name, ""
    return owner, _one_line(owner_name), service


def _sender(message: Message) -> tuple[str, str]:
    """(address in lower case, display name) of the From header."""
    value = _one_line(_raw_header(message, "From"))
    # "Big Bug bb@bug.com", no angle brackets: the standard parser makes the whole of it a
    # quoted local part ('"big bug bb"@bug.com').
    bare = _BARE_ADDRESS.match(value) if "<" not in value and '"' not in value else None
    # (Two bare addresses, "a@x b@x", are a list: the first one is the sender, as below.)
    if bare and bare.group("name").strip(" \"'") and "@" not in bare.group("name"):
        return _one_line(bare.group("address")).lower(), bare.group("name").strip(" \"'")
    # A From header the strict parser chokes on falls back to the lenient one below.
    with contextlib.suppress(Exception):
        header = message["From"]
        addresses = getattr(header, "addresses", ()) if header is not None else ()
        for address in addresses:
            if address.addr_spec and "@" in address.addr_spec:
                return _one_line(address.addr_spec).lower(), _one_line(address.display_name)
    name, address = parseaddr(value)
    return (_one_line(address).lower() if "@" in address else ""), _one_line(name)


SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|tr|aw|wg|antw|doorst|rif|rv|sv|vs)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)


def strip_subject_prefixes(subject: str) -> str:
    previous = None
    subject = _one_line(subject)
    while previous != subject:
        previous, subject = subject, SUBJECT_PREFIX.sub("", subject).strip()
        # "[Fwd: ...]" as some clients write it
        subject = re.sub(r"^\[(?:fwd?|tr)\s*:\s*(.*)\]$", r"\1", subject, flags=re.I).strip()
    return subject


# --------------------------------------------------------------------------- parts


def _collect_text(part: Message, texts, htmls):
    """The owner's own words: the message's body text, not that of messages attached to it."""
    if part.get_content_maintype() == "message" and part.is_multipart():
        return
    if part.is_multipart():
        for inner in part.iter_parts():
            _collect_text(inner, texts, htmls)
        return
    if is_body_text(part):
        (texts if part.get_content_subtype() == "plain" else htmls).append(_text_of(part))


def _too_many_parts(count):
    return Unreadable("too_many_parts", count=count, max=MAX_PARTS)


def _text_of(part: Message) -> str:
    """The part's text: its declared charset, else (undeclared 8-bit text, a wrong or unknown
    charset) UTF-8, then Windows-1252, which reads any byte."""
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:
        return ""
    declared = part.get_content_charset() or ""
    for charset in (declared, "utf-8", "cp1252"):
        if not charset:
            continue
        try:
            return _utf8(payload.decode(charset))
        except (LookupError, UnicodeError):
            continue
    return _utf8(payload.decode("latin-1"))


class _TextExtractor(HTMLParser):
    """Visible text of an HTML body: no scripts, styles or quoted replies; blocks on new lines."""

    SKIP = {"script", "style", "head", "title", "template", "noscript", "blockquote", "svg"}
    BLOCKS = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "ul",
        "ol",
        "hr",
        "section",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping.append(tag)
        elif tag in self.BLOCKS and not self.skipping:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS and not self.skipping:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and tag in self.skipping:
            while self.skipping and self.skipping.pop() != tag:
                pass
        elif tag in self.BLOCKS and not self.skipping:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    # Broken markup gives what was read so far.
    with contextlib.suppress(Exception):
        extractor.feed(html)
        extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- body text

ATTRIBUTION_START = re.compile(r"^(on|le|am|op|il|el|em)\s", re.I)
ATTRIBUTION_END = re.compile(
    r"\b(wrote|a écrit|a ecrit|schrieb|schreef|ha scritto|escribió|escribio|escreveu)\b[^:]*:\s*$",
    re.I,
)
SEPARATORS = re.compile(
    r"^(-{2,}\s*(original message|forwarded message|message d'origine|message transféré|"
    r"ursprüngliche nachricht|weitergeleitete nachricht|"
    r"oorspronkelijk bericht|doorgestuurd bericht|"
    r"messaggio originale|messaggio inoltrato|mensaje original|mensaje reenviado)\s*-{2,}|"
    r"(begin forwarded message|début du message réexpédié|anfang der weitergeleiteten nachricht|"
    r"begin doorgestuurd bericht|inizio messaggio inoltrato|inicio del mensaje reenviado)\s*:|"
    r"_{20,}|-{20,})\s*$",
    re.I,
)
SIGN_OFFS = re.compile(
    r"^(sent from my|sent with|sent via|sent from mail for|get outlook for|"
    r"sent from (?:yahoo|outlook|proton|gmail|samsung)|envoyé de mon|envoyé depuis|"
    r"envoyé à partir de|envoye de mon|obtenir outlook|télécharger outlook|"
    r"von meinem [^\n]{1,60}? gesendet|gesendet von|"
    r"gesendet mit|verzonden (vanaf|met)|verstuurd (vanaf|met)|inviato da|inviato dal|"
    r"enviado desde|enviado con|enviado do meu)\b",
    re.I,
)
# A closing formula on a line of its own: the name and signature follow.
CLOSINGS = re.compile(
    r"(?:(best|kind|warm)?\s*regards|cheers|best wishes|"
    r"cordialement|bien (à|a) vous|amicalement|bises|"
    r"mit freundlichen gr(ü|ue)(ß|ss)en|(viele|liebe|beste) gr(ü|ue)(ß|ss)e|"
    r"met vriendelijke groet(en)?|groetjes|hartelijke groet(en)?|"
    r"cordiali saluti|distinti saluti|un saluto|saluti|"
    r"(un )?saludos?( cordiales)?|atentamente|un abrazo)"
    r"\s*[,.!]?",
    re.I,
)
# Every valediction of the six languages, the short and familiar ones too ("Groeten", "LG",
# "Bisous", "Ciao"): at the start of a line that is the formula alone, or the formula and the
# sender's name ("Groeten, Jan", "LG Anna"). These end the words only when a short signature at
# most follows: a line "Ciao" in the middle of a story is the owner's.
VALEDICTION = re.compile(
    r"^(?:"
    # en
    r"(?:(?:best|kind|warm|warmest|kindest|many)\s+)?regards|cheers|best wishes|all the best|"
    r"best|take care|thanks again|thanks|thank you|many thanks|thx|love|yours( truly| sincerely)?|"
    r"sincerely|"
    # fr
    r"(?:bien |tr[eè]s )?cordialement|bien (?:à|a) (?:vous|toi)|amicalement|amiti[eé]s|"
    r"bises|bisous|grosses bises|gros bisous|(?:[àa] )?bient[ôo]t|[àa] plus|"
    r"(?:bien |sinc[eè]res )?salutations(?: distingu[ée]es)?|bonne (?:journ[ée]e|soir[ée]e)|"
    r"merci(?: beaucoup| encore| bien)?|"
    # de
    r"mit freundlichen gr(?:ü|ue)(?:ß|ss)en|freundliche gr(?:ü|ue)(?:ß|ss)e|"
    r"(?:viele|liebe|beste|sch[öo]ne|herzliche|liebste) gr(?:ü|ue)(?:ß|ss)e|gr(?:ü|ue)(?:ß|ss)e|"
    r"(?:viele|liebe|beste|sch[öo]ne|herzliche|freundliche)n? gru(?:ß|ss)|gru(?:ß|ss)|"
    r"lg|vg|mfg|bg|sg|tsch[üu]ss?|danke(?: sch[öo]n)?|vielen dank|"
    # nl
    r"(?:met )?(?:vriendelijke|hartelijke|lieve|beste|warme) groet(?:en)?|groet(?:en|jes)?|"
    r"gr\.?|mvg|vg|hartelijke dank|bedankt|dank je(?: wel)?|dank u(?: wel)?|doei|"
    # it
    r"(?:cordiali|distinti|tanti|cari) saluti|saluti|(?:un )?saluto|un caro saluto|ciao|"
    r"a presto|un abbraccio|buona giornata|grazie(?: mille)?|"
    # es
    r"(?:un )?saludos?(?: cordiales)?|un cordial saludo|atentamente|(?:un )?abrazos?|besos|"
    r"hasta pronto|(?:muchas )?gracias)"
    r"(?=[\s,.!;:\-–—]|$)",
    re.I,
)
# The words of a name written after the formula: capitalised, maybe with a particle.
NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
NAME_PARTICLES = {"van", "de", "der", "den", "von", "di", "da", "del", "la", "le", "du"}
HEADER_FROM = re.compile(r"^\*?(from|de|von|van|da)\s*:\*?\s+\S", re.I)
HEADER_NEXT = re.compile(
    r"^\*?(sent|date|envoyé|gesendet|datum|verzonden|inviato|data|enviado|fecha|to|à|an|aan|a|para)\s*:",
    re.I,
)


# Longer than any owner's words: the rest is quoted history.
MAX_BODY_READ = 20_000


def strip_quotes_and_signature(text: str, *, signed: str = "") -> str:
    """The owner's own words: quoted replies, forwarded headers and signatures cut off.

    Quotes, reply headers, phone sign-offs and closing formulas of the six languages, then
    a last paragraph that is the sender's signed name (`signed`: "Lucas, Italy" from Lucas).
    Our rules, not mail-parser-reply's: on our labelled tails they cut more, and on a
    public corpus the library rewrote bodies without cutting anything ours kept
    (BENCHMARKS.md, "E-mail corpus").
    """
    own = _without_signed_name(_own_words(text[:MAX_BODY_READ], signed), signed)
    # The signed name gone, the formula before it is last: "Groeten,\nJan".
    return _without_greeting_and_links(_without_trailing_valediction(own, signed))


# A first line that only greets ("Hi,", "Bonjour à tous !", "Hallo Team,"): not the clip's story.
GREETING = re.compile(
    r"^(hi|hello|hey|dear|bonjour|bonsoir|salut|coucou|hallo|guten tag|liebe|lieber|moin|"
    r"hoi|hallo allemaal|beste|goedendag|ciao|salve|buongiorno|gentili|hola|buenos d[ií]as|"
    r"buenas|estimad[oa]s?)\b[^\n]{0,40}[,!:.]?$",
    re.IGNORECASE,
)
# A line that is only a link or a file name (a sharing service's chip): private, and no story.
LINK_OR_FILE_LINE = re.compile(
    r"^<?(?:https?://|www\.)\S+>?$|^[\w ()\-]{1,80}\.(?:mov|mp4|m4v|3gp|webm|mkv|avi|zip)$",
    re.IGNORECASE,
)


def _without_greeting_and_links(text: str) -> str:
    lines = [line for line in text.split("\n") if not LINK_OR_FILE_LINE.match(line.strip())]
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and len(lines[0].split()) <= 4 and GREETING.match(lines[0].strip()):
        lines.pop(0)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Formulas that only ever close a letter: with a name after them and no comma ("LG Anna",
# "Kind regards Paul Smith") they still sign. Other words of VALEDICTION are words of a story
# too ("Love Paris", "Merci Tesla", "Ciao Roma"): after one of them, a name with no comma
# must be the sender's own to sign.
SIGNING_FORMULA = re.compile(
    r"^(?:(?:(?:best|kind|warm|warmest|kindest)\s+)?regards|yours (?:truly|sincerely)|sincerely|"
    r"(?:bien |tr[eè]s )?cordialement|(?:bien |sinc[eè]res )?salutations(?: distingu[ée]es)?|"
    r"mit freundlichen gr(?:ü|ue)(?:ß|ss)en|freundliche gr(?:ü|ue)(?:ß|ss)e|"
    r"(?:viele|liebe|beste|sch[öo]ne|herzliche|liebste) gr(?:ü|ue)(?:ß|ss)e|lg|vg|mfg|bg|sg|"
    r"(?:met )?(?:vriendelijke|hartelijke) groet(?:en)?|mvg|"
    r"(?:cordiali|distinti) saluti|un cordial saludo|saludos cordiales|atentamente)$",
    re.I,
)


def valediction(line: str, signed: str = "") -> bool:
    """Whether the line is a closing formula alone, or followed by the sender's name (after a
    comma, or after a formula that only signs, or the name `signed`: "Cheers Paul")."""
    line = line.strip().rstrip(".!…")
    match = VALEDICTION.match(line)
    if not match:
        return False
    rest = line[match.end() :]
    comma = re.match(r"\s*[,;:\-–—]+\s*", rest)
    name = rest[comma.end() :] if comma else rest
    words = name.split()
    if not words:
        return not name.strip(" ,;:-–—!.")
    if len(words) > 4 or len(name) > 40 or (not comma and not rest[:1].isspace()):
        return False
    named = all(NAME_WORD.fullmatch(word) for word in words) and all(
        word[0].isupper() or (0 < index < len(words) - 1 and word in NAME_PARTICLES)
        for index, word in enumerate(words)
    )
    if not named or comma:
        return named
    return bool(SIGNING_FORMULA.match(match.group(0))) or bool(signed and _signs(name, signed))


# A closing formula after the last sentence, on its line: "...naar huis. Groeten, Jan".
TRAILING_VALEDICTION = re.compile(r"^(?P<words>.*?[.!?…)])\s+(?P<closing>[^.!?…]+[.!?…]?)$")


def _without_trailing_valediction(text: str, signed: str = "") -> str:
    """The words without a closing formula that ends them, on a line of its own or after the
    last sentence of the last line."""
    lines = text.rstrip().split("\n")
    if lines and valediction(lines[-1], signed) and len(lines) > 1:
        lines.pop()
    elif lines:
        match = TRAILING_VALEDICTION.match(lines[-1].strip())
        if match and valediction(match.group("closing"), signed):
            lines[-1] = match.group("words")
    return "\n".join(lines).strip()


def _short_signature(lines) -> bool:
    signature = [line.strip() for line in lines if line.strip()]
    return len(signature) <= 3 and all(
        len(line) <= 60 and not _story_line(line) for line in signature
    )


# A line of the story rather than of a signature: words ending like a sentence.
SENTENCE = re.compile(r"(?:\S+\s+){3,}\S*[.!?…]")


def _next_words(lines, index) -> str:
    return next((line.strip() for line in lines[index + 1 :] if line.strip()), "")


def _story_line(line: str) -> bool:
    """Words ending like a sentence, or five words and more mostly in lower case ("Poi la
    discesa verso Bellagio"): not a name, a title, a phone number or a phone's sign-off."""
    if SENTENCE.fullmatch(line):
        return True
    words = [word for word in line.split() if word[:1].isalpha()]
    lower = sum(word[0].islower() for word in words)
    return len(words) >= 5 and 2 * lower > len(words) and not SIGN_OFFS.match(line)


def _without_signed_name(text: str, signed: str) -> str:
    if not signed:
        return text
    paragraphs = re.split(r"\n\s*\n", text)
    last = paragraphs[-1].strip()
    lines = last.splitlines()
    if _signs(last, signed) and len(lines) <= 3 and all(len(line) <= 60 for line in lines):
        paragraphs.pop()
    elif len(lines) > 1 and _signs(lines[-1], signed) and len(lines[-1]) <= 60:
        # The name on the last line of the last paragraph, with no blank line before it.
        paragraphs[-1] = "\n".join(lines[:-1])
    return "\n\n".join(paragraphs).strip()


def _signs(text: str, signed: str) -> bool:
    first_word = re.match(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", text.strip())
    return bool(first_word) and first_word.group(0).casefold() == signed.casefold()


def _own_words(text: str, signed: str = "") -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if line.rstrip("\n") in ("-- ", "--") or stripped == "--":
            break
        if SIGN_OFFS.match(stripped) or SEPARATORS.match(stripped):
            break
        if kept and CLOSINGS.fullmatch(stripped) and not _story_line(_next_words(lines, index)):
            # A signature of any length may follow; the story does not.
            break
        if kept and valediction(stripped, signed) and _short_signature(lines[index + 1 :]):
            break
        if ATTRIBUTION_START.match(stripped) and (
            ATTRIBUTION_END.search(stripped) or ATTRIBUTION_END.search(f"{stripped} {following}")
        ):
            break
        if HEADER_FROM.match(stripped) and HEADER_NEXT.match(following):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


# --------------------------------------------------------------------------- language


def _primary_languages(value: str):
    """Language codes of a Content-Language or Accept-Language value, best first."""
    weighted = []
    for position, item in enumerate(value.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        code = tag.strip().lower().split("-")[0].split("_")[0]
        weighted.append((-quality, position, code))
    return [code for _q, _p, code in sorted(weighted)]


def detect_language(message: Message, words: str, *, part_language: str = "") -> str:
    """Content-Language, then the words of the message, then Accept-Language-like hints.

    `part_language`: the first text part's Content-Language, for a message read by its
    headers alone (`headers_only`).
    """
    declared = [_header(message, "Content-Language"), part_language]
    body = message.get_body(preferencelist=("plain", "html")) if not _broken(message) else None
    if body is not None:
        declared.append(_header(body, "Content-Language"))
    for value in declared:
        for code in _primary_languages(value):
            if code in LANGUAGES:
                return code
    guessed = language_from_words(words)
    if guessed:
        return guessed
    for name in ("Accept-Language", "X-Accept-Language"):
        for code in _primary_languages(_header(message, name)):
            if code in LANGUAGES:
                return code
    return ""


# How far into the body the first text part's headers are looked for: they come first.
PART_HEADERS_READ = 64 * 1024
# multipart/mixed > multipart/related > multipart/alternative > text/plain, at most.
PART_NESTING_READ = 4


def _first_text_part_language(body: bytes, message: Message) -> str:
    """The Content-Language of a multipart message's first part, when it is text (or of the
    first part of its first multipart), read from the head of `body` alone: for a message
    whose body cannot be parsed whole. "" when it does not say, or cannot be read so."""
    chunk, container = body[:PART_HEADERS_READ], message
    try:
        for _ in range(PART_NESTING_READ):
            multipart = container.get_content_maintype() == "multipart"
            boundary = container.get_boundary() if multipart else None
            if not boundary:
                return ""
            delimiter = re.search(
                rb"(?:^|\n)--" + re.escape(boundary.encode("utf-8", "replace")) + rb"[ \t]*\r?\n",
                chunk,
            )
            if delimiter is None:
                return ""
            chunk = chunk[delimiter.end() :]
            end = _HEADER_BLOCK_END.search(chunk)
            if end is None or chunk.startswith((b"\n", b"\r\n")):
                return ""  # no headers: text/plain, no language declared
            head = repair(chunk[: end.end()])[0]
            container = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
            chunk = chunk[end.end() :]
            if container.get_content_maintype() == "text":
                return _header(container, "Content-Language")
        return ""
    except Exception:  # what the full parse could not read may not be read here either
        return ""


def _broken(message: Message) -> bool:
    try:
        message.get_body()
    except Exception:
        return True
    return False


# --------------------------------------------------------------------------- automatic mail

ROBOT_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|auto-?reply|autoresponder)$"
    # gmail-noreply, no_reply, donotreply, noreply-12345, bounces+x=y, x-bounces...
    r"|(^|[-_.+=])(no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?)([-_.+=]|$)",
    re.I,
)
# The envelope sender of a list or a bulk sender: a bounce address, often with the
# recipient's address in it (VERP: "bounces+camille=example.org@...", "msprvs1=...").
BOUNCE_ADDRESS = re.compile(
    r"(^|[-_.+=])(bounces?|bnc|return|mailer-daemon|postmaster)([-_.+=]|$)|^(msprvs\d?|prvs|btv1)=",
    re.I,
)
# The Sender of a list post: the list's own addresses (Mailman, Sympa, LISTSERV, Google Groups).
LIST_SENDERS = re.compile(
    r"(^|[-_.+])(bounces?|owner|request|admin|listserv|majordomo|mailman|sympa)([-_.+]|$)",
    re.I,
)


def automatic_reason(message: Message, sender: str) -> str:
    """Why this message is an automatic one (a bounce, an out-of-office), or ""."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted.startswith("auto-replied"):
        return "Auto-Submitted: auto-replied"
    if message.get_content_type() == "multipart/report":
        return "a delivery or read report"
    local = sender.split("@")[0]
    if local in ("mailer-daemon", "postmaster"):
        return f"sent by {local}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _header(message, name):
            return f"{name} header"
    if _header(message, "Precedence").strip().lower() == "auto_reply":
        return "Precedence: auto_reply"
    return ""


def no_reply_reason(message: Message, sender: str, *, relayed=False) -> str:
    """Why no automatic answer may go back (RFC 3834 and common practice), or "".

    `relayed`: a file-sharing service's notice, `sender` the person behind it. The marks of
    the service's own automation (no-reply address, bulk headers, its bounce address) say
    nothing about that person: only the spam verdicts count.
    """
    if not sender:
        return "no sender address"
    if relayed:
        return _spam_reason(message)
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if _header(message, name):
            return f"{name} header"
    if ROBOT_SENDERS.search(sender.split("@")[0]):
        return f"automatic sender {sender}"
    # The envelope sender, as the last relay wrote it (the topmost Return-Path).
    return_paths = [_utf8(str(value)).strip() for value in message.get_all("Return-Path") or []]
    if return_paths:
        envelope = parseaddr(return_paths[0])[1].lower() if return_paths[0] != "<>" else ""
        if not envelope:
            return "empty Return-Path"
        if BOUNCE_ADDRESS.search(envelope.split("@")[0]):
            return f"Return-Path is a bounce address ({envelope})"
    list_sender = parseaddr(_one_line(_header(message, "Sender")))[1].lower()
    if list_sender and list_sender != sender and LIST_SENDERS.search(list_sender.split("@")[0]):
        return f"sent by a mailing list ({list_sender})"
    spam = _spam_reason(message)
    if spam:
        return spam
    suppress = _header(message, "X-Auto-Response-Suppress").lower()
    if "all" in suppress or "autoreply" in suppress or "oof" in suppress:
        return f"X-Auto-Response-Suppress: {suppress}"
    automatic = automatic_reason(message, sender)
    return automatic


def _spam_reason(message: Message) -> str:
    if _header(message, "X-Spam-Flag").strip().lower().startswith("yes"):
        return "X-Spam-Flag: YES"
    if re.match(r"\s*yes\b", _header(message, "X-Spam-Status"), re.I):
        return "X-Spam-Status: Yes"
    return ""


# --------------------------------------------------------------------------- authenticity

_RESULT = re.compile(r"(?:^|[;\s])(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.I)


def authentication_results(message: Message, trusted_authserv_ids=()) -> Authentication:
    """SPF, DKIM and DMARC verdicts of the receiving server.

    The topmost Authentication-Results header was added by the last server (ours or our
    provider's); the sender can forge any below it. With `trusted_authserv_ids`, only
    headers from those servers count.
    """
    headers = [str(value) for value in (message.get_all("Authentication-Results") or [])]
    trusted = {t.lower() for t in trusted_authserv_ids}
    chosen = None
    for value in headers:
        authserv_id = value.split(";")[0].strip().split()[0].lower() if value.strip() else ""
        if not trusted or authserv_id in trusted:
            chosen = value
            break
    verdicts = {}
    if chosen:
        for method, result in _RESULT.findall(re.sub(r"\([^)]*\)", " ", chosen)):
            method, result = method.lower(), result.lower()
            # Several signatures: one that passes is enough.
            if verdicts.get(method) != "pass":
                verdicts[method] = result
    if "spf" not in verdicts and not trusted:
        received_spf = _header(message, "Received-SPF").strip().split()
        if received_spf:
            verdicts["spf"] = received_spf[0].lower()
    return Authentication(
        spf=verdicts.get("spf", "")[:16],
        dkim=verdicts.get("dkim", "")[:16],
        dmarc=verdicts.get("dmarc", "")[:16],
    )
