"""find_calls on PostgreSQL: calls by outcome and by conditions on extracted fields, newest first,
with the exact count; the same requests, answers and errors as the SQLite index's `outcomes`.

Every condition is a predicate on the call row `c`: filters on its columns, and per field
condition an EXISTS (or NOT EXISTS) over the call's `fields` rows. PostgreSQL plans these as
semi- and anti-joins, driving from whichever side is cheaper by its statistics, so no plan is
chosen here (SQLite's module picks its own from hand-kept aggregates). Text equality folds ASCII
case only, as SQLite's NOCASE does (`call_logs_nocase`, indexed per key by `fields_texts`).

Order: start time, newest first; calls starting at the same time in the order they were stored
(SQLite, whose ids carry the start minute, orders calls within one minute in the order stored;
the two differ only for calls of one minute stored oldest first). The cursor carries the last
call's start time and id.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    check_limit,
    page_calls,
    read_cursor,
    request_digest,
    resolve_keys,
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


def _has(test: str, params: Sequence[Any], *, negated: bool = False) -> tuple[str, list[Any]]:
    """A test of the call `c` having a fields row where `test` holds."""
    exists = f"EXISTS (SELECT 1 FROM fields f WHERE f.call = c.id AND {test})"
    return (f"NOT {exists}" if negated else exists), list(params)


def _condition(condition: FieldCondition, key: str) -> list[tuple[str, list[Any]]]:
    """`condition` on the stored `key` as tests of the call `c` (all must hold)."""
    op = condition.op
    if op == "set":
        return [_has("f.key = %s", [key])]
    if op == "unset":
        return [_has("f.key = %s", [key], negated=True)]
    if op in (">", ">=", "<", "<="):
        return [_has(f"f.key = %s AND f.kind = {_NUMBER} AND f.num {op} %s", [key, condition.number])]
    # Equal: a text value equal in any ASCII case, a yes/no read from the value, a number.
    parts = [f"(f.kind = {_TEXT} AND call_logs_nocase(f.txt) = call_logs_nocase(%s))"]
    params: list[Any] = [key, pg_str(condition.text)]
    if condition.flag is not None:
        parts.append(f"(f.kind = {_BOOLEAN} AND f.num = %s)")
        params.append(float(condition.flag))
    if condition.number is not None:
        parts.append(f"(f.kind = {_NUMBER} AND f.num = %s)")
        params.append(condition.number)
    equal = f"f.key = %s AND ({' OR '.join(parts)})"
    if op == "=":
        return [_has(equal, params)]
    # != : the call has the field, with another value.
    return [_has("f.key = %s", [key]), _has(equal, params, negated=True)]


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


async def _page(
    conn: Connection, clause: str, params: list[Any], limit: int, *, counted: bool = False
) -> tuple[int, list[tuple[Any, ...]]]:
    """A page of the calls matching `clause`, newest first: (every match's count when `counted`,
    else 0; rows of id, start, body, campaign id). The page is cut from the calls alone, then
    only its calls' bodies are read."""
    total = ", count(*) OVER ()" if counted else ""
    rows = await (
        await conn.execute(
            "SELECT c.id, c.started_at, b.body, p.campaign_id, c.total FROM "
            f"(SELECT c.id, c.started_at, c.campaign{total or ', 0'} AS total FROM calls c WHERE {clause} "
            "ORDER BY c.started_at DESC, c.id LIMIT %s) c "
            "JOIN call_bodies b ON b.id = c.id LEFT JOIN campaigns p ON p.id = c.campaign "
            "ORDER BY c.started_at DESC, c.id",
            [*params, limit],
        )
    ).fetchall()
    if counted and not rows:
        return 0, []
    return (int(rows[0][4]) if counted else 0), [tuple(row[:4]) for row in rows]


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
    # One source as an equality, so the calls' index by source and start gives the page's order.
    where = ["c.source = %s" if len(ids) == 1 else "c.source = ANY(%s)"]
    params: list[Any] = [ids[0] if len(ids) == 1 else ids]
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
        where.append("c.campaign = ANY(%s)")
        params.append(refs)
    for column, low, high in (
        ("duration", request.min_duration, request.max_duration),
        ("qa_score", request.min_qa_score, request.max_qa_score),
    ):
        if low is not None:
            where.append(f"c.{column} >= %s")
            params.append(low)
        if high is not None:
            where.append(f"c.{column} <= %s")
            params.append(high)
    if request.status is not None:
        where.append("c.status = %s")
        params.append(request.status.value)
    if request.ended_reason is not None:
        where.append("call_logs_nocase(c.ended_reason) = call_logs_nocase(%s)")
        params.append(pg_str(request.ended_reason.strip()))
    filtered = len(where) > (1 if refs is None else 2)  # a filter besides the scope
    if request.from_date is not None:
        where.append("c.started_at >= %s")
        params.append(ts(request.from_date))
    if request.to_date is not None:
        where.append("c.started_at <= %s AND c.started_at != ''")
        params.append(ts(request.to_date))
    notes: list[str] = []
    resolved: dict[str, str] = {}
    if request.fields:
        stored = await _stored_keys(conn, ids, refs, request)
        if stored is None:  # a key to match loosely, or to list the keys held in an error
            stored, notes = resolve_keys(request, await known_fields(conn, sources, refs))
        resolved = stored
        for condition in request.fields:
            for sql, values in _condition(condition, resolved[condition.key]):
                where.append(sql)
                params += values
    clause = " AND ".join(where)
    total: int | None = None
    if len(request.fields) == 1 and not filtered and request.from_date is None and request.to_date is None:
        # One condition and no other filter but the scope: the aggregates may hold its count.
        condition = request.fields[0]
        total = await _aggregate_count(conn, ids, refs, condition, resolved[condition.key])
    rows: list[tuple[Any, ...]] = []
    if total is None and after is None:
        # The first page and the count in one statement: every match is read for the count anyway.
        total, rows = await _page(conn, clause, params, request.limit, counted=True)
    else:
        if total is None:
            row = await (
                await conn.execute(f"SELECT count(*) FROM calls c WHERE {clause}", params)
            ).fetchone()
            total = int(row[0]) if row is not None else 0
        if total:
            # The page alone, cut by LIMIT: PostgreSQL walks the calls newest first (the index by
            # source and start) when matches are dense, sorts the few when they are sparse.
            if after is not None:
                clause += " AND (c.started_at < %s OR (c.started_at = %s AND c.id > %s))"
                params += [after[0], after[0], after[1]]
            _, rows = await _page(conn, clause, params, request.limit)
    if not total:
        return OutcomeResult(calls=[], total=0, offset=offset, notes=notes)
    calls = page_calls((body, campaign) for _, _, body, campaign in rows)
    shown = offset + len(rows)
    cursor = None
    if rows and shown < total:
        last = rows[-1]
        cursor = encode_cursor("find", {"h": digest, "s": str(last[1]), "a": int(last[0]), "o": shown})
    return OutcomeResult(calls=calls, total=total, next_cursor=cursor, offset=offset, notes=notes)
