"""`IndexStoreProtocol`: what the server runtime, the core, the sync engine and the CLI need from
an index, whichever database holds it. `IndexStore` (SQLite, one file, one process) and
`PostgresStore` (one database shared by replicas) both satisfy it; `index.open.open_store` picks
one from the configuration.

Beside the queries, three seams exist for replicas sharing one database:

- `sync_lock`: the background sync of a scope runs in one process at a time. SQLite has one
  process per file, so its lock is a no-op; PostgreSQL takes a session advisory lock per
  (account, provider, scope), released when its holder ends or dies.
- `announce_indexed` / `listening`: a replica that indexed calls tells the others, which tell
  their own clients (`notifications/resources/list_changed`). SQLite has nobody to tell.
- `check_health`: reachable, schema current (for `GET /healthz`).

`describe()` says where the index is for people (a path, or host/port/database), never a
password.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from datetime import datetime
from typing import Protocol

from call_logs_mcp.analytics import CampaignSummary
from call_logs_mcp.index import outcomes
from call_logs_mcp.index.accounts import AccountScope
from call_logs_mcp.index.export import ExportFilter, ExportSnapshot
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

IndexedListener = Callable[[], Awaitable[None]]


class IndexStoreProtocol(Protocol):
    """The index as its users see it. Every method raises StoreError when the database fails;
    see `IndexStore` for each method's meaning."""

    def describe(self) -> str:
        """Where the index is, for people: `SQLite file /path/calls.db` or
        `PostgreSQL database calls on db.example:5432`. Never holds a password."""
        ...

    async def aclose(self) -> None: ...

    async def check_health(self) -> None:
        """Raises StoreError unless the database answers and its schema is the one this
        program writes."""
        ...

    # --- replicas -----------------------------------------------------------------------------

    def sync_lock(self, account: str, provider: str, scope: str) -> AbstractAsyncContextManager[None]:
        """Held while this process syncs the scope (`records.scope_key`); entering waits until
        no other process holds it."""
        ...

    async def announce_indexed(self) -> None:
        """Tell the other processes on this index that calls were indexed."""
        ...

    def listening(self, on_indexed: IndexedListener) -> AbstractAsyncContextManager[None]:
        """While inside, `on_indexed()` runs when another process announces indexed calls."""
        ...

    # --- writes and the sync engine's reads ---------------------------------------------------

    async def upsert(self, account: str, provider: str, records: Sequence[CallRecord]) -> UpsertCounts: ...

    async def save_sync_state(self, account: str, provider: str, state: SyncState) -> None: ...

    async def stored_states(
        self, account: str, provider: str, call_ids: Sequence[str]
    ) -> dict[str, StoredState]: ...

    async def calls_to_recheck(
        self,
        account: str,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
    ) -> list[str]: ...

    async def load_sync_state(self, account: str, provider: str, scope: str) -> SyncState | None: ...

    # --- reads --------------------------------------------------------------------------------

    async def get_call(self, scope: AccountScope, provider: str, call_id: str) -> Call | None: ...

    async def recent_calls(
        self,
        scope: AccountScope,
        *,
        provider: str | None = None,
        campaign_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RecentCalls: ...

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
    ) -> SearchResult: ...

    async def find_calls(self, request: outcomes.OutcomeRequest) -> outcomes.OutcomeResult: ...

    async def list_campaigns(
        self, scope: AccountScope, *, provider: str | None = None, describe: bool = False
    ) -> list[CampaignListing]: ...

    async def list_agents(
        self, scope: AccountScope, *, provider: str | None = None
    ) -> list[AgentListing]: ...

    async def last_synced(
        self,
        scope: AccountScope,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> datetime | None: ...

    async def indexed_calls(
        self, scope: AccountScope, provider: str, *, campaign_id: str | None = None
    ) -> int: ...

    async def platform_calls(
        self, scope: AccountScope, provider: str, *, campaign_id: str | None = None
    ) -> int | None: ...

    async def campaign_summary(
        self,
        scope: AccountScope,
        provider: str,
        campaign_id: str | None,
        *,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        live: PlatformTotals | None = None,
    ) -> CampaignSummary: ...

    async def stats(self) -> IndexStats: ...

    def export(self, scope: AccountScope, filters: ExportFilter) -> AbstractContextManager[ExportSnapshot]:
        """The calls of `filters` within `scope` from one snapshot (synchronous, for the CLI)."""
        ...

    async def purge(self, older_than_days: int | None = None) -> int:
        """Delete calls older than `older_than_days` (everything, sync state too, when None);
        the number of calls deleted. Raises InvalidArgumentError for a negative age."""
        ...
