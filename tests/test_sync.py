"""The sync engine against the platform simulators (real adapters over httpx2.ASGITransport)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette

from call_logs_mcp.core.sources import sync_source
from call_logs_mcp.errors import ConfigurationError, UnavailableError
from call_logs_mcp.index import IndexStore, SyncScope, SyncSource, run_sync
from call_logs_mcp.models import CallQuery, CallStatus
from call_logs_mcp.providers import platform
from call_logs_mcp.providers.config import ProviderConfig, accounts_for
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.dataset import SimDataset
from call_logs_mcp.simulators.faults import Faults
from conftest import PLATFORM_NAMES


@dataclass
class Sim:
    name: str
    dataset: SimDataset
    app: Starlette
    config: ProviderConfig
    source: SyncSource

    @property
    def scope(self) -> dict[str, str]:
        return accounts_for({self.name: self.config})

    def detail_requests(self) -> int:
        """Requests for one call: their path ends with its id (list paths end with a word)."""
        ids = self.ids()
        return sum(1 for r in self.app.state.requests if r.path.rsplit("/", 1)[-1] in ids)

    def detail_ids(self) -> list[str]:
        """The call id of each detail request, in order."""
        ids = self.ids()
        return [
            r.path.rsplit("/", 1)[-1] for r in self.app.state.requests if r.path.rsplit("/", 1)[-1] in ids
        ]

    def ids(self) -> set[str]:
        return {c.id for c in self.dataset}

    @property
    def lists_details(self) -> bool:
        """Whether the listing carries whole calls (no detail request while syncing); known for
        Prosper once a listing has told its shape."""
        return self.source.provider.info.capabilities.list_includes_details


def simulate(
    name: str, *, calls: int = 240, variant: str | None = None, faults: Faults | None = None, **config: Any
) -> Sim:
    dataset = simulated_dataset(name, calls=calls, long_calls=0)
    knobs: dict[str, Any] = {"faults": faults}
    if variant is not None:
        knobs["variant"] = variant
    app = simulated_app(name, dataset, **knobs)
    provider_config = simulated_provider_config(name, **config)
    source = sync_source(provider_config, transport=simulated_transport(name, app))
    return Sim(name, dataset, app, provider_config, source)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IndexStore]:
    index = IndexStore.open(tmp_path / "calls.db")
    yield index
    index.close()


async def stored_ids(store: IndexStore, sim: Sim) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = await store.recent_calls(sim.scope, provider=sim.name, limit=200, cursor=cursor)
        ids += [c.call_id for c in page.calls]
        cursor = page.next_cursor
        if cursor is None:
            return ids


@pytest.mark.parametrize(
    ("name", "variant"),
    [(name, None) for name in PLATFORM_NAMES] + [("prosper", "export"), ("prosper", "openapi")],
    ids=[*PLATFORM_NAMES, "prosper-export", "prosper-openapi"],
)
async def test_a_first_sync_indexes_every_call_the_platform_has(
    store: IndexStore, name: str, variant: str | None
) -> None:
    sim = simulate(name, variant=variant)
    with anyio.fail_after(60):
        result = await run_sync(store, [sim.source])
    ids = await stored_ids(store, sim)
    assert len(ids) == len(set(ids)) == len(sim.dataset)
    assert set(ids) == sim.ids()
    assert (result.added, result.updated, result.listed) == (len(sim.dataset), 0, len(sim.dataset))
    if sim.lists_details:
        # This API lists full calls (Prosper's OpenAPI shape, Vapi): no detail request at all.
        assert variant != "export"
        assert sim.detail_requests() == result.fetched == 0
    else:
        assert sim.detail_requests() == result.fetched == len(sim.dataset)
    for sim_call in list(sim.dataset)[:40]:
        stored = await store.get_call(sim.scope, name, sim_call.id)
        assert stored is not None
        assert [t.text for t in stored.transcript] == [t.text for t in sim_call.turns()]
        assert stored.status.value == sim_call.status


async def test_stored_calls_equal_what_the_adapter_returns(platform_name: str, store: IndexStore) -> None:
    sim = simulate(platform_name, calls=60)
    await run_sync(store, [sim.source])
    # Signed recording links are re-issued on every read (Vapi): the rest is the same call.
    volatile = {"recording_urls", "recording_urls_expire_at"}
    for sim_call in list(sim.dataset)[:15]:
        stored = await store.get_call(sim.scope, platform_name, sim_call.id)
        live = await sim.source.provider.get_call(sim_call.id)
        assert stored is not None
        assert stored.model_dump(exclude=volatile) == live.model_dump(exclude=volatile)
        assert stored.recording_urls == live.recording_urls or live.recording_urls_expire_at is not None


async def test_a_second_sync_fetches_details_only_for_new_and_in_progress_calls(
    store: IndexStore, platform_name: str
) -> None:
    sim = simulate(platform_name)
    await run_sync(store, [sim.source])
    in_progress = sum(1 for c in sim.dataset if c.status == "in_progress")
    new = sim.dataset.add_calls(7)
    sim.app.state.requests.clear()
    result = await run_sync(store, [sim.source])
    # A platform listing whole calls stores them as listed: details are never requested.
    assert sim.detail_requests() == (0 if sim.lists_details else len(new) + in_progress)
    assert result.added == len(new)
    assert result.providers[0].reached_watermark
    # It stopped after the page that reached the previous walk's watermark.
    assert result.listed <= 2 * sim.source.provider.info.max_page_size < len(sim.dataset)
    assert set(await stored_ids(store, sim)) == sim.ids()


async def test_an_in_progress_call_that_completes_is_updated_by_the_next_sync(store: IndexStore) -> None:
    sim = simulate("prosper", variant="export")
    await run_sync(store, [sim.source])
    running = next(c for c in sim.dataset if c.status == "in_progress")
    assert (await store.get_call(sim.scope, "prosper", running.id)).status is CallStatus.IN_PROGRESS  # type: ignore[union-attr]
    sim.dataset.set_status(running.id, "completed")
    result = await run_sync(store, [sim.source])
    stored = await store.get_call(sim.scope, "prosper", running.id)
    assert stored is not None and stored.status is CallStatus.COMPLETED
    assert len(stored.transcript) == running.turn_count > 0
    assert result.updated >= 1


async def test_an_old_call_stored_in_progress_is_rechecked_even_though_the_walk_stops_early(
    platform_name: str, store: IndexStore
) -> None:
    sim = simulate(platform_name, calls=320)
    old = list(sim.dataset)[260]  # on the third page; the second is all old and unchanged
    sim.dataset.set_status(old.id, "in_progress")
    await run_sync(store, [sim.source])
    sim.dataset.set_status(old.id, "completed")
    result = await run_sync(store, [sim.source], overlap=timedelta(hours=1))
    (provider,) = result.providers
    assert provider.reached_watermark and provider.listed == 200
    assert provider.rechecked == 1
    stored = await store.get_call(sim.scope, platform_name, old.id)
    assert stored is not None and stored.status is CallStatus.COMPLETED


async def test_a_campaign_sync_labels_calls_with_the_campaign_and_keeps_platform_totals(
    store: IndexStore,
) -> None:
    sim = simulate("callcamp")
    campaign = sim.dataset.campaigns[0].id
    calls, duration, price = sim.dataset.totals(campaign_id=campaign)
    await run_sync(store, [sim.source], SyncScope(provider="callcamp", campaign_id=campaign))
    summary = await store.campaign_summary(sim.scope, "callcamp", campaign)
    assert summary.coverage.indexed_calls == calls
    assert (summary.totals.calls, summary.totals.calls_source) == (calls, "platform")
    assert (summary.totals.duration_seconds, summary.totals.duration_source) == (duration, "platform")
    assert summary.totals.cost == pytest.approx(price) and summary.totals.cost_source == "platform"
    assert summary.coverage.complete is True and summary.coverage.last_synced_at is not None
    # A later whole-account sync (CallCamp's listing has no campaign) keeps the campaign label.
    await run_sync(store, [sim.source])
    one = next(c for c in sim.dataset if c.campaign_id == campaign)
    stored = await store.get_call(sim.scope, "callcamp", one.id)
    assert stored is not None and stored.campaign_id == campaign
    listing = {c.campaign_id: c.indexed_calls for c in await store.list_campaigns(sim.scope)}
    assert listing[campaign] == calls
    assert listing[None] == len(sim.dataset) - calls


async def test_a_date_range_sync_indexes_only_calls_in_that_range(store: IndexStore) -> None:
    sim = simulate("prosper", variant="export")
    newest = next(iter(sim.dataset)).started_at
    since, until = newest - timedelta(days=30), newest - timedelta(days=10)
    await run_sync(store, [sim.source], SyncScope(since=since, until=until))
    expected = {c.id for c in sim.dataset if since <= c.started_at <= until}
    assert expected and set(await stored_ids(store, sim)) == expected
    assert (
        await store.last_synced(sim.scope, "prosper", since=since + timedelta(days=1), until=until)
        is not None
    )
    assert await store.last_synced(sim.scope, "prosper") is None


async def test_progress_counts_up_to_the_result_and_knows_the_total_on_a_first_sync(
    platform_name: str, store: IndexStore
) -> None:
    sim = simulate(platform_name)
    seen: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None) -> None:
        seen.append((done, total))

    await run_sync(store, [sim.source], progress=progress, batch_size=25)
    assert len(seen) > 3
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)
    # The total is the platform's own count; a platform that reports none leaves it unknown.
    reported = (await sim.source.provider.list_calls(CallQuery(), limit=1)).totals
    total = len(sim.dataset) if reported is not None and reported.calls is not None else None
    assert seen[-1] == (len(sim.dataset), total)
    assert all(t == total for _, t in seen)


async def test_a_failure_mid_sync_keeps_what_was_committed_and_raises_the_provider_error(
    platform_name: str, store: IndexStore
) -> None:
    # Some latency, so that the outage starts while most details are still to fetch. A listing
    # of whole calls has no details to fetch and runs ahead of the writer (by two pages, and the
    # windows asked side by side, two per connection): enough pages that the outage still finds
    # some to list.
    calls = 2_000 if platform(platform_name).info.capabilities.list_includes_details else 240
    sim = simulate(platform_name, calls=calls, faults=Faults(latency_seconds=0.005), max_retries=0)

    def progress(done: int, total: int | None) -> None:
        if done >= 40:
            sim.app.state.faults = Faults(error_rate=1.0, error_statuses=(503,))

    with anyio.fail_after(60), pytest.raises(UnavailableError) as caught:
        await run_sync(store, [sim.source], progress=progress, batch_size=10)
    assert caught.value.provider == platform_name
    kept = await stored_ids(store, sim)
    assert 40 <= len(kept) < len(sim.dataset)
    assert await store.last_synced(sim.scope, platform_name) is None

    # Calls listed before the outage whose details were missing are kept as listed.
    states = await store.stored_states(sim.scope[platform_name], platform_name, kept)
    without_details = {call_id for call_id, state in states.items() if not state.has_details}

    sim.app.state.faults = Faults()
    sim.app.state.requests.clear()
    result = await run_sync(store, [sim.source])
    assert set(await stored_ids(store, sim)) == sim.ids()
    # The next sync continues the walk: it fetches the details still missing and those of the
    # calls not listed yet, each once, and nothing stored with its details again.
    requested = sim.detail_ids()
    owed = without_details if sim.lists_details else (sim.ids() - set(kept)) | without_details
    assert sorted(requested) == sorted(owed)
    assert result.added == len(sim.dataset) - len(kept)


async def test_a_sync_through_5xx_429_resets_and_truncated_json_loses_and_duplicates_nothing(
    store: IndexStore,
) -> None:
    faults = Faults(
        error_rate=0.10, rate_429=0.05, reset_rate=0.02, malformed_rate=0.01, retry_after_value="0", seed=11
    )
    sim = simulate("prosper", variant="export", faults=faults, max_retries=8)
    with anyio.fail_after(120):
        await run_sync(store, [sim.source])
    ids = await stored_ids(store, sim)
    outcomes = sim.app.state.fault_counts
    assert outcomes["429"] and outcomes["reset"] and outcomes["malformed"]
    assert len(ids) == len(set(ids)) and set(ids) == sim.ids()
    missing_details = await store.calls_to_recheck(sim.scope["prosper"], "prosper")
    assert sorted(missing_details) == sorted(c.id for c in sim.dataset if c.status == "in_progress")


# Platforms whose listing lacks the details, so a sync requests each call's details.
DETAIL_FETCHING = [n for n in PLATFORM_NAMES if not platform(n).info.capabilities.list_includes_details]


@pytest.mark.parametrize("platform_name", DETAIL_FETCHING)
async def test_details_that_keep_failing_do_not_stop_a_sync_and_are_fetched_by_the_next(
    platform_name: str, store: IndexStore
) -> None:
    # One list request, then 3 detail failures, 57 successes, and 3 failures for the retries.
    script = ("ok", *([503] * 3), *(["ok"] * 57), *([503] * 3))
    sim = simulate(platform_name, calls=60, faults=Faults(script=script), max_retries=0)
    in_progress = {c.id for c in sim.dataset if c.status == "in_progress"}
    result = await run_sync(store, [sim.source])
    assert set(await stored_ids(store, sim)) == sim.ids()
    assert result.incomplete == 3 and "3 without details" in result.line()
    # Still to fetch: the in-progress calls and the 3 that failed (which may include one of them).
    missing = set(await store.calls_to_recheck(sim.scope[platform_name], platform_name))
    assert in_progress <= missing and 3 <= len(missing) <= len(in_progress) + 3
    sim.app.state.requests.clear()
    await run_sync(store, [sim.source])  # the script is used up: everything answers
    assert sim.detail_requests() == len(missing)
    assert set(await store.calls_to_recheck(sim.scope[platform_name], platform_name)) == in_progress


async def test_syncing_a_provider_that_is_not_configured_is_a_configuration_error(
    platform_name: str, store: IndexStore
) -> None:
    other = next(name for name in PLATFORM_NAMES if name != platform_name)
    sim = simulate(platform_name, calls=5)
    with pytest.raises(ConfigurationError, match=other):
        await run_sync(store, [sim.source], SyncScope(provider=other))


async def test_every_provider_syncs_in_one_run(store: IndexStore) -> None:
    sims = {name: simulate(name, calls=50 + 20 * i) for i, name in enumerate(PLATFORM_NAMES)}
    result = await run_sync(store, {name: sim.source for name, sim in sims.items()})
    assert [p.provider for p in result.providers] == sorted(PLATFORM_NAMES)
    assert result.added == sum(len(sim.dataset) for sim in sims.values())
    for sim in sims.values():
        assert set(await stored_ids(store, sim)) == sim.ids()


CHILD = """
import sys
import anyio
from call_logs_mcp.core.sources import sync_source
from call_logs_mcp.index import IndexStore, run_sync
from call_logs_mcp.providers.simulated import (
    simulated_app, simulated_dataset, simulated_provider_config, simulated_transport,
)
from call_logs_mcp.simulators.faults import Faults

async def main() -> None:
    store = IndexStore.open(sys.argv[1])
    dataset = simulated_dataset("callcamp", calls=int(sys.argv[2]), long_calls=0)
    app = simulated_app("callcamp", dataset, faults=Faults(latency_seconds=0.02))
    source = sync_source(
        simulated_provider_config("callcamp"), transport=simulated_transport("callcamp", app)
    )
    def progress(done: int, total: object) -> None:
        print(done, flush=True)
    await run_sync(store, [source], progress=progress, batch_size=10)
    print("done", flush=True)

anyio.run(main)
"""


async def test_a_sync_killed_mid_way_leaves_a_sound_index_that_the_next_sync_completes(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from anyio.streams.text import TextReceiveStream

    calls = 400
    path = tmp_path / "killed.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with anyio.fail_after(60):
        process = await anyio.open_process(
            [sys.executable, str(script), str(path), str(calls)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        buffer = ""
        fetched = 0
        async for chunk in TextReceiveStream(process.stdout):
            buffer += chunk
            *lines, buffer = buffer.split("\n")
            assert "done" not in lines
            fetched = max([fetched, *(int(line) for line in lines if line.strip())])
            if fetched >= 40:
                break
        process.kill()  # SIGKILL: no cleanup, no flush, possibly mid-transaction
        assert await process.wait() == -9
        await process.aclose()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (partial,) = conn.execute("SELECT count(*) FROM calls").fetchone()
    assert 0 < partial < calls

    def contents(db: Path) -> dict[str, str]:
        with sqlite3.connect(db) as conn:
            return dict(conn.execute("SELECT call_id, content_hash FROM calls").fetchall())

    resumed = IndexStore.open(path)
    clean = IndexStore.open(tmp_path / "clean.db")
    try:
        sim = simulate("callcamp", calls=calls)
        await run_sync(resumed, [sim.source])
        assert sim.detail_requests() < calls  # what the killed run committed was not fetched again
        await run_sync(clean, [simulate("callcamp", calls=calls).source])
    finally:
        resumed.close()
        clean.close()
    assert contents(path) == contents(tmp_path / "clean.db")
    assert set(contents(path)) == sim.ids()


async def test_a_sync_cancelled_by_a_time_budget_keeps_what_it_committed_and_resumes(
    store: IndexStore,
) -> None:
    sim = simulate("callcamp", faults=Faults(latency_seconds=0.005))
    fetched_enough = anyio.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= 30:
            fetched_enough.set()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:

            async def budgeted() -> None:
                with anyio.CancelScope() as scope:
                    tg.start_soon(cancel_when_ready, scope)
                    await run_sync(store, [sim.source], progress=progress, batch_size=10)

            async def cancel_when_ready(scope: anyio.CancelScope) -> None:
                await fetched_enough.wait()
                scope.cancel()

            tg.start_soon(budgeted)
    kept = await stored_ids(store, sim)
    assert 30 <= len(kept) < len(sim.dataset)
    result = await run_sync(store, [sim.source])
    assert set(await stored_ids(store, sim)) == sim.ids()
    assert result.added == len(sim.dataset) - len(kept)
