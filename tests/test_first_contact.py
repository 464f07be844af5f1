"""First contact, as Claude Desktop makes it: the server starts syncing every account at once, the
resource picker lists calls before anything is indexed, and clients hear when calls arrive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.types import ResourceListChangedNotification

from call_logs_mcp.core.service import CallLogService
from call_logs_mcp.index import IndexStore
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.config import account_id
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.faults import Faults
from conftest import PLATFORM_NAMES
from mcp_harness import data_of


def newest_ids(datasets: dict[str, Any], count: int) -> list[str]:
    calls = [(c.started_at, f"calls://{name}/{c.id}") for name, ds in datasets.items() for c in ds.calls]
    return [uri for _, uri in sorted(calls, reverse=True)[:count]]


async def test_before_anything_is_indexed_the_resource_list_is_the_newest_calls_live(tmp_path: Path) -> None:
    # The service on its own (no server lifespan, so nothing syncs): its index is empty.
    datasets = {name: simulated_dataset(name, calls=30, seed=3 + i) for i, name in enumerate(PLATFORM_NAMES)}
    providers = {
        name: create_provider(
            simulated_provider_config(name), transport=simulated_transport(name, simulated_app(name, ds))
        )
        for name, ds in datasets.items()
    }
    accounts = {name: account_id(simulated_provider_config(name)) for name in PLATFORM_NAMES}
    async with IndexStore.open(tmp_path / "calls.db") as store:
        service = CallLogService(providers, store=store, accounts=accounts)
        assert (await store.recent_calls(accounts, limit=10)).calls == []
        page = await service.recent_calls(limit=10, cursor=None)
    for provider in providers.values():
        await provider.aclose()
    assert [call.uri for call in page.calls] == newest_ids(datasets, 10)
    assert page.next_cursor is None


async def test_the_server_syncs_every_account_as_it_starts_and_tells_clients_calls_arrived(
    tmp_path: Path,
) -> None:
    datasets = {name: simulated_dataset(name, calls=40) for name in PLATFORM_NAMES}
    # Slow enough that the sync is still running when the client first lists resources.
    apps = {n: simulated_app(n, ds, faults=Faults(latency_seconds=0.05)) for n, ds in datasets.items()}
    settings = Settings(
        providers={n: simulated_provider_config(n) for n in PLATFORM_NAMES}, db=tmp_path / "calls.db"
    )
    server = build_server(settings, transports={n: simulated_transport(n, app) for n, app in apps.items()})
    heard = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceListChangedNotification):
            heard.set()

    # The handshake era, as Claude Desktop speaks it (the 2026-07-28 era delivers the same notice
    # on `subscriptions/listen` streams).
    async with Client(server, raise_exceptions=True, message_handler=on_message, mode="legacy") as client:
        with anyio.fail_after(30):
            await client.list_resources()
            await heard.wait()
            # No tool was called: the start-up sync alone fills the index, every account of it.
            while True:
                campaigns = data_of(await client.call_tool("list_campaigns", {}))
                if not campaigns["syncing"]:
                    break
            indexed = {name: 0 for name in PLATFORM_NAMES}
            for row in campaigns["campaigns"]:
                indexed[row["provider"]] += row["indexed_calls"]
    assert indexed == {name: len(ds.calls) for name, ds in datasets.items()}
