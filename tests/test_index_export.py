"""The index's export reads: every call of a scope once, in order, batch after batch, from one
snapshot of the index; on both stores (`store` is each in turn: SQLite, and a real PostgreSQL,
see `conftest.postgres_server`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from call_logs_mcp.analytics import FieldKind
from call_logs_mcp.index import CallRecord, ExportFilter, IndexStore
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.models import CallStatus
from factories import make_call

ACCOUNTS = {"prosper": "acct-p", "callcamp": "acct-c"}


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IndexStore | PostgresStore]:
    """Each store in turn, holding the calls of `fill`."""
    if request.param == "sqlite":
        async with IndexStore.open(tmp_path / "calls.db") as index:
            await fill(index)
            yield index
        return
    async with await PostgresStore.open(request.getfixturevalue("postgres_url")) as pg:
        await fill(pg)
        yield pg


async def fill(store: IndexStore | PostgresStore) -> None:
    # Ten calls in one minute (the same start time), two without a start time, and calls of
    # another provider and another account.
    same = [make_call(f"same-{i}", hours=1) for i in range(10)]
    unknown = [make_call(f"unknown-{i}", started_at=None) for i in range(2)]
    spread = [
        make_call(f"spread-{i}", hours=-i, status=CallStatus.FAILED if i % 2 else CallStatus.COMPLETED)
        for i in range(7)
    ]
    await store.upsert("acct-p", "prosper", [CallRecord(c) for c in [*same, *unknown, *spread]])
    await store.upsert("acct-c", "callcamp", [CallRecord(make_call("cc-1", provider="callcamp"))])
    await store.upsert("someone-else", "prosper", [CallRecord(make_call("theirs"))])


async def test_calls_come_once_each_by_provider_then_start_time_however_small_the_batches(
    store: IndexStore | PostgresStore,
) -> None:
    with store.export(ACCOUNTS, ExportFilter()) as export:
        whole = [(e.call.provider, e.call.call_id) for e in export.calls(with_turns=False)]
        for batch_size in (1, 3, 7):
            again = [
                (e.call.provider, e.call.call_id)
                for e in export.calls(with_turns=False, batch_size=batch_size)
            ]
            assert again == whole
        assert export.count() == len(whole) == 20
    assert whole[0] == ("callcamp", "cc-1")
    prosper = [call_id for provider, call_id in whole if provider == "prosper"]
    assert set(prosper[:2]) == {"unknown-0", "unknown-1"}  # no start time: first
    assert prosper[2:8] == [f"spread-{i}" for i in range(6, 0, -1)]
    assert set(prosper[9:]) == {f"same-{i}" for i in range(10)}
    assert "theirs" not in prosper


async def test_filters_narrow_the_calls_and_the_extracted_fields_reported(
    store: IndexStore | PostgresStore,
) -> None:
    await store.upsert(
        "acct-p",
        "prosper",
        [
            CallRecord(
                make_call(
                    "with-data",
                    hours=-30,
                    status=CallStatus.FAILED,
                    extracted_data={"nps": 9, "a": {"b": "x"}},
                )
            )
        ],
    )
    failed = ExportFilter(provider="prosper", status=CallStatus.FAILED)
    with store.export(ACCOUNTS, failed) as export:
        ids = [e.call.call_id for e in export.calls(with_turns=True)]
        fields = export.fields()
    assert ids == ["with-data", "spread-5", "spread-3", "spread-1"]
    assert [(f.key, f.kinds) for f in fields] == [("a.b", {FieldKind.TEXT}), ("nps", {FieldKind.NUMBER})]
    with store.export(ACCOUNTS, ExportFilter(provider="prosper", status=CallStatus.COMPLETED)) as export:
        assert export.fields() == []


async def test_an_export_reads_one_snapshot_while_a_sync_writes(store: IndexStore | PostgresStore) -> None:
    with store.export(ACCOUNTS, ExportFilter(provider="prosper")) as export:
        calls = export.calls(with_turns=True, batch_size=2)
        first = next(calls)
        await store.upsert("acct-p", "prosper", [CallRecord(make_call("late", hours=5))])
        rest = [e.call.call_id for e in calls]
    assert "late" not in [first.call.call_id, *rest]
    assert len(rest) + 1 == 19
    assert first.has_details
    with store.export(ACCOUNTS, ExportFilter(provider="prosper")) as export:
        assert export.count() == 20
