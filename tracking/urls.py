"""URLs as links, logs and error lines show them: without the user, the password or a `password=` query
parameter (database URLs may take one), whatever the scheme (`http://`, `postgresql+psycopg://`, ...)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def without_credentials(url: str) -> str:
    """`http://user:secret@host:5000/x` -> `http://host:5000/x`; `postgresql+psycopg://u:pw@h/db?password=pw`
    -> `postgresql+psycopg://h/db`. A port that is not a number stays as written (an error line names it)."""
    parts = urlsplit(url)
    query = [item for item in parts.query.split("&") if item.split("=")[0].lower() != "password"]
    if "@" not in parts.netloc and len(query) == len(parts.query.split("&")):
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="&".join(query)))
