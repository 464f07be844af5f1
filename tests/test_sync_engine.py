"""The sync engine under interruption, side by side and against busy connections, driven like a
user drives it (`run_sync`, the adapters) with only the network faked by the simulators."""

from __future__ import annotations

from collections import Counter

import anyio
from starlette.applications import Starlette

from call_logs_mcp.models import CallQuery
from call_logs_mcp.providers import create_provider
from call_logs_mcp.simulators import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.faults import Faults, SimRequest


def is_listing(request: SimRequest, ids: set[str]) -> bool:
    """List requests end with a word (`/api/calls`), detail requests with a call id."""
    return request.path.rsplit("/", 1)[-1] not in ids


def requests_of(app: Starlette) -> list[SimRequest]:
    requests: list[SimRequest] = app.state.requests
    return requests


async def test_a_listing_page_takes_the_next_free_connection_before_queued_detail_requests(
    platform_name: str,
) -> None:
    dataset = simulated_dataset(platform_name, calls=40, long_calls=0)
    ids = {c.id for c in dataset}
    details = sorted(ids)[:8]
    app = simulated_app(platform_name, dataset, faults=Faults(latency_seconds=0.25))
    config = simulated_provider_config(platform_name, max_concurrency=2)
    provider = create_provider(config, transport=simulated_transport(platform_name, app))
    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for call_id in details:
                    group.start_soon(provider.get_call, call_id)
                await anyio.wait_all_tasks_blocked()
                # The connections are busy with detail requests, and more wait for one.
                sent_before = len(requests_of(app))
                assert sent_before < len(details)
                group.start_soon(provider.list_calls, CallQuery())
    finally:
        await provider.aclose()
    order = ["list" if is_listing(r, ids) else "detail" for r in requests_of(app)]
    assert Counter(order) == {"detail": len(details), "list": 1}
    # The listing went out on the first connection freed, before the detail requests queued
    # ahead of it.
    assert order.index("list") == sent_before
