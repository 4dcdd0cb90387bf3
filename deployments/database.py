"""The one PostgreSQL database of `bilstm dashboard --database`: Prefect's tables in its schema `prefect`,
MLflow's in its schema `mlflow` (both servers keep an `alembic_version` table, so they cannot share one
schema), the URL each server reads, and a check, before any server starts, that the database answers.

Every message names the URL with its password replaced by `***`. Needs psycopg (the `cluster` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from bilstm.errors import BadInputError

SCHEMAS = {"prefect": "prefect", "mlflow": "mlflow"}
EXAMPLE = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


class DatabaseUrlError(BadInputError):
    """The --database URL is not a PostgreSQL URL this command can use; the message says why."""


class DatabaseUnreachableError(RuntimeError):
    """The database refused the connection (down, wrong host, port, password or rights)."""

    exit_code = 3


@dataclass(frozen=True)
class Database:
    """A PostgreSQL URL `postgresql://USER:PASSWORD@HOST:PORT/DATABASE`, parsed and checked."""

    url: str

    @classmethod
    def parse(cls, url: str) -> Database:
        """Raises `DatabaseUrlError` naming the URL (without its password) where it cannot be used."""
        database = cls(url)
        parts, shown = database._parts(), database.redacted
        scheme = parts.scheme if parts else ""
        if parts is None or scheme not in ("postgresql", "postgres") or not parts.hostname:
            raise DatabaseUrlError(f"--database {shown}: not a PostgreSQL URL; expected {EXAMPLE}")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError:
            raise DatabaseUrlError(
                f"--database {shown}: the port is not a number from 1 to 65535; expected {EXAMPLE}"
            ) from None
        name = parts.path.removeprefix("/")
        if not name or "/" in name:
            raise DatabaseUrlError(
                f"--database {shown}: name one database after the host; expected {EXAMPLE}"
            )
        if parts.query or parts.fragment:
            raise DatabaseUrlError(
                f"--database {shown}: query parameters are not passed on (the two servers use different"
                f" drivers); give {EXAMPLE} and set libpq's PG* variables (e.g. PGSSLMODE) if needed"
            )
        return database

    def _parts(self) -> SplitResult | None:
        try:
            return urlsplit(self.url)
        except ValueError:
            return None

    @property
    def redacted(self) -> str:
        """The URL as it may be printed: the password, if any, as `***`."""
        parts = self._parts()
        if parts is None or parts.password is None:
            return self.url if parts else "(unparsable URL)"
        user_and_host = parts.netloc.rsplit("@", 1)
        return self.url.replace(user_and_host[0], f"{parts.username}:***", 1)

    def _with_driver(self, driver: str) -> str:
        return self.url.replace(self._parts().scheme + "://", f"postgresql+{driver}://", 1)

    def prefect_environment(self) -> dict[str, str]:
        """What `prefect server start` reads to keep its tables in schema `prefect` of this database."""
        return {
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": self._with_driver("asyncpg"),
            # `public` after it, as Prefect asks, where extensions such as pg_trgm may live
            "PREFECT_SERVER_DATABASE_SQLALCHEMY_CONNECT_ARGS_SEARCH_PATH": f"{SCHEMAS['prefect']}, public",
        }

    def mlflow_environment(self) -> dict[str, str]:
        """What `mlflow server` reads (instead of --backend-store-uri, which `ps` would show) to keep its
        tables in schema `mlflow` of this database: libpq's `options` set the search path."""
        return {
            "MLFLOW_BACKEND_STORE_URI": self._with_driver("psycopg")
            + f"?options=-csearch_path%3D{SCHEMAS['mlflow']}"
        }

    def prepare(self, timeout: float = 10) -> None:
        """Connect once and create the two schemas where missing.

        Raises:
            DatabaseUnreachableError: the connection or the schemas' creation failed.
            DatabaseUrlError: psycopg (the `cluster` extra) is not installed.
        """
        try:
            import psycopg
        except ImportError:
            raise DatabaseUrlError(
                f"--database {self.redacted}: needs psycopg: pip install -e '.[cluster]'"
            ) from None
        try:
            with psycopg.connect(self.url, connect_timeout=max(1, round(timeout))) as connection:
                wanted = list(SCHEMAS.values())
                query = "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)"
                present = {row[0] for row in connection.execute(query, [wanted])}
                for schema in wanted:  # only the missing ones: creating needs the CREATE right
                    if schema not in present:
                        connection.execute(f"CREATE SCHEMA {schema}")
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            password = self._parts().password
            if password:
                reason = reason.replace(password, "***")
            raise DatabaseUnreachableError(
                f"the database {self.redacted} refused the connection: {reason}"
            ) from None
