"""The local call index: SQLite + FTS5 store, incremental sync, transcript search, campaign
analytics. See `store` (queries, account scoping) and `sync` (the sync engine)."""

from call_logs_mcp.index.search import SearchHit, SearchResult, parse_query
from call_logs_mcp.index.store import (
    AccountScope,
    CallRecord,
    CampaignListing,
    IndexStats,
    IndexStore,
    RecentCalls,
    SyncState,
    UpsertCounts,
    purge,
    scope_key,
)
from call_logs_mcp.index.sync import (
    ProviderSyncResult,
    SyncProgress,
    SyncProvider,
    SyncResult,
    SyncScope,
    SyncSource,
    run_sync,
)

__all__ = [
    "AccountScope",
    "CallRecord",
    "CampaignListing",
    "IndexStats",
    "IndexStore",
    "ProviderSyncResult",
    "RecentCalls",
    "SearchHit",
    "SearchResult",
    "SyncProgress",
    "SyncProvider",
    "SyncResult",
    "SyncScope",
    "SyncSource",
    "SyncState",
    "UpsertCounts",
    "parse_query",
    "purge",
    "run_sync",
    "scope_key",
]
