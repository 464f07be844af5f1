"""What replicas sharing one PostgreSQL index coordinate through it: who syncs a scope, and news
of indexed calls.

- **Sync locks.** A session-level advisory lock per (account, provider, scope), held on one
  dedicated connection per process (not a pooled one: a session lock belongs to the connection
  that took it). A process that dies loses the connection, and the server releases its locks:
  the next replica waiting for the scope takes it over. Waiting is a `pg_try_advisory_lock`
  every `LOCK_POLL_SECONDS`, which a cancelled task leaves cleanly (a blocking
  `pg_advisory_lock` would keep the connection busy after the task is gone).
- **Indexed calls.** `NOTIFY call_logs_indexed, '<this process's id>'` after a sync stored
  calls; every process LISTENs on another dedicated connection and runs its callback for the
  others' notices (its own are skipped: it has told its clients already).

Errors never quote the connection string or the server's message (see `db.store_error`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio
import psycopg

from call_logs_mcp.index.postgres.db import CONNECT_TIMEOUT_SECONDS, store_error
from call_logs_mcp.index.protocol import IndexedListener

logger = logging.getLogger(__name__)

CHANNEL: Final = "call_logs_indexed"
LOCK_POLL_SECONDS: Final = 1.0
# Ahead of the scope hash, so a sync lock never equals `migrations.MIGRATION_LOCK`.
_LOCK_NAMESPACE: Final = b"call-logs-mcp sync scope\x00"

Connection = psycopg.AsyncConnection[tuple[Any, ...]]


def scope_lock_key(account: str, provider: str, scope: str) -> int:
    """The advisory lock id of a sync scope: 64 bits of a hash of its three parts."""
    digest = hashlib.sha256(_LOCK_NAMESPACE + "\x00".join((account, provider, scope)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Replicas:
    """This process's side of the coordination, over connections of its own to `conninfo`."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._locks: Connection | None = None
        self._using_locks = anyio.Lock()
        self.process_id = uuid.uuid4().hex

    async def _connect(self, doing: str) -> Connection:
        try:
            return await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
        except psycopg.Error as exc:
            raise store_error(exc, doing) from None

    async def _lock_query(self, sql: str, key: int, doing: str) -> bool:
        """Run a one-boolean advisory-lock query on the lock connection (reconnecting once it
        broke: the locks it held went with it)."""
        async with self._using_locks:
            if self._locks is None or self._locks.closed:
                self._locks = await self._connect(doing)
            try:
                row = await (await self._locks.execute(sql.encode(), (key,))).fetchone()
            except psycopg.Error as exc:
                await self._locks.close()
                self._locks = None
                raise store_error(exc, doing) from None
        return bool(row[0]) if row is not None else False

    @asynccontextmanager
    async def sync_lock(self, account: str, provider: str, scope: str) -> AsyncIterator[None]:
        """Held while this process syncs the scope; entering waits while another process holds
        it. Raises StoreError when the database cannot be reached."""
        key = scope_lock_key(account, provider, scope)
        # Polled, not an event: the holder is another process, which tells nobody when it ends.
        while True:
            if await self._lock_query("SELECT pg_try_advisory_lock(%s)", key, "taking a sync lock"):
                break
            await anyio.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self._lock_query("SELECT pg_advisory_unlock(%s)", key, "releasing a sync lock")
                except Exception:  # the connection is gone, and the lock with it
                    logger.debug("releasing a sync lock failed", exc_info=True)

    async def announce_indexed(self, conn: Connection) -> None:
        """NOTIFY the other processes, on a connection of the caller's (sent at its commit)."""
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self.process_id))

    @asynccontextmanager
    async def listening(self, on_indexed: IndexedListener) -> AsyncIterator[None]:
        """While inside, `on_indexed()` runs for each notice of another process. A lost
        connection is re-opened (notices sent meanwhile are missed: the next sync sends more)."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._listen, on_indexed)
            try:
                yield
            finally:
                group.cancel_scope.cancel()

    async def _listen(self, on_indexed: IndexedListener) -> None:
        while True:
            try:
                async with await self._connect("listening for indexed calls") as conn:
                    await conn.execute(f"LISTEN {CHANNEL}".encode())
                    async for notice in conn.notifies():
                        if notice.payload != self.process_id:
                            await on_indexed()
            except Exception:  # keep listening: a database restart must not end the notices
                logger.warning("listening for other replicas' indexed calls failed; retrying", exc_info=False)
            await anyio.sleep(LOCK_POLL_SECONDS)

    async def close(self) -> None:
        async with self._using_locks:
            if self._locks is not None:
                await self._locks.close()
                self._locks = None
