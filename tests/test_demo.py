"""`--demo` answers relative questions: its calls end now, and they are the same calls every day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from call_logs_mcp.demo import demo_datasets, demo_environment
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimDataset
from conftest import PLATFORM_NAMES
from mcp_harness import data_of


def content(dataset: SimDataset) -> list[tuple[Any, ...]]:
    """Everything about the calls but when they happened."""
    return [
        (c.id, c.campaign_id, c.status, c.duration_seconds, c.price, c.ended_reason, c.summary,
         [(t.speaker, t.text, t.offset_seconds) for t in c.turns()])
        for c in dataset
    ]  # fmt: skip


def times(dataset: SimDataset) -> list[tuple[datetime, datetime | None, datetime]]:
    return [(c.started_at, c.ended_at, c.updated_at) for c in dataset]


def moved(dataset: SimDataset, by: timedelta) -> list[tuple[datetime, datetime | None, datetime]]:
    return [(s + by, None if e is None else e + by, u + by) for s, e, u in times(dataset)]


async def test_the_demo_has_calls_yesterday_and_its_newest_call_started_moments_ago(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    yesterday = (before - timedelta(days=1)).date().isoformat()
    with demo_environment(Settings(db=tmp_path / "unused.db")) as demo:
        server = build_server(demo.settings, transports=demo.transports)
        async with Client(server, raise_exceptions=True) as client:
            with anyio.fail_after(60):
                newest = data_of(await client.call_tool("list_calls", {"limit": 1}))["calls"][0]
                on_yesterday = data_of(
                    await client.call_tool(
                        "list_calls", {"from_date": yesterday, "to_date": yesterday, "limit": 100}
                    )
                )["calls"]
    started = datetime.fromisoformat(newest["started_at"])
    assert before - timedelta(hours=1) < started < before
    assert on_yesterday
    assert all(row["started_at"].startswith(yesterday) for row in on_yesterday)


def test_demo_calls_end_just_before_now_and_none_lies_in_the_future() -> None:
    now = datetime(2026, 12, 1, 14, 40, 27, 500_000, tzinfo=UTC)
    datasets = demo_datasets(now)
    assert sorted(datasets) == sorted(PLATFORM_NAMES)
    for dataset in datasets.values():
        newest = dataset.calls[0]
        assert now - timedelta(hours=1) < newest.started_at < now
        for call in dataset:
            assert call.started_at + timedelta(seconds=call.duration_seconds) < now
            assert call.updated_at < now
            assert call.ended_at is None or call.ended_at < now
        yesterday = [c for c in dataset if c.started_at.date() == (now - timedelta(days=1)).date()]
        last_week = [c for c in dataset if now - timedelta(days=7) <= c.started_at]
        assert len(last_week) > len(yesterday) > 0


def test_demo_builds_at_the_same_time_are_identical() -> None:
    now = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
    first, again = demo_datasets(now), demo_datasets(now)
    for name in first:
        assert content(first[name]) == content(again[name])
        assert times(first[name]) == times(again[name])


def test_demo_builds_later_the_same_day_or_on_another_day_hold_the_same_calls_moved_in_time() -> None:
    morning = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    reference = demo_datasets(morning)
    for later in (timedelta(hours=11, minutes=30), timedelta(days=1), timedelta(days=40, seconds=7)):
        rebuilt = demo_datasets(morning + later)
        for name, dataset in reference.items():
            assert content(rebuilt[name]) == content(dataset)
            assert times(rebuilt[name]) == moved(dataset, later)
            assert [c.created_at + later for c in dataset.campaigns] == [
                c.created_at for c in rebuilt[name].campaigns
            ]
