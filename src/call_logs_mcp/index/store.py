"""The local index: one async method per query, each running a plain function of `writes`,
`reads`, `fts` or `summary_sql` on a connection in a worker thread.

Everything is scoped by platform account (see `accounts`): callers pass an `AccountScope`
({provider: account}) to every read, and rows stored under another account are not reachable.
Calls are stored as the platform returned them (unredacted: redaction happens on output).
`purge` is also offered synchronously for the CLI.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

from call_logs_mcp.analytics import CampaignSummary
from call_logs_mcp.index import fts, outcomes, reads, summary_sql, writes
from call_logs_mcp.index.accounts import AccountScope, SourceIds
from call_logs_mcp.index.db import Database
from call_logs_mcp.index.export import ExportFilter, IndexExport
from call_logs_mcp.index.fts import RANK_WINDOW
from call_logs_mcp.index.protocol import IndexedListener
from call_logs_mcp.index.records import (
    AgentListing,
    CallRecord,
    CampaignListing,
    IndexStats,
    RecentCalls,
    StoredState,
    SyncState,
    UpsertCounts,
)
from call_logs_mcp.index.search import SearchResult
from call_logs_mcp.models import Call, CallStatus, PlatformTotals, Speaker


class IndexStore:
    """The local index. Open with `IndexStore.open(path)`, close with
    `close()` (or use it as an async context manager)."""

    def __init__(self, db: Database, *, rank_window: int = RANK_WINDOW) -> None:
        self.db = db
        self.rank_window = max(1, rank_window)
        self._source_ids: SourceIds = {}

    @classmethod
    def open(cls, path: Path | str, *, rank_window: int = RANK_WINDOW) -> IndexStore:
        """Open (create, migrate) the index at `path`. `rank_window`: searches matching more
        turns than this rank only the newest this many (counts stay exact).

        Raises StoreError when the file cannot be created or read as an index."""
        return cls(Database.open(Path(path)), rank_window=rank_window)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> IndexStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return f"SQLite file {self.path}"

    async def check_health(self) -> None:
        """Raises StoreError unless the file answers a read and its schema is current."""
        from call_logs_mcp.errors import StoreError
        from call_logs_mcp.index.migrations import SCHEMA_VERSION

        version = await self.db.read(lambda conn: conn.execute("PRAGMA user_version").fetchone()[0])
        if version != SCHEMA_VERSION:
            raise StoreError(f"The index has schema version {version}, not {SCHEMA_VERSION}.")

    # --- replicas: one process per SQLite file, so nobody to coordinate with ------------------

    @asynccontextmanager
    async def sync_lock(self, account: str, provider: str, scope: str) -> AsyncIterator[None]:
        """No-op: the freshness scheduler already runs one sync per scope in this process."""
        yield

    async def announce_indexed(self) -> None:
        """No-op: no other process serves this file."""

    @asynccontextmanager
    async def listening(self, on_indexed: IndexedListener) -> AsyncIterator[None]:
        """No-op: no other process serves this file."""
        yield

    # --- writes -------------------------------------------------------------------------------

    async def upsert(self, account: str, provider: str, records: Sequence[CallRecord]) -> UpsertCounts:
        """Store `records` in one transaction. A record equal to what is stored is left alone;
        a summary-only record never replaces stored details; a record without a campaign keeps
        the campaign already known. Raises StoreError."""
        if not records:
            return UpsertCounts()
        return await self.db.write(
            lambda conn: self.upsert_sync(conn, account, provider, records), "saving calls"
        )

    def upsert_sync(
        self, conn: sqlite3.Connection, account: str, provider: str, records: Sequence[CallRecord]
    ) -> UpsertCounts:
        """`upsert` inside the caller's write transaction on `conn`. Raises StoreError."""
        return writes.upsert(conn, self._source_ids, account, provider, records)

    async def save_sync_state(self, account: str, provider: str, state: SyncState) -> None:
        """Store (replace) the bookkeeping of one sync scope. Raises StoreError."""
        await self.db.write(
            lambda conn: writes.save_sync_state(conn, self._source_ids, account, provider, state),
            "saving sync state",
        )

    # --- the sync engine's reads --------------------------------------------------------------

    async def stored_states(
        self, account: str, provider: str, call_ids: Sequence[str]
    ) -> dict[str, StoredState]:
        """What is stored about each of `call_ids` (absent ids are not in the result)."""
        if not call_ids:
            return {}
        return await self.db.read(
            lambda conn: reads.stored_states(conn, account, provider, call_ids), "reading call states"
        )

    async def calls_to_recheck(
        self,
        account: str,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
    ) -> list[str]:
        """Ids of stored calls in the scope that are still in progress or lack details."""
        return await self.db.read(
            lambda conn: reads.calls_to_recheck(
                conn, account, provider, campaign_id=campaign_id, since=since, until=until, limit=limit
            ),
            "reading calls to re-check",
        )

    async def load_sync_state(self, account: str, provider: str, scope: str) -> SyncState | None:
        """The bookkeeping of one sync scope, or None before its first sync."""
        return await self.db.read(
            lambda conn: reads.load_sync_state(conn, account, provider, scope), "reading sync state"
        )

    # --- reads --------------------------------------------------------------------------------

    async def get_call(self, scope: AccountScope, provider: str, call_id: str) -> Call | None:
        """The stored call, or None when this account has not indexed it."""
        return await self.db.read(
            lambda conn: reads.get_call(conn, scope, provider, call_id), "reading a call"
        )

    async def recent_calls(
        self,
        scope: AccountScope,
        *,
        provider: str | None = None,
        campaign_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RecentCalls:
        """Indexed calls, newest first, paginated with an opaque cursor."""
        query = reads.recent_query(provider, campaign_id, limit, cursor)
        return await self.db.read(lambda conn: reads.recent_calls(conn, scope, query), "listing calls")

    async def search(
        self,
        scope: AccountScope,
        query: str,
        *,
        provider: str | None = None,
        campaign_id: str | None = None,
        status: CallStatus | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        speaker: Speaker | None = None,
        limit: int = 10,
        cursor: str | None = None,
    ) -> SearchResult:
        """Ranked transcript search (bm25) with filters, newest first among equals.

        Counts (`total_hits`, `calls_matched`) are exact. When more than `rank_window` turns
        match, ranking covers the newest `rank_window` of them (`ranked_hits`, `ranking_note`);
        a quoted phrase whose words (in any form) are in more than `fts.PHRASE_CHECKS` turns is
        checked for its exact words in the newest of those, and counted there (`phrase_check`).
        Raises InvalidArgumentError for a query with nothing to search, a bad limit or a cursor
        from another search; StoreError when the index cannot be read."""
        request = fts.search_request(
            scope,
            query,
            provider=provider,
            campaign_id=campaign_id,
            status=status,
            from_date=from_date,
            to_date=to_date,
            speaker=speaker,
            limit=limit,
            cursor=cursor,
        )
        return await fts.search(self.db, request, rank_window=self.rank_window)

    async def find_calls(self, request: outcomes.OutcomeRequest) -> outcomes.OutcomeResult:
        """Calls matching outcome filters and extracted-field conditions, newest first, with the
        exact count (see `index.outcomes`). Raises InvalidArgumentError (bad limit or cursor, a
        field no call in scope has), StoreError."""
        doing = "finding calls"
        return await self.db.read(
            lambda conn: outcomes.find_calls(conn, request, partial(self.db.beside, doing=doing)), doing
        )

    async def list_campaigns(
        self, scope: AccountScope, *, provider: str | None = None, describe: bool = False
    ) -> list[CampaignListing]:
        """Campaigns per provider: indexed call counts, date span and last covering sync; with
        `describe`, also calls by status and the agent's usual opening line (costs a few reads
        per campaign)."""
        return await self.db.read(
            lambda conn: reads.list_campaigns(conn, scope, provider, describe=describe), "listing campaigns"
        )

    async def list_agents(self, scope: AccountScope, *, provider: str | None = None) -> list[AgentListing]:
        """The platform agents (assistants) of the indexed calls with their call counts by status
        and by campaign (see `reads.list_agents`)."""
        return await self.db.read(lambda conn: reads.list_agents(conn, scope, provider), "listing agents")

    async def last_synced(
        self,
        scope: AccountScope,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> datetime | None:
        """When a sync last completed over a scope covering the one asked about (a whole-provider
        sync covers every campaign; a date-limited sync covers only its range)."""
        return await self.db.read(
            lambda conn: reads.last_synced(
                conn, scope, provider, campaign_id=campaign_id, since=since, until=until
            ),
            "reading sync state",
        )

    async def indexed_calls(
        self, scope: AccountScope, provider: str, *, campaign_id: str | None = None
    ) -> int:
        """How many calls the index holds for the provider (in the campaign, when given)."""
        return await self.db.read(
            lambda conn: reads.indexed_calls(conn, scope, provider, campaign_id), "counting indexed calls"
        )

    async def platform_calls(
        self, scope: AccountScope, provider: str, *, campaign_id: str | None = None
    ) -> int | None:
        """The platform's own call count for the campaign (or the whole account) at its last sync,
        if it reports one."""
        return await self.db.read(
            lambda conn: reads.platform_calls(conn, scope, provider, campaign_id), "reading sync state"
        )

    async def campaign_summary(
        self,
        scope: AccountScope,
        provider: str,
        campaign_id: str | None,
        *,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        live: PlatformTotals | None = None,
    ) -> CampaignSummary:
        """The analytics summary of one provider's campaign (or all its calls when campaign_id is
        None), optionally limited to a date range, computed from the index; `live` are the
        platform's own totals for exactly that scope, read just now."""
        return await summary_sql.campaign_summary(
            self.db, scope, provider, campaign_id, from_date=from_date, to_date=to_date, live=live
        )

    async def stats(self) -> IndexStats:
        """Calls per provider (all accounts) and the file size: for `sync`/`purge` reports."""
        return await self.db.read(lambda conn: reads.stats(conn, self.path), "reading index statistics")

    # --- export -------------------------------------------------------------------------------

    @contextmanager
    def export(self, scope: AccountScope, filters: ExportFilter) -> Iterator[IndexExport]:
        """The calls of `filters` within `scope`, read from one snapshot of the index for as long
        as the block runs (synchronous: for the CLI's export). Raises StoreError."""
        with self.db.snapshot("exporting calls", mapped=False) as conn:
            yield IndexExport(conn, scope, filters)

    # --- purge --------------------------------------------------------------------------------

    def purge_sync(self, older_than_days: int | None = None) -> int:
        """Delete calls that started more than `older_than_days` ago (all calls and sync state
        when None), rewrite the search index without them, and checkpoint the WAL so no deleted
        content stays in either file. Returns the number of calls deleted.

        Raises InvalidArgumentError for a negative age, StoreError when another process holds
        the file open in a way that prevents the final checkpoint."""
        return writes.purge_calls(self.db, older_than_days)

    async def purge(self, older_than_days: int | None = None) -> int:
        """Async `purge_sync`."""
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.purge_sync, older_than_days)


def purge(store: IndexStore, older_than_days: int | None = None) -> int:
    """For the CLI: `store.purge_sync(older_than_days)`."""
    return store.purge_sync(older_than_days)
