"""A tracking URI that is a database (`postgresql+psycopg://user:pw@host:5432/mlflow`, MySQL, SQL Server),
checked before MLflow opens it: MLflow would retry a refused connection for about 100 s, logging each try, and
wait on a host that drops packets without end. A malformed URL or a database that answers with a refusal
(wrong password, no such database) is the user's to fix; a database that does not answer is tried again like a
tracking server, then named unreachable. Every line names the URL without its password. A SQLite store's
file that is no database is named too."""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bilstm.errors import BadInputError
from tracking.retries import TrackingUnavailableError, reached
from tracking.urls import without_credentials as shown

# the servers MLflow stores runs in besides SQLite, by SQLAlchemy backend name, with their default ports;
# `postgres` is no SQLAlchemy name, but a common slip worth its own message
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mssql": 1433}
CONNECT_TIMEOUT_S = 10  # a host that drops packets: libpq and MySQL drivers wait forever by default
# a server that answers but is not ready: restarting, shutting down, full; tried again like a refused port
_NOT_READY = ("starting up", "shutting down", "in recovery mode", "too many")
FIX = "check the user, password and database name in MLFLOW_TRACKING_URI"


class TrackingDatabaseError(BadInputError):
    """The database URL is malformed, names a driver that is not installed, or the database refused it."""


def is_database(uri: str) -> bool:
    """A URI MLflow would open with SQLAlchemy on a database server (not SQLite, not a tracking server)."""
    return urlsplit(uri).scheme.split("+")[0] in DEFAULT_PORTS


def check_sqlite_file(uri: str) -> None:
    """Raise `TrackingDatabaseError` naming the file where a `sqlite:///` store's file exists but is no SQLite
    database (damaged, or another file under its name): MLflow would print SQLAlchemy's SQL text alone. A
    file that is busy (locked) is left to MLflow, which waits for it."""
    database = make_url(uri).database
    if not database or database == ":memory:" or not Path(database).is_file():
        return  # MLflow creates a store where none is
    try:
        with closing(sqlite3.connect(database)) as connection:
            connection.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.OperationalError:  # locked or busy: not the file's fault
        return
    except sqlite3.DatabaseError as error:  # "file is not a database", "database disk image is malformed"
        raise TrackingDatabaseError(
            f"{database}: the MLflow tracking store cannot be read ({error}); restore it from a backup, move"
            " it aside to start a new store, or point MLFLOW_TRACKING_URI at another one"
        ) from None


def reach_database(uri: str, delays: list[float]) -> None:
    """Parse `uri`, load its driver and connect once; a database that does not answer (or is restarting) is
    tried again after each of `delays`. Raises TrackingDatabaseError (exit 2) or TrackingUnavailableError
    (exit 3), each one line without the password."""
    url = _parsed(uri)
    engine = _engine(uri, url)
    try:
        reached(lambda: _connect(uri, url, engine), f"database {shown(uri)}", delays)
    finally:
        engine.dispose()


def _parsed(uri: str) -> URL:
    try:
        url = make_url(uri)
        port = url.port
    except (ArgumentError, ValueError) as error:  # ValueError: a port that is not a number
        raise TrackingDatabaseError(
            f"MLFLOW_TRACKING_URI {shown(uri)} is not a database URL ({_scrubbed(error, uri)}); write it as"
            " postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None
    if port is not None and not 0 < port < 65536:
        raise TrackingDatabaseError(f"MLFLOW_TRACKING_URI {shown(uri)}: port {port} is not 1-65535")
    if not url.database:
        raise TrackingDatabaseError(
            f"MLFLOW_TRACKING_URI {shown(uri)} names no database; add it after the host: .../DATABASE"
        )
    return url


def _engine(uri: str, url: URL) -> sqlalchemy.Engine:
    """An engine that connects once, without a pool; a driver SQLAlchemy has no dialect for, or one that is
    not installed, is named."""
    timeout = {"connect_timeout": CONNECT_TIMEOUT_S} if url.get_backend_name() != "mssql" else {}
    try:
        return sqlalchemy.create_engine(url, poolclass=sqlalchemy.NullPool, connect_args=timeout)
    except (ArgumentError, ImportError) as error:  # NoSuchModuleError is an ArgumentError
        raise TrackingDatabaseError(
            f"MLFLOW_TRACKING_URI {shown(uri)}: no database driver {url.drivername!r} here"
            f" ({_scrubbed(error, uri)}); for PostgreSQL write postgresql+psycopg://... and install the"
            " `cluster` extra (pip install 'bilstm-pipeline[cluster]')"
        ) from None


def _connect(uri: str, url: URL, engine: sqlalchemy.Engine) -> None:
    """Reach the port first, so that "nobody answers" (retried, exit 3) is told apart from "the database
    answered no" (exit 2) without reading drivers' messages; then log in once."""
    port = url.port or DEFAULT_PORTS[url.get_backend_name()]
    if url.host:  # none: a Unix socket, left to the driver
        try:
            socket.create_connection((url.host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as error:
            raise TrackingUnavailableError(
                f"database {shown(uri)} is unreachable ({_scrubbed(error, uri)})"
            ) from None
    try:
        engine.connect().close()
    except DBAPIError as error:
        # libpq's "connection to server at ... failed: FATAL: <the server's answer>": the answer is the news
        reason = _scrubbed(error.orig or error, uri).split("FATAL:")[-1].strip()
        if any(state in reason for state in _NOT_READY):
            raise TrackingUnavailableError(f"database {shown(uri)} is not ready ({reason})") from None
        refused = f"database {shown(uri)} refused the connection: {reason}; {FIX}"
        raise TrackingDatabaseError(refused) from None


def _scrubbed(error: BaseException, uri: str) -> str:
    """The error's text on one line, the URL's password masked should a driver echo it."""
    text = " ".join(str(error).split())
    password = _password(uri)
    return text.replace(password, "***") if password else text


def _password(uri: str) -> str | None:
    try:
        return make_url(uri).password
    except (ArgumentError, ValueError):
        return urlsplit(uri).password
