"""The PostgreSQL connection pool (psycopg 3, async), migrations at open, and error wording.

Every write borrows a pooled connection for one transaction (`transaction`), every read one outside
any transaction (`reading`: no BEGIN and COMMIT round trips). Errors never quote the server's
message (it can contain SQL, values or the connection string): a `StoreError` names what we were
doing and the kind of failure.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from call_logs_mcp.errors import StoreError
from call_logs_mcp.index.postgres.migrations import MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION

logger = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[tuple[Any, ...]]
Cursor = psycopg.AsyncCursor[tuple[Any, ...]]
SyncConnection = psycopg.Connection[tuple[Any, ...]]

CONNECT_TIMEOUT_SECONDS = 10


def store_error(exc: Exception, doing: str) -> StoreError:
    # A deadlock or serialization failure is an OperationalError too, but the server answered.
    reached = isinstance(exc, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure)
    if isinstance(exc, PoolTimeout | psycopg.OperationalError) and not reached:
        return StoreError(
            f"The PostgreSQL call index could not be reached (or refused the connection) while {doing}."
        )
    return StoreError(f"The PostgreSQL call index failed while {doing} ({type(exc).__name__}).")


OLDEST_SERVER = 150000  # server_version_num of PostgreSQL 15


async def migrate(conn: Connection) -> int:
    """Bring the schema to `SCHEMA_VERSION` under the migration advisory lock; the version found.

    Raises StoreError for a server older than PostgreSQL 15 or a database of a newer version."""
    if conn.info.server_version < OLDEST_SERVER:
        # Migration 2's aggregates need UNIQUE NULLS NOT DISTINCT (PostgreSQL 15).
        raise StoreError(
            f"The PostgreSQL server is version {conn.info.server_version // 10000}; the call index "
            f"needs PostgreSQL {OLDEST_SERVER // 10000} or newer."
        )
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = await (await conn.execute("SELECT max(version) FROM schema_version")).fetchone()
        found = int(row[0]) if row is not None and row[0] is not None else 0
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"The PostgreSQL call index has schema version {found}, newer than this program "
                f"understands ({SCHEMA_VERSION}); upgrade call-logs-mcp."
            )
        for version in range(found, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                await conn.execute(statement.encode())
            logger.info("PostgreSQL index migrated to schema version %d", version + 1)
        await conn.execute("DELETE FROM schema_version")
        await conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
        return found


class Database:
    """A pool of connections to one PostgreSQL database holding a migrated index."""

    def __init__(self, pool: AsyncConnectionPool[Connection], conninfo: str) -> None:
        self.pool = pool
        self.conninfo = conninfo

    @classmethod
    async def open(cls, conninfo: str, *, max_size: int = 4) -> Database:
        """Connect, migrate, and keep a pool. Raises StoreError (a URL that does not parse, an
        unreachable server, refused credentials, a newer schema) without quoting `conninfo` or
        the server's message (either may hold a password)."""
        try:
            conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError:
            raise StoreError(
                "The PostgreSQL database URL is not valid; expected postgresql://user:password@host:port/database."
            ) from None
        try:
            # One direct connection first: an unreachable server fails now, not after the
            # pool's retries, and the schema is current before any pooled connection is used.
            async with await psycopg.AsyncConnection.connect(
                conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS
            ) as conn:
                await migrate(conn)
        except psycopg.Error as exc:
            raise store_error(exc, "opening the index") from None
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=CONNECT_TIMEOUT_SECONDS,
            # Autocommit: `transaction` opens its transactions explicitly, and `reading` needs none.
            kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "autocommit": True},
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout as exc:
            await pool.close()
            raise store_error(exc, "opening the index") from None
        return cls(pool, conninfo)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self, doing: str) -> AsyncIterator[Connection]:
        """A pooled connection inside one transaction (committed when the block ends without an
        exception). Raises StoreError for any database failure."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise store_error(exc, doing) from None

    @asynccontextmanager
    async def reading(self, doing: str) -> AsyncIterator[Connection]:
        """A pooled connection outside any transaction, for reads: each statement sees the index
        as it is when the statement starts, as in a READ COMMITTED transaction (where each
        statement takes a snapshot of its own too), without the BEGIN and COMMIT round trips.
        Raises StoreError for any database failure."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise store_error(exc, doing) from None

    @contextmanager
    def sync_transaction(self, doing: str, *, snapshot: bool = False) -> Iterator[SyncConnection]:
        """A connection of its own (not the pool's: usable without the event loop, as the CLI's
        synchronous export and purge are) inside one transaction, committed when the block ends
        without an exception. `snapshot`: REPEATABLE READ and read-only, so every query in the
        block sees one state of the index while syncs write. Raises StoreError for any database
        failure."""
        try:
            with psycopg.connect(self.conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
                if snapshot:
                    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    conn.read_only = True
                with conn.transaction():
                    yield conn
        except psycopg.Error as exc:
            raise store_error(exc, doing) from None
