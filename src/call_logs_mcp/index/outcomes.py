"""Calls found by their outcome: status, dates, duration, QA score, ended reason and conditions on
extracted fields, newest first, with an exact count.

Field conditions are driven from the `fields` table (one primary-key range per campaign and key),
so they cost what their matches cost; the calls they select are read by id, which is newest first
(see `rowids`), so a page needs no sort. Paging is by the last id shown (stable while new calls
are indexed).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from pydantic import Field

from call_logs_mcp.analytics.facts import FieldKind
from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import InvalidArgumentError, UnknownFieldError
from call_logs_mcp.index.accounts import AccountScope, Source, scope_sources
from call_logs_mcp.index.db import placeholders
from call_logs_mcp.index.records import FrozenModel, sql_text, summary_from_body, ts
from call_logs_mcp.index.rowids import SEQ_BITS, start_band
from call_logs_mcp.models import CallStatus, CallSummary

MAX_FIND_LIMIT = 100
KIND_NAMES = {
    FieldKind.BOOLEAN: "yes/no",
    FieldKind.NUMBER: "number",
    FieldKind.TEXT: "text",
    FieldKind.LIST: "list",
}
_KIND_CODES = {name: int(kind) for kind, name in KIND_NAMES.items()}
# The primary key of the (WITHOUT ROWID) fields table: (source, campaign, key, kind, txt, call).
_FIELDS_KEY = "sqlite_autoindex_fields_1"


class FieldCondition(Protocol):
    """A condition on an extracted field (`core.outcomes.FieldPredicate`)."""

    @property
    def key(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def number(self) -> float | None: ...
    @property
    def flag(self) -> bool | None: ...
    def describe(self) -> str: ...


@dataclass(frozen=True)
class OutcomeRequest:
    scope: AccountScope
    provider: str | None
    campaign_id: str | None
    status: CallStatus | None
    from_date: datetime | None
    to_date: datetime | None
    min_duration: float | None
    max_duration: float | None
    min_qa_score: float | None
    max_qa_score: float | None
    ended_reason: str | None
    fields: Sequence[FieldCondition]
    limit: int
    cursor: str | None


class KnownField(FrozenModel):
    key: str
    kind: str


class OutcomeResult(FrozenModel):
    calls: list[CallSummary]
    total: int = Field(description="every call matching the filters (exact)")
    next_cursor: str | None = None
    offset: int = 0
    notes: list[str] = Field(default_factory=list)


def known_fields(
    conn: sqlite3.Connection, sources: Sequence[Source], campaigns: Sequence[int] | None
) -> list[KnownField]:
    """The extracted fields (and their kinds) the calls of `sources` hold, in `campaigns` when
    given: a skip-scan of the per-campaign aggregates, one seek per distinct (campaign, field,
    kind), whatever the number of calls."""
    found: dict[tuple[str, int], None] = {}
    for source in sources:
        refs = campaigns if campaigns is not None else _campaign_refs(conn, source.id)
        for ref in refs:
            # `key > ?`, then `kind > ?` within the key: a row-value comparison (key, kind) > (?, ?)
            # would read every row of a key with many values.
            key: str | None = None
            while (
                row := conn.execute(
                    "SELECT key FROM campaign_fields WHERE source = ? AND campaign = ? AND key > ? "
                    "ORDER BY key LIMIT 1",
                    (source.id, ref, key),
                ).fetchone()
                if key is not None
                else conn.execute(
                    "SELECT key FROM campaign_fields WHERE source = ? AND campaign = ? ORDER BY key LIMIT 1",
                    (source.id, ref),
                ).fetchone()
            ) is not None:
                key, kind = str(row[0]), 0
                while (
                    kinds := conn.execute(
                        "SELECT kind FROM campaign_fields WHERE source = ? AND campaign = ? AND key = ? "
                        "AND kind > ? ORDER BY kind LIMIT 1",
                        (source.id, ref, key, kind),
                    ).fetchone()
                ) is not None:
                    kind = int(kinds[0])
                    found[(key, kind)] = None
    return [KnownField(key=key, kind=KIND_NAMES.get(FieldKind(kind), "value")) for key, kind in sorted(found)]


def _campaign_refs(conn: sqlite3.Connection, source: int) -> list[int]:
    return [0, *(r[0] for r in conn.execute("SELECT id FROM campaigns WHERE source = ?", (source,)))]


def _normal(key: str) -> str:
    return "".join(ch for ch in key.casefold() if ch.isalnum() or ch == ".")


def resolve_keys(request: OutcomeRequest, known: Sequence[KnownField]) -> tuple[dict[str, str], list[str]]:
    """The stored key of each condition's field (a key differing only in case, spaces or
    underscores is taken), and notes on those taken. Raises UnknownFieldError naming the known
    fields for a field no call in scope has."""
    keys = {f.key for f in known}
    by_normal: dict[str, str] = {}
    for key in sorted(keys):
        by_normal.setdefault(_normal(key), key)
    resolved: dict[str, str] = {}
    notes: list[str] = []
    for condition in request.fields:
        if condition.key in keys:
            resolved[condition.key] = condition.key
            continue
        match = by_normal.get(_normal(condition.key))
        if match is None:
            listing = ", ".join(f"{f.key} ({f.kind})" for f in known[:40]) or "none"
            more = f" and {len(known) - 40} more" if len(known) > 40 else ""
            raise UnknownFieldError(
                f"No indexed call in this scope has an extracted field named {condition.key[:80]!r}. "
                f"Fields it has: {listing}{more}. summarize_campaign shows example values."
            )
        resolved[condition.key] = match
        notes.append(f"field {condition.key[:80]!r} read as {match!r}")
    return resolved, notes


def _yes_no(condition: FieldCondition) -> bool:
    """Whether `condition` compares its field with a yes/no (a bare field name asks for true)."""
    return condition.flag is not None and condition.op in ("=", "!=")


def asks_yes_no(request: OutcomeRequest) -> bool:
    """Whether a condition of `request` compares a field with a yes/no."""
    return any(_yes_no(c) for c in request.fields)


def yes_no_notes(
    request: OutcomeRequest, resolved: Mapping[str, str], known: Sequence[KnownField]
) -> list[str]:
    """For an answer of no calls: each yes/no condition on a field that never holds one (a bare
    `interest_level` asks for true), what it compared and the condition that finds the calls
    having the field."""
    notes = []
    for condition in request.fields:
        key = resolved[condition.key]
        kinds = sorted({f.kind for f in known if f.key == key})
        if not _yes_no(condition) or KIND_NAMES[FieldKind.BOOLEAN] in kinds:
            continue
        notes.append(
            f"field {key[:80]!r} holds {' and '.join(kinds)} values, never yes/no: "
            f"{condition.describe()[:120]!r} compares it with the text {condition.text[:40]!r}. "
            f"'{key[:80]} is set' finds the calls that have it"
        )
    return notes


# --- field conditions as SQL ------------------------------------------------------------------
#
# A condition is one or more *parts*, each a range of the fields key (source, campaign, key,
# kind, txt, call) or of a value index, so it can be read two ways: as the calls it selects (a
# range scan per campaign, when it drives a query) or as a probe of one call (an EXISTS that
# seeks the call's row). A call holds one row per (key, kind), so the parts of one condition
# (its kinds) select disjoint rows except for a call holding the key in two kinds.


@dataclass(frozen=True)
class _Part:
    sql: str  # over the fields row `f`, the key included
    params: tuple[Any, ...]
    estimate: int  # how many rows it selects, from the aggregates: exact, unless `bound`
    key: str
    kind: int
    bound: bool = False  # a number range or value: `estimate` is the key's every number
    # Its rows in one campaign are one range of the fields key (one `txt`), so they come in call
    # order: two such parts' calls can be merged (see `_merged_count`).
    ordered: bool = False


@dataclass(frozen=True)
class _Condition:
    parts: tuple[_Part, ...]  # the call has a row matching one of them
    negated: bool  # ... or, negated, none

    @property
    def estimate(self) -> int:
        return sum(part.estimate for part in self.parts)


@dataclass(frozen=True)
class _FieldScope:
    """The request's sources and campaigns as a condition on the fields row `f`."""

    sql: str
    params: list[Any]

    def totals(self, conn: sqlite3.Connection, key: str, kind: FieldKind) -> tuple[int, float]:
        """(calls holding `key` as `kind`, the sum of their numbers), from the per-campaign
        aggregates, summed in SQL (a text key has a row per distinct value)."""
        calls, num_sum = conn.execute(
            f"SELECT total(f.calls), total(f.num_sum) FROM campaign_fields f WHERE {self.sql} "
            "AND f.key = ? AND f.kind = ?",
            [*self.params, key, int(kind)],
        ).fetchone()
        return int(calls), float(num_sum)

    def spellings(self, conn: sqlite3.Connection, key: str, text: str) -> list[tuple[str, int]]:
        """The stored text values of `key` equal to `text` as NOCASE compares (ASCII case only),
        with their calls: the values a condition's seeks then name exactly."""
        return [
            (str(txt), int(calls))
            for txt, calls in conn.execute(
                "SELECT f.txt, sum(f.calls) FROM campaign_fields f "
                f"WHERE {self.sql} AND f.key = ? AND f.kind = {FieldKind.TEXT} AND f.txt = ? COLLATE NOCASE "
                "GROUP BY f.txt",
                [*self.params, key, text],
            )
        ]


def _conditions(
    conn: sqlite3.Connection, scope: _FieldScope, condition: FieldCondition, key: str, kinds: Sequence[int]
) -> list[_Condition]:
    """`condition` on the stored `key` (which the scope holds as `kinds`) as SQL conditions."""
    op = condition.op

    def calls_of(kind: FieldKind) -> int:
        return scope.totals(conn, key, kind)[0]

    def held() -> _Condition:
        parts = []
        for kind in kinds:
            # Only a text value is stored in `txt` ('' for every other kind).
            ordered = kind != FieldKind.TEXT
            sql = "f.key = ? AND f.kind = ?" + (" AND f.txt = ''" if ordered else "")
            parts.append(_Part(sql, (key, kind), calls_of(FieldKind(kind)), key, kind, ordered=ordered))
        return _Condition(tuple(parts), negated=False)

    if op == "set":
        return [held()]
    if op == "unset":
        return [replace(held(), negated=True)]
    if op in (">", ">=", "<", "<="):
        sql = f"f.key = ? AND f.kind = {FieldKind.NUMBER} AND f.txt = '' AND f.num {op} ?"
        part = _Part(
            sql,
            (key, condition.number),
            calls_of(FieldKind.NUMBER),
            key,
            FieldKind.NUMBER,
            bound=True,
            ordered=True,
        )
        return [_Condition((part,), negated=False)]
    parts: list[_Part] = []
    # The stored spellings equal to the value as NOCASE compares: seeks instead of a scan.
    spellings = scope.spellings(conn, key, condition.text)
    if spellings:
        sql = f"f.key = ? AND f.kind = {FieldKind.TEXT} AND f.txt IN ({placeholders(spellings)})"
        values = (key, *(txt for txt, _ in spellings))
        calls = sum(n for _, n in spellings)
        parts.append(_Part(sql, values, calls, key, FieldKind.TEXT, ordered=len(spellings) == 1))
    if condition.flag is not None:
        every, true_sum = scope.totals(conn, key, FieldKind.BOOLEAN)
        trues = round(true_sum)
        sql = f"f.key = ? AND f.kind = {FieldKind.BOOLEAN} AND f.txt = '' AND f.num = ?"
        calls = trues if condition.flag else every - trues
        parts.append(_Part(sql, (key, float(condition.flag)), calls, key, FieldKind.BOOLEAN, ordered=True))
    if condition.number is not None:
        sql = f"f.key = ? AND f.kind = {FieldKind.NUMBER} AND f.txt = '' AND f.num = ?"
        calls = calls_of(FieldKind.NUMBER)
        parts.append(
            _Part(sql, (key, condition.number), calls, key, FieldKind.NUMBER, bound=True, ordered=True)
        )
    equal = _Condition(tuple(parts), negated=False)
    if op == "=":
        return [equal]
    # != : the call has the field, with another value.
    return [held(), replace(equal, negated=True)]


def _probe(condition: _Condition, row: str = "c", call: str = "id") -> tuple[str, list[Any]]:
    """`condition` as a test of one call, the row `row` (a call row, or a fields row whose call
    is `call`): one primary-key seek per part."""
    if not condition.parts:
        return ("1" if condition.negated else "0"), []
    tests = []
    params: list[Any] = []
    for part in condition.parts:
        # The primary key ends with the call: one seek. (SQLite would otherwise take the index on
        # the call alone, or a value index, and read further.)
        tests.append(
            f"EXISTS (SELECT 1 FROM fields f INDEXED BY {_FIELDS_KEY} WHERE f.source = {row}.source "
            f"AND f.campaign = {row}.campaign AND {part.sql} AND f.call = {row}.{call})"
        )
        params += part.params
    sql = " OR ".join(tests)
    return (f"NOT ({sql})" if condition.negated else f"({sql})"), params


def _driver(
    condition: _Condition,
    scope: _FieldScope,
    query: _Query,
    within: _Condition | None = None,
    calls: tuple[int | None, int | None] = (None, None),
) -> tuple[str, list[Any]]:
    """A SELECT of the fields rows (source, campaign, call, started_at) of the calls `condition`
    selects in the request's dates, each call once: ranges of the fields key or of a value index.
    With `within`, only the calls that condition also selects: a list of its calls (which SQLite
    builds once, as an index of integers) that each row is looked up in. With `calls` (ids from,
    and below), only the calls in that range, each condition's rows read as one range of the
    fields key (which ends with the call)."""
    dates, date_params = _on_rows(query, calls)
    rows = "fields f" if calls == (None, None) else f"fields f INDEXED BY {_FIELDS_KEY}"
    listed = ""
    list_params: list[Any] = []
    if within is not None:
        # `+` keeps SQLite from driving by the list through the index on the call alone.
        lists = []
        for part in within.parts:
            lists.append(f"SELECT f.call FROM {rows} WHERE {scope.sql} AND {part.sql}{dates}")
            list_params += [*scope.params, *part.params, *date_params]
        listed = f" AND +f.call IN ({' UNION ALL '.join(lists)})"
    selects = []
    params: list[Any] = []
    for part in condition.parts:
        selects.append(
            f"SELECT f.source, f.campaign, f.call, f.started_at FROM {rows} "
            f"WHERE {scope.sql} AND {part.sql}{dates}{listed}"
        )
        params += [*scope.params, *part.params, *date_params, *list_params]
    return " UNION ".join(selects), params


def _on_rows(query: _Query, calls: tuple[int | None, int | None]) -> tuple[str, list[Any]]:
    """The request's dates and the call range `calls` (ids from, and below) as conditions on the
    fields row `f` (" AND …"), with their parameters."""
    sql = "".join(f" AND {d.format(t='f')}" for d in query.dates)
    params = list(query.date_params)
    for bound, op in zip(calls, (">=", "<"), strict=True):
        if bound is not None:
            sql += f" AND f.call {op} ?"
            params.append(bound)
    return sql, params


def _merged_count(
    conn: sqlite3.Connection,
    campaigns: Sequence[tuple[int, int]],
    first: _Part,
    second: _Part,
    query: _Query,
    calls: tuple[int | None, int | None] = (None, None),
) -> int:
    """How many calls both parts select (in the request's dates and the range `calls`): in each
    of `campaigns` (source, campaign) their rows are read in call order and merged, as SQLite
    runs an INTERSECT of two ordered scans, so no list of either's calls is built. Measured at
    300,000 calls, `refund_amount>100` and `resolution=approved` (42,000 rows): 5.8 ms merged,
    8.5 looked up in a list."""
    on_rows, on_params = _on_rows(query, calls)

    def side(part: _Part) -> str:
        return (
            f"SELECT f.call FROM fields f INDEXED BY {_FIELDS_KEY} "
            f"WHERE f.source = ? AND f.campaign = ? AND {part.sql}{on_rows}"
        )

    sql = f"SELECT count(*) FROM ({side(first)} INTERSECT {side(second)} ORDER BY 1)"
    total = 0
    for source, campaign in campaigns:
        params = [source, campaign, *first.params, *on_params, source, campaign, *second.params, *on_params]
        total += int(conn.execute(sql, params).fetchone()[0])
    return total


def _holding(conn: sqlite3.Connection, scope: _FieldScope, parts: Sequence[_Part]) -> list[tuple[int, int]]:
    """The (source, campaign) pairs of the scope whose calls hold every part's key and kind, from
    the per-campaign aggregates."""
    found: set[tuple[int, int]] | None = None
    for part in parts:
        rows = conn.execute(
            f"SELECT f.source, f.campaign FROM campaign_fields f WHERE {scope.sql} "
            "AND f.key = ? AND f.kind = ? GROUP BY f.source, f.campaign",
            [*scope.params, part.key, part.kind],
        )
        pairs = {(int(a), int(b)) for a, b in rows}
        found = pairs if found is None else found & pairs
    return sorted(found or ())


# A count over at least this many fields rows (its conditions' estimates) is split in two by call
# id, the older half counted on this reader connection and the newer on another at once (SQLite
# releases the GIL while it works, so they use two cores). Measured at 300,000 calls, the count of
# `refund_amount>100` and `resolution=approved` (42,000 rows, 13,295 calls) took 11.9 ms whole and
# 5.4 ms in halves with a list, 5.8 and 3.5 ms merged. Each half reads its rows as primary-key
# ranges ending at the split, so neither reads the other's. The halves are two read transactions:
# a sync committing between their starts (microseconds apart) can be seen by one and not the
# other, as a search's count beside its ranking.
_SPLIT_ROWS = 10_000

# Runs a count on another reader connection while the caller goes on (`Database.beside`).
Beside = Callable[[Callable[[sqlite3.Connection], int]], "Future[int]"]


# A count driven by one condition either seeks the fields key once per call it selects for each
# other condition (a probe), or looks each up in a list of another condition's calls, which
# SQLite builds once as an index of integers. Measured at 300,000 calls, a probe costs about four
# list steps (building the list and scanning the other condition's rows included), so the list
# is taken when the two conditions select within this ratio of each other.
_LIST_RATIO = 3


def _refined(conn: sqlite3.Connection, scope: _FieldScope, drivers: Sequence[_Condition]) -> list[_Condition]:
    """`drivers`, each number condition's estimate (the key's every number) replaced by its count
    when that is well below every other driver's estimate: counted only up to that point, so it
    costs at most what a plan driven by it would."""
    out = []
    for condition in drivers:
        others = [c.estimate for c in drivers if c is not condition]
        parts = []
        for part in condition.parts:
            if part.bound and others:
                cap = min(others) // _LIST_RATIO
                (count,) = conn.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM fields f WHERE {scope.sql} AND {part.sql} LIMIT ?)",
                    [*scope.params, *part.params, cap],
                ).fetchone()
                if count < cap:
                    part = replace(part, estimate=int(count), bound=False)
            parts.append(part)
        out.append(replace(condition, parts=tuple(parts)))
    return out


def request_digest(request: OutcomeRequest) -> str:
    """What identifies a request apart from its page (limit and cursor): cursors carry it."""
    state = {
        "p": request.provider,
        "c": request.campaign_id,
        "s": request.status.value if request.status else None,
        "f": ts(request.from_date),
        "t": ts(request.to_date),
        "d": [request.min_duration, request.max_duration],
        "q": [request.min_qa_score, request.max_qa_score],
        "e": request.ended_reason,
        "w": [c.describe() for c in request.fields],
        "a": sorted(request.scope.items()),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def check_limit(request: OutcomeRequest) -> None:
    """Raises InvalidArgumentError for a page size out of range."""
    if not 1 <= request.limit <= MAX_FIND_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_FIND_LIMIT}.")


def read_cursor(cursor: str, digest: str, *, texts: Sequence[str] = ()) -> dict[str, Any]:
    """The state of a find_calls cursor of the request whose digest is `digest`: the last id
    shown (`a`) and how many were shown (`o`), non-negative integers, and the string values
    named by `texts`. Raises InvalidArgumentError for a cursor of another request (or forged)."""
    state = decode_cursor("find", cursor)
    if (
        state.get("h") != digest
        or not all(isinstance(state.get(k), int) and 0 <= state[k] < 2**63 for k in ("a", "o"))
        or not all(isinstance(state.get(k), str) for k in texts)
    ):
        raise InvalidArgumentError(
            "That cursor belongs to a different find_calls request; repeat the same filters, or "
            "omit the cursor to start over."
        )
    return state


def page_calls(rows: Iterable[tuple[str, str | None]]) -> list[CallSummary]:
    """The listed calls of a page's rows (stored body, campaign id): a body stored before its
    call's campaign was known takes the row's. Shared by both stores."""
    calls = []
    for body, campaign in rows:
        call = summary_from_body(body)
        if campaign and call.campaign_id is None:
            call = call.model_copy(update={"campaign_id": campaign})
        calls.append(call)
    return calls


def find_calls(
    conn: sqlite3.Connection, request: OutcomeRequest, beside: Beside | None = None
) -> OutcomeResult:
    """The page of calls matching `request`, newest first, and how many match in all; with
    `beside`, a count over many fields rows is counted in two halves at once.

    Raises InvalidArgumentError for a bad limit or cursor and for a field no call in scope has."""
    check_limit(request)
    digest = request_digest(request)
    after, offset = -1, 0
    if request.cursor is not None:
        state = read_cursor(request.cursor, digest)
        after, offset = state["a"], state["o"]
    sources = scope_sources(conn, request.scope, request.provider)
    if not sources:
        return OutcomeResult(calls=[], total=0)
    ids = [s.id for s in sources]
    source_sql = f"source IN ({placeholders(ids)})"
    refs: list[int] | None = None
    if request.campaign_id is not None:
        refs = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM campaigns WHERE {source_sql} AND campaign_id = ?",
                (*ids, sql_text(request.campaign_id)),
            )
        ]
        if not refs:
            return OutcomeResult(calls=[], total=0)
    query = _Query(where=[f"c.{source_sql}"], params=list(ids))
    if refs is not None:
        query.where.append(f"c.campaign IN ({placeholders(refs)})")
        query.params += refs
    scoped = len(query.where)
    for column, low, high in (
        ("duration", request.min_duration, request.max_duration),
        ("qa_score", request.min_qa_score, request.max_qa_score),
    ):
        if low is not None:
            query.where.append(f"c.{column} >= ?")
            query.params.append(low)
        if high is not None:
            query.where.append(f"c.{column} <= ?")
            query.params.append(high)
    if request.status is not None:
        query.where.append("c.status = ?")
        query.params.append(request.status.value)
    if request.ended_reason is not None:
        query.where.append("c.ended_reason = ? COLLATE NOCASE")
        query.params.append(sql_text(request.ended_reason.strip()))
    needs_row = len(query.where) > scoped  # a filter only the call row can answer
    if request.from_date is not None:
        query.dates.append("{t}.started_at >= ?")
        query.date_params.append(ts(request.from_date))
    if request.to_date is not None:
        query.dates += ["{t}.started_at <= ?", "{t}.started_at != ''"]
        query.date_params.append(ts(request.to_date))
    notes: list[str] = []
    if not request.fields:
        total, rows = _by_calls(conn, query, [], _scope_calls(conn, ids, refs), after, request.limit)
    else:
        known = known_fields(conn, sources, refs)
        resolved, notes = resolve_keys(request, known)
        kinds: dict[str, list[int]] = {}
        for known_field in known:
            kinds.setdefault(known_field.key, []).append(_KIND_CODES[known_field.kind])
        all_refs = (
            refs if refs is not None else sorted({r for s in sources for r in _campaign_refs(conn, s.id)})
        )
        scope = _FieldScope(f"f.{source_sql} AND f.campaign IN ({placeholders(all_refs)})", [*ids, *all_refs])
        conditions: list[_Condition] = []
        for condition in request.fields:
            key = resolved[condition.key]
            conditions += _conditions(conn, scope, condition, key, kinds.get(key, []))
        total, rows = _with_fields(
            conn,
            query,
            scope,
            conditions,
            needs_row,
            _scope_calls(conn, ids, refs),
            after,
            request.limit,
            beside,
        )
        if not total and asks_yes_no(request):
            notes += yes_no_notes(request, resolved, known)
    calls = page_calls((body, campaign) for _, body, campaign in rows)
    shown = offset + len(rows)
    cursor = None
    if rows and shown < total:
        cursor = encode_cursor("find", {"h": digest, "a": int(rows[-1][0]), "o": shown})
    return OutcomeResult(calls=calls, total=total, next_cursor=cursor, offset=offset, notes=notes)


@dataclass
class _Query:
    """The conditions on the call row `c` (`where`, `params`) and on the start time (`dates`,
    each with `{t}` for the table it reads: the call row or a fields row, which carries it)."""

    where: list[str]
    params: list[Any]
    dates: list[str] = dc_field(default_factory=list)
    date_params: list[Any] = dc_field(default_factory=list)

    def on(self, table: str, probes: Sequence[tuple[str, list[Any]]] = ()) -> tuple[str, list[Any]]:
        """Every condition, dates read from `table`, and `probes`, as one WHERE clause."""
        sql = [*self.where, *(d.format(t=table) for d in self.dates), *(p for p, _ in probes)]
        params = [*self.params, *self.date_params, *(v for _, values in probes for v in values)]
        return " AND ".join(sql), params


# The page's ids first, then the bodies of those alone: joined before the LIMIT, SQLite reads the
# body of every match it sorts (898 bodies for a page of 20 from 898 matches).
_PAGE = (
    "SELECT c.id, b.body, p.campaign_id FROM ("
    "SELECT c.id, c.campaign FROM {tables} WHERE {where} AND c.id > ? ORDER BY c.id LIMIT ?"
    ") c JOIN call_bodies b ON b.id = c.id LEFT JOIN campaigns p ON p.id = c.campaign ORDER BY c.id"
)


def _walk(
    conn: sqlite3.Connection, query: _Query, probes: Sequence[tuple[str, list[Any]]], after: int, limit: int
) -> list[Any]:
    """A page read by walking the calls in id order (newest first) from the cursor, each call
    tested, stopping at `limit` matches; an index on a filtered column would make SQLite sort
    every match first."""
    where, params = query.on("c", probes)
    return conn.execute(
        _PAGE.format(tables="calls c NOT INDEXED", where=where), [*params, after, limit]
    ).fetchall()


def _by_calls(
    conn: sqlite3.Connection,
    query: _Query,
    probes: Sequence[tuple[str, list[Any]]],
    scope_calls: int,
    after: int,
    limit: int,
) -> tuple[int, list[Any]]:
    """(count, page) read from the calls themselves (no field condition selects calls: none, or
    only "is not set" ones, as `probes`): SQLite picks the count's index (a range of the
    duration or QA score index when the request has one, both carrying the status; else one
    holding every column filtered on); the page walks the calls, or sorts the few that match."""
    where, params = query.on("c", probes)
    (total,) = conn.execute(f"SELECT count(*) FROM calls c WHERE {where}", params).fetchone()
    total = int(total)
    if not total:
        return 0, []
    if _sparse(total, scope_calls, limit):
        page = _PAGE.format(tables="calls c", where=where)
        return total, conn.execute(page, [*params, after, limit]).fetchall()
    return total, _walk(conn, query, probes, after, limit)


def _sparse(total: int, scope_calls: int, limit: int) -> bool:
    """Whether a page is cheaper sorted from the `total` matches than walked: a walk reads about
    limit * scope_calls / total calls to find `limit` of them."""
    return limit * scope_calls > total * total


def _with_fields(
    conn: sqlite3.Connection,
    query: _Query,
    scope: _FieldScope,
    conditions: Sequence[_Condition],
    needs_row: bool,
    scope_calls: int,
    after: int,
    limit: int,
    beside: Beside | None,
) -> tuple[int, list[Any]]:
    """(count, page) of a request with field conditions, driven by the most selective condition
    that selects calls (the aggregates count its rows), or by the second when the two are
    comparable, its rows looked up in a list of the first's calls; the others are probes of each
    call it selects; two comparable conditions alone are merged in call order instead (see
    `_merged_count`). Only "is not set" conditions: every call in scope is probed. A count over
    many rows is split in two by call id, the newer half counted `beside` (see `_SPLIT_ROWS`)."""
    if any(not c.negated and not c.parts for c in conditions):
        return 0, []  # a value no call in scope holds
    drivers = sorted(
        _refined(conn, scope, [c for c in conditions if not c.negated and c.parts]), key=lambda c: c.estimate
    )
    if not drivers:
        return _by_calls(conn, query, [_probe(c) for c in conditions], scope_calls, after, limit)
    conditions = [*drivers, *(c for c in conditions if c.negated or not c.parts)]
    lead, listed = drivers[0], None
    if len(drivers) > 1 and drivers[1].estimate <= _LIST_RATIO * lead.estimate:
        # Comparable conditions: scan the second's rows, each looked up in a list of the first's.
        lead, listed = drivers[1], lead
    others = [c for c in conditions if c is not lead and c is not listed]

    merged: list[tuple[int, int]] | None = None
    if (
        listed is not None
        and not others
        and not needs_row
        and len(lead.parts) == len(listed.parts) == 1
        and lead.parts[0].ordered
        and listed.parts[0].ordered
    ):
        # Two comparable conditions and nothing else to test: their calls merged, per campaign.
        merged = _holding(conn, scope, [lead.parts[0], listed.parts[0]])

    def count(on: sqlite3.Connection, calls: tuple[int | None, int | None] = (None, None)) -> int:
        if merged is not None and listed is not None:
            return _merged_count(on, merged, lead.parts[0], listed.parts[0], query, calls)
        rows, rows_params = _driver(lead, scope, query, listed, calls)
        if needs_row:
            probes = [_probe(c) for c in others]
            where, params = query.on("x", probes)
            (total,) = on.execute(
                f"SELECT count(*) FROM ({rows}) x CROSS JOIN calls c ON c.id = x.call WHERE {where}",
                [*rows_params, *params],
            ).fetchone()
        else:
            # Everything the count needs is in the fields rows (they carry the source, campaign
            # and start of their call): no call row is read.
            probes = [_probe(c, "x", "call") for c in others]
            tests = " AND ".join(sql for sql, _ in probes)
            (total,) = on.execute(
                f"SELECT count(*) FROM ({rows}) x" + (f" WHERE {tests}" if tests else ""),
                [*rows_params, *(p for _, ps in probes for p in ps)],
            ).fetchone()
        return int(total)

    if not others and listed is None and not needs_row and not query.dates and _exact(lead):
        # One condition of one kind, no filter but the scope: the aggregates hold its count.
        total = lead.estimate
    else:
        scanned = lead.estimate + (listed.estimate if listed is not None else 0)
        split = None
        if beside is not None and scanned >= _SPLIT_ROWS and not query.dates:
            split = _split_id(conn, scope)
        if beside is None or split is None:
            total = count(conn)
        else:
            newer = beside(partial(count, calls=(None, split)))
            total = count(conn, (split, None)) + newer.result()
    if not total:
        return 0, []
    if _sparse(total, scope_calls, limit):
        # Sparse matches: sort the few ids rather than walk many calls to fill a page.
        drive, drive_params = _driver(lead, scope, query, listed)
        probes = [_probe(c) for c in others]
        where, params = query.on("x", probes)
        tables = f"({drive}) x CROSS JOIN calls c ON c.id = x.call"
        rows = conn.execute(
            _PAGE.format(tables=tables, where=where), [*drive_params, *params, after, limit]
        ).fetchall()
        return total, rows
    return total, _walk(conn, query, [_probe(c) for c in conditions], after, limit)


def _split_id(conn: sqlite3.Connection, scope: _FieldScope) -> int | None:
    """The call id that splits the scope's calls into two about equal halves by start day (from
    the per-day counters): the calls starting on or after the day that best halves them have ids
    below it (ids fall as start times rise, see `rowids`). None when one day holds most calls."""
    days = conn.execute(
        f"SELECT f.day, total(f.calls) FROM campaign_days f WHERE {scope.sql} GROUP BY f.day ORDER BY f.day",
        scope.params,
    ).fetchall()
    half = sum(calls for _, calls in days) / 2
    before, best, gap = 0.0, 0, half
    for i, (_, calls) in enumerate(days):
        if abs(before - half) < gap:
            best, gap = i, abs(before - half)
        before += calls
    if best == 0:
        return None
    try:
        midnight = datetime.fromisoformat(str(days[best][0])).replace(tzinfo=UTC)
    except ValueError:
        return None
    return (start_band(midnight) + 1) << SEQ_BITS


def _exact(condition: _Condition) -> bool:
    """Whether `condition`'s estimate is its count: one part (a call holds one row per key and
    kind), estimated exactly."""
    return len(condition.parts) == 1 and not condition.parts[0].bound


def _scope_calls(conn: sqlite3.Connection, ids: Sequence[int], refs: Sequence[int] | None) -> int:
    """How many calls the request's sources (and campaigns) hold, from the write-time counters."""
    sql = f"SELECT total(calls) FROM call_counts WHERE source IN ({placeholders(ids)})"
    params: list[Any] = list(ids)
    if refs is not None:
        sql += f" AND campaign IN ({placeholders(refs)})"
        params += refs
    (count,) = conn.execute(sql, params).fetchone()
    return int(count)
