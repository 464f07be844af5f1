"""Campaign summaries on PostgreSQL: the facts aggregated in SQL over the calls and fields in
scope, then summarised by `analytics` exactly as the SQLite index does (the same functions of
`index.summary_sql` merge the rows and build the summary).

One REPEATABLE READ, read-only transaction: every part is of the same state of the index while
syncs write. The parts' statements are sent together (pipeline mode): two round trips for the
facts. Without dates, the facts come from the per-campaign aggregates that triggers keep (see
`migrations`, version 2; as SQLite's `campaign_*` tables): a few rows per campaign, one per
distinct value. With dates, the statements aggregate the calls and fields in the range.

Durations and QA scores are counted per distinct value in SQL and reduced by
`summary_sql.counted_stats`, as SQLite's path over its per-value aggregates: median, p90, bins,
the histogram, and a total summed exactly (`Fraction`) then rounded once, so both stores and the
pure path agree to the last bit. Cost totals are `numeric` sums of each value's shortest exact
text (`float8::numeric` keeps only 15 digits), rounded once to a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from call_logs_mcp import analytics
from call_logs_mcp.analytics import CampaignFacts, CampaignSummary, FieldKind, NotableCandidate, ValueStats
from call_logs_mcp.index.accounts import AccountScope
from call_logs_mcp.index.postgres.db import Connection, Database
from call_logs_mcp.index.postgres.reads import covering_sync, scope_sources
from call_logs_mcp.index.postgres.writes import pg_str, pg_text
from call_logs_mcp.index.records import STATE_COLUMNS, parse_ts, scope_key, sql_text, sync_state, ts
from call_logs_mcp.index.summary_sql import (
    ANSWERED_SQL,
    assemble_facts,
    counted_stats,
    field_facts,
    outcome_facts,
    summary_of,
)
from call_logs_mcp.models import CallStatus, PlatformTotals

_NUMBER = int(FieldKind.NUMBER)


async def _rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return await (await conn.execute(sql.encode(), params)).fetchall()


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
    """As `IndexStore.campaign_summary`. Raises StoreError."""
    campaign_id = sql_text(campaign_id)
    stored_id = pg_text(campaign_id)
    since, until = ts(from_date), ts(to_date)
    facts = CampaignFacts()
    name: str | None = None
    state = None
    last_synced_at = None
    async with db.transaction("summarising a campaign") as conn:
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        sources = await scope_sources(conn, scope, provider)
        if sources:
            source = sources[0].id
            if stored_id is None:
                refs = [
                    0,
                    *(
                        int(r[0])
                        for r in await _rows(conn, "SELECT id FROM campaigns WHERE source = %s", (source,))
                    ),
                ]
            else:
                found = await _rows(
                    conn,
                    "SELECT id, name FROM campaigns WHERE source = %s AND campaign_id = %s",
                    (source, stored_id),
                )
                refs = [int(found[0][0])] if found else []
                name = found[0][1] if found else None
            state_rows = await _rows(
                conn,
                f"SELECT {STATE_COLUMNS} FROM sync_state s WHERE s.source = %s AND s.scope = %s",
                (source, pg_str(scope_key(stored_id, from_date, to_date))),
            )
            state = sync_state("", state_rows[0]) if state_rows else None
            last_synced_at = await covering_sync(conn, source, stored_id, from_date, to_date)
            if refs:
                facts = await _facts(conn, _Scope(source, refs, since, until))
    return summary_of(
        facts,
        provider,
        campaign_id,
        name,
        from_date=from_date,
        to_date=to_date,
        state=state,
        last_synced_at=last_synced_at,
        live=live,
    )


class _Scope:
    """The calls summarised, as a condition on a row of `calls` or `fields` (both carry the
    source, campaign and start time)."""

    def __init__(self, source: int, refs: list[int], since: str, until: str) -> None:
        self.whole = not since and not until  # every call of the campaigns: their aggregates
        self.sql = "source = %s AND campaign = ANY(%s)"
        self.params: list[Any] = [source, refs]
        if since:
            self.sql += " AND started_at >= %s"
            self.params.append(since)
        if until:
            self.sql += " AND started_at <= %s AND started_at != ''"
            self.params.append(until)


async def _facts(conn: Connection, scope: _Scope) -> CampaignFacts:
    """Every part's statements sent together (pipeline mode), then the notable calls' (which
    need the values' bounds): two round trips, however many statements."""
    n = analytics.NOTABLE_EACH
    failed = f"{scope.sql} AND status = '{CallStatus.FAILED.value}'"
    statements: list[tuple[str, list[Any]]] = [
        (
            "SELECT status, ended_reason, currency, count(*), sum(cost::text::numeric), count(cost), "
            f"count(*) FILTER (WHERE turn_count > 0), count(*) FILTER (WHERE {ANSWERED_SQL}) "
            f"FROM calls WHERE {scope.sql} GROUP BY status, ended_reason, currency",
            scope.params,
        ),
        (
            f"SELECT substr(started_at, 1, 10), count(*) FROM calls WHERE {scope.sql} AND started_at != '' "
            "GROUP BY 1",
            scope.params,
        ),
        (
            f"SELECT min(started_at), max(started_at) FROM calls WHERE {scope.sql} AND started_at != ''",
            scope.params,
        ),
        *(
            (
                f"SELECT {column}, count(*) FROM calls WHERE {scope.sql} AND {column} IS NOT NULL "
                f"GROUP BY {column} ORDER BY {column}",
                scope.params,
            )
            for column in ("duration", "qa_score")
        ),
        (
            # The most recent failed calls: every one from the N-th newest start on.
            f"SELECT call_id, started_at FROM calls WHERE {failed} AND started_at >= coalesce(("
            f"SELECT started_at FROM calls WHERE {failed} ORDER BY started_at DESC "
            f"LIMIT 1 OFFSET {n - 1}), '')",
            [*scope.params, *scope.params],
        ),
        (
            f"SELECT substr(started_at, 1, 10), count(*) FROM calls WHERE {failed} AND started_at != '' "
            "GROUP BY 1",
            scope.params,
        ),
        (
            "SELECT key, kind, txt, count(*), coalesce(sum(num), 0), min(num), max(num) "
            f"FROM fields WHERE {scope.sql} GROUP BY key, kind, txt",
            scope.params,
        ),
    ]
    if scope.whole:
        statements = _from_aggregates(scope, statements)
    outcomes, days, bounds, durations, scores, recent, failed_days, fields = await _together(conn, statements)
    stats: list[ValueStats] = []
    wanted: list[tuple[str, list[Any]]] = []
    for column, counted_rows, bins, edges, nth, op in (
        ("duration", durations, False, analytics.DURATION_EDGES, -n, ">="),
        ("qa_score", scores, True, (), n - 1, "<="),
    ):
        counted = [(float(value), int(count)) for value, count in counted_rows]
        value_stats, bound = counted_stats(counted, bins=bins, edges=edges, nth=nth)
        stats.append(value_stats)
        # Every call reaching the N-th value is a candidate (ties are broken by `pick_*`).
        wanted.append(
            (
                f"SELECT call_id, {column}, started_at FROM calls WHERE {scope.sql} AND {column} {op} %s",
                [*scope.params, bound],
            )
            if bound is not None
            else ("SELECT NULL, NULL, NULL WHERE false", [])
        )
    longest, lowest = await _together(conn, wanted)
    first, last = bounds[0]
    return assemble_facts(
        outcome_facts(
            [(*row[:4], float(row[4]) if row[4] is not None else 0.0, *row[5:]) for row in outcomes]
        ),
        ({str(day): int(count) for day, count in days}, parse_ts(first), parse_ts(last)),
        (
            stats[0],
            stats[1],
            analytics.pick_longest(_notable(longest)),
            analytics.pick_lowest_qa(_notable(lowest)),
        ),
        (
            analytics.pick_recent(
                NotableCandidate(call_id, None, parse_ts(started)) for call_id, started in recent
            ),
            {str(day): int(count) for day, count in failed_days},
        ),
        field_facts([(*row[:4], float(row[4]), *row[5:]) for row in fields]),
    )


def _from_aggregates(scope: _Scope, statements: list[tuple[str, list[Any]]]) -> list[tuple[str, list[Any]]]:
    """The statements of a summary without dates: the per-campaign aggregates the triggers keep
    (a few rows per campaign, one per distinct value), extremes by index; the recent failed
    calls as with dates (the `calls_failed` index)."""
    where, params = scope.sql, scope.params
    source, refs = params
    return [
        (
            "SELECT status, ended_reason, currency, calls, cost, with_cost, with_turns, answered "
            f"FROM campaign_outcomes WHERE {where}",
            params,
        ),
        (f"SELECT day, sum(calls) FROM campaign_days WHERE {where} GROUP BY day", params),
        (
            "SELECT min(lo), max(hi) FROM unnest(%s::bigint[]) AS r(ref), LATERAL (SELECT "
            "min(started_at) AS lo, max(started_at) AS hi FROM calls WHERE source = %s AND campaign = r.ref "
            "AND started_at > '') x",
            [refs, source],
        ),
        *(
            (
                f"SELECT value, sum(calls) FROM campaign_values WHERE {where} AND measure = '{measure}' "
                "GROUP BY value ORDER BY value",
                params,
            )
            for measure in ("duration", "qa_score")
        ),
        statements[5],
        (
            f"SELECT day, sum(failed) FROM campaign_days WHERE {where} GROUP BY day HAVING sum(failed) > 0",
            params,
        ),
        (
            # Each number key's extremes: two index seeks (`fields_campaign_numbers`).
            "SELECT a.key, a.kind, a.txt, a.calls, a.num_sum, "
            f"CASE WHEN a.kind = {_NUMBER} THEN (SELECT min(f.num) FROM fields f WHERE f.source = a.source "
            f"AND f.campaign = a.campaign AND f.key = a.key AND f.kind = {_NUMBER}) END, "
            f"CASE WHEN a.kind = {_NUMBER} THEN (SELECT max(f.num) FROM fields f WHERE f.source = a.source "
            f"AND f.campaign = a.campaign AND f.key = a.key AND f.kind = {_NUMBER}) END "
            "FROM campaign_fields a WHERE a.source = %s AND a.campaign = ANY(%s)",
            params,
        ),
    ]


def _notable(rows: list[tuple[Any, ...]]) -> list[NotableCandidate]:
    return [NotableCandidate(call_id, float(value), parse_ts(started)) for call_id, value, started in rows]


async def _together(
    conn: Connection, statements: Sequence[tuple[str, list[Any]]]
) -> list[list[tuple[Any, ...]]]:
    """The rows of each statement, all sent before any answer is read (one round trip)."""
    async with conn.pipeline():
        cursors = [await conn.execute(sql.encode(), params) for sql, params in statements]
        return [await cursor.fetchall() for cursor in cursors]
