"""What only the PostgreSQL store has: opening a shared database (migrations once, under a lock,
by any number of processes at a time) and the errors of a bad URL or an unreachable server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import anyio
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from call_logs_mcp.core.outcomes import parse_predicate
from call_logs_mcp.errors import StoreError
from call_logs_mcp.index import CallRecord
from call_logs_mcp.index.outcomes import OutcomeRequest
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.postgres.db import migrate
from call_logs_mcp.index.postgres.migrations import MIGRATIONS, SCHEMA_VERSION
from call_logs_mcp.index.records import UpsertCounts
from call_logs_mcp.models import Call, CallStatus
from factories import BASE, make_call


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


# --- migrating a version-3 database -------------------------------------------------------

# The columns each table had at version 3 (`words` is generated: never inserted).
V3_COPIED = {
    "sources": None,
    "campaigns": None,
    "agents": None,
    "calls": None,
    "call_bodies": None,
    "turns": ["call", "note", "seq", "speaker", "text", '"offset"', "label"],
    "fields": None,
    "sync_state": None,
}
WORDS = (
    "refund",
    "late",
    "fee",
    "card",
    "insurance",
    "appointment",
    "callback",
    "angry",
    "cancel",
    "invoice",
)


def corpus_call(i: int) -> Call:
    """The i-th call of a varied corpus: campaigns (and none), statuses, starts (and unknown),
    turns and notes of a few words, extracted yes/no, number and text values."""
    said = [" ".join(WORDS[(i * k + j) % len(WORDS)] for j in range(3 + k % 3)) for k in range(1, 4 + i % 3)]
    return make_call(
        f"m{i}",
        texts=said,
        hours=(i * 7) % 30,
        started_at=None if i % 11 == 5 else BASE + timedelta(hours=(i * 7) % 30, seconds=i),
        campaign_id=[None, "camp-a", "camp-b"][i % 3],
        status=[CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NO_ANSWER][i % 4 % 3],
        duration_seconds=float(30 * (i % 9)),
        summary=f"summary of {WORDS[i % len(WORDS)]} call",
        extracted_data={"booked": i % 2 == 0, "amount": i * 10, "resolution": ["approved", "Denied"][i % 2]},
    )


def v3_copy(source_url: str, target_url: str) -> None:
    """A version-3 database at `target_url` holding the rows of `source_url`'s (current) index:
    migrations 1-3, then each table's version-3 columns copied (the aggregates and the search
    vocabulary filled by version 3's own triggers), its sequences set past the copied ids."""
    with psycopg.connect(target_url) as target, psycopg.connect(source_url) as source:
        for steps in MIGRATIONS[:3]:
            for step in steps:
                target.execute(step.encode())
        target.execute("CREATE TABLE schema_version (version integer NOT NULL)")
        target.execute("INSERT INTO schema_version VALUES (3)")
        for table, columns in V3_COPIED.items():
            cur = source.execute(f"SELECT {', '.join(columns) if columns else '*'} FROM {table}".encode())
            names = ", ".join(f'"{d.name}"' for d in cur.description or [])
            rows = cur.fetchall()
            if rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                target.cursor().executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})".encode(), rows)
        for table in ("sources", "campaigns", "agents", "calls"):
            last = f"(SELECT max(id) FROM {table})"
            target.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})".encode())


SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("refund", {}),
    ("late fee", {"campaign_id": "camp-a"}),
    ('"late fee"', {"status": CallStatus.FAILED}),
    ("insur*", {"from_date": BASE + timedelta(hours=5), "to_date": BASE + timedelta(hours=20)}),
    ("customer was angry about the invoice", {"speaker": "customer"}),
    ("summary", {"campaign_id": "camp-b", "status": CallStatus.COMPLETED}),
]
FINDS: list[dict[str, Any]] = [
    {"where": ["booked=true"]},
    {"where": ["amount>100", "resolution=denied"]},
    {"where": ["booked=false", "amount<=200"], "from_hours": 3},
    {"where": ["resolution=approved"], "status": CallStatus.COMPLETED, "min_duration": 60.0},
    {"where": ["booked is not set"]},
    {"where": [], "status": CallStatus.FAILED, "max_duration": 120.0},
]


async def everything(store: PostgresStore, scope: dict[str, str]) -> list[Any]:
    out: list[Any] = []
    for query, given in SEARCHES:
        found = await store.search(scope, query, limit=50, **given)
        out.append(
            (found.total_hits, found.calls_matched, sorted((h.call_id, h.snippet) for h in found.hits))
        )
    for asked in FINDS:
        request = OutcomeRequest(
            scope=scope,
            provider=None,
            campaign_id=None,
            status=asked.get("status"),
            from_date=BASE + timedelta(hours=asked["from_hours"]) if "from_hours" in asked else None,
            to_date=None,
            min_duration=asked.get("min_duration"),
            max_duration=asked.get("max_duration"),
            min_qa_score=None,
            max_qa_score=None,
            ended_reason=None,
            fields=[parse_predicate(w) for w in asked["where"]],
            limit=100,
            cursor=None,
        )
        page = await store.find_calls(request)
        out.append((page.total, [c.call_id for c in page.calls]))
    summary = await store.campaign_summary(scope, "prosper", "camp-a")
    out.append(summary.model_dump_json())
    return out


async def test_a_version_3_database_migrates_and_gives_the_same_answers_before_and_after_calls_move(
    postgres_url: str, postgres_server: str
) -> None:
    """A version-3 database with calls, migrated (version 4 rebuilds the extracted-value indexes
    find_calls counts from), answers as an index filled at version 4; so do both after the same
    calls move (refiled by a listing, restarted with another status) and one is purged."""
    scope = {"prosper": "acct"}
    calls = [corpus_call(i) for i in range(36)]
    other = f"call_logs_test_v3_{uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    old_url = make_conninfo(postgres_server, dbname=other)
    try:
        current = await PostgresStore.open(postgres_url)
        try:
            await current.upsert("acct", "prosper", [CallRecord(c) for c in calls])
            v3_copy(postgres_url, old_url)
            assert schema_versions(old_url) == [3]
            migrated = await PostgresStore.open(old_url)
            try:
                assert schema_versions(old_url) == [SCHEMA_VERSION]
                expected = await everything(current, scope)
                assert expected[0][0] > 0 and expected[6][0] > 0  # the answers are not empty
                assert await everything(migrated, scope) == expected
                moves = [
                    # A listing refiles a call to another campaign (its turns are not rewritten).
                    CallRecord(
                        calls[3].model_copy(
                            update={"campaign_id": "camp-b", "transcript": [], "summary": None}
                        ),
                        has_details=False,
                    ),
                    # New details: another status and start, the same words.
                    CallRecord(
                        calls[4].model_copy(
                            update={"status": CallStatus.FAILED, "started_at": BASE + timedelta(hours=40)}
                        )
                    ),
                    # A call long ago, purged below.
                    CallRecord(
                        calls[7].model_copy(update={"started_at": datetime.now(UTC) - timedelta(days=999)})
                    ),
                ]
                for store in (current, migrated):
                    await store.upsert("acct", "prosper", moves)
                    assert await store.purge(older_than_days=900) == 1
                moved = await everything(current, scope)
                assert moved != expected
                assert await everything(migrated, scope) == moved
            finally:
                await migrated.close()
        finally:
            await current.close()
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other)))
