"""find_calls on PostgreSQL: calls by outcome and by conditions on extracted fields, newest first,
with the exact count; the same requests, answers and errors as the SQLite index's `outcomes`.

Every condition is a predicate on the call row `c`: filters on its columns, and per field
condition an EXISTS (or NOT EXISTS) over the call's `fields` rows. The page is one statement of
those, cut by LIMIT: a walk of the calls newest first, probing each, when the aggregates say the
walk is short; else as PostgreSQL plans it (semi- and anti-joins, driving from whichever side is
cheaper by its statistics). The count is another statement, which this module plans as SQLite's
does: from the per-campaign aggregates when they hold it exactly (one condition, no filter),
else over the `fields` rows of the condition the aggregates say the fewest rows meet (those rows
carry the call's source, campaign and start; the indexes by key and value include the call, so
each row is read from the index alone), the other conditions tested on each row's call. Text
equality folds ASCII case only, as SQLite's NOCASE does (`call_logs_nocase`, indexed per key by
`fields_texts`).

Order: start time, newest first; calls starting at the same time in the order they were stored
(SQLite, whose ids carry the start minute, orders calls within one minute in the order stored;
the two differ only for calls of one minute stored oldest first). The cursor carries the last
call's start time and id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from call_logs_mcp.analytics.facts import FieldKind
from call_logs_mcp.cursors import encode_cursor
from call_logs_mcp.index.accounts import Source
from call_logs_mcp.index.outcomes import (
    KIND_NAMES,
    FieldCondition,
    KnownField,
    OutcomeRequest,
    OutcomeResult,
    asks_yes_no,
    check_limit,
    page_calls,
    read_cursor,
    request_digest,
    resolve_keys,
    yes_no_notes,
)
from call_logs_mcp.index.postgres.db import Connection
from call_logs_mcp.index.postgres.reads import scope_sources
from call_logs_mcp.index.postgres.writes import pg_str
from call_logs_mcp.index.records import ts

_NUMBER = int(FieldKind.NUMBER)
_BOOLEAN = int(FieldKind.BOOLEAN)
_TEXT = int(FieldKind.TEXT)


async def known_fields(
    conn: Connection, sources: Sequence[Source], campaigns: Sequence[int] | None
) -> list[KnownField]:
    """The extracted fields (and their kinds) the calls of `sources` hold, in `campaigns` when
    given, sorted as the SQLite index sorts them."""
    sql = "SELECT DISTINCT key, kind FROM fields WHERE source = ANY(%s)"
    params: list[Any] = [[s.id for s in sources]]
    if campaigns is not None:
        sql += " AND campaign = ANY(%s)"
        params.append(list(campaigns))
    found = sorted((str(key), int(kind)) for key, kind in await (await conn.execute(sql, params)).fetchall())
    return [KnownField(key=key, kind=KIND_NAMES.get(FieldKind(kind), "value")) for key, kind in found]


def _has(
    test: str, params: Sequence[Any], *, negated: bool = False, call: str = "c.id", probe: bool = False
) -> tuple[str, list[Any]]:
    """A test of the call whose id is `call` having a fields row `f` where `test` holds. A
    `probe` is one index lookup per call tested (OFFSET 0 keeps PostgreSQL from turning it into
    a join that reads every row the test holds for)."""
    exists = f"EXISTS (SELECT 1 FROM fields f WHERE f.call = {call} AND {test}{' OFFSET 0' if probe else ''})"
    return (f"NOT {exists}" if negated else exists), list(params)


def _equal_parts(condition: FieldCondition, row: str = "f") -> list[tuple[int, str, list[Any]]]:
    """Equality as (kind, test of a fields row `row`, parameters), one per kind it may match: a
    text value equal in any ASCII case, a yes/no read from the value, a number."""
    parts: list[tuple[int, str, list[Any]]] = [
        (
            _TEXT,
            f"{row}.kind = {_TEXT} AND call_logs_nocase({row}.txt) = call_logs_nocase(%s)",
            [pg_str(condition.text)],
        )
    ]
    if condition.flag is not None:
        parts.append((_BOOLEAN, f"{row}.kind = {_BOOLEAN} AND {row}.num = %s", [float(condition.flag)]))
    if condition.number is not None:
        parts.append((_NUMBER, f"{row}.kind = {_NUMBER} AND {row}.num = %s", [condition.number]))
    return parts


def _any_of(parts: Sequence[tuple[int, str, list[Any]]]) -> tuple[str, list[Any]]:
    return " OR ".join(f"({test})" for _, test, _ in parts), [p for _, _, params in parts for p in params]


def _condition(
    condition: FieldCondition, key: str, call: str = "c.id", *, probe: bool = False
) -> list[tuple[str, list[Any]]]:
    """`condition` on the stored `key` as tests of the call whose id is `call` (all must hold);
    `probe`: see `_has`."""
    op = condition.op
    if op == "set":
        return [_has("f.key = %s", [key], call=call, probe=probe)]
    if op == "unset":
        return [_has("f.key = %s", [key], negated=True, call=call, probe=probe)]
    if op in (">", ">=", "<", "<="):
        test = f"f.key = %s AND f.kind = {_NUMBER} AND f.num {op} %s"
        return [_has(test, [key, condition.number], call=call, probe=probe)]
    test, params = _any_of(_equal_parts(condition))
    equal = f"f.key = %s AND ({test})"
    if op == "=":
        return [_has(equal, [key, *params], call=call, probe=probe)]
    # != : the call has the field, with another value.
    return [
        _has("f.key = %s", [key], call=call, probe=probe),
        _has(equal, [key, *params], negated=True, call=call, probe=probe),
    ]


@dataclass(frozen=True)
class _Lead:
    """A positive condition as a test of the fields rows `x` that meet it: `rows` of them in scope
    (from the aggregates), each call in one row unless `shared` (then counted once)."""

    index: int
    test: str
    params: list[Any]
    rows: int
    shared: bool


async def _leads(
    conn: Connection, ids: list[int], refs: list[int] | None, request: OutcomeRequest, keys: dict[str, str]
) -> list[_Lead]:
    """The conditions a count can start from (set, equal, a range), with how many fields rows in
    scope meet each, from `campaign_fields` (one statement): per key and kind its rows, and its
    text rows equal to the condition's value. A kind with no row in scope is left out of a
    condition's test (so a yes/no condition reads the yes/no rows alone); a condition with none
    left has 0 rows."""
    conditions = request.fields
    sql = (
        "SELECT q.i, a.kind, sum(a.calls), coalesce(sum(a.calls) FILTER (WHERE a.kind = "
        f"{_TEXT} AND call_logs_nocase(a.txt) = call_logs_nocase(q.txt)), 0) "
        "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS q(key, txt, i) "
        "JOIN campaign_fields a ON a.key = q.key AND a.source = ANY(%s)"
    )
    params: list[Any] = [[keys[c.key] for c in conditions], [pg_str(c.text) for c in conditions], ids]
    if refs is not None:
        sql += " AND a.campaign = ANY(%s)"
        params.append(refs)
    held: dict[int, dict[int, tuple[int, int]]] = {}
    for i, kind, rows, texts in await (await conn.execute(sql + " GROUP BY q.i, a.kind", params)).fetchall():
        held.setdefault(int(i) - 1, {})[int(kind)] = (int(rows), int(texts))
    leads: list[_Lead] = []
    for i, condition in enumerate(conditions):
        kinds = held.get(i, {})
        key = keys[condition.key]
        if condition.op == "set":
            rows = sum(r for r, _ in kinds.values())
            leads.append(_Lead(i, "x.key = %s", [key], rows, len(kinds) > 1))
        elif condition.op in (">", ">=", "<", "<="):
            test = f"x.key = %s AND x.kind = {_NUMBER} AND x.num {condition.op} %s"
            leads.append(_Lead(i, test, [key, condition.number], kinds.get(_NUMBER, (0, 0))[0], False))
        elif condition.op == "=":
            parts = [
                part
                for part in _equal_parts(condition, "x")
                if (kinds.get(_TEXT, (0, 0))[1] if part[0] == _TEXT else kinds.get(part[0], (0, 0))[0])
            ]
            rows = sum(kinds[kind][1] if kind == _TEXT else kinds[kind][0] for kind, _, _ in parts)
            test, values = _any_of(parts) if parts else ("false", [])
            leads.append(_Lead(i, f"x.key = %s AND ({test})", [key, *values], rows, len(parts) > 1))
    return leads


async def _stored_keys(
    conn: Connection, ids: list[int], refs: list[int] | None, request: OutcomeRequest
) -> dict[str, str] | None:
    """Each condition's key as stored, when every one is stored exactly so in scope (one index
    probe per key); else None."""
    keys = sorted({condition.key for condition in request.fields})
    sql = "SELECT k FROM unnest(%s::text[]) AS k WHERE EXISTS (SELECT 1 FROM fields f "
    sql += "WHERE f.source = ANY(%s) AND f.key = k" + (
        " AND f.campaign = ANY(%s))" if refs is not None else ")"
    )
    params: list[Any] = [[pg_str(k) for k in keys], ids, *([refs] if refs is not None else [])]
    held = {str(r[0]) for r in await (await conn.execute(sql, params)).fetchall()}
    if any(pg_str(k) not in held for k in keys):
        return None
    return {k: pg_str(k) for k in keys}


async def _page(conn: Connection, clause: str, params: list[Any], limit: int) -> list[tuple[Any, ...]]:
    """A page of the calls matching `clause`, newest first: rows of id, start, body, campaign id.
    The page is cut from the calls alone, then only its calls' bodies are read."""
    rows = await (
        await conn.execute(
            "SELECT c.id, c.started_at, b.body, p.campaign_id FROM "
            f"(SELECT c.id, c.started_at, c.campaign FROM calls c WHERE {clause} "
            "ORDER BY c.started_at DESC, c.id LIMIT %s) c "
            "JOIN call_bodies b ON b.id = c.id LEFT JOIN campaigns p ON p.id = c.campaign "
            "ORDER BY c.started_at DESC, c.id",
            [*params, limit],
        )
    ).fetchall()
    return [tuple(row) for row in rows]


async def _aggregate_count(
    conn: Connection, ids: list[int], refs: list[int] | None, condition: FieldCondition, key: str
) -> int | None:
    """How many calls in scope `condition` on the stored `key` selects, from the per-campaign
    aggregates `campaign_fields`, when they hold it exactly; else None. They count calls per key,
    kind and text value (and sum the numbers: a yes/no's sum is its yes count). A call holds one
    row per key and kind, so a condition met by rows of one kind only is counted exactly: "is
    set" of a key held in one kind, equality with a text value or a yes/no. A number equality or
    range is not (the aggregates know the key's numbers, not which equal the value)."""
    if condition.op not in ("set", "="):
        return None
    sql = (
        "SELECT kind, sum(calls), sum(num_sum), "
        f"coalesce(sum(calls) FILTER (WHERE kind = {_TEXT} "
        "AND call_logs_nocase(txt) = call_logs_nocase(%s)), 0) "
        "FROM campaign_fields WHERE source = ANY(%s) AND key = %s"
    )
    params: list[Any] = [pg_str(condition.text), ids, key]
    if refs is not None:
        sql += " AND campaign = ANY(%s)"
        params.append(refs)
    kinds = {
        int(kind): (int(calls), num_sum, int(texts))
        for kind, calls, num_sum, texts in await (
            await conn.execute(sql + " GROUP BY kind", params)
        ).fetchall()
    }
    if condition.op == "set":
        held = [calls for calls, _, _ in kinds.values() if calls]
        return held[0] if len(held) == 1 else (0 if not held else None)
    if condition.number is not None and kinds.get(_NUMBER, (0, 0, 0))[0]:
        return None
    counts = [kinds.get(_TEXT, (0, 0, 0))[2]]
    if condition.flag is not None and _BOOLEAN in kinds:
        calls, yes_sum, _ = kinds[_BOOLEAN]
        yes = round(yes_sum)
        counts.append(yes if condition.flag else calls - yes)
    met = [count for count in counts if count]
    return met[0] if len(met) == 1 else (0 if not met else None)


async def find_calls(conn: Connection, request: OutcomeRequest) -> OutcomeResult:
    """The page of calls matching `request`, newest first, and how many match in all.

    The count and the page are two statements: the count reads the fewest rows that can give it
    (see `_count`); the page walks the calls newest first (`calls_recent`) and stops at its
    limit when matches are dense, or sorts the few there are when they are sparse (PostgreSQL's
    choice, by its statistics).

    Raises InvalidArgumentError for a bad limit or cursor and for a field no call in scope has."""
    check_limit(request)
    digest = request_digest(request)
    after: tuple[str, int] | None = None
    offset = 0
    if request.cursor is not None:
        state = read_cursor(request.cursor, digest, texts=("s",))
        after, offset = (state["s"], state["a"]), state["o"]
    sources = await scope_sources(conn, request.scope, request.provider)
    if not sources:
        return OutcomeResult(calls=[], total=0)
    ids = [s.id for s in sources]
    refs: list[int] | None = None
    if request.campaign_id is not None:
        refs = [
            int(r[0])
            for r in await (
                await conn.execute(
                    "SELECT id FROM campaigns WHERE source = ANY(%s) AND campaign_id = %s",
                    (ids, pg_str(request.campaign_id)),
                )
            ).fetchall()
        ]
        if not refs:
            return OutcomeResult(calls=[], total=0)
    # Tests of the call row `c`: its columns, then its start (`{row}`: the row whose start is
    # tested, the call's or one of its fields rows: both hold the call's start).
    columns: list[str] = []
    column_params: list[Any] = []
    for column, low, high in (
        ("duration", request.min_duration, request.max_duration),
        ("qa_score", request.min_qa_score, request.max_qa_score),
    ):
        if low is not None:
            columns.append(f"c.{column} >= %s")
            column_params.append(low)
        if high is not None:
            columns.append(f"c.{column} <= %s")
            column_params.append(high)
    if request.status is not None:
        columns.append("c.status = %s")
        column_params.append(request.status.value)
    if request.ended_reason is not None:
        columns.append("call_logs_nocase(c.ended_reason) = call_logs_nocase(%s)")
        column_params.append(pg_str(request.ended_reason.strip()))
    dates: list[str] = []
    date_params: list[Any] = []
    if request.from_date is not None:
        dates.append("{row}.started_at >= %s")
        date_params.append(ts(request.from_date))
    if request.to_date is not None:
        dates.append("{row}.started_at <= %s AND {row}.started_at != ''")
        date_params.append(ts(request.to_date))
    notes: list[str] = []
    resolved: dict[str, str] = {}
    if request.fields:
        stored = await _stored_keys(conn, ids, refs, request)
        if stored is None:  # a key to match loosely, or to list the keys held in an error
            stored, notes = resolve_keys(request, await known_fields(conn, sources, refs))
        resolved = stored
    # One source as an equality, so the calls' index by source and start gives the page's order.
    where = ["c.source = %s" if len(ids) == 1 else "c.source = ANY(%s)"]
    params: list[Any] = [ids[0] if len(ids) == 1 else ids]
    if refs is not None:
        where.append("c.campaign = ANY(%s)")
        params.append(refs)
    where += columns + [d.format(row="c") for d in dates]
    params += column_params + date_params
    total: int | None = None
    if len(request.fields) == 1 and not columns and not dates:
        # One condition and no other filter but the scope: the aggregates may hold its count.
        condition = request.fields[0]
        total = await _aggregate_count(conn, ids, refs, condition, resolved[condition.key])
    if total is None:
        total = await _count(
            conn, ids, refs, request, resolved, (columns, column_params), (dates, date_params)
        )
    if not total:
        if asks_yes_no(request):
            notes += yes_no_notes(request, resolved, await known_fields(conn, sources, refs))
        return OutcomeResult(calls=[], total=0, offset=offset, notes=notes)
    # Walk the calls newest first, probing each for its fields, when the walk is short: when
    # the matches are dense among the calls in scope (and dates). Else PostgreSQL plans it
    # (typically: every row of the conditions, joined, the newest sorted out).
    probe = bool(request.fields) and request.limit * await _in_scope(conn, ids, refs, request) <= WALK * total
    for condition in request.fields:
        for sql, values in _condition(condition, resolved[condition.key], probe=probe):
            where.append(sql)
            params += values
    clause = " AND ".join(where)
    if after is not None:
        clause += " AND (c.started_at < %s OR (c.started_at = %s AND c.id > %s))"
        params += [after[0], after[0], after[1]]
    rows = await _page(conn, clause, params, request.limit)
    calls = page_calls((body, campaign) for _, _, body, campaign in rows)
    shown = offset + len(rows)
    cursor = None
    if rows and shown < total:
        last = rows[-1]
        cursor = encode_cursor("find", {"h": digest, "s": str(last[1]), "a": int(last[0]), "o": shown})
    return OutcomeResult(calls=calls, total=total, next_cursor=cursor, offset=offset, notes=notes)


# A page walks the calls newest first when it expects to test at most this many calls.
WALK = 2_000


async def _in_scope(conn: Connection, ids: list[int], refs: list[int] | None, request: OutcomeRequest) -> int:
    """About how many calls in scope a walk may pass: the calls of the scope's campaigns (and of
    the days in the date range), from the aggregates."""
    if request.from_date is None and request.to_date is None:
        sql = "SELECT coalesce(sum(calls), 0) FROM campaign_outcomes WHERE source = ANY(%s)"
        params: list[Any] = [ids]
    else:
        sql = "SELECT coalesce(sum(calls), 0) FROM campaign_days WHERE source = ANY(%s) "
        sql += "AND day BETWEEN %s AND %s"
        low = ts(request.from_date)[:10] if request.from_date is not None else ""
        high = ts(request.to_date)[:10] if request.to_date is not None else "9999"
        params = [ids, low, high]
    if refs is not None:
        sql += " AND campaign = ANY(%s)"
        params.append(refs)
    row = await (await conn.execute(sql, params)).fetchone()
    return int(row[0]) if row is not None else 0


async def _count(
    conn: Connection,
    ids: list[int],
    refs: list[int] | None,
    request: OutcomeRequest,
    keys: dict[str, str],
    columns: tuple[list[str], list[Any]],
    dates: tuple[list[str], list[Any]],
) -> int:
    """How many calls in scope match: over the fields rows of the condition that the aggregates
    say the fewest rows meet (the others tested on each row's call, its columns on the call
    row, its start on the row itself), or over the calls when no condition is positive."""
    leads = await _leads(conn, ids, refs, request, keys) if request.fields else []
    if leads:
        lead = min(leads, key=lambda found: found.rows)
        if not lead.rows:
            return 0
        where = ["x.source = ANY(%s)", lead.test]
        params: list[Any] = [ids, *lead.params]
        if refs is not None:
            where.append("x.campaign = ANY(%s)")
            params.append(refs)
        where += [d.format(row="x") for d in dates[0]]
        params += dates[1]
        for i, condition in enumerate(request.fields):
            if i != lead.index:
                for sql, values in _condition(condition, keys[condition.key], call="x.call"):
                    where.append(sql)
                    params += values
        joined = ""
        if columns[0]:
            joined = " JOIN calls c ON c.id = x.call"
            where += columns[0]
            params += columns[1]
        counted = "count(DISTINCT x.call)" if lead.shared else "count(*)"
        sql = f"SELECT {counted} FROM fields x{joined} WHERE {' AND '.join(where)}"
    else:
        where = ["c.source = ANY(%s)"]
        params = [ids]
        if refs is not None:
            where.append("c.campaign = ANY(%s)")
            params.append(refs)
        where += columns[0] + [d.format(row="c") for d in dates[0]]
        params += columns[1] + dates[1]
        for condition in request.fields:
            for sql, values in _condition(condition, keys[condition.key]):
                where.append(sql)
                params += values
        sql = f"SELECT count(*) FROM calls c WHERE {' AND '.join(where)}"
    row = await (await conn.execute(sql, params)).fetchone()
    return int(row[0]) if row is not None else 0
