"""File-sharing links in a message's text: which services a sender used instead of attaching.

Standard library only, no Django. We only name the service in our reply: nothing is ever
fetched from an address a sender chose.
"""

import re
from urllib.parse import unquote

# (name shown to the owner, host pattern, path pattern or None), most specific first.
SERVICES = (
    ("iCloud Mail Drop", r"(?:www\.)?icloud\.com", r"/attachment"),
    ("iCloud", r"(?:www\.|share\.)?icloud\.com", None),
    ("Google Drive", r"(?:drive|docs)\.google\.com", None),
    ("Google Photos", r"photos\.google\.com|photos\.app\.goo\.gl", None),
    ("OneDrive", r"1drv\.ms|onedrive\.live\.com|(?:[\w-]+\.)?sharepoint\.com", None),
    ("WeTransfer", r"we\.tl|(?:[\w-]+\.)?wetransfer\.com", None),
    ("SwissTransfer", r"(?:www\.)?swisstransfer\.com", None),
    ("Smash", r"(?:[\w-]+\.)?fromsmash\.com|fromsmash\.co", None),
    ("Dropbox", r"(?:www\.|dl\.)?dropbox(?:usercontent)?\.com|db\.tt", None),
)
_COMPILED = [
    (name, re.compile(rf"(?:{host})\Z", re.I), re.compile(path, re.I) if path else None)
    for name, host, path in SERVICES
]
_URL = re.compile(r"https?://([^/\s\"'<>?#]+)([^\s\"'<>]*)", re.I)
_MAX_TEXT = 200_000


def sharing_services(text: str) -> tuple[str, ...]:
    """The services linked to in `text` (plain or HTML), in order of first appearance."""
    found = []
    for match in _URL.finditer(unquote(text[:_MAX_TEXT].replace("&amp;", "&"))):
        host = match.group(1).rsplit("@", 1)[-1].split(":")[0].rstrip(".").lower()
        path = match.group(2)
        for name, host_pattern, path_pattern in _COMPILED:
            if host_pattern.match(host) and (path_pattern is None or path_pattern.match(path)):
                if name not in found:
                    found.append(name)
                break
    return tuple(found)


# The domains file-sharing services send their own notices from ("Camille sent you files",
# "Camille shared a file with you"): from a no-reply address, the person in Reply-To.
NOTIFIERS = (
    ("WeTransfer", r"(?:[\w-]+\.)?wetransfer\.com|we\.tl"),
    ("Google Drive", r"google\.com"),
    ("Dropbox", r"(?:[\w-]+\.)?dropbox(?:mail)?\.com"),
    ("Smash", r"(?:[\w-]+\.)?fromsmash\.com"),
    ("SwissTransfer", r"(?:[\w-]+\.)?swisstransfer\.com|infomaniak\.com"),
)
_NOTIFIERS = [(name, re.compile(rf"(?:{host})\Z", re.I)) for name, host in NOTIFIERS]


def notifying_service(address: str) -> str:
    """The file-sharing service whose own domain `address` is at ("WeTransfer"), or ""."""
    domain = address.rsplit("@", 1)[-1].rstrip(".").lower() if "@" in address else ""
    return next((name for name, pattern in _NOTIFIERS if pattern.match(domain)), "")
