"""The PostgreSQL store answers as the SQLite store does.

Each scenario runs against both stores (`store` is parametrised `sqlite`, `postgres`; the
PostgreSQL server is a real one, see `conftest.postgres_server`) and asserts what a user relies
on; the generated sequences at the end run the same operations on both and require identical
answers. The PostgreSQL store implements part of `IndexStore` so far (see
`index.postgres.store`): these tests cover exactly that part.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from call_logs_mcp.core.outcomes import parse_predicate
from call_logs_mcp.errors import InvalidArgumentError, StoreError
from call_logs_mcp.index import CallRecord, IndexStore
from call_logs_mcp.index.outcomes import OutcomeRequest
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.records import (
    CampaignListing,
    IndexStats,
    PendingDetail,
    RecentCalls,
    StoredState,
    SyncState,
    UpsertCounts,
    WalkResume,
    scope_key,
)
from call_logs_mcp.models import Agent, Call, CallStatus, CallSummary, PlatformTotals
from factories import BASE, make_call

STORES = ["sqlite", "postgres"]


class Store(Protocol):
    """The part of `IndexStore` both stores implement."""

    async def upsert(self, account: str, provider: str, records: list[CallRecord]) -> UpsertCounts: ...
    async def save_sync_state(self, account: str, provider: str, state: SyncState) -> None: ...
    async def load_sync_state(self, account: str, provider: str, scope: str) -> SyncState | None: ...
    async def stored_states(
        self, account: str, provider: str, call_ids: list[str]
    ) -> dict[str, StoredState]: ...
    async def calls_to_recheck(
        self,
        account: str,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
    ) -> list[str]: ...
    async def get_call(self, scope: dict[str, str], provider: str, call_id: str) -> Call | None: ...
    async def recent_calls(
        self,
        scope: dict[str, str],
        *,
        provider: str | None = None,
        campaign_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RecentCalls: ...
    async def last_synced(
        self,
        scope: dict[str, str],
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> datetime | None: ...
    async def indexed_calls(
        self, scope: dict[str, str], provider: str, *, campaign_id: str | None = None
    ) -> int: ...
    async def platform_calls(
        self, scope: dict[str, str], provider: str, *, campaign_id: str | None = None
    ) -> int | None: ...
    async def list_campaigns(
        self, scope: dict[str, str], *, provider: str | None = None, describe: bool = False
    ) -> list[CampaignListing]: ...
    async def stats(self) -> IndexStats: ...
    async def purge(self, older_than_days: int | None = None) -> int: ...
    def purge_sync(self, older_than_days: int | None = None) -> int: ...


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
async def postgres_store(postgres_url: str) -> AsyncIterator[Store]:
    async with await PostgresStore.open(postgres_url) as store:
        yield store


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> Store:
    """Each store in turn, empty."""
    found: Store = request.getfixturevalue(f"{request.param}_store")
    return found


async def all_pages(store: Store, scope: dict[str, str], limit: int, **filters: Any) -> list[str]:
    """Every call id `recent_calls` lists, following its cursors to the end."""
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await store.recent_calls(scope, limit=limit, cursor=cursor, **filters)
        assert len(page.calls) <= limit
        seen += [c.call_id for c in page.calls]
        cursor = page.next_cursor
        if cursor is None:
            return seen


# --- calls ----------------------------------------------------------------------------------


async def test_a_stored_call_reads_back_equal_to_what_the_platform_returned(store: Store) -> None:
    call = make_call(
        "call-ü/1",
        texts=("Grüezi, hier ist Ava von der Clínica São Paulo.", "東京 Wellness Center? Ja. 😊", "Danke!"),
        summary="Zoë confirmed; card 4111 1111 1111 1111 read aloud.",
        to_number="+41 44 668 18 00",
        cost=0.42,
        currency="CHF",
        extracted_data={"booked": True, "slot": {"day": "Tuesday", "hour": 9}, "tags": ["a", "b"]},
        qa={"overall_score": 91, "criteria": {"tone": 88}},
        qa_score=91.0,
        recording_urls=["https://recordings.example/1.mp3"],
        ended_reason="assistant-ended-call",
        extra={"target_id": "t-1"},
    )
    await store.upsert("acct", "prosper", [CallRecord(call)])
    assert await store.get_call({"prosper": "acct"}, "prosper", "call-ü/1") == call
    assert await store.get_call({"prosper": "acct"}, "prosper", "missing") is None
    assert await store.get_call({"prosper": "other"}, "prosper", "call-ü/1") is None


async def test_text_with_unpaired_surrogates_is_stored_as_a_replacement_character(store: Store) -> None:
    call = make_call("s1", texts=("broken \ud800 text",), summary="also \udfff here")
    counts = await store.upsert("acct", "prosper", [CallRecord(call)])
    stored = await store.get_call({"prosper": "acct"}, "prosper", "s1")
    assert counts.added == 1
    assert stored is not None
    assert stored.transcript[0].text == "broken \ufffd text"
    assert stored.summary == "also \ufffd here"


async def test_upsert_counts_added_updated_and_unchanged_calls(store: Store) -> None:
    first = [make_call(str(i), hours=i) for i in range(5)]
    changed = first[2].model_copy(update={"status": CallStatus.FAILED, "transcript": []})
    moved = first[3].model_copy(update={"started_at": BASE + timedelta(days=3)})
    counts = await store.upsert("acct", "prosper", [CallRecord(c) for c in first])
    again = await store.upsert("acct", "prosper", [CallRecord(c) for c in [*first[:2], changed, moved]])
    assert (counts.added, counts.updated, counts.unchanged) == (5, 0, 0)
    assert (again.added, again.updated, again.unchanged) == (0, 2, 2)
    assert await store.get_call({"prosper": "acct"}, "prosper", "2") == changed
    assert await store.get_call({"prosper": "acct"}, "prosper", "3") == moved
    assert await store.indexed_calls({"prosper": "acct"}, "prosper") == 5


async def test_a_call_of_another_platform_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="cannot be stored under prosper"):
        await store.upsert("acct", "prosper", [CallRecord(make_call("1", provider="callcamp"))])
    assert await store.indexed_calls({"prosper": "acct"}, "prosper") == 0


async def test_a_summary_only_record_never_replaces_stored_details_but_files_its_campaign(
    store: Store,
) -> None:
    full = make_call("1", texts=("We talked about the refund.",), campaign_id=None)
    bare = full.model_copy(update={"transcript": [], "summary": None})
    scope = {"prosper": "acct"}
    await store.upsert("acct", "prosper", [CallRecord(full)])
    unchanged = await store.upsert("acct", "prosper", [CallRecord(bare, has_details=False, list_hash="h1")])
    filed = bare.model_copy(update={"campaign_id": "camp-z"})
    refiled = await store.upsert("acct", "prosper", [CallRecord(filed, has_details=False)])
    assert unchanged.unchanged == 1
    assert refiled.updated == 1
    assert await store.get_call(scope, "prosper", "1") == full.model_copy(update={"campaign_id": "camp-z"})
    states = await store.stored_states("acct", "prosper", ["1"])
    assert states["1"] == StoredState("h1", CallStatus.COMPLETED, True, full.started_at, "camp-z")
    assert await store.indexed_calls(scope, "prosper", campaign_id="camp-z") == 1


async def test_a_call_listed_without_campaign_keeps_the_campaign_already_known(store: Store) -> None:
    with_campaign = make_call("1", provider="callcamp", campaign_id="camp-x")
    without = with_campaign.model_copy(update={"campaign_id": None, "duration_seconds": 61.0})
    await store.upsert("acct", "callcamp", [CallRecord(with_campaign)])
    counts = await store.upsert("acct", "callcamp", [CallRecord(without)])
    stored = await store.get_call({"callcamp": "acct"}, "callcamp", "1")
    assert counts.updated == 1
    assert stored is not None
    assert (stored.campaign_id, stored.duration_seconds) == ("camp-x", 61.0)


async def test_another_account_never_sees_the_first_accounts_calls_even_with_the_same_ids(
    store: Store,
) -> None:
    ids = [str(i) for i in range(8)]
    await store.upsert(
        "alpha", "prosper", [CallRecord(make_call(i, texts=(f"alpha {i}",), hours=int(i))) for i in ids]
    )
    await store.upsert("bravo", "prosper", [CallRecord(make_call(i, texts=(f"bravo {i}",))) for i in ids[:3]])
    bravo = {"prosper": "bravo"}
    seen = [await store.get_call(bravo, "prosper", i) for i in ids]
    assert [c.transcript[0].text for c in seen if c is not None] == ["bravo 0", "bravo 1", "bravo 2"]
    assert sorted(await all_pages(store, bravo, limit=2)) == ids[:3]
    assert await store.indexed_calls(bravo, "prosper") == 3
    assert await store.indexed_calls({"prosper": "charlie"}, "prosper") == 0
    assert (await store.recent_calls({"prosper": "charlie"})).calls == []
    assert await store.stored_states("charlie", "prosper", ids) == {}


# --- listings -------------------------------------------------------------------------------


async def test_recent_calls_pages_through_every_call_newest_first_exactly_once(store: Store) -> None:
    calls = [make_call(f"c{i}", hours=i % 7 * 3 + i / 100) for i in range(23)]
    calls += [make_call("tie-1", hours=5), make_call("tie-2", hours=5)]  # one start time: newest stored first
    calls.append(make_call("no-time", started_at=None))
    scope = {"prosper": "acct"}
    await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
    expected = [c.call_id for c in sorted(calls[:-3], key=lambda c: c.started_at or BASE, reverse=True)]
    expected.insert(
        len([c for c in calls[:-3] if (c.started_at or BASE) > BASE + timedelta(hours=5)]), "tie-1"
    )
    expected.insert(expected.index("tie-1"), "tie-2")
    for limit in (1, 5, 200):
        assert await all_pages(store, scope, limit) == [*expected, "no-time"]
    with pytest.raises(InvalidArgumentError):
        await store.recent_calls(scope, cursor="bm90LWEtY3Vyc29y")
    with pytest.raises(InvalidArgumentError):
        await store.recent_calls(scope, limit=0)


async def test_recent_calls_of_one_campaign_and_one_platform(store: Store) -> None:
    await store.upsert(
        "acct",
        "prosper",
        [CallRecord(make_call(f"p{i}", campaign_id=f"camp-{i % 3}", hours=i)) for i in range(9)],
    )
    await store.upsert("acct", "callcamp", [CallRecord(make_call("k1", provider="callcamp", hours=20))])
    scope = {"prosper": "acct", "callcamp": "acct"}
    assert await all_pages(store, scope, 2, campaign_id="camp-1") == ["p7", "p4", "p1"]
    assert await all_pages(store, scope, 4, provider="callcamp") == ["k1"]
    assert await all_pages(store, scope, 4, campaign_id="camp-none") == []
    page = await store.recent_calls(scope, limit=1)
    assert page.calls[0] == CallSummary.model_validate(
        {
            k: v
            for k, v in make_call("k1", provider="callcamp", hours=20).model_dump().items()
            if k in CallSummary.model_fields
        }
    )


# --- the sync engine's bookkeeping ----------------------------------------------------------

AT = datetime(2026, 3, 5, 12, 30, tzinfo=UTC)


def full_state(scope: str, **fields: Any) -> SyncState:
    values: dict[str, Any] = {
        "scope": scope,
        "watermark": AT - timedelta(hours=1),
        "last_synced_at": AT,
        "last_attempt_at": AT + timedelta(seconds=5),
        "platform": PlatformTotals(calls=120, duration_seconds=3600.5, cost=12.25, currency="USD"),
        "status_totals": {"completed": 100, "failed": 20},
        "names_campaigns": True,
        "resume": WalkResume(
            began=AT,
            cursor="opaque/ü",
            newest=AT - timedelta(minutes=3),
            done=17,
            pending={
                "c1": PendingDetail(fingerprint="f1"),
                "c2": PendingDetail(fingerprint="f2", listed=None),
            },
        ),
    }
    values.update(fields)
    return SyncState.model_validate(values)


async def test_sync_state_round_trips_and_is_replaced(store: Store) -> None:
    key = scope_key(None, None, None)
    state = full_state(key)
    assert await store.load_sync_state("acct", "prosper", key) is None
    await store.save_sync_state("acct", "prosper", state)
    assert await store.load_sync_state("acct", "prosper", key) == state
    bare = SyncState(scope=key)
    await store.save_sync_state("acct", "prosper", bare)
    assert await store.load_sync_state("acct", "prosper", key) == bare
    assert await store.load_sync_state("other", "prosper", key) is None


async def test_last_synced_is_the_newest_sync_whose_scope_covers_the_question(store: Store) -> None:
    scope = {"prosper": "acct"}
    june = datetime(2026, 6, 1, tzinfo=UTC)
    july = datetime(2026, 7, 1, tzinfo=UTC)
    await store.save_sync_state(
        "acct", "prosper", full_state(scope_key(None, None, None), last_synced_at=AT, names_campaigns=False)
    )
    await store.save_sync_state(
        "acct",
        "prosper",
        full_state(
            scope_key("camp-a", june, july),
            campaign_id="camp-a",
            since=june,
            until=july,
            last_synced_at=AT + timedelta(hours=2),
        ),
    )
    assert await store.last_synced(scope, "prosper") == AT
    assert await store.last_synced(scope, "prosper", campaign_id="camp-b") is None  # records did not name it
    assert await store.last_synced(scope, "prosper", campaign_id="camp-a") is None  # only June is covered
    covered = await store.last_synced(
        scope, "prosper", campaign_id="camp-a", since=june, until=july - timedelta(days=1)
    )
    assert covered == AT + timedelta(hours=2)
    await store.save_sync_state(
        "acct", "prosper", full_state(scope_key(None, None, None), last_synced_at=AT, names_campaigns=True)
    )
    assert await store.last_synced(scope, "prosper", campaign_id="camp-b") == AT
    assert await store.last_synced({"prosper": "other"}, "prosper") is None


async def test_platform_calls_come_from_the_scope_without_dates(store: Store) -> None:
    scope = {"prosper": "acct"}
    june = datetime(2026, 6, 1, tzinfo=UTC)
    await store.save_sync_state(
        "acct", "prosper", full_state(scope_key("camp-a", None, None), campaign_id="camp-a")
    )
    await store.save_sync_state(
        "acct",
        "prosper",
        full_state(scope_key(None, june, None), since=june, platform=PlatformTotals(calls=7)),
    )
    assert await store.platform_calls(scope, "prosper", campaign_id="camp-a") == 120
    assert await store.platform_calls(scope, "prosper") is None
    assert await store.platform_calls({"prosper": "other"}, "prosper", campaign_id="camp-a") is None


async def test_calls_to_recheck_are_the_unfinished_and_the_undetailed_newest_first(store: Store) -> None:
    calls = [
        make_call("done", hours=1),
        make_call("running", hours=2, status=CallStatus.IN_PROGRESS),
        make_call("listed", hours=3, campaign_id="camp-b"),
        make_call("old-running", hours=-30, status=CallStatus.IN_PROGRESS),
    ]
    await store.upsert("acct", "prosper", [CallRecord(c, has_details=c.call_id != "listed") for c in calls])
    assert await store.calls_to_recheck("acct", "prosper") == ["listed", "running", "old-running"]
    assert await store.calls_to_recheck("acct", "prosper", campaign_id="camp-b") == ["listed"]
    assert await store.calls_to_recheck("acct", "prosper", since=BASE) == ["listed", "running"]
    assert await store.calls_to_recheck("acct", "prosper", until=BASE + timedelta(hours=2)) == [
        "running",
        "old-running",
    ]
    assert await store.calls_to_recheck("acct", "prosper", limit=1) == ["listed"]
    assert await store.calls_to_recheck("other", "prosper") == []


# --- generated sequences: both stores, the same operations, the same answers ----------------

ACCOUNTS = ("acct", "other")
CAMPAIGNS = (None, "camp-a", "camp-b")

# One listed or detailed version of a call: (account, call, version, campaign, status, details, list hash).
record_versions = st.tuples(
    st.sampled_from(ACCOUNTS),
    st.integers(0, 5),
    st.integers(0, 3),
    st.sampled_from(CAMPAIGNS),
    st.sampled_from(list(CallStatus)),
    st.booleans(),
    st.sampled_from((None, "h1", "h2")),
)


def version_record(
    call: int, version: int, campaign: str | None, status: CallStatus, details: bool, hashed: str | None
) -> CallRecord:
    """A call as a detail request (`details`) or a listing (no transcript, no summary) returns it;
    each version starts at its own time, never at another call's."""
    made = make_call(
        f"c{call}",
        hours=call + version / 10,
        campaign_id=campaign,
        status=status,
        texts=tuple(f"version {version} turn {i}" for i in range(version + 1)),
        summary=f"summary {version}",
        extracted_data={"booked": version % 2 == 0, "reason": f"r{version}"},
    )
    if not details:
        made = made.model_copy(update={"transcript": [], "summary": None, "extracted_data": {}})
    return CallRecord(made, has_details=details, list_hash=hashed)


async def answers(store: Store, prefix: str, batches: list[list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Everything a user can ask of the part both stores implement, after storing `batches`:
    the upsert counts, then per account what is stored about each call, the calls, and per
    campaign filter the count, every page of the listing and the calls to re-check."""
    out: dict[str, Any] = {"upserts": []}
    for batch in batches:
        for account in ACCOUNTS:
            records = [version_record(*op[1:]) for op in batch if op[0] == account]
            if records:
                out["upserts"].append(await store.upsert(f"{prefix}{account}", "prosper", records))
    ids = [f"c{i}" for i in range(6)]
    for account in ACCOUNTS:
        scope = {"prosper": f"{prefix}{account}"}
        out[account] = {
            "states": await store.stored_states(f"{prefix}{account}", "prosper", ids),
            "calls": [await store.get_call(scope, "prosper", i) for i in ids],
            "campaigns": [
                (
                    await store.indexed_calls(scope, "prosper", campaign_id=campaign),
                    await all_pages(store, scope, 2, campaign_id=campaign),
                    await store.calls_to_recheck(f"{prefix}{account}", "prosper", campaign_id=campaign),
                )
                for campaign in (*CAMPAIGNS, "camp-none")
            ],
            "listing": await store.list_campaigns(scope, describe=True),
        }
    stats = await store.stats()
    out["stats"] = (stats.calls, stats.turns)  # the size on disk is each engine's own
    return out


@given(batches=st.lists(st.lists(record_versions, min_size=1, max_size=4), min_size=1, max_size=5))
@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_generated_sequences_of_upserts_get_the_same_answers_from_both_stores(
    sqlite_store: Store, postgres_store: Store, batches: list[list[tuple[Any, ...]]]
) -> None:
    prefix = uuid4().hex  # the stores live across examples: each example has accounts of its own
    expected = await answers(sqlite_store, prefix, batches)
    assert await answers(postgres_store, prefix, batches) == expected
    stored = {op[:2] for batch in batches for op in batch}
    assert sum(len(expected[account]["states"]) for account in ACCOUNTS) == len(stored)
    assert sum(counts.added for counts in expected["upserts"]) == len(stored)
    for account in ACCOUNTS:
        listed = sum(c.indexed_calls for c in expected[account]["listing"])
        assert listed == len(expected[account]["states"])


async def test_a_call_whose_start_time_moves_keeps_its_listing_fingerprint(store: Store) -> None:
    listed = make_call("1")
    await store.upsert("acct", "prosper", [CallRecord(listed, list_hash="h1")])
    moved = listed.model_copy(update={"started_at": BASE + timedelta(hours=2)})
    counts = await store.upsert("acct", "prosper", [CallRecord(moved)])
    states = await store.stored_states("acct", "prosper", ["1"])
    assert counts.updated == 1
    assert states["1"].list_hash == "h1"
    assert states["1"].started_at == BASE + timedelta(hours=2)


async def test_campaigns_list_counts_spans_descriptions_and_the_syncs_that_cover_them(store: Store) -> None:
    scope = {"prosper": "acct"}
    calls = [
        make_call("a1", campaign_id="camp-b", hours=1, texts=("Hi, this is Ava from the clinic.", "Yes?")),
        make_call("a2", campaign_id="camp-b", hours=2, texts=("Hi,  this is Ava from the clinic.", "No.")),
        make_call("a3", campaign_id="camp-b", hours=3, status=CallStatus.FAILED, transcript=[]),
        make_call("b1", campaign_id="camp-a", hours=4, texts=("Hello there.",)),
        make_call("n1", campaign_id=None, started_at=None),
    ]
    await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
    await store.upsert("other", "prosper", [CallRecord(make_call("x", campaign_id="camp-c"))])
    await store.save_sync_state(
        "acct", "prosper", full_state(scope_key(None, None, None), last_synced_at=AT, names_campaigns=True)
    )
    await store.save_sync_state(
        "acct",
        "prosper",
        full_state(
            scope_key("camp-b", None, None), campaign_id="camp-b", last_synced_at=AT + timedelta(hours=1)
        ),
    )
    listed = await store.list_campaigns(scope, describe=True)
    assert [(c.campaign_id, c.indexed_calls, c.last_synced_at) for c in listed] == [
        (None, 1, AT),
        ("camp-a", 1, AT),
        ("camp-b", 3, AT + timedelta(hours=1)),
    ]
    camp_b = listed[2]
    assert (camp_b.first_call_at, camp_b.last_call_at) == (calls[0].started_at, calls[2].started_at)
    assert camp_b.by_status == {"completed": 2, "failed": 1}
    assert camp_b.opening_line == "Hi, this is Ava from the clinic."
    assert (listed[0].first_call_at, listed[0].by_status) == (None, {"completed": 1})
    assert [c.campaign_id for c in await store.list_campaigns(scope, provider="callcamp")] == []
    stats = await store.stats()
    assert (stats.calls, stats.turns) == ({"prosper": 6}, 2 + 2 + 0 + 1 + 2 + 2)
    assert stats.file_bytes > 0


async def test_purge_deletes_what_started_before_the_cutoff_then_everything(store: Store) -> None:
    now = datetime.now(UTC)
    old = [
        make_call(f"old{i}", started_at=now - timedelta(days=40 + i), campaign_id="camp-o") for i in range(3)
    ]
    new = [make_call(f"new{i}", started_at=now - timedelta(days=i)) for i in range(4)]
    undated = make_call("undated", started_at=None)
    scope = {"prosper": "acct"}
    await store.upsert("acct", "prosper", [CallRecord(c) for c in [*old, *new, undated]])
    await store.save_sync_state("acct", "prosper", full_state(scope_key(None, None, None)))
    with pytest.raises(InvalidArgumentError):
        await store.purge(-1)
    assert await store.purge(30) == 3
    assert await all_pages(store, scope, 3) == [*(c.call_id for c in new), "undated"]
    assert await store.get_call(scope, "prosper", "old0") is None
    listed = await store.list_campaigns(scope)
    assert [(c.campaign_id, c.indexed_calls) for c in listed] == [("camp-a", 5), ("camp-o", 0)]
    assert await store.load_sync_state("acct", "prosper", scope_key(None, None, None)) is not None
    assert await store.purge() == 5
    assert await all_pages(store, scope, 3) == []
    assert await store.list_campaigns(scope) == []
    assert await store.load_sync_state("acct", "prosper", scope_key(None, None, None)) is None
    assert (await store.stats()).calls == {}
    again = await store.upsert("acct", "prosper", [CallRecord(old[0])])
    assert again.added == 1
    assert await store.indexed_calls(scope, "prosper", campaign_id="camp-o") == 1


async def test_the_synchronous_purge_of_the_cli_deletes_as_the_async_one_does(store: Store) -> None:
    now = datetime.now(UTC)
    calls = [make_call(f"c{i}", started_at=now - timedelta(days=10 * i)) for i in range(5)]
    await store.upsert(
        "acct", "prosper", [CallRecord(c) for c in [*calls, make_call("undated", started_at=None)]]
    )
    with pytest.raises(InvalidArgumentError):
        store.purge_sync(-1)
    assert store.purge_sync(25) == 2
    assert await all_pages(store, {"prosper": "acct"}, 10) == ["c0", "c1", "c2", "undated"]
    assert store.purge_sync() == 4
    assert await all_pages(store, {"prosper": "acct"}, 10) == []


async def test_agents_are_listed_with_their_calls_and_the_name_of_their_newest_call(store: Any) -> None:
    def call(call_id: str, hours: float, agent: str, name: str | None, **fields: Any) -> CallRecord:
        return CallRecord(make_call(call_id, hours=hours, agent=Agent(agent_id=agent, name=name), **fields))

    scope = {"prosper": "acct"}
    # Stored out of order, across batches and within one: the newest call's name wins.
    await store.upsert(
        "acct", "prosper", [call("a2", 5, "ag-1", "New name"), call("a1", 1, "ag-1", "Old name")]
    )
    await store.upsert(
        "acct",
        "prosper",
        [
            call("a3", 3, "ag-1", None, campaign_id=None),
            call("b1", 2, "ag-2", None, status=CallStatus.FAILED),
            call("b2", 4, "ag-2", "Bo", campaign_id="camp-b"),
            CallRecord(make_call("n1", hours=6)),  # names no agent
        ],
    )
    await store.upsert("acct", "prosper", [call("a0", 0, "ag-1", "Oldest name")])
    listed = await store.list_agents(scope)
    assert [(a.agent_id, a.name, a.indexed_calls) for a in listed] == [
        ("ag-1", "New name", 4),
        ("ag-2", "Bo", 2),
    ]
    ag1, ag2 = listed
    assert (ag1.campaigns, ag1.calls_without_campaign) == ({"camp-a": 3}, 1)
    assert (ag2.by_status, ag2.campaigns) == ({"completed": 1, "failed": 1}, {"camp-a": 1, "camp-b": 1})
    assert (ag1.first_call_at, ag1.last_call_at) == (BASE, BASE + timedelta(hours=5))
    assert await store.list_agents({"prosper": "other"}) == []
    assert await store.list_agents(scope, provider="callcamp") == []
    # The newest call again, its agent renamed since: the new name (a tie goes to the later).
    await store.upsert("acct", "prosper", [call("a2", 5, "ag-1", "Renamed")])
    assert [(a.agent_id, a.name) for a in await store.list_agents(scope)] == [
        ("ag-1", "Renamed"),
        ("ag-2", "Bo"),
    ]


async def test_find_calls_folds_ascii_case_only_in_text_values_and_ended_reasons(store: Any) -> None:
    """As SQLite's NOCASE: "gold" equals "GOLD"; "ü" does not equal "Ü"."""
    values = ["gold", "Gold", "GOLD", "Ünïcode", "ünïcode", "golden"]
    await store.upsert(
        "acct",
        "prosper",
        [
            CallRecord(
                make_call(
                    f"v{i}", hours=i, extracted_data={"plan": v}, ended_reason=["Hangup", "error"][i % 2]
                )
            )
            for i, v in enumerate(values)
        ],
    )
    scope = {"prosper": "acct"}

    async def ids(where: str, reason: str | None = None) -> list[str]:
        asked = {"where": [where], "limit": 10, "ended_reason": reason}
        pages = await found(store, scope, asked)
        return [i for page in pages for i in page[0]]

    assert await ids("plan=GOLD") == ["v2", "v1", "v0"]
    assert await ids("plan=ünïcode") == ["v4"]
    assert await ids("plan=ÜNÏCODE") == []
    assert await ids("plan!=gold") == ["v5", "v4", "v3"]
    assert await ids("plan=gold", " HANGUP ") == ["v2", "v0"]


# --- generated calls and outcome requests: the same calls found, counted and paged ----------

FIELD_KEYS = ("booked", "amount", "plan", "tags", "slot")
field_values = st.one_of(
    st.booleans(),
    st.sampled_from([0, 50, 100, 100.5, -3]),
    st.sampled_from(["gold", "Gold", "GOLD", "Ünïcode", "ünïcode", "true", "no", " padded ", "100"]),
    st.sampled_from(["gold", "Gold", "GOLD"]),
    st.lists(st.sampled_from(["a", "B"]), max_size=2),
    st.fixed_dictionaries({"day": st.sampled_from(["Mon", "mon"]), "hour": st.sampled_from([9, 10])}),
    st.none(),
)
# One version of a call: (campaign, status, duration, QA score, ended reason, extracted data,
# whether the record has details, its agent's id and name). A call's start time is fixed by its
# number (`START_SLOTS`): some calls share one exactly, one has none.
outcome_versions = st.tuples(
    st.sampled_from(CAMPAIGNS),
    st.sampled_from([CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NO_ANSWER]),
    st.sampled_from([None, 0.0, 30.0, 60.5, 120.0]),
    st.sampled_from([None, 40.0, 80.5, 100.0]),
    st.sampled_from([None, "hangup", "Hangup", "error"]),
    st.fixed_dictionaries({}, optional=dict.fromkeys(FIELD_KEYS, field_values)),
    st.booleans() | st.just(True),
    st.sampled_from([None, ("ag-1", None), ("ag-1", "Ava"), ("ag-1", "Ava B"), ("ag-2", "Bo"), ("ag-2", "")]),
)
START_SLOTS = (0, 0, 1, 2, 2, 3, 5, None)  # hours after BASE, by call number

# A condition from the predicate grammar: a key (its stored spelling, or one differing in case
# or spaces), then an operator and a value, `is set`, `is not set`, or nothing (yes/no true).
condition_keys = st.sampled_from([*FIELD_KEYS, "slot.day", "Booked", "slot . hour", "gone"])
conditions = st.builds(
    lambda key, tail: key + tail,
    condition_keys,
    st.one_of(
        st.sampled_from(["", " is set", " is not set"]),
        st.builds(
            lambda op, value: op + value,
            st.sampled_from(["=", "!="]),
            st.sampled_from(["gold", "GOLD", "Gold", "ünïcode", "true", "no", "100", "-3", "mon", "9", "a"])
            | st.sampled_from(["gold", "GOLD"]),
        ),
        st.builds(
            lambda op, value: op + value,
            st.sampled_from([">", ">=", "<", "<="]),
            st.sampled_from(["0", "50", "100", "100.5", "-3", "9.5"]),
        ),
    ),
)


# The other filters, at most two per request: (argument, value).
OUTCOME_FILTERS = (
    ("provider", "prosper"),
    *(("campaign_id", c) for c in ("camp-a", "camp-b", "camp-none")),
    *(("status", s) for s in (CallStatus.COMPLETED, CallStatus.FAILED)),
    *(("from_hours", h) for h in (0, 1.5)),
    *(("to_hours", h) for h in (2, 6)),
    ("min_duration", 30.0),
    ("max_duration", 60.5),
    ("min_qa_score", 80.5),
    ("max_qa_score", 80.5),
    *(("ended_reason", r) for r in ("hangup", " HANGUP ", "error")),
)
outcome_requests = st.builds(
    lambda where, filters, limit: {"where": where, "limit": limit, **dict(filters)},
    st.lists(conditions, min_size=1, max_size=2) | st.just([]),
    st.lists(st.sampled_from(OUTCOME_FILTERS), max_size=2),
    st.integers(1, 4),
)


def outcome_record(
    call: int,
    campaign: str | None,
    status: CallStatus,
    duration: float | None,
    qa: float | None,
    reason: str | None,
    extracted: dict[str, Any],
    details: bool,
    agent: tuple[str, str | None] | None,
) -> CallRecord:
    hours = START_SLOTS[call]
    made = make_call(
        f"c{call}",
        hours=hours or 0,
        started_at=None if hours is None else BASE + timedelta(hours=hours),
        campaign_id=campaign,
        status=status,
        duration_seconds=duration,
        qa_score=qa,
        ended_reason=reason,
        extracted_data=extracted if details else {},
        agent=None if agent is None else Agent(agent_id=agent[0], name=agent[1]),
    )
    return CallRecord(made, has_details=details)


def outcome_request(
    scope: dict[str, str], asked: dict[str, Any], cursor: str | None = None
) -> OutcomeRequest:
    def at(hours: float | None) -> datetime | None:
        return None if hours is None else BASE + timedelta(hours=hours)

    return OutcomeRequest(
        scope=scope,
        provider=asked.get("provider"),
        campaign_id=asked.get("campaign_id"),
        status=asked.get("status"),
        from_date=at(asked.get("from_hours")),
        to_date=at(asked.get("to_hours")),
        min_duration=asked.get("min_duration"),
        max_duration=asked.get("max_duration"),
        min_qa_score=asked.get("min_qa_score"),
        max_qa_score=asked.get("max_qa_score"),
        ended_reason=asked.get("ended_reason"),
        fields=[parse_predicate(w) for w in asked["where"]],
        limit=asked["limit"],
        cursor=cursor,
    )


async def found(store: Any, scope: dict[str, str], asked: dict[str, Any]) -> list[Any]:
    """Every page of one request, followed to the end: (ids, total, offset, notes) per page, or
    the error it raised."""
    pages: list[Any] = []
    cursor: str | None = None
    try:
        while True:
            page = await store.find_calls(outcome_request(scope, asked, cursor))
            pages.append(([c.call_id for c in page.calls], page.total, page.offset, page.notes))
            cursor = page.next_cursor
            if cursor is None or len(pages) > 20:
                return pages
    except InvalidArgumentError as exc:
        return [*pages, str(exc)]


@given(
    first=st.lists(outcome_versions, min_size=len(START_SLOTS), max_size=len(START_SLOTS)),
    later=st.lists(st.tuples(st.integers(0, len(START_SLOTS) - 1), outcome_versions), max_size=6),
    cut=st.integers(1, 8),
    requests=st.lists(outcome_requests, min_size=1, max_size=8),
)
@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_generated_calls_and_outcome_requests_find_the_same_calls_on_both_stores(
    sqlite_store: Any,
    postgres_store: Any,
    first: list[tuple[Any, ...]],
    later: list[tuple[Any, ...]],
    cut: int,
    requests: list[dict[str, Any]],
) -> None:
    """Every call stored, in an order of its own (calls sharing a start time stay in the order
    stored), then later versions of some (listings that refile them, new details), in batches
    split at `cut`; then the same requests of both stores."""
    account = uuid4().hex
    scope = {"prosper": account, "callcamp": account}
    order = sorted(range(len(first)), key=lambda i: (i * cut) % len(first))
    ops = [(i, *first[i]) for i in order] + [(i, *version) for i, version in later]
    answers: list[list[Any]] = []
    for store in (sqlite_store, postgres_store):
        for start in range(0, len(ops), cut):
            await store.upsert(account, "prosper", [outcome_record(*op) for op in ops[start : start + cut]])
        answers.append(
            [
                *[await found(store, scope, asked) for asked in requests],
                await store.list_agents(scope),
                await store.list_agents(scope, provider="callcamp"),
            ]
        )
    assert answers[1] == answers[0]
    answers[0] = answers[0][: len(requests)]
    # Every call a request finds is listed once, and its pages add up to its total.
    for pages in answers[0]:
        listed = [call_id for page in pages if not isinstance(page, str) for call_id in page[0]]
        assert len(listed) == len(set(listed))
        if pages and not isinstance(pages[-1], str):
            assert len(listed) == pages[0][1]


# Calls whose fields each hold one kind (a yes/no, a number, a text, an object), so a lone
# condition is often counted from the per-campaign aggregates (the stores' own plans).
typed_versions = st.tuples(
    st.sampled_from(CAMPAIGNS),
    st.sampled_from([CallStatus.COMPLETED, CallStatus.FAILED]),
    st.just(60.0),
    st.just(None),
    st.just(None),
    st.fixed_dictionaries(
        {},
        optional={
            "booked": st.booleans(),
            "amount": st.sampled_from([0, 50, 100, 100.5, -3]),
            "plan": st.sampled_from(["gold", "Gold", "GOLD", "Ünïcode", "true", "no", "100"]),
            "slot": st.fixed_dictionaries({"day": st.sampled_from(["Mon", "mon"])}),
        },
    ),
    st.just(True),
    st.none(),
)
# A condition on those fields, its values drawn from theirs (or the general grammar's).
typed_values = st.sampled_from(
    ["true", "false", "yes", "0", "50", "100", "100.5", "-3", "gold", "GOLD", "no", "mon"]
)
typed_conditions = st.builds(
    lambda key, tail: key + tail,
    st.sampled_from(["booked", "amount", "plan", "slot.day", "Plan"]),
    st.one_of(
        st.sampled_from(["", " is set", " is not set"]),
        st.builds(lambda value: "=" + value, typed_values),
        st.builds(lambda op, value: op + value, st.sampled_from(["!=", ">", "<="]), typed_values),
    ),
)
lone_requests = st.builds(
    lambda where, filters, limit: {"where": [where], "limit": limit, **dict(filters)},
    typed_conditions,
    st.lists(st.sampled_from([("campaign_id", "camp-a"), ("provider", "prosper")]), max_size=1),
    st.integers(1, 4),
)


@given(
    first=st.lists(typed_versions, min_size=len(START_SLOTS), max_size=len(START_SLOTS)),
    later=st.lists(st.tuples(st.integers(0, len(START_SLOTS) - 1), typed_versions), max_size=4),
    requests=st.lists(lone_requests, min_size=1, max_size=8),
)
@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_generated_lone_conditions_find_and_count_the_same_calls_on_both_stores(
    sqlite_store: Any,
    postgres_store: Any,
    first: list[tuple[Any, ...]],
    later: list[tuple[Any, ...]],
    requests: list[dict[str, Any]],
) -> None:
    """One condition, with at most the campaign or provider besides: the requests both stores
    may count from their aggregates instead of the calls; every page of each the same."""
    account = uuid4().hex
    scope = {"prosper": account}
    ops = [(i, *version) for i, version in enumerate(first)] + [(i, *version) for i, version in later]
    answers: list[list[Any]] = []
    for store in (sqlite_store, postgres_store):
        for op in ops:
            await store.upsert(account, "prosper", [outcome_record(*op)])
        answers.append([await found(store, scope, asked) for asked in requests])
    assert answers[1] == answers[0]


@given(
    first=st.lists(outcome_versions, min_size=len(START_SLOTS), max_size=len(START_SLOTS)),
    later=st.lists(st.tuples(st.integers(0, len(START_SLOTS) - 1), outcome_versions), max_size=6),
    cut=st.integers(1, 8),
)
@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_generated_calls_get_the_same_campaign_summaries_from_both_stores(
    sqlite_store: Any,
    postgres_store: Any,
    first: list[tuple[Any, ...]],
    later: list[tuple[Any, ...]],
    cut: int,
) -> None:
    """Per campaign filter and date range, the summary as JSON (order of values included)."""
    account = uuid4().hex
    scope = {"prosper": account}
    ops = [(i, *version) for i, version in enumerate(first)] + [(i, *version) for i, version in later]
    answers: list[list[str]] = []
    for store in (sqlite_store, postgres_store):
        for start in range(0, len(ops), cut):
            await store.upsert(account, "prosper", [outcome_record(*op) for op in ops[start : start + cut]])
        answers.append(
            [
                (
                    await store.campaign_summary(
                        scope,
                        "prosper",
                        campaign,
                        from_date=None if since is None else BASE + timedelta(hours=since),
                        to_date=None if until is None else BASE + timedelta(hours=until),
                    )
                ).model_dump_json()
                for campaign in (None, "camp-a", "camp-b", "camp-none")
                for since, until in ((None, None), (1, None), (None, 2.5), (0.5, 2.5))
            ]
        )
    assert answers[1] == answers[0]
