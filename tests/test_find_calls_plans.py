"""find_calls against a brute-force reading of the same calls, for any mix of conditions, on
both stores (`store` is each in turn: SQLite, and a real PostgreSQL, see `conftest.postgres_server`).

The index answers a request by one of several plans (a count of the fields rows alone, a count
driven by the most selective condition with the others probed per call, or by the second of two
comparable ones looked up in a list of the first's calls, a page sorted from few
matches or walked from many, a scan when only "is not set" conditions select), chosen from the
aggregates. Whatever the plan, the total and every page, followed to the end, must be exactly the
calls a person reading each call's extracted data would pick, newest first, each once.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from call_logs_mcp.analytics.facts import FieldKind, flatten_extracted
from call_logs_mcp.core.outcomes import FieldPredicate, parse_predicate
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index import IndexStore
from call_logs_mcp.index import outcomes as sqlite_outcomes
from call_logs_mcp.index.outcomes import OutcomeRequest, OutcomeResult, find_calls
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.records import CallRecord
from call_logs_mcp.models import Call, CallStatus
from factories import BASE, make_call

ACCOUNT = "acct-plans"
PROVIDER = "prosper"
PLANS = ["gold", "Gold", "GOLD", "silver", "Ünïcode", "ünïcode", "true"]

values = st.fixed_dictionaries(
    {},
    optional={
        "booked": st.booleans(),
        "amount": st.sampled_from([0, 50, 100, 100.5, 250, 1000]),
        "plan": st.sampled_from(PLANS),
        "notes": st.sampled_from(["call back", "Call Back", "no"]),
    },
)
calls = st.lists(
    st.tuples(
        values,
        st.sampled_from(["camp-a", "camp-b", None]),
        st.sampled_from([CallStatus.COMPLETED, CallStatus.NO_ANSWER, CallStatus.FAILED]),
        st.integers(min_value=0, max_value=24 * 20),  # hours after BASE
    ),
    min_size=1,
    max_size=60,
)
conditions = st.lists(
    st.sampled_from(
        [
            "booked",
            "booked=false",
            "booked is set",
            "booked is not set",
            "amount>100",
            "amount>=100",
            "amount<=50",
            "amount=100",
            "amount!=100",
            "plan=gold",
            "plan=GOLD",
            "plan!=gold",
            "plan=ünïcode",
            "plan=true",
            "plan is set",
            "plan is not set",
            "notes=call back",
            "notes is not set",
        ]
    ),
    max_size=3,
)


def _holds(predicate: FieldPredicate, extracted: dict[str, Any]) -> bool:
    stored = [v for v in flatten_extracted(extracted) if v.key == predicate.key]
    if predicate.op == "set":
        return bool(stored)
    if predicate.op == "unset":
        return not stored

    def equal() -> bool:
        for v in stored:
            if v.kind is FieldKind.TEXT and _nocase(v.text or "", predicate.text):
                return True
            if v.kind is FieldKind.BOOLEAN and predicate.flag is not None and v.num == float(predicate.flag):
                return True
            if v.kind is FieldKind.NUMBER and predicate.number is not None and v.num == predicate.number:
                return True
        return False

    if predicate.op == "=":
        return equal()
    if predicate.op == "!=":
        return bool(stored) and not equal()
    compare = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}[predicate.op]
    number = predicate.number
    assert number is not None
    return any(v.kind is FieldKind.NUMBER and v.num is not None and compare(v.num, number) for v in stored)


def _nocase(a: str, b: str) -> bool:
    # SQLite's NOCASE folds ASCII letters only.
    fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    return a.translate(fold) == b.translate(fold)


class Finder(Protocol):
    """What both stores offer for find_calls."""

    async def upsert(self, account: str, provider: str, records: list[CallRecord]) -> Any: ...
    async def find_calls(self, request: OutcomeRequest) -> OutcomeResult: ...


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Finder]:
    store = IndexStore.open(tmp_path / "plans.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
async def postgres_store(postgres_url: str) -> AsyncIterator[Finder]:
    async with await PostgresStore.open(postgres_url) as store:
        yield store


@pytest.fixture
async def sqlite_split_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Finder]:
    """SQLite with every count that can be split in two (no dates) split: the halves are counted
    on two connections at once (the index does this from 10,000 rows up)."""
    monkeypatch.setattr(sqlite_outcomes, "_SPLIT_ROWS", 0)
    store = IndexStore.open(tmp_path / "split.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "sqlite_split", "postgres"])
def store(request: pytest.FixtureRequest) -> Finder:
    """Each store in turn, empty; examples of a test share it, each under an account of its own."""
    found: Finder = request.getfixturevalue(f"{request.param}_store")
    return found


def _request(where: list[str], account: str = ACCOUNT, **filters: Any) -> OutcomeRequest:
    return OutcomeRequest(
        scope={PROVIDER: account},
        provider=PROVIDER,
        campaign_id=filters.get("campaign_id"),
        status=filters.get("status"),
        from_date=filters.get("from_date"),
        to_date=filters.get("to_date"),
        min_duration=None,
        max_duration=None,
        min_qa_score=None,
        max_qa_score=None,
        ended_reason=None,
        fields=[parse_predicate(w) for w in where],
        limit=filters.get("limit", 5),
        cursor=None,
    )


async def _every_page(store: Finder, request: OutcomeRequest) -> tuple[list[int], list[str]]:
    totals: list[int] = []
    seen: list[str] = []
    cursor = None
    for _ in range(200):
        page = await store.find_calls(_with_cursor(request, cursor))
        totals.append(page.total)
        seen += [call.call_id for call in page.calls]
        cursor = page.next_cursor
        if cursor is None:
            return totals, seen
    raise AssertionError("paging did not end")


def _with_cursor(request: OutcomeRequest, cursor: str | None) -> OutcomeRequest:
    return OutcomeRequest(**{**request.__dict__, "cursor": cursor})


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    made=calls,
    where=conditions,
    limit=st.integers(min_value=1, max_value=7),
    campaign=st.sampled_from([None, "camp-a"]),
    status=st.sampled_from([None, CallStatus.COMPLETED]),
    days=st.sampled_from([None, (3, 9)]),
)
async def test_every_plan_finds_exactly_the_calls_a_reader_would(
    store: Finder,
    made: list[tuple[dict[str, Any], str | None, CallStatus, int]],
    where: list[str],
    limit: int,
    campaign: str | None,
    status: CallStatus | None,
    days: tuple[int, int] | None,
) -> None:
    records = [
        make_call(f"call_{i}", extracted_data=data, campaign_id=camp, status=st_, hours=hours)
        for i, (data, camp, st_, hours) in enumerate(made)
    ]
    account = f"acct-{uuid.uuid4().hex}"
    await store.upsert(account, PROVIDER, [CallRecord(c) for c in records])
    filters: dict[str, Any] = {"limit": limit, "campaign_id": campaign, "status": status}
    if days is not None:
        filters["from_date"] = BASE + timedelta(days=days[0])
        filters["to_date"] = BASE + timedelta(days=days[1])
    predicates = [parse_predicate(w) for w in where]
    expected = [
        call.call_id
        for call in sorted(records, key=lambda c: c.started_at, reverse=True)
        if all(_holds(p, call.extracted_data) for p in predicates)
        and (campaign is None or call.campaign_id == campaign)
        and (status is None or call.status is status)
        and (days is None or filters["from_date"] <= call.started_at <= filters["to_date"])
    ]
    request = _request(where, account, **filters)
    held = {
        v.key
        for call in records
        if campaign is None or call.campaign_id == campaign
        for v in flatten_extracted(call.extracted_data)
    }
    campaign_known = campaign is None or any(call.campaign_id == campaign for call in records)
    if campaign_known and any(p.key not in held for p in predicates):
        with pytest.raises(InvalidArgumentError, match="has an extracted field named"):
            await _every_page(store, request)
        return
    totals, seen = await _every_page(store, request)
    assert set(totals) == {len(expected)}, (where, totals, len(expected))
    # Newest first; calls starting in the same minute may come in either order.
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    minutes = [
        math.floor(next(c for c in records if c.call_id == i).started_at.timestamp() / 60) for i in seen
    ]
    assert minutes == sorted(minutes, reverse=True)


async def test_a_dense_and_a_sparse_condition_page_the_same_calls(store: Finder) -> None:
    """Both page plans (walk the calls; sort the few matches) on one index: 400 calls, one
    condition held by most of them, one by three."""
    records = [
        make_call(
            f"call_{i}",
            hours=i,
            extracted_data={"booked": i % 5 != 0, **({"vip": True} if i in (7, 200, 390) else {})},
        )
        for i in range(400)
    ]
    await store.upsert(ACCOUNT, PROVIDER, [CallRecord(c) for c in records])
    for where, expected in (
        (["booked"], [f"call_{i}" for i in reversed(range(400)) if i % 5 != 0]),
        (["vip"], ["call_390", "call_200", "call_7"]),
        (["vip", "booked"], ["call_7"]),  # 200 and 390 are not booked
        (
            ["booked=false", "vip is not set"],
            [f"call_{i}" for i in reversed(range(400)) if i % 5 == 0 and i not in (200, 390)],
        ),
    ):
        totals, seen = await _every_page(store, _request(where, limit=7))
        assert seen == expected and set(totals) == {len(expected)}, where


async def test_two_comparable_conditions_count_the_calls_both_hold(store: Finder) -> None:
    """Two conditions selecting about as many calls each (the index merges their calls per
    campaign, or looks one up in a list of the other's), in two campaigns and with dates."""
    records = [
        make_call(
            f"call_{i}",
            hours=i * 3,
            campaign_id="camp-a" if i % 5 else "camp-b",
            extracted_data={
                "booked": i % 2 == 0,
                "amount": float(i % 3 * 100),
                "plan": "gold" if i % 4 else "Gold",
            },
        )
        for i in range(300)
    ]
    await store.upsert(ACCOUNT, PROVIDER, [CallRecord(c) for c in records])
    newest_first = list(reversed(records))
    for where, holds, filters in (
        (["booked", "amount>=100"], lambda x: x["booked"] and x["amount"] >= 100, {}),
        (["booked=false", "amount=200"], lambda x: not x["booked"] and x["amount"] == 200, {}),
        (["plan=gold", "booked"], lambda x: x["plan"] in ("gold", "Gold") and x["booked"], {}),
        (
            ["booked", "amount>=100"],
            lambda x: x["booked"] and x["amount"] >= 100,
            {"from_date": BASE + timedelta(days=10), "to_date": BASE + timedelta(days=20)},
        ),
    ):
        expected = [
            c.call_id
            for c in newest_first
            if holds(c.extracted_data)
            and ("from_date" not in filters or filters["from_date"] <= c.started_at <= filters["to_date"])
        ]
        totals, seen = await _every_page(store, _request(where, limit=50, **filters))
        assert seen == expected and set(totals) == {len(expected)}, where


def _store(path: Path, made: list[Call]) -> IndexStore:
    store = IndexStore.open(path)
    store.db.write_sync(
        lambda conn: store.upsert_sync(conn, ACCOUNT, PROVIDER, [CallRecord(c) for c in made])
    )
    return store


def test_plans_read_rows_by_seek_not_by_scan(tmp_path: Path) -> None:
    """The cost of a selective condition follows its matches: SQLite's plan for the count seeks
    the fields key (no full scan of fields or calls)."""
    records = [
        make_call(f"call_{i}", hours=i, extracted_data={"vip": i == 3, "plan": "gold"}) for i in range(50)
    ]
    store = _store(tmp_path / "plan.db", records)
    try:
        plans: list[str] = []

        def trace(conn: sqlite3.Connection) -> None:
            conn.set_trace_callback(plans.append)
            try:
                find_calls(conn, _request(["vip", "plan=GOLD"]))
            finally:
                conn.set_trace_callback(None)

        store.db.read_sync(trace, "tracing")
        counts = [sql for sql in plans if sql.lstrip().startswith("SELECT count(*)")]
        assert counts, plans

        def explain(conn: sqlite3.Connection) -> list[str]:
            return [str(row[3]) for sql in counts for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]

        steps = store.db.read_sync(explain, "explaining")
        assert not any(step.startswith("SCAN") and ("fields" in step or " c" in step) for step in steps), (
            steps
        )
    finally:
        store.close()


async def test_a_large_count_is_split_in_two_halves_that_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A count over many fields rows is counted in two halves by call id, the newer beside on
    another connection: 600 calls over 60 days, two comparable conditions (a list and a scan)
    and a condition with a column filter (a join to the calls). Split from one row up, the
    totals and pages are the ones a reader picks, and the split happened at the day that halves
    the calls."""
    monkeypatch.setattr(sqlite_outcomes, "_SPLIT_ROWS", 1)
    records = [
        make_call(
            f"call_{i}",
            hours=i * 2.4,
            status=CallStatus.COMPLETED if i % 4 else CallStatus.FAILED,
            extracted_data={
                "booked": i % 3 != 0,
                "amount": float(i % 7 * 50),
                "plan": "gold" if i % 2 else "silver",
            },
        )
        for i in range(600)
    ]
    store = _store(tmp_path / "split.db", records)
    halves: list[str] = []
    beside = store.db.beside

    def spy(fn: Any, doing: str = "reading") -> Any:
        halves.append(doing)
        return beside(fn, doing)

    monkeypatch.setattr(store.db, "beside", spy)
    try:
        cases = [
            (["booked", "amount>100"], {}, lambda c, x: x["booked"] and x["amount"] > 100),
            (["plan=gold", "booked=false"], {}, lambda c, x: x["plan"] == "gold" and not x["booked"]),
            (
                ["amount>=50"],
                {"status": CallStatus.COMPLETED},
                lambda c, x: x["amount"] >= 50 and c.status is CallStatus.COMPLETED,
            ),
        ]
        for where, filters, holds in cases:
            halves.clear()
            expected = [c.call_id for c in reversed(records) if holds(c, c.extracted_data)]
            request = _request(where, limit=100, **filters)
            totals: list[int] = []
            seen: list[str] = []
            cursor = None
            while True:
                page = await store.find_calls(_with_cursor(request, cursor))
                totals.append(page.total)
                seen += [call.call_id for call in page.calls]
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert seen == expected and set(totals) == {len(expected)}, where
            assert halves, f"{where}: the count was not split"

        # The split point: calls starting on or after it (the newer half) have the lower ids.
        def split_day(conn: sqlite3.Connection) -> tuple[int, int]:
            scope = sqlite_outcomes._FieldScope("f.source IN (SELECT id FROM sources)", [])
            split = sqlite_outcomes._split_id(conn, scope)
            assert split is not None
            newer, older = conn.execute(
                "SELECT sum(id < ?), sum(id >= ?) FROM calls", (split, split)
            ).fetchone()
            return int(newer), int(older)

        newer, older = store.db.read_sync(split_day)
        assert newer + older == 600 and abs(newer - older) <= 10, (newer, older)
    finally:
        store.close()


def test_calls_of_one_day_are_counted_whole(tmp_path: Path) -> None:
    """No day splits calls all started on one day (or none with a start): nothing to halve."""
    store = _store(
        tmp_path / "one-day.db",
        [make_call(f"call_{i}", hours=i / 10, extracted_data={"booked": True}) for i in range(30)],
    )
    try:
        scope = sqlite_outcomes._FieldScope("f.source IN (SELECT id FROM sources)", [])
        assert store.db.read_sync(lambda conn: sqlite_outcomes._split_id(conn, scope)) is None
    finally:
        store.close()


def _count_plans(store: IndexStore, where: list[str]) -> list[str]:
    """EXPLAIN QUERY PLAN of each count statement find_calls runs for `where`."""
    statements: list[str] = []

    def trace(conn: sqlite3.Connection) -> int:
        conn.set_trace_callback(statements.append)
        try:
            return find_calls(conn, _request(where)).total
        finally:
            conn.set_trace_callback(None)

    assert store.db.read_sync(trace, "tracing") > 0
    counts = [sql for sql in statements if sql.lstrip().startswith("SELECT count(*)")]

    def explain(conn: sqlite3.Connection) -> list[str]:
        return [str(row[3]) for sql in counts for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]

    return store.db.read_sync(explain, "explaining")


def test_two_comparable_conditions_are_merged_in_call_order_without_a_sort(tmp_path: Path) -> None:
    """A yes/no, a number range and a text value each read one range of the fields key in call
    order, so SQLite counts two of them by merging the two scans: no list, no sort."""
    records = [
        make_call(
            f"call_{i}", hours=i, extracted_data={"booked": i % 2 == 0, "amount": float(i), "plan": "gold"}
        )
        for i in range(60)
    ]
    store = _store(tmp_path / "merge.db", records)
    try:
        for where in (["booked", "amount>10"], ["plan=gold", "booked=false"], ["amount is set", "plan=gold"]):
            steps = _count_plans(store, where)
            assert "MERGE (INTERSECT)" in steps, (where, steps)
            assert not any("TEMP B-TREE" in step or "LIST SUBQUERY" in step for step in steps), (where, steps)
    finally:
        store.close()
