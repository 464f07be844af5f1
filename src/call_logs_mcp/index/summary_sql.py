"""Campaign summaries from the index: the facts (outcomes, timeline, values, failed calls,
extracted fields) aggregated in SQL, then summarised by `analytics` (the same code as the pure
path over calls in memory).

Without dates, outcomes, calls per day, extracted values and the calls per duration and QA
score are read from per-campaign aggregates the writes keep up to date (triggers: see
`migrations`, versions 4 and 5), a handful of rows per campaign (one per distinct value for
durations and scores). With a date range, the queries
aggregate the calls in the range: they name their index (`INDEXED BY`) and walk one campaign at
a time where that lets SQLite group without sorting; they were tuned on 100,000-call indexes
(`bench/bench_summary.py`).
"""

from __future__ import annotations

import bisect
import itertools
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from call_logs_mcp import analytics
from call_logs_mcp.analytics import (
    CampaignFacts,
    CampaignSummary,
    FieldFacts,
    FieldKind,
    NotableCandidate,
    ValueStats,
)
from call_logs_mcp.index.accounts import AccountScope, scope_sources, source_campaign_refs
from call_logs_mcp.index.db import Database, placeholders
from call_logs_mcp.index.migrations import VALUE_MEASURES
from call_logs_mcp.index.reads import covering_sync
from call_logs_mcp.index.records import (
    STATE_COLUMNS,
    SyncState,
    parse_ts,
    scope_key,
    sql_text,
    sync_state,
    ts,
)
from call_logs_mcp.index.rowids import SEQ_BITS, SPILL_MINUTES, start_band
from call_logs_mcp.models import CallStatus, PlatformTotals


@dataclass(frozen=True)
class _SummaryContext:
    source: int | None
    refs: list[int]
    name: str | None
    state: SyncState | None
    last_synced_at: datetime | None


def _summary_context(
    conn: sqlite3.Connection,
    scope: AccountScope,
    provider: str,
    campaign_id: str | None,
    from_date: datetime | None,
    to_date: datetime | None,
) -> _SummaryContext:
    """The source, the campaign refs (every campaign, 0 included, when campaign_id is None), the
    campaign's name, and the sync bookkeeping of exactly this scope and of one covering it."""
    sources = scope_sources(conn, scope, provider)
    if not sources:
        return _SummaryContext(None, [], None, None, None)
    source = sources[0].id
    name: str | None = None
    if campaign_id is None:
        refs = source_campaign_refs(conn, source)
    else:
        row = conn.execute(
            "SELECT id, name FROM campaigns WHERE source = ? AND campaign_id = ?",
            (source, campaign_id),
        ).fetchone()
        refs = [int(row[0])] if row else []
        name = row[1] if row else None
    state_row = conn.execute(
        f"SELECT {STATE_COLUMNS} FROM sync_state s WHERE s.source = ? AND s.scope = ?",
        (source, scope_key(campaign_id, from_date, to_date)),
    ).fetchone()
    return _SummaryContext(
        source,
        refs,
        name,
        sync_state("", state_row) if state_row else None,
        covering_sync(conn, source, campaign_id, from_date, to_date),
    )


async def campaign_summary(
    db: Database,
    scope: AccountScope,
    provider: str,
    campaign_id: str | None,
    *,
    from_date: datetime | None,
    to_date: datetime | None,
    live: PlatformTotals | None = None,
) -> CampaignSummary:
    """The analytics summary of one provider's campaign (or all its calls when campaign_id is
    None), optionally limited to a date range, computed from the index. `live`: the platform's
    own totals for exactly this scope, read just now (else those stored by its last sync).
    Raises StoreError."""
    campaign_id = sql_text(campaign_id)

    since, until = ts(from_date), ts(to_date)
    ctx = await db.read(
        lambda conn: _summary_context(conn, scope, provider, campaign_id, from_date, to_date),
        "summarising a campaign",
    )
    facts = CampaignFacts()
    if ctx.source is not None and ctx.refs:
        facts = await _campaign_facts(db, ctx.source, ctx.refs, since, until)
    return summary_of(
        facts,
        provider,
        campaign_id,
        ctx.name,
        from_date=from_date,
        to_date=to_date,
        state=ctx.state,
        last_synced_at=ctx.last_synced_at,
        live=live,
    )


def summary_of(
    facts: CampaignFacts,
    provider: str,
    campaign_id: str | None,
    name: str | None,
    *,
    from_date: datetime | None,
    to_date: datetime | None,
    state: SyncState | None,
    last_synced_at: datetime | None,
    live: PlatformTotals | None,
) -> CampaignSummary:
    """The summary of `facts` (from either store): the platform's totals are `live` ones, else
    those the scope's last completed sync stored."""
    platform = live or (state.platform if state and state.last_synced_at else None)
    return analytics.summarize(
        facts,
        provider=provider,
        campaign_id=campaign_id,
        campaign_name=name,
        from_date=from_date,
        to_date=to_date,
        platform=platform if platform and platform.calls is not None else None,
        platform_by_status=state.status_totals if state else None,
        last_synced_at=last_synced_at,
    )


async def _campaign_facts(
    db: Database, source: int, refs: list[int], since: str, until: str
) -> CampaignFacts:
    def aggregates(
        conn: sqlite3.Connection,
    ) -> tuple[
        CampaignFacts,
        tuple[dict[str, int], datetime | None, datetime | None],
        tuple[list[NotableCandidate], dict[str, int]],
        tuple[list[FieldFacts], dict[str, dict[str, int]]],
    ]:
        return (
            _outcome_facts(conn, source, refs, since, until),
            _timeline_facts(conn, source, refs, since, until),
            _failed_facts(conn, source, refs, since, until),
            _field_facts(conn, source, refs, since, until),
        )

    # Two threads: one mostly inside SQLite (aggregates; the GIL is released meanwhile), one
    # parsing and sorting values. Queries that return many rows to Python would contend for
    # the GIL on every row, so the split is by that, not by query count.
    (outcomes, timeline, failed, (fields, texts)), values = await db.read_pair(
        aggregates, lambda conn: _value_facts(conn, source, refs, since, until), "summarising a campaign"
    )
    return assemble_facts(outcomes, timeline, values, failed, (fields, texts))


Timeline = tuple[dict[str, int], datetime | None, datetime | None]
Values = tuple[ValueStats, ValueStats, list[NotableCandidate], list[NotableCandidate]]
Failed = tuple[list[NotableCandidate], dict[str, int]]
Fields = tuple[list[FieldFacts], dict[str, dict[str, int]]]


def assemble_facts(
    outcomes: CampaignFacts, timeline: Timeline, values: Values, failed: Failed, fields: Fields
) -> CampaignFacts:
    """One campaign's facts from its parts (as either store reads them)."""
    facts = outcomes
    if not facts.calls:
        return CampaignFacts()
    facts.per_day, facts.first_call_at, facts.last_call_at = timeline
    facts.durations, facts.qa_scores, facts.longest, facts.lowest_qa = values
    facts.recent_failed, facts.failed_per_day = failed
    slots, texts = fields
    for field in slots:
        if field.kind is FieldKind.TEXT:
            counts = texts.get(field.key, {})
            field.distinct, field.top = len(counts), analytics.top_text_values(counts)
    facts.fields = slots
    return facts


# --- the facts, one function per part -------------------------------------------------------


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _call_where(refs: Sequence[int], since: str, until: str, source: int) -> tuple[str, list[Any]]:
    where = f"source = ? AND campaign IN ({placeholders(refs)})"
    params: list[Any] = [source, *refs]
    if since:
        where += " AND started_at >= ?"
        params.append(since)
    if until:
        where += " AND started_at <= ? AND started_at != ''"
        params.append(until)
    return where, params


_CAMPAIGN_INDEX = "calls INDEXED BY calls_campaign"

# A person answered: a final call, not voicemail, in which the customer spoke (analytics); SQL
# either store runs.
_NOT_ANSWERED = ", ".join(f"'{status.value}'" for status in sorted(analytics.NOT_ANSWERED))
ANSWERED_SQL = f"(status NOT IN ({_NOT_ANSWERED}) AND customer_turns > 0)"


def _outcome_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> CampaignFacts:
    """Counts by status and ended reason (reported ones; the others counted apart), costs, calls
    with a transcript, calls a person answered (without dates: from `campaign_outcomes`)."""
    if since or until:
        where, params = _call_where(refs, since, until, source)
        rows = conn.execute(
            "SELECT status, ended_reason, currency, count(*), total(cost), count(cost), "
            f"total(turn_count > 0), total({ANSWERED_SQL}) FROM {_CAMPAIGN_INDEX} WHERE {where} "
            "GROUP BY status, ended_reason, currency",
            params,
        ).fetchall()
    else:
        # Kept up to date by triggers (migrations): a few rows per campaign.
        rows = _aggregate_rows(
            conn,
            "status, ended_reason, currency, calls, cost, with_cost, with_turns, answered",
            "campaign_outcomes",
            source,
            refs,
        )
    return outcome_facts(rows)


def outcome_facts(rows: Sequence[Sequence[Any]]) -> CampaignFacts:
    """The outcome facts of rows (status, ended reason, currency, calls, cost sum, calls with a
    cost, with turns, answered), parts of one scope that merge by addition."""
    facts = CampaignFacts()
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    costs: dict[str, float] = {}
    for call_status, reason, currency, count, cost, with_cost, with_turns, answered in rows:
        facts.calls += count
        facts.calls_with_transcript += int(with_turns)
        facts.answered += int(answered)
        by_status[call_status] = by_status.get(call_status, 0) + count
        if reason:
            by_reason[reason] = by_reason.get(reason, 0) + count
        else:
            facts.ended_reason_unreported += count
        if with_cost:
            facts.calls_with_cost += with_cost
            costs[currency or ""] = costs.get(currency or "", 0.0) + cost
    facts.by_status = by_status
    facts.by_ended_reason = by_reason
    facts.cost_by_currency = costs
    return facts


def _aggregate_rows(
    conn: sqlite3.Connection, columns: str, table: str, source: int, refs: Sequence[int]
) -> list[Any]:
    """The rows of a per-campaign aggregate table for these campaigns (one seek for one
    campaign; for several, the source's rows, those of other campaigns left out)."""
    if len(refs) == 1:
        return conn.execute(
            f"SELECT {columns} FROM {table} WHERE source = ? AND campaign = ?", (source, refs[0])
        ).fetchall()
    wanted = set(refs)
    return [
        row[1:]
        for row in conn.execute(f"SELECT campaign, {columns} FROM {table} WHERE source = ?", (source,))
        if row[0] in wanted
    ]


def _timeline_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> tuple[dict[str, int], datetime | None, datetime | None]:
    """Calls per day (without dates: from `campaign_days`), first and last start time."""
    days: dict[str, int] = {}
    if since or until:
        where, params = _call_where(refs, since, until, source)
        rows = conn.execute(
            f"SELECT substr(started_at, 1, 10), count(*) FROM {_CAMPAIGN_INDEX} "
            f"WHERE {where} AND started_at != '' GROUP BY 1",
            params,
        ).fetchall()
        first, last = conn.execute(
            f"SELECT min(started_at), max(started_at) FROM {_CAMPAIGN_INDEX} "
            f"WHERE {where} AND started_at != ''",
            params,
        ).fetchone()
    else:
        rows = _aggregate_rows(conn, "day, calls", "campaign_days", source, refs)
        # One query per bound: SQLite seeks the index for a lone min() or max(), and scans the
        # campaign's rows for both together.
        bounds = [
            tuple(
                conn.execute(
                    f"SELECT {bound}(started_at) FROM {_CAMPAIGN_INDEX} "
                    "WHERE source = ? AND campaign = ? AND started_at > ''",
                    (source, ref),
                ).fetchone()[0]
                for bound in ("min", "max")
            )
            for ref in refs
        ]
        firsts = [b[0] for b in bounds if b[0]]
        lasts = [b[1] for b in bounds if b[1]]
        first, last = (min(firsts) if firsts else None), (max(lasts) if lasts else None)
    for day, count in rows:
        days[day] = days.get(day, 0) + count
    return days, parse_ts(first), parse_ts(last)


def _value_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> tuple[ValueStats, ValueStats, list[NotableCandidate], list[NotableCandidate]]:
    """Duration and QA statistics (the same figures as the pure path), and the longest and
    lowest-scored calls.

    Without dates, from the per-campaign counts of each value (`campaign_values`, kept at write
    time): one row per distinct value, whatever the number of calls. A date range selects rows
    those counts cannot split, so its values are loaded."""
    ordered_by: dict[str, tuple[str, str, list[Any]]] = {}
    if not since and not until:
        if len(refs) == 1:
            where, params = "source = ? AND campaign = ?", [source, refs[0]]
            ordered_by = {c: (f"calls_{c}_campaign", where, params) for c in ("duration", "qa_score")}
        elif set(refs) == set(source_campaign_refs(conn, source)):
            whole = "source = ?"
            ordered_by = {c: (f"calls_{c}_source", whole, [source]) for c in ("duration", "qa_score")}
    where, params = _call_where(refs, since, until, source)
    n = analytics.NOTABLE_EACH
    stats: list[ValueStats] = []
    bounds: list[float | None] = []
    for column, bins, edges, nth in (
        ("duration", False, analytics.DURATION_EDGES, -n),
        ("qa_score", True, (), n - 1),
    ):
        if not since and not until:
            counted = _counted_values(conn, source, refs, column)
        else:
            counted = [(value, 1) for value in _fetch_sorted(conn, column, where, params)]
        value_stats, bound = counted_stats(counted, bins=bins, edges=edges, nth=nth)
        stats.append(value_stats)
        bounds.append(bound)
    longest: list[NotableCandidate] = []
    lowest: list[NotableCandidate] = []
    for column, op, bound, out in (
        ("duration", ">=", bounds[0], longest),
        ("qa_score", "<=", bounds[1], lowest),
    ):
        if bound is None:
            continue
        # Every row reaching the N-th best value is a candidate (ties are broken by pick_*). An
        # index on the value reaches them in one seek; the campaign index would be scanned.
        table, row_where, row_params = _CAMPAIGN_INDEX, where, params
        if column in ordered_by:
            index, row_where, row_params = ordered_by[column]
            table = f"calls INDEXED BY {index}"
        out += [
            NotableCandidate(call_id, float(value), parse_ts(started))
            for call_id, value, started in conn.execute(
                f"SELECT call_id, {column}, started_at FROM {table} WHERE {row_where} "
                f"AND {column} NOT NULL AND {column} {op} ?",
                [*row_params, bound],
            )
        ]
    return stats[0], stats[1], analytics.pick_longest(longest), analytics.pick_lowest_qa(lowest)


def _counted_values(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], column: str
) -> list[tuple[float, int]]:
    """(value, how many calls have it) of `column` over the campaigns `refs`, ascending."""
    return [
        (float(value), int(calls))
        for value, calls in conn.execute(
            f"SELECT value, sum(calls) FROM campaign_values WHERE source = ? AND campaign IN "
            f"({placeholders(refs)}) AND measure = ? GROUP BY value HAVING sum(calls) > 0 ORDER BY value",
            [source, *refs, VALUE_MEASURES[column]],
        )
    ]


def _fetch_sorted(conn: sqlite3.Connection, column: str, where: str, params: list[Any]) -> list[float]:
    # One JSON array built inside SQLite (the GIL is released meanwhile), parsed in C.
    (raw,) = conn.execute(
        f"SELECT json_group_array({column}) FROM {_CAMPAIGN_INDEX} WHERE {where} AND {column} NOT NULL",
        params,
    ).fetchone()
    parsed: list[float] = json.loads(raw)
    parsed.sort()
    return parsed


def counted_stats(
    counted: Sequence[tuple[float, int]], *, bins: bool, edges: Sequence[float], nth: int
) -> tuple[ValueStats, float | None]:
    """`analytics.value_stats` of values given as (value, count) ascending (the histogram over
    `edges` too), and the value of rank `nth` (negative: from the top). Shared by both stores."""
    if not counted:
        return ValueStats(), None
    ends = list(itertools.accumulate(c for _, c in counted))
    count = ends[-1]

    def at(rank: int) -> float:
        return counted[bisect.bisect_right(ends, rank)][0]

    def quantile(q: float) -> float:
        first, second = analytics.quantile_ranks(q, count)
        return analytics.interpolate(at(first), at(second), q, count)

    counts: list[int] = []
    if bins:
        width = analytics.qa_scale(counted[-1][0]) / analytics.QA_BINS
        counts = [0] * analytics.QA_BINS
        for value, number in counted:
            counts[min(analytics.QA_BINS - 1, max(0, int(value / width)))] += number
    histogram: list[int] = []
    if edges:
        # Calls below each edge, from the running counts: the bucket counts are their differences.
        below = [ends[i - 1] if i else 0 for i in (bisect.bisect_left(counted, (edge,)) for edge in edges)]
        cuts = [0, *below, count]
        histogram = [cuts[i + 1] - cuts[i] for i in range(len(edges) + 1)]
    stats = ValueStats(
        count=count,
        # Exact, then rounded once: the same float as math.fsum over the values (the pure path).
        total=float(sum(Fraction(value) * number for value, number in counted)),
        min=counted[0][0],
        max=counted[-1][0],
        median=quantile(0.5),
        p90=quantile(0.9),
        bins=counts,
        histogram=histogram,
    )
    rank = count + nth if nth < 0 else nth
    return stats, at(max(0, min(count - 1, rank)))


def _failed_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> tuple[list[NotableCandidate], dict[str, int]]:
    """The most recent failed calls (ties broken as in analytics), and failed calls per day."""
    where, params = _call_where(refs, since, until, source)
    failed_where = f"{where} AND status = ?"
    failed_params = [*params, CallStatus.FAILED.value]
    bound = conn.execute(
        f"SELECT started_at FROM {_CAMPAIGN_INDEX} WHERE {failed_where} "
        "ORDER BY started_at DESC LIMIT 1 OFFSET ?",
        [*failed_params, analytics.NOTABLE_EACH - 1],
    ).fetchone()
    rows = conn.execute(
        f"SELECT call_id, started_at FROM {_CAMPAIGN_INDEX} WHERE {failed_where} AND started_at >= ?",
        [*failed_params, bound[0] if bound else ""],
    ).fetchall()
    if not since and not until:
        # Kept by triggers (migration 7): a row per campaign and day with failed calls.
        per_day = {
            str(day): int(calls)
            for day, calls in conn.execute(
                f"SELECT day, sum(calls) FROM campaign_failed_days WHERE source = ? "
                f"AND campaign IN ({placeholders(refs)}) GROUP BY day HAVING sum(calls) > 0",
                [source, *refs],
            )
        }
    else:
        per_day = dict(
            conn.execute(
                # The status index reaches the failed calls alone (SQLite would pick the day index
                # and read every call of the campaign: 6x slower on 12,561 calls).
                f"SELECT substr(started_at, 1, 10), count(*) FROM calls INDEXED BY calls_outcomes "
                f"WHERE {failed_where} AND started_at != '' GROUP BY 1",
                failed_params,
            ).fetchall()
        )
    recent = analytics.pick_recent(
        NotableCandidate(call_id, None, parse_ts(started)) for call_id, started in rows
    )
    return recent, per_day


def _field_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> tuple[list[FieldFacts], dict[str, dict[str, int]]]:
    """Per (key, kind): counts, true counts, numeric sums/min/max; and per text key its value
    counts. Without dates, from `campaign_fields` (kept by triggers) and two seeks per number
    key; with dates, one pass per campaign in primary-key order (no sort). Parts merge by
    addition."""
    rows: list[Any] = []
    if since or until:
        extra, tail = _field_dates(since, until)
        for ref in refs:
            rows += conn.execute(
                "SELECT key, kind, txt, count(*), total(num), min(num), max(num) "
                f"FROM fields WHERE source = ? AND campaign = ?{extra} GROUP BY key, kind, txt",
                [source, ref, *tail],
            ).fetchall()
    else:
        # Counts and sums kept by triggers; the smallest and largest numbers read by index seeks.
        number = int(FieldKind.NUMBER)
        for campaign, key, kind, txt, count, num_sum in _aggregate_rows(
            conn, "campaign, key, kind, txt, calls, num_sum", "campaign_fields", source, refs
        ):
            num_min = num_max = None
            if kind == number:
                # (The kind is literal: the partial index is used only for a constant.)
                bounds = (
                    "FROM fields INDEXED BY fields_numbers "
                    f"WHERE source = ? AND campaign = ? AND key = ? AND kind = {number}"
                )
                params = (source, campaign, key)
                (num_min,) = conn.execute(f"SELECT min(num) {bounds}", params).fetchone()
                (num_max,) = conn.execute(f"SELECT max(num) {bounds}", params).fetchone()
            rows.append((key, kind, txt, count, num_sum, num_min, num_max))
    return field_facts(rows)


def field_facts(rows: Sequence[Sequence[Any]]) -> Fields:
    """Per (key, kind) the facts of rows (key, kind, text, calls, numeric sum, min, max), parts
    that merge by addition; and per text key its value counts."""
    slots: dict[tuple[str, FieldKind], FieldFacts] = {}
    texts: dict[str, dict[str, int]] = {}
    for key, kind, txt, count, num_sum, num_min, num_max in rows:
        field_kind = FieldKind(kind)
        slot = slots.get((key, field_kind))
        if slot is None:
            slot = slots[(key, field_kind)] = FieldFacts(key, field_kind)
        slot.calls += int(count)
        if field_kind is FieldKind.BOOLEAN:
            slot.true_count += int(num_sum)
        elif field_kind is FieldKind.NUMBER:
            slot.num_sum += num_sum
            slot.num_min = _min(slot.num_min, num_min)
            slot.num_max = _max(slot.num_max, num_max)
        elif field_kind is FieldKind.TEXT:
            values = texts.setdefault(key, {})
            values[txt] = values.get(txt, 0) + int(count)
    return list(slots.values()), texts


def _field_dates(since: str, until: str) -> tuple[str, list[Any]]:
    # Call ids order by start time (newest first): a date range is first a range of the key.
    extra = ""
    tail: list[Any] = []
    if since:
        extra += " AND call < ? AND started_at >= ?"
        tail += [(start_band(parse_ts(since)) + SPILL_MINUTES + 1) << SEQ_BITS, since]
    if until:
        extra += " AND call >= ? AND started_at <= ? AND started_at != ''"
        tail += [start_band(parse_ts(until)) << SEQ_BITS, until]
    return extra, tail
