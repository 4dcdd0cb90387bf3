"""URLs in messages with their secrets masked: the password (or a lone token) before `@` and the values of
query parameters named like a secret (`token`, `password`, `key`, `signature`, `X-Amz-Credential`, ...)
become `***`, so an error line or a warning about `--data s3://user:secret@host/x.csv` shows no secret.
Stdlib only: every `BadInputError` masks its message with it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_SECRET_NAME = re.compile(r"pass|pwd|token|secret|key|sig|credential|auth", re.IGNORECASE)
_TRAILING = ".,:;)]}"  # punctuation of the message around a URL, not part of it
MASK = "***"


def masked_urls(text: str) -> str:
    """`text` with every URL in it masked by `masked_url`."""
    return _URL.sub(lambda found: _masked_with_punctuation(found.group()), text)


def masked_url(url: str) -> str:
    """`s3://user:secret@host/x.csv` -> `s3://user:***@host/x.csv`; `https://TOKEN@host/x` ->
    `https://***@host/x`; `https://host/x.csv?token=abc&v=2` -> `https://host/x.csv?token=***&v=2`."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL (a bracket in the host): shown without anything after //
        return url.split("://", 1)[0] + "://" + MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    query = "&".join(_masked_parameter(item) for item in parts.query.split("&")) if parts.query else ""
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _masked_parameter(item: str) -> str:
    name, equals, value = item.partition("=")
    return f"{name}={MASK}" if equals and value and _SECRET_NAME.search(name) else item


def _masked_with_punctuation(found: str) -> str:
    url = found.rstrip(_TRAILING)
    return masked_url(url) + found[len(url) :]
