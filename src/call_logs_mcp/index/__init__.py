"""The local call index: SQLite + FTS5 store, incremental sync, transcript search, campaign
analytics. `store.IndexStore` is the facade over `writes`, `reads`, `fts` and `summary_sql`;
`postgres.PostgresStore` the same on PostgreSQL; both satisfy `protocol.IndexStoreProtocol`, which
is what the rest of the program uses (`choose.open_store` opens one);
`sync` is the sync engine. The index knows no platforms and no settings."""

from call_logs_mcp.index.accounts import AccountScope
from call_logs_mcp.index.export import ExportedCall, ExportFilter, ExtractedField, IndexExport
from call_logs_mcp.index.protocol import IndexStoreProtocol
from call_logs_mcp.index.records import (
    AgentListing,
    CallRecord,
    CampaignListing,
    IndexStats,
    RecentCalls,
    SyncState,
    UpsertCounts,
    scope_key,
)
from call_logs_mcp.index.search import SearchHit, SearchResult, parse_query
from call_logs_mcp.index.store import IndexStore, purge
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
    "AgentListing",
    "CallRecord",
    "CampaignListing",
    "ExportFilter",
    "ExportedCall",
    "ExtractedField",
    "IndexExport",
    "IndexStats",
    "IndexStore",
    "IndexStoreProtocol",
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
