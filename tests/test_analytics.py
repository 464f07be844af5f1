"""Campaign analytics: hand-checked figures, and the index computing exactly what the pure
functions compute."""

from __future__ import annotations

import sqlite3
import statistics
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from call_logs_mcp.analytics import CampaignSummary, flatten_extracted, summarize_calls
from call_logs_mcp.index import CallRecord, IndexStore, SyncState, scope_key
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.records import RecentCalls
from call_logs_mcp.models import Call, CallStatus, PlatformTotals, Turn

BASE = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


class SummaryStore(Protocol):
    """What both stores offer for summaries (the index tests below run on each)."""

    async def upsert(self, account: str, provider: str, records: list[CallRecord]) -> Any: ...
    async def save_sync_state(self, account: str, provider: str, state: SyncState) -> None: ...
    async def recent_calls(
        self, scope: dict[str, str], *, limit: int = 50, cursor: str | None = None
    ) -> RecentCalls: ...
    async def purge(self, older_than_days: int | None = None) -> int: ...
    async def campaign_summary(
        self,
        scope: dict[str, str],
        provider: str,
        campaign_id: str | None,
        *,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> CampaignSummary: ...


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SummaryStore]:
    """Each store in turn, empty: the SQLite index, and one on a real PostgreSQL server."""
    if request.param == "sqlite":
        index = IndexStore.open(tmp_path / "calls.db")
        try:
            yield index
        finally:
            index.close()
        return
    async with await PostgresStore.open(request.getfixturevalue("postgres_url")) as pg:
        yield pg


GREETING = [Turn(speaker="agent", text="Hello")]
CONVERSATION = [*GREETING, Turn(speaker="customer", text="Hi")]


def call(call_id: str, status: CallStatus, day: int, **fields: Any) -> Call:
    values: dict[str, Any] = {
        "provider": "prosper",
        "call_id": call_id,
        "campaign_id": "spring",
        "status": status,
        "started_at": BASE + timedelta(days=day, minutes=int(call_id[1:])),
        "transcript": CONVERSATION if status is CallStatus.COMPLETED else [],
    }
    values.update(fields)
    return Call.model_validate(values)


CAMPAIGN = [
    call("c1", CallStatus.COMPLETED, 0, duration_seconds=120.0, cost=0.5, currency="USD", qa_score=80.0,
         ended_reason="customer-ended-call",
         extracted_data={"booked": True, "slot": "morning", "age": 30, "tags": ["vip"],
                         "appointment": {"confirmed": True}}),
    call("c2", CallStatus.COMPLETED, 0, duration_seconds=300.0, cost=1.25, currency="USD", qa_score=95.0,
         ended_reason="assistant-ended-call",
         extracted_data={"booked": False, "slot": "evening", "age": 50, "appointment": {"confirmed": False}}),
    # A voicemail greeting transcribed as the customer's: still not a person answering.
    call("c3", CallStatus.VOICEMAIL, 1, duration_seconds=20.0, cost=0.1, currency="USD",
         ended_reason="voicemail", extracted_data={"slot": "morning"}, transcript=CONVERSATION),
    # The customer spoke before the line dropped: answered, though not completed.
    call("c4", CallStatus.FAILED, 2, cost=None, qa_score=40.0, ended_reason="error",
         extracted_data={"booked": True, "age": 41}, transcript=CONVERSATION),
    call("c5", CallStatus.IN_PROGRESS, 2),
    call("c6", CallStatus.NO_ANSWER, 3, duration_seconds=0.0, cost=0.0, currency="USD",
         ended_reason="no-answer"),
    call("c7", CallStatus.COMPLETED, 3, duration_seconds=610.0, cost=2.0, currency="USD", qa_score=62.5,
         ended_reason="customer-ended-call", extracted_data={"booked": True, "slot": "morning", "age": 65}),
    call("c8", CallStatus.FAILED, 4, duration_seconds=5.0, ended_reason="error", transcript=GREETING),
]  # fmt: skip


def test_a_small_campaign_summary_matches_figures_computed_by_hand() -> None:
    summary = summarize_calls(CAMPAIGN, provider="prosper", campaign_id="spring")
    statuses = Counter(c.status.value for c in CAMPAIGN)
    final = [c for c in CAMPAIGN if c.status is not CallStatus.IN_PROGRESS]
    durations = sorted(c.duration_seconds for c in CAMPAIGN if c.duration_seconds is not None)
    qa = [c.qa_score for c in CAMPAIGN if c.qa_score is not None]

    assert summary.totals.calls == len(CAMPAIGN) and summary.totals.calls_source == "index"
    assert summary.by_status == dict(statuses)
    # c5 (in progress) has no ended reason: it is counted apart, not as "unknown".
    assert summary.by_ended_reason == dict(Counter(c.ended_reason for c in CAMPAIGN if c.ended_reason))
    assert summary.ended_reason_unreported == 1
    assert summary.final_calls == len(final) == 7
    # c1, c2, c7 (completed) and c4 (failed after the customer spoke); not c3 (voicemail).
    assert summary.answered_calls == 4
    assert summary.connect_rate == pytest.approx(4 / 7, abs=1e-3)
    assert summary.voicemail_rate == pytest.approx(statuses["voicemail"] / len(final), abs=1e-3)
    assert summary.completion_rate == pytest.approx(statuses["completed"] / len(final), abs=1e-3)
    assert summary.duration.calls_with_duration == len(durations)
    assert summary.duration.total_seconds == sum(durations)
    assert summary.duration.mean_seconds == pytest.approx(statistics.fmean(durations), abs=1e-3)
    assert summary.duration.median_seconds == pytest.approx(statistics.median(durations))
    assert summary.duration.p90_seconds == pytest.approx(
        statistics.quantiles(durations, n=10, method="inclusive")[8], abs=1e-3
    )
    assert summary.duration.max_seconds == max(durations)
    assert summary.cost.total == pytest.approx(sum(c.cost for c in CAMPAIGN if c.cost is not None))
    assert summary.cost.currency == "USD"
    assert summary.cost.calls_with_cost == sum(1 for c in CAMPAIGN if c.cost is not None)
    assert summary.qa.scored_calls == len(qa)
    assert summary.qa.mean == pytest.approx(statistics.fmean(qa), abs=1e-3)
    assert (summary.qa.min, summary.qa.max, summary.qa.scale_max) == (min(qa), max(qa), 100.0)
    assert sum(b.calls for b in summary.qa.distribution) == len(qa)
    assert [b.calls for b in summary.qa.distribution if b.low <= 62.5 < b.high] == [1]
    days = Counter(c.started_at.date().isoformat() for c in CAMPAIGN if c.started_at)
    assert summary.calls_per_day == dict(sorted(days.items()))
    assert summary.first_call_at == min(c.started_at for c in CAMPAIGN if c.started_at)
    assert summary.last_call_at == max(c.started_at for c in CAMPAIGN if c.started_at)


def test_the_duration_histogram_and_failed_calls_per_day_match_a_count_by_hand() -> None:
    summary = summarize_calls(CAMPAIGN, provider="prosper", campaign_id="spring")
    # Durations 0, 5, 20, 120, 300, 610 s over the buckets <15, 15-30, 30-60, 60-120, 120-300,
    # 300-600, 600+ (each bucket holds its low edge, not its high one).
    assert [(b.low_seconds, b.high_seconds, b.calls) for b in summary.duration.histogram] == [
        (0.0, 15.0, 2),
        (15.0, 30.0, 1),
        (30.0, 60.0, 0),
        (60.0, 120.0, 0),
        (120.0, 300.0, 1),
        (300.0, 600.0, 1),
        (600.0, None, 1),
    ]
    # c4 on day 2 and c8 on day 4.
    assert summary.failed_per_day == {
        (BASE + timedelta(days=2)).date().isoformat(): 1,
        (BASE + timedelta(days=4)).date().isoformat(): 1,
    }


async def test_the_index_counts_the_histogram_and_failed_days_as_the_pure_path_does(
    store: SummaryStore,
) -> None:
    await store.upsert("acct", "prosper", [CallRecord(c) for c in CAMPAIGN])
    pure = summarize_calls(CAMPAIGN, provider="prosper", campaign_id="spring")
    # Without dates (value indexes, SQL counts) and with a range (values loaded).
    for since in (None, BASE):
        indexed = await store.campaign_summary({"prosper": "acct"}, "prosper", "spring", from_date=since)
        assert indexed.duration.histogram == pure.duration.histogram
        assert indexed.failed_per_day == pure.failed_per_day


def test_extracted_data_is_aggregated_by_type() -> None:
    summary = summarize_calls(CAMPAIGN, provider="prosper", campaign_id="spring")
    fields = {(f.name, f.kind): f for f in summary.extracted_fields}
    booked = [c.extracted_data["booked"] for c in CAMPAIGN if "booked" in c.extracted_data]
    ages = [c.extracted_data["age"] for c in CAMPAIGN if "age" in c.extracted_data]
    slots = Counter(c.extracted_data["slot"] for c in CAMPAIGN if "slot" in c.extracted_data)

    assert fields[("booked", "boolean")].calls == len(booked)
    assert fields[("booked", "boolean")].true_count == sum(booked)
    assert fields[("booked", "boolean")].true_rate == pytest.approx(sum(booked) / len(booked), abs=1e-3)
    age = fields[("age", "number")]
    assert (age.calls, age.min, age.max) == (len(ages), min(ages), max(ages))
    assert age.mean == pytest.approx(statistics.fmean(ages), abs=1e-3)
    slot = fields[("slot", "text")]
    assert slot.values == dict(slots.most_common()) and slot.distinct_values == len(slots)
    assert not slot.free_text
    assert fields[("appointment.confirmed", "boolean")].true_count == 1
    assert fields[("tags", "list")].calls == 1


def test_many_distinct_strings_are_reported_as_free_text_with_only_repeated_values() -> None:
    notes = [f"note number {i}" for i in range(15)] + ["same", "same", "same"]
    calls = [call(f"n{i}", CallStatus.COMPLETED, 0, extracted_data={"notes": n}) for i, n in enumerate(notes)]
    (field,) = summarize_calls(calls, provider="prosper", campaign_id="spring").extracted_fields
    assert field.free_text
    assert field.distinct_values == len(set(notes))
    assert field.values == {"same": 3}


def test_notable_calls_name_the_longest_the_lowest_qa_and_recent_failures() -> None:
    summary = summarize_calls(CAMPAIGN, provider="prosper", campaign_id="spring")
    by_reason: dict[str, list[str]] = {}
    for notable in summary.notable_calls:
        by_reason.setdefault(notable.why, []).append(notable.call_id)
    with_duration = [c for c in CAMPAIGN if c.duration_seconds is not None]
    scored = [c for c in CAMPAIGN if c.qa_score is not None]
    failed = [c for c in CAMPAIGN if c.status is CallStatus.FAILED]
    assert by_reason["longest"] == [
        c.call_id for c in sorted(with_duration, key=lambda c: -(c.duration_seconds or 0))[:3]
    ]
    assert by_reason["lowest_qa"] == [c.call_id for c in sorted(scored, key=lambda c: c.qa_score or 0)[:3]]
    assert by_reason["failed"] == [
        c.call_id for c in sorted(failed, key=lambda c: c.started_at or BASE, reverse=True)[:3]
    ]
    assert all(n.uri == f"calls://prosper/{n.call_id}" for n in summary.notable_calls)


def test_platform_totals_become_the_headline_and_are_marked_as_the_platforms() -> None:
    platform = PlatformTotals(calls=20, duration_seconds=5_000.0, cost=12.5, currency="USD")
    summary = summarize_calls(CAMPAIGN, provider="callcamp", campaign_id="spring", platform=platform)
    assert (summary.totals.calls, summary.totals.calls_source) == (20, "platform")
    assert (summary.totals.duration_seconds, summary.totals.duration_source) == (5_000.0, "platform")
    assert (summary.totals.cost, summary.totals.cost_source) == (12.5, "platform")
    assert summary.coverage.platform_calls == 20
    assert summary.coverage.complete is False
    assert f"{len(CAMPAIGN)} of the 20 calls" in summary.coverage.note


def test_mixed_currencies_are_totalled_per_currency_not_added_up() -> None:
    calls = [
        call("m1", CallStatus.COMPLETED, 0, cost=1.5, currency="USD"),
        call("m2", CallStatus.COMPLETED, 0, cost=2.0, currency="EUR"),
        call("m3", CallStatus.COMPLETED, 0, cost=0.5, currency="USD"),
    ]
    summary = summarize_calls(calls, provider="prosper", campaign_id="spring")
    assert summary.cost.total is None and summary.cost.currency is None
    assert summary.cost.by_currency == {"EUR": 2.0, "USD": 2.0}


def test_an_empty_campaign_summarises_to_nothing_measured_without_failing() -> None:
    summary = summarize_calls([], provider="prosper", campaign_id="none")
    assert summary.totals.calls == 0
    # No duration or cost was measured: None, not 0 seconds or 0 of a currency.
    assert summary.totals.duration_seconds is None and summary.totals.cost is None
    assert summary.connect_rate is None and summary.duration.median_seconds is None
    assert summary.voicemail_rate is None and summary.completion_rate is None
    assert summary.qa.distribution == [] and summary.extracted_fields == []
    assert summary.coverage.note.startswith("No calls in the local index")
    assert "0 calls" not in summary.coverage.note


def test_a_reason_the_platform_reports_as_unknown_stays_unknown_and_a_missing_one_is_apart() -> None:
    calls = [
        call("u1", CallStatus.COMPLETED, 0, ended_reason="unknown"),
        call("u2", CallStatus.COMPLETED, 0, ended_reason=None),
        call("u3", CallStatus.FAILED, 0, ended_reason="error"),
    ]
    summary = summarize_calls(calls, provider="prosper", campaign_id="spring")
    assert summary.by_ended_reason == {"error": 1, "unknown": 1}
    assert summary.ended_reason_unreported == 1


def test_calls_without_durations_costs_or_scores_leave_those_totals_unmeasured() -> None:
    calls = [call(f"n{i}", CallStatus.COMPLETED, 0) for i in range(3)]
    summary = summarize_calls(calls, provider="callcamp", campaign_id="spring")
    assert summary.totals.duration_seconds is None and summary.duration.calls_with_duration == 0
    assert summary.totals.cost is None and summary.cost.calls_with_cost == 0
    assert summary.qa.scored_calls == 0
    assert summary.ended_reason_unreported == 3 and summary.by_ended_reason == {}


def test_a_one_call_coverage_note_says_call_not_calls() -> None:
    one = [call("o1", CallStatus.COMPLETED, 0)]
    assert (
        "from 1 call in the local index" in summarize_calls(one, provider="p", campaign_id="c").coverage.note
    )
    platform = PlatformTotals(calls=1)
    note = summarize_calls(one, provider="p", campaign_id="c", platform=platform).coverage.note
    assert note.startswith("Computed from 1 call the platform reports.")


def test_flattening_keeps_nested_values_and_drops_empty_ones() -> None:
    flat = flatten_extracted(
        {"a": {"b": {"c": 1, "d": {"too": {"deep": True}}}}, "empty": "", "none": None, "nan": float("nan")}
    )
    assert [(v.key, v.kind.label) for v in flat] == [("a.b.c", "number"), ("a.b.d", "list")]


# --- the index computes the same summary -----------------------------------------------------

SCOPE_PROVIDER = "prosper"

extracted_values = st.one_of(
    st.booleans(),
    st.integers(-5, 100),
    st.sampled_from(["yes", "no", "maybe", " padded "]),
    st.integers(0, 20).map(lambda i: f"code {i}"),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.none(),
    st.fixed_dictionaries({"x": st.booleans(), "y": st.sampled_from(["p", "q"])}),
)

call_values = st.fixed_dictionaries(
    {
        "campaign_id": st.sampled_from(["camp", "camp", "camp", "other", None]),
        "status": st.sampled_from(list(CallStatus)),
        "started_at": st.one_of(
            st.none(), st.integers(0, 60 * 24 * 9).map(lambda m: BASE + timedelta(minutes=m))
        ),
        "duration_seconds": st.one_of(
            st.none(),
            st.integers(0, 3600).map(float),
            st.integers(0, 3_600_000).map(lambda ms: ms / 1000),
        ),
        "cost": st.one_of(st.none(), st.integers(0, 10_000).map(lambda c: c / 100)),
        "currency": st.sampled_from([None, "USD", "USD", "EUR"]),
        "qa_score": st.one_of(
            st.none(),
            st.integers(0, 100).map(float),
            st.integers(0, 5).map(float),
            st.integers(0, 1000).map(lambda t: t / 10),
        ),
        # "unknown" is a reason a platform can report; None and "" are no reason at all.
        "ended_reason": st.sampled_from([None, "", "hangup", "error", "voicemail", "unknown"]),
        "extracted_data": st.dictionaries(
            st.sampled_from(["booked", "slot", "age", "notes", "tags", "nested"]), extracted_values
        ),
        "transcript": st.lists(
            st.builds(Turn, speaker=st.sampled_from(["agent", "customer", "system"]), text=st.just("hi")),
            max_size=3,
        ),
    }
)
calls_strategy = st.lists(call_values, max_size=40)

# Later writes to the same account: (call number, its new values, whether the record has the
# call's details; one without them only files a stored call under a campaign). Numbers past the
# first calls add new calls.
changes_strategy = st.lists(st.tuples(st.integers(0, 44), call_values, st.booleans()), max_size=15)


async def _both_ways(
    store: SummaryStore, raw: list[dict[str, Any]]
) -> tuple[CampaignSummary, CampaignSummary, list[Call]]:
    account = uuid.uuid4().hex[:16]
    calls = [Call(provider=SCOPE_PROVIDER, call_id=f"id{i}", **values) for i, values in enumerate(raw)]
    await store.upsert(account, SCOPE_PROVIDER, [CallRecord(c) for c in calls])
    return await _compared(store, account, calls)


def _rewritten(
    calls: list[Call], changes: list[tuple[int, dict[str, Any], bool]]
) -> tuple[list[Call], list[CallRecord]]:
    """The records of `changes` and the calls the index holds once it stores them (as `upsert`
    documents: a record without a campaign keeps the known one; one without details only refiles
    the stored call under its campaign)."""
    stored = {c.call_id: c for c in calls}
    records = []
    for number, values, details in changes:
        call = Call(provider=SCOPE_PROVIDER, call_id=f"id{number}", **values)
        old = stored.get(call.call_id)
        details = details or old is None
        records.append(CallRecord(call, has_details=details))
        if old is None:
            stored[call.call_id] = call
        elif not details:
            if call.campaign_id:
                stored[call.call_id] = old.model_copy(update={"campaign_id": call.campaign_id})
        else:
            campaign = call.campaign_id if call.campaign_id is not None else old.campaign_id
            stored[call.call_id] = call.model_copy(update={"campaign_id": campaign})
    return list(stored.values()), records


async def _changed_both_ways(
    store: SummaryStore,
    raw: list[dict[str, Any]],
    changes: list[tuple[int, dict[str, Any], bool]],
    cut: int | None,
) -> tuple[CampaignSummary, CampaignSummary, list[Call]]:
    """As `_both_ways`, then after the changes are stored, then after calls older than `cut` days
    past BASE are purged (when given)."""
    account = uuid.uuid4().hex[:16]
    calls = [Call(provider=SCOPE_PROVIDER, call_id=f"id{i}", **values) for i, values in enumerate(raw)]
    await store.upsert(account, SCOPE_PROVIDER, [CallRecord(c) for c in calls])
    indexed, pure, _ = await _compared(store, account, calls)
    assert indexed.model_dump_json() == pure.model_dump_json()
    calls, records = _rewritten(calls, changes)
    await store.upsert(account, SCOPE_PROVIDER, records)
    if cut is not None:
        indexed, pure, _ = await _compared(store, account, calls)
        assert indexed.model_dump_json() == pure.model_dump_json()
        await store.purge(max(0, (datetime.now(UTC) - BASE).days - cut))
        kept = await _stored_ids(store, account)
        assert all(c.call_id in kept for c in calls if c.started_at is None)
        calls = [c for c in calls if c.call_id in kept]
    return await _compared(store, account, calls)


async def _stored_ids(store: SummaryStore, account: str) -> set[str]:
    """Every call the store holds for `account`."""
    ids: set[str] = set()
    cursor: str | None = None
    while True:
        page = await store.recent_calls({SCOPE_PROVIDER: account}, limit=200, cursor=cursor)
        ids |= {c.call_id for c in page.calls}
        cursor = page.next_cursor
        if cursor is None:
            return ids


def _without_nul(value: Any) -> Any:
    """`value` with NUL as U+FFFD in every string (PostgreSQL text cannot hold NUL: its index
    stores extracted text values so, the one stored difference between the stores)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


async def _compared(
    store: SummaryStore, account: str, calls: list[Call]
) -> tuple[CampaignSummary, CampaignSummary, list[Call]]:
    if isinstance(store, PostgresStore):
        calls = [c.model_copy(update={"extracted_data": _without_nul(c.extracted_data)}) for c in calls]
    indexed = await store.campaign_summary({SCOPE_PROVIDER: account}, SCOPE_PROVIDER, "camp")
    in_campaign = [c for c in calls if c.campaign_id == "camp"]
    pure = summarize_calls(in_campaign, provider=SCOPE_PROVIDER, campaign_id="camp")
    # The whole account too: its median and p90 come from another index.
    everything = await store.campaign_summary({SCOPE_PROVIDER: account}, SCOPE_PROVIDER, None)
    whole = summarize_calls(calls, provider=SCOPE_PROVIDER, campaign_id=None)
    assert everything.model_dump_json() == whole.model_dump_json()
    return indexed, pure, in_campaign


def assert_counts_add_up(summary: CampaignSummary, calls: list[Call]) -> None:
    """Every breakdown accounts for every call: reported values plus calls without one."""
    assert summary.totals.calls == len(calls)
    reported = Counter(c.ended_reason for c in calls if c.ended_reason)
    assert summary.by_ended_reason == dict(reported)
    assert sum(summary.by_ended_reason.values()) + summary.ended_reason_unreported == len(calls)
    final = [c for c in calls if c.status is not CallStatus.IN_PROGRESS]
    answered = [
        c
        for c in final
        if c.status is not CallStatus.VOICEMAIL and any(t.speaker == "customer" for t in c.transcript)
    ]
    assert (summary.final_calls, summary.answered_calls) == (len(final), len(answered))
    timed = [c.duration_seconds for c in calls if c.duration_seconds is not None]
    assert summary.duration.calls_with_duration == len(timed)
    assert summary.totals.duration_seconds == (pytest.approx(sum(timed)) if timed else None)
    assert summary.cost.calls_with_cost == sum(1 for c in calls if c.cost is not None)
    assert summary.qa.scored_calls == sum(1 for c in calls if c.qa_score is not None)
    assert sum(b.calls for b in summary.qa.distribution) == summary.qa.scored_calls
    if final:
        assert summary.connect_rate == pytest.approx(len(answered) / len(final), abs=1e-3)
        voicemail = sum(1 for c in final if c.status is CallStatus.VOICEMAIL)
        assert summary.voicemail_rate == pytest.approx(voicemail / len(final), abs=1e-3)
    else:
        assert summary.connect_rate is summary.voicemail_rate is summary.completion_rate is None


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=calls_strategy)
async def test_the_index_computes_exactly_the_summary_the_pure_functions_compute(
    store: SummaryStore, raw: list[dict[str, Any]]
) -> None:
    indexed, pure, calls = await _both_ways(store, raw)
    assert_counts_add_up(pure, calls)
    # As JSON, so the order of value counts, fields and notable calls is compared too.
    assert indexed.model_dump_json() == pure.model_dump_json()


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=calls_strategy, changes=changes_strategy, cut=st.one_of(st.none(), st.integers(0, 10)))
async def test_the_index_summary_stays_exact_after_calls_change_and_are_purged(
    store: SummaryStore,
    raw: list[dict[str, Any]],
    changes: list[tuple[int, dict[str, Any], bool]],
    cut: int | None,
) -> None:
    # The SQLite summary without dates reads aggregates kept by triggers: any sequence of writes
    # (status, campaign, cost and extracted data changed; calls re-keyed, refiled, purged) must
    # leave them equal to the summary of the calls the index holds.
    indexed, pure, calls = await _changed_both_ways(store, raw, changes, cut)
    assert_counts_add_up(pure, calls)
    assert indexed.model_dump_json() == pure.model_dump_json()


async def test_nothing_is_left_of_any_accounts_aggregates_once_everything_is_purged(
    store: SummaryStore,
) -> None:
    await _changed_both_ways(store, [], [(1, {"campaign_id": "camp", "cost": 1.5}, True)], None)
    await store.purge()
    account = uuid.uuid4().hex[:16]
    indexed, pure, _ = await _compared(store, account, [])
    assert indexed.model_dump_json() == pure.model_dump_json()
    if isinstance(store, IndexStore):
        leftovers = store.db.read_sync(
            lambda conn: [
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in (
                    "campaign_outcomes",
                    "campaign_days",
                    "campaign_fields",
                    "campaign_values",
                    "campaign_failed_days",
                )
            ]
        )
        assert leftovers == [0, 0, 0, 0, 0]
    else:
        assert isinstance(store, PostgresStore)
        async with store.db.transaction("counting") as conn:
            for table in ("campaign_outcomes", "campaign_days", "campaign_fields", "campaign_values"):
                row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
                assert row == (0,), table


async def test_a_date_range_summary_counts_only_calls_in_the_range(store: SummaryStore) -> None:
    start, end = BASE + timedelta(days=1), BASE + timedelta(days=3)
    await store.upsert("acct", "prosper", [CallRecord(c) for c in CAMPAIGN])
    summary = await store.campaign_summary(
        {"prosper": "acct"}, "prosper", "spring", from_date=start, to_date=end
    )
    inside = [c for c in CAMPAIGN if c.started_at and start <= c.started_at <= end]
    expected = summarize_calls(inside, provider="prosper", campaign_id="spring", from_date=start, to_date=end)
    assert summary.totals.calls == len(inside) < len(CAMPAIGN)
    assert summary.model_dump() == expected.model_dump()


async def test_the_index_summary_uses_platform_totals_of_a_synced_scope_and_says_when(
    store: SummaryStore,
) -> None:
    synced_at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    await store.upsert("acct", "prosper", [CallRecord(c) for c in CAMPAIGN])
    await store.save_sync_state(
        "acct",
        "prosper",
        SyncState(
            scope=scope_key("spring", None, None),
            campaign_id="spring",
            last_synced_at=synced_at,
            platform=PlatformTotals(calls=len(CAMPAIGN), duration_seconds=999.0),
        ),
    )
    summary = await store.campaign_summary({"prosper": "acct"}, "prosper", "spring")
    ranged = await store.campaign_summary({"prosper": "acct"}, "prosper", "spring", from_date=BASE)
    everything = await store.campaign_summary({"prosper": "acct"}, "prosper", None)
    assert summary.totals.duration_seconds == 999.0 and summary.totals.duration_source == "platform"
    assert summary.coverage.complete is True
    assert summary.coverage.last_synced_at == synced_at
    # A date range inside the synced campaign is covered by that sync, but the platform's totals
    # were for the whole campaign, so they are not used for the range.
    assert ranged.totals.duration_source == "index" and ranged.coverage.last_synced_at == synced_at
    # The whole provider was never synced: only the campaign was.
    assert everything.coverage.last_synced_at is None
    assert "has not been synced" in everything.coverage.note


async def test_an_index_from_before_customer_turns_were_stored_counts_answered_calls(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    store = IndexStore.open(path)
    try:
        await store.upsert("acct", "prosper", [CallRecord(c) for c in CAMPAIGN])
        expected = await store.campaign_summary({"prosper": "acct"}, "prosper", "spring")
    finally:
        store.close()
    # Back to schema 2 as released: no customer_turns column, the covering indexes without it;
    # and none of versions 4 to 7 (plain-word turns only, no counters or aggregates, no value
    # indexes, no agents, no failed calls per day).
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.executescript(
            """
            DROP TRIGGER calls_failed_counted;
            DROP TRIGGER calls_failed_uncounted;
            DROP TRIGGER calls_failed_recounted;
            DROP TABLE campaign_failed_days;
            DROP INDEX calls_agent;
            ALTER TABLE calls DROP COLUMN agent;
            DROP TABLE agents;
            DROP INDEX fields_flags;
            DROP TRIGGER calls_valued;
            DROP TRIGGER calls_unvalued;
            DROP TRIGGER calls_revalued;
            DROP TABLE campaign_values;
            DROP TRIGGER calls_counted;
            DROP TRIGGER calls_uncounted;
            DROP TRIGGER calls_recounted;
            DROP TABLE call_counts;
            DROP TRIGGER calls_aggregated;
            DROP TRIGGER calls_unaggregated;
            DROP TRIGGER calls_outcomes_reaggregated;
            DROP TRIGGER calls_days_reaggregated;
            DROP TRIGGER fields_aggregated;
            DROP TRIGGER fields_unaggregated;
            DROP TRIGGER fields_reaggregated;
            DROP TABLE campaign_outcomes;
            DROP TABLE campaign_days;
            DROP TABLE campaign_fields;
            DROP INDEX fields_numbers;
            DROP INDEX calls_duration_campaign;
            DROP INDEX calls_duration_source;
            DROP INDEX calls_qa_score_campaign;
            DROP INDEX calls_qa_score_source;
            CREATE VIRTUAL TABLE turns_v1 USING fts5 (
                text, speaker UNINDEXED, offset UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
            );
            INSERT INTO turns_v1 (rowid, text, speaker, offset)
                SELECT rowid, text, speaker, offset FROM turns
                WHERE speaker NOT IN ('summary', 'extracted', 'qa');
            DROP TABLE turns;
            ALTER TABLE turns_v1 RENAME TO turns;
            DROP INDEX calls_campaign;
            DROP INDEX calls_outcomes;
            ALTER TABLE calls DROP COLUMN customer_turns;
            CREATE INDEX calls_campaign ON calls (
                source, campaign, started_at, status, ended_reason, duration, cost, currency, qa_score,
                turn_count
            );
            CREATE INDEX calls_outcomes ON calls (
                source, campaign, status, ended_reason, currency, cost, turn_count
            );
            PRAGMA user_version = 2;
            """
        )
    conn.close()
    store = IndexStore.open(path)
    try:
        migrated = await store.campaign_summary({"prosper": "acct"}, "prosper", "spring")
    finally:
        store.close()
    assert migrated.answered_calls == expected.answered_calls == 4
    assert migrated.model_dump() == expected.model_dump()


def test_a_whole_number_of_seven_or_more_digits_is_counted_as_an_identifier_not_averaged() -> None:
    values = flatten_extracted(
        {"ref": 4155550100, "card": 4111111111111111.0, "age": 42, "amount": 999_999, "ratio": 1234567.5}
    )
    kinds = {v.key: (v.kind.label, v.num, v.text) for v in values}
    assert kinds == {
        "ref": ("text", None, "4155550100"),
        "card": ("text", None, "4111111111111111"),
        "age": ("number", 42.0, None),
        "amount": ("number", 999_999.0, None),
        "ratio": ("number", 1234567.5, None),
    }
