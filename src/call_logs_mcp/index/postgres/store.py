"""`PostgresStore`: the `IndexStore` methods on a PostgreSQL database (issue 18, in progress).

Implemented, with the SQLite store's answers (held by tests/test_store_contract.py,
tests/test_search_contract.py and the store-level suites run on both stores): every method of
`IndexStoreProtocol`. `purge_sync` and `export` are synchronous, on a connection of their own, for
the CLI. `search` gives the same hits, counts and pages; see `postgres.search` for the order within
a tier.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import datetime
from functools import cached_property

from psycopg.conninfo import conninfo_to_dict

from call_logs_mcp.analytics import CampaignSummary
from call_logs_mcp.errors import StoreError
from call_logs_mcp.index import fts
from call_logs_mcp.index.accounts import AccountScope, SourceIds
from call_logs_mcp.index.export import ExportFilter
from call_logs_mcp.index.fts import RANK_WINDOW
from call_logs_mcp.index.outcomes import OutcomeRequest, OutcomeResult
from call_logs_mcp.index.postgres import outcomes, reads, search, summary, writes
from call_logs_mcp.index.postgres.db import Database
from call_logs_mcp.index.postgres.export import PostgresExport
from call_logs_mcp.index.postgres.migrations import SCHEMA_VERSION
from call_logs_mcp.index.postgres.replicas import Replicas
from call_logs_mcp.index.protocol import IndexedListener
from call_logs_mcp.index.reads import recent_query
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


class PostgresStore:
    """The index in a PostgreSQL database. Open with `await PostgresStore.open(conninfo)`, close
    with `await close()` (or use it as an async context manager)."""

    def __init__(self, db: Database, *, rank_window: int = RANK_WINDOW) -> None:
        self.db = db
        self.rank_window = max(1, rank_window)
        self._source_ids: SourceIds = {}

    @classmethod
    async def open(cls, conninfo: str, *, rank_window: int = RANK_WINDOW) -> PostgresStore:
        """Connect to the database (a `postgresql://` URL or key=value string) and migrate it.
        `rank_window` as in `IndexStore.open`. Raises StoreError when the server cannot be
        reached or the schema is newer than ours."""
        return cls(await Database.open(conninfo), rank_window=rank_window)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- writes -------------------------------------------------------------------------------

    async def upsert(self, account: str, provider: str, records: Sequence[CallRecord]) -> UpsertCounts:
        """As `IndexStore.upsert`, in one transaction. Raises StoreError."""
        if not records:
            return UpsertCounts()
        async with self.db.transaction("saving calls") as conn:
            return await writes.upsert(conn, self._source_ids, account, provider, records)

    async def save_sync_state(self, account: str, provider: str, state: SyncState) -> None:
        async with self.db.transaction("saving sync state") as conn:
            await writes.save_sync_state(conn, self._source_ids, account, provider, state)

    # --- the sync engine's reads --------------------------------------------------------------

    async def stored_states(
        self, account: str, provider: str, call_ids: Sequence[str]
    ) -> dict[str, StoredState]:
        if not call_ids:
            return {}
        async with self.db.reading("reading call states") as conn:
            return await reads.stored_states(conn, account, provider, call_ids)

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
        async with self.db.reading("reading calls to re-check") as conn:
            return await reads.calls_to_recheck(
                conn, account, provider, campaign_id=campaign_id, since=since, until=until, limit=limit
            )

    async def load_sync_state(self, account: str, provider: str, scope: str) -> SyncState | None:
        async with self.db.reading("reading sync state") as conn:
            return await reads.load_sync_state(conn, account, provider, scope)

    # --- reads --------------------------------------------------------------------------------

    async def get_call(self, scope: AccountScope, provider: str, call_id: str) -> Call | None:
        async with self.db.reading("reading a call") as conn:
            return await reads.get_call(conn, scope, provider, call_id)

    async def recent_calls(
        self,
        scope: AccountScope,
        *,
        provider: str | None = None,
        campaign_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RecentCalls:
        query = recent_query(provider, campaign_id, limit, cursor)
        async with self.db.reading("listing calls") as conn:
            return await reads.recent_calls(conn, scope, query)

    async def list_agents(self, scope: AccountScope, *, provider: str | None = None) -> list[AgentListing]:
        """As `IndexStore.list_agents`: the platform agents of the indexed calls with their call
        counts by status and by campaign."""
        async with self.db.reading("listing agents") as conn:
            return await reads.list_agents(conn, scope, provider)

    async def last_synced(
        self,
        scope: AccountScope,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> datetime | None:
        async with self.db.reading("reading sync state") as conn:
            return await reads.last_synced(
                conn, scope, provider, campaign_id=campaign_id, since=since, until=until
            )

    async def indexed_calls(
        self, scope: AccountScope, provider: str, *, campaign_id: str | None = None
    ) -> int:
        async with self.db.reading("counting indexed calls") as conn:
            return await reads.indexed_calls(conn, scope, provider, campaign_id)

    async def find_calls(self, request: OutcomeRequest) -> OutcomeResult:
        """As `IndexStore.find_calls` (see `postgres.outcomes`). Raises InvalidArgumentError (bad
        limit or cursor, a field no call in scope has), StoreError."""
        async with self.db.reading("finding calls") as conn:
            return await outcomes.find_calls(conn, request)

    async def list_campaigns(
        self, scope: AccountScope, *, provider: str | None = None, describe: bool = False
    ) -> list[CampaignListing]:
        async with self.db.reading("listing campaigns") as conn:
            return await reads.list_campaigns(conn, scope, provider, describe=describe)

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
        """As `IndexStore.campaign_summary` (see `postgres.summary`). Raises StoreError."""
        return await summary.campaign_summary(
            self.db, scope, provider, campaign_id, from_date=from_date, to_date=to_date, live=live
        )

    async def stats(self) -> IndexStats:
        """Calls per provider (all accounts), turns, and the database's size (`file_bytes`)."""
        async with self.db.reading("reading index statistics") as conn:
            return await reads.stats(conn)

    async def purge(self, older_than_days: int | None = None) -> int:
        """As `IndexStore.purge`: the number of calls deleted. Deleted rows leave the table files
        when PostgreSQL vacuums them (see `writes.purge_plan`). Raises InvalidArgumentError for a
        negative age, StoreError."""
        async with self.db.transaction("purging calls") as conn:
            return await writes.purge_calls(conn, older_than_days)

    def purge_sync(self, older_than_days: int | None = None) -> int:
        """`purge` for the CLI, on a connection of its own (no event loop needed). Raises
        InvalidArgumentError for a negative age, StoreError."""
        writes.purge_plan(older_than_days)  # a bad age is refused before connecting
        with self.db.sync_transaction("purging calls") as conn:
            return writes.purge_calls_sync(conn, older_than_days)

    # --- export -------------------------------------------------------------------------------

    @contextmanager
    def export(self, scope: AccountScope, filters: ExportFilter) -> Iterator[PostgresExport]:
        """As `IndexStore.export`: the calls of `filters` within `scope`, read from one snapshot
        (REPEATABLE READ) for as long as the block runs; synchronous, on a connection of its own,
        as the CLI's export is. Raises StoreError."""
        with self.db.sync_transaction("exporting calls", snapshot=True) as conn:
            yield PostgresExport(conn, scope, filters)

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
        """As `IndexStore.search` (see `postgres.search` for what differs: the relevance score,
        so the order of hits within a tier). Raises InvalidArgumentError for a query with nothing
        to search, a bad limit or a cursor from another search; StoreError."""
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
        return await search.search(self.db, request, rank_window=self.rank_window)

    async def platform_calls(
        self, scope: AccountScope, provider: str, *, campaign_id: str | None = None
    ) -> int | None:
        async with self.db.reading("reading sync state") as conn:
            return await reads.platform_calls(conn, scope, provider, campaign_id)

    # --- the store Protocol's team seams (index.protocol; coordination in `replicas`) ----------

    @cached_property
    def replicas(self) -> Replicas:
        """This process's sync locks and indexed-call notices, on connections of their own."""
        return Replicas(self._conninfo())

    def _conninfo(self) -> str:
        return self.db.conninfo

    def describe(self) -> str:
        """`PostgreSQL database <name> on <host>:<port>`: never the user or the password."""
        parts = conninfo_to_dict(self._conninfo())
        host = str(parts.get("host") or "localhost")
        port = f":{parts['port']}" if parts.get("port") else ""
        return f"PostgreSQL database {parts.get('dbname') or '(default)'} on {host}{port}"

    async def aclose(self) -> None:
        if "replicas" in self.__dict__:
            await self.replicas.close()
        await self.close()

    async def check_health(self) -> None:
        """Raises StoreError unless the database answers and its schema is current."""
        async with self.db.reading("checking the index") as conn:
            row = await (await conn.execute("SELECT max(version) FROM schema_version")).fetchone()
        version = row[0] if row is not None else None
        if version != SCHEMA_VERSION:
            raise StoreError(f"The PostgreSQL index has schema version {version}, not {SCHEMA_VERSION}.")

    def sync_lock(self, account: str, provider: str, scope: str) -> AbstractAsyncContextManager[None]:
        return self.replicas.sync_lock(account, provider, scope)

    async def announce_indexed(self) -> None:
        async with self.db.transaction("announcing indexed calls") as conn:
            await self.replicas.announce_indexed(conn)

    def listening(self, on_indexed: IndexedListener) -> AbstractAsyncContextManager[None]:
        return self.replicas.listening(on_indexed)
