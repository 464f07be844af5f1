"""Which index to open: PostgreSQL when a database URL is given, else the SQLite file.

The index knows no settings: the server runtime and the CLI pass `Settings.database_url` and
`Settings.db_path()` in. The URL holds a password: nothing here logs, shows or quotes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from call_logs_mcp.errors import ConfigurationError

if TYPE_CHECKING:
    from pydantic import SecretStr

    from call_logs_mcp.index.protocol import IndexStoreProtocol

DATABASE_URL_ENV: Final = "CALL_LOGS_DATABASE_URL"
POSTGRES_EXTRA: Final = "pip install 'call-logs-mcp[postgres]'"
_SCHEMES: Final = ("postgresql://", "postgres://")


def check_database_url(url: SecretStr) -> str:
    """The URL's text, once it names PostgreSQL and its driver is installed.

    Raises ConfigurationError (never quoting the URL) for another scheme or a missing
    `postgres` extra."""
    value = url.get_secret_value().strip()
    if not value.lower().startswith(_SCHEMES):
        raise ConfigurationError(
            f"{DATABASE_URL_ENV} must be a PostgreSQL URL: postgresql://user:password@host:5432/database "
            "(unset it to use the SQLite index at CALL_LOGS_DB)."
        )
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            f"{DATABASE_URL_ENV} selects a PostgreSQL index, whose driver is not installed: "
            f"run `{POSTGRES_EXTRA}` (or unset {DATABASE_URL_ENV} to use the SQLite index)."
        ) from None
    return value


def describe_url(url: SecretStr) -> str:
    """`PostgreSQL database <name> on <host>:<port>` of a database URL; never its user or password."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url.get_secret_value().strip())
        query = parse_qs(parts.query)
        # A Unix socket directory is given as `?host=/run/postgresql`.
        host = parts.hostname or query.get("host", ["localhost"])[0]
        port = f":{parts.port or query.get('port', [''])[0]}".rstrip(":")
    except ValueError:
        return "PostgreSQL database (the URL does not parse)"
    name = parts.path.lstrip("/") or "(default)"
    return f"PostgreSQL database {name} on {host}{port}"


async def open_store(db_path: Path, database_url: SecretStr | None) -> IndexStoreProtocol:
    """The index: PostgreSQL at `database_url` when given (connected and migrated), else the
    SQLite file at `db_path` (created and migrated).

    Raises ConfigurationError for a URL that is not PostgreSQL's or a missing driver, StoreError
    when the database cannot be opened (neither quotes the URL)."""
    if database_url is None:
        from call_logs_mcp.index.store import IndexStore

        return IndexStore.open(db_path)
    conninfo = check_database_url(database_url)
    from call_logs_mcp.index.postgres import PostgresStore

    return await PostgresStore.open(conninfo)
