"""The SQLite file: creation with private permissions, connection settings, a small pool.

sqlite3 thread rules: a connection may move between threads (`check_same_thread=False`) but must
never be used by two threads at once. So there is one writer connection behind a lock and a few
reader connections handed out one per call; async callers run their work in a worker thread
(`anyio.to_thread`) so the event loop never blocks on disk. WAL lets readers run while the
writer commits.

Privacy settings on every connection: `secure_delete` (deleted content is zeroed, so `purge`
leaves nothing behind) and `temp_store=MEMORY` (sorts never spill rows into temp files).
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from call_logs_mcp.errors import StoreError
from call_logs_mcp.index import words
from call_logs_mcp.index.migrations import MIGRATIONS, SCHEMA_VERSION

logger = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")

BUSY_TIMEOUT_MS = 10_000
_CACHE_KIB = 32 * 1024
# Readers map the file (SQLite caps this at its compile-time maximum, 2 GiB by default): pages
# are read from the operating system's file cache in place, shared by every reader, instead of
# being copied into each connection's own cache. Searches and counts over a large index read
# hundreds of megabytes of pages that four 32 MiB caches cannot hold: measured at 300,000 calls,
# the bench queries used about a fifth less CPU. The mapped pages the process has touched count
# in its resident size (they are the file cache, reclaimable, not allocated memory). The writer
# does not map the file.
_READER_MMAP_BYTES = 2**31 - 2**16


def placeholders(values: Sequence[object]) -> str:
    """`?,?,…`: one SQL parameter per value."""
    return ",".join("?" * len(values))


def _store_error(exc: sqlite3.Error, doing: str) -> StoreError:
    # sqlite messages can quote SQL or values; ours names only what we were doing.
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower():
        return StoreError(f"The local call index is busy (another process is writing) while {doing}.")
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc).lower():
        return StoreError(f"The local call index file is not a valid database ({doing}).")
    return StoreError(f"The local call index failed while {doing} ({type(exc).__name__}).")


def _prepare_file(path: Path) -> None:
    """Create the directory (0700, only the levels we create) and the file (0600)."""
    parent = path.parent
    missing: list[Path] = []
    probe = parent
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    # O_NOFOLLOW and fchmod: a symbolic link at `path` (say, to /dev/null or another user's
    # file) is refused, never followed and never chmod-ed.
    if path.is_symlink():
        raise StoreError(
            f"The local call index path {path} is a symbolic link; it is never opened through one. "
            "Point CALL_LOGS_DB at the file itself."
        )
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags, 0o600)  # O_NOFOLLOW: a link swapped in since the check fails here
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StoreError("CALL_LOGS_DB must name a regular file (not a device, pipe or directory).")
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _connect(path: Path, *, reader: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
    if reader:
        conn.execute(f"PRAGMA mmap_size = {_READER_MMAP_BYTES}")
    conn.execute("PRAGMA foreign_keys = ON")
    words.register(conn)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The local call index was created by a newer version of call-logs-mcp "
            f"(schema {version}, this version knows {SCHEMA_VERSION}); upgrade, or point CALL_LOGS_DB "
            "at another file."
        )
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version < SCHEMA_VERSION:
                for step in MIGRATIONS[version]:
                    if isinstance(step, str):
                        conn.execute(step)
                    else:
                        step(conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                logger.info("index schema migrated to version %d", version + 1)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        (version,) = conn.execute("PRAGMA user_version").fetchone()


class Database:
    """One SQLite file: a writer connection and a pool of readers. Use `open`."""

    def __init__(self, path: Path, writer: sqlite3.Connection, max_readers: int) -> None:
        self.path = path
        self._writer = writer
        self._write_lock = threading.Lock()
        self._readers: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = [writer]
        self._pool_lock = threading.Lock()
        self._max_readers = max_readers
        self._read_limiter = anyio.CapacityLimiter(max_readers)
        self._write_limiter = anyio.CapacityLimiter(1)
        # Threads for the other half of a read split in two (`beside`).
        self._beside = ThreadPoolExecutor(max_workers=2, thread_name_prefix="index-beside")
        self._closed = False

    @classmethod
    def open(cls, path: Path, *, max_readers: int = 4) -> Database:
        """Open (creating and migrating as needed) the index at `path`.

        Raises StoreError when the file cannot be created, is not a database, or has a newer schema.
        """
        path = Path(path).expanduser()
        try:
            _prepare_file(path)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the local call index at {path} ({exc.strerror or 'OS error'}); "
                "set CALL_LOGS_DB to a writable path."
            ) from None
        try:
            writer = _connect(path)
            (mode,) = writer.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                logger.warning("index journal mode is %s, not WAL", mode)
            _migrate(writer)
        except sqlite3.Error as exc:
            raise _store_error(exc, "opening it") from None
        return cls(path, writer, max_readers)

    # -- synchronous access (worker threads, CLI) -------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StoreError("The local call index is closed.")
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            with self._pool_lock:
                conn = _connect(self.path, reader=True)
                self._all.append(conn)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._readers.put(conn)

    def read_sync(self, fn: Callable[[sqlite3.Connection], T], doing: str = "reading") -> T:
        """Run `fn(conn)` inside one read transaction (a consistent snapshot)."""
        with self.snapshot(doing) as conn:
            return fn(conn)

    @contextmanager
    def snapshot(self, doing: str = "reading", *, mapped: bool = True) -> Iterator[sqlite3.Connection]:
        """A reader connection inside one read transaction for as long as the block runs: reads
        spread over many queries (an export read in batches) see one consistent state.
        `mapped=False` for a read that streams most of the file once (an export): its pages are
        read rather than mapped, so they do not stay in the process's resident size. Raises
        StoreError for an sqlite error in the block."""
        try:
            with self._reader() as conn:
                if not mapped:
                    conn.execute("PRAGMA mmap_size = 0")
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    conn.execute("ROLLBACK")
                    if not mapped:
                        conn.execute(f"PRAGMA mmap_size = {_READER_MMAP_BYTES}")
        except sqlite3.Error as exc:
            raise _store_error(exc, doing) from None

    def beside(self, fn: Callable[[sqlite3.Connection], T], doing: str = "reading") -> Future[T]:
        """`fn(conn)` on another reader connection, in a read transaction of its own, on a worker
        thread while the caller goes on: a read split in two uses two cores (SQLite releases the
        GIL while it works). Its result or error (StoreError) comes from the future."""
        if self._closed:
            raise StoreError("The local call index is closed.")
        return self._beside.submit(self.read_sync, fn, doing)

    def write_sync(self, fn: Callable[[sqlite3.Connection], T], doing: str = "writing") -> T:
        """Run `fn(conn)` inside one write transaction: all of it is committed, or none."""
        if self._closed:
            raise StoreError("The local call index is closed.")
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise _store_error(exc, doing) from None

    def maintenance_sync(self, fn: Callable[[sqlite3.Connection], T], doing: str) -> T:
        """Run `fn(conn)` on the writer outside any transaction (checkpoints, FTS optimize)."""
        with self._write_lock:
            try:
                return fn(self._writer)
            except sqlite3.Error as exc:
                raise _store_error(exc, doing) from None

    # -- async access -----------------------------------------------------------------------

    async def read(self, fn: Callable[[sqlite3.Connection], T], doing: str = "reading") -> T:
        return await anyio.to_thread.run_sync(self.read_sync, fn, doing, limiter=self._read_limiter)

    async def write(self, fn: Callable[[sqlite3.Connection], T], doing: str = "writing") -> T:
        return await anyio.to_thread.run_sync(self.write_sync, fn, doing, limiter=self._write_limiter)

    async def read_pair(
        self, first: Callable[[sqlite3.Connection], T], second: Callable[[sqlite3.Connection], U], doing: str
    ) -> tuple[T, U]:
        """`first(conn)` and `second(conn)`, each on its own reader connection, concurrently
        (SQLite releases the GIL while it works, so they use two cores). Raises the first error
        either raised."""
        firsts: list[T] = []
        seconds: list[U] = []

        async def run_first() -> None:
            firsts.append(await self.read(first, doing))

        async def run_second() -> None:
            seconds.append(await self.read(second, doing))

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run_first)
                tg.start_soon(run_second)
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None
        return firsts[0], seconds[0]

    def checkpoint(self) -> None:
        """Move the WAL into the main file and truncate the WAL to zero bytes."""

        def run(conn: sqlite3.Connection) -> None:
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise StoreError(
                    "Could not checkpoint the local call index: another process is reading it; "
                    "stop the server and retry."
                )

        self.maintenance_sync(run, "checkpointing")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._beside.shutdown(wait=True)
        with self._write_lock, self._pool_lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:  # pragma: no cover - closing never matters more than exit
                    logger.debug("closing an index connection failed", exc_info=True)
            self._all.clear()
