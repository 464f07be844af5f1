"""What only the PostgreSQL store has: opening a shared database (migrations once, under a lock,
by any number of processes at a time) and the errors of a bad URL or an unreachable server."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from call_logs_mcp.errors import StoreError
from call_logs_mcp.index import CallRecord
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.postgres.db import migrate
from call_logs_mcp.index.postgres.migrations import SCHEMA_VERSION
from call_logs_mcp.index.records import UpsertCounts
from call_logs_mcp.models import CallStatus
from factories import make_call


def schema_versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM schema_version")]


async def test_replicas_opening_one_new_database_together_migrate_it_once(postgres_url: str) -> None:
    stores: list[PostgresStore] = []

    async def open_one() -> None:
        stores.append(await PostgresStore.open(postgres_url))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(open_one)
    try:
        await stores[0].upsert("acct", "prosper", [CallRecord(make_call("1"))])
        seen = [await store.get_call({"prosper": "acct"}, "prosper", "1") for store in stores]
    finally:
        for store in stores:
            await store.close()
    assert schema_versions(postgres_url) == [SCHEMA_VERSION]
    assert [call.call_id if call else None for call in seen] == ["1", "1", "1", "1"]


async def test_reopening_keeps_the_calls_and_the_schema(postgres_url: str) -> None:
    async with await PostgresStore.open(postgres_url) as store:
        await store.upsert("acct", "prosper", [CallRecord(make_call("1"))])
    async with await PostgresStore.open(postgres_url) as store:
        assert await store.indexed_calls({"prosper": "acct"}, "prosper") == 1
    assert schema_versions(postgres_url) == [SCHEMA_VERSION]


async def test_a_database_of_a_newer_version_is_refused_with_a_clear_error(postgres_url: str) -> None:
    async with await PostgresStore.open(postgres_url):
        pass
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this program understands"):
        await PostgresStore.open(postgres_url)


async def test_a_server_older_than_postgresql_15_is_refused_before_anything_is_created() -> None:
    """Migration 2's aggregates need PostgreSQL 15 (`UNIQUE NULLS NOT DISTINCT`): an older server
    gets an error naming both versions, not a syntax error half-way through a migration."""

    class Info:
        server_version = 140011  # what psycopg reports for PostgreSQL 14.11

    class OldServer:
        info = Info()

        async def execute(self, *args: object) -> None:
            raise AssertionError("nothing may be sent to a server we cannot use")

    with pytest.raises(StoreError, match=r"version 14; the call index needs PostgreSQL 15 or newer"):
        await migrate(OldServer())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://team:s3cret-pass@127.0.0.1:1/calls",  # nothing listens on port 1
        "postgresql://team:s3cret-pass@127.0.0.1:notaport/calls",
        "postgresql://team:s3cret-pass@127.0.0.1/calls?sslmode=bogus",
    ],
)
async def test_a_bad_url_or_unreachable_server_is_a_clear_error_that_never_quotes_the_password(
    url: str,
) -> None:
    with pytest.raises(StoreError) as caught:
        await PostgresStore.open(url)
    message = str(caught.value)
    assert "s3cret" not in message
    assert "PostgreSQL" in message
    assert "not valid" in message or "could not be reached" in message


@pytest.mark.parametrize("same_calls", [True, False], ids=["same calls", "other calls"])
async def test_two_writers_storing_new_calls_in_opposite_orders_never_deadlock(
    postgres_url: str, same_calls: bool
) -> None:
    # Two replicas (two pools) store one batch each per round, one in the other's reverse order,
    # across statuses, days, campaigns and extracted values: the same new calls (each locks the
    # same call ids and aggregate rows in the opposite order), or other calls of the same
    # campaigns (the same aggregate rows). Without one lock order a round ends in a deadlock,
    # which PostgreSQL breaks by failing one write (StoreError).
    statuses = [CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NO_ANSWER, CallStatus.VOICEMAIL]
    rounds, size = 40, 24
    scope = {"prosper": "acct"}

    def batch(r: int, writer: str) -> list[CallRecord]:
        return [
            CallRecord(
                make_call(
                    f"r{r}-{i}" + ("" if same_calls else writer),
                    hours=24.0 * (i % 5) + r,
                    status=statuses[i % len(statuses)],
                    campaign_id=f"camp-{i % 2}",
                    extracted_data={"resolution": ["approved", "denied", "pending"][i % 3], "amount": i},
                )
            )
            for i in range(size)
        ]

    first, second = await PostgresStore.open(postgres_url), await PostgresStore.open(postgres_url)
    try:
        counts: list[UpsertCounts] = []

        async def write(store: PostgresStore, records: list[CallRecord]) -> None:
            counts.append(await store.upsert("acct", "prosper", records))

        for r in range(rounds):
            async with anyio.create_task_group() as tg:
                tg.start_soon(write, first, batch(r, "a"))
                tg.start_soon(write, second, batch(r, "b")[::-1])
        stored = rounds * size * (1 if same_calls else 2)
        assert sum(c.added for c in counts) == stored  # each call stored once...
        assert sum(c.unchanged for c in counts) == (stored if same_calls else 0)  # ...seen by the other
        assert await first.indexed_calls(scope, "prosper") == stored
        summary = await second.campaign_summary(scope, "prosper", None)
        assert summary.totals.calls == stored
    finally:
        await first.close()
        await second.close()
