"""Sync sources from configuration: where a platform account becomes something the index's sync
engine can walk (the index itself knows no platforms and no settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from call_logs_mcp.index import SyncSource
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.config import ProviderConfig, account_id

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.providers.base import CallProvider


def sync_source(
    config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None
) -> SyncSource[CallProvider]:
    """The account `config` points at, with its adapter (`transport` injects a fake network).
    The caller closes the adapter (`source.provider.aclose()`).

    Raises ConfigurationError when `config.name` is not a known platform."""
    provider = create_provider(config, transport=transport)
    return SyncSource(provider=provider, account=account_id(config), max_concurrency=config.max_concurrency)
