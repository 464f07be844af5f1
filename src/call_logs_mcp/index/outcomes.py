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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import Field

from call_logs_mcp.analytics.facts import FieldKind
from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index.accounts import AccountScope, Source, scope_sources
from call_logs_mcp.index.db import placeholders
from call_logs_mcp.index.records import FrozenModel, sql_text, summary_from_body, ts
from call_logs_mcp.models import CallStatus, CallSummary

MAX_FIND_LIMIT = 100
_KIND_NAMES = {
    FieldKind.BOOLEAN: "yes/no",
    FieldKind.NUMBER: "number",
    FieldKind.TEXT: "text",
    FieldKind.LIST: "list",
}


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
    given: a skip-scan of the fields key, one lookup per distinct (campaign, field, kind)."""
    found: dict[tuple[str, int], None] = {}
    for source in sources:
        refs = campaigns if campaigns is not None else _campaign_refs(conn, source.id)
        for ref in refs:
            key, kind = "", 0
            while True:
                row = conn.execute(
                    "SELECT key, kind FROM fields WHERE source = ? AND campaign = ? AND (key, kind) > (?, ?) "
                    "ORDER BY key, kind LIMIT 1",
                    (source.id, ref, key, kind),
                ).fetchone()
                if row is None:
                    break
                key, kind = row
                found[(key, kind)] = None
    return [
        KnownField(key=key, kind=_KIND_NAMES.get(FieldKind(kind), "value")) for key, kind in sorted(found)
    ]


def _campaign_refs(conn: sqlite3.Connection, source: int) -> list[int]:
    return [0, *(r[0] for r in conn.execute("SELECT id FROM campaigns WHERE source = ?", (source,)))]


def _normal(key: str) -> str:
    return "".join(ch for ch in key.casefold() if ch.isalnum() or ch == ".")


def _resolve_keys(request: OutcomeRequest, known: Sequence[KnownField]) -> tuple[dict[str, str], list[str]]:
    """The stored key of each condition's field (a key differing only in case, spaces or
    underscores is taken), and notes on those taken. Raises InvalidArgumentError naming the
    known fields for a field no call in scope has."""
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
            raise InvalidArgumentError(
                f"No indexed call in this scope has an extracted field named {condition.key[:80]!r}. "
                f"Fields it has: {listing}{more}. summarize_campaign shows example values."
            )
        resolved[condition.key] = match
        notes.append(f"field {condition.key[:80]!r} read as {match!r}")
    return resolved, notes


def _field_calls(
    condition: FieldCondition, key: str, source_sql: str, campaign_sql: str
) -> tuple[str, list[Any], bool]:
    """(a SELECT of the ids of calls whose field meets `condition`, its parameters, whether the
    call must NOT be in it)."""
    base = f"SELECT call FROM fields WHERE {source_sql} AND {campaign_sql} AND key = ?"
    op = condition.op
    if op in ("set", "unset"):
        return base, [key], op == "unset"
    if op in (">", ">=", "<", "<="):
        return f"{base} AND kind = {FieldKind.NUMBER} AND num {op} ?", [key, condition.number], False
    parts: list[tuple[str, list[Any]]] = [
        (f"{base} AND kind = {FieldKind.TEXT} AND txt = ? COLLATE NOCASE", [key, condition.text])
    ]
    if condition.flag is not None:
        parts.append((f"{base} AND kind = {FieldKind.BOOLEAN} AND num = ?", [key, float(condition.flag)]))
    if condition.number is not None:
        parts.append((f"{base} AND kind = {FieldKind.NUMBER} AND num = ?", [key, condition.number]))
    equal = " UNION ".join(sql for sql, _ in parts)
    params = [p for _, values in parts for p in values]
    if op == "=":
        return equal, params, False
    # != : the call has the field, with another value.
    return f"{base} EXCEPT SELECT * FROM ({equal})", [key, *params], False


def _digest(request: OutcomeRequest) -> str:
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


def find_calls(conn: sqlite3.Connection, request: OutcomeRequest) -> OutcomeResult:
    """The page of calls matching `request`, newest first, and how many match in all.

    Raises InvalidArgumentError for a bad limit or cursor and for a field no call in scope has."""
    if not 1 <= request.limit <= MAX_FIND_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_FIND_LIMIT}.")
    digest = _digest(request)
    after, offset = -1, 0
    if request.cursor is not None:
        state = decode_cursor("find", request.cursor)
        if state.get("h") != digest or not all(
            isinstance(state.get(k), int) and 0 <= state[k] < 2**63 for k in ("a", "o")
        ):
            raise InvalidArgumentError(
                "That cursor belongs to a different find_calls request; repeat the same filters, or "
                "omit the cursor to start over."
            )
        after, offset = state["a"], state["o"]
    sources = scope_sources(conn, request.scope, request.provider)
    if not sources:
        return OutcomeResult(calls=[], total=0)
    ids = [s.id for s in sources]
    source_sql = f"source IN ({placeholders(ids)})"
    where = [f"c.{source_sql}"]
    params: list[Any] = list(ids)
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
        where.append(f"c.campaign IN ({placeholders(refs)})")
        params += refs
    notes: list[str] = []
    if request.fields:
        known = known_fields(conn, sources, refs)
        resolved, notes = _resolve_keys(request, known)
        all_refs = refs
        if all_refs is None:
            all_refs = sorted({r for s in sources for r in _campaign_refs(conn, s.id)})
        campaign_sql = f"campaign IN ({placeholders(all_refs)})"
        for condition in request.fields:
            sql, values, negated = _field_calls(condition, resolved[condition.key], source_sql, campaign_sql)
            where.append(f"c.id {'NOT ' if negated else ''}IN ({sql})")
            params += _interleave(sql, [*ids, *all_refs], values)
    for column, low, high in (
        ("duration", request.min_duration, request.max_duration),
        ("qa_score", request.min_qa_score, request.max_qa_score),
    ):
        if low is not None:
            where.append(f"c.{column} >= ?")
            params.append(low)
        if high is not None:
            where.append(f"c.{column} <= ?")
            params.append(high)
    if request.status is not None:
        where.append("c.status = ?")
        params.append(request.status.value)
    if request.from_date is not None:
        where.append("c.started_at >= ?")
        params.append(ts(request.from_date))
    if request.to_date is not None:
        where += ["c.started_at <= ?", "c.started_at != ''"]
        params.append(ts(request.to_date))
    if request.ended_reason is not None:
        where.append("c.ended_reason = ? COLLATE NOCASE")
        params.append(sql_text(request.ended_reason.strip()))
    condition_sql = " AND ".join(where)
    (total,) = conn.execute(f"SELECT count(*) FROM calls c WHERE {condition_sql}", params).fetchone()
    rows = conn.execute(
        "SELECT c.id, b.body, p.campaign_id FROM calls c JOIN call_bodies b ON b.id = c.id "
        f"LEFT JOIN campaigns p ON p.id = c.campaign WHERE {condition_sql} AND c.id > ? "
        "ORDER BY c.id LIMIT ?",
        [*params, after, request.limit],
    ).fetchall()
    calls = []
    for _, body, campaign in rows:
        call = summary_from_body(body)
        if campaign and call.campaign_id is None:
            call = call.model_copy(update={"campaign_id": campaign})
        calls.append(call)
    shown = offset + len(rows)
    cursor = None
    if rows and shown < total:
        cursor = encode_cursor("find", {"h": digest, "a": int(rows[-1][0]), "o": shown})
    return OutcomeResult(calls=calls, total=int(total), next_cursor=cursor, offset=offset, notes=notes)


def _interleave(sql: str, branch: list[Any], values: list[Any]) -> list[Any]:
    """The parameters of a field SELECT built by `_field_calls`: each `SELECT call FROM fields`
    takes the source and campaign ids, then its own values in order."""
    out: list[Any] = []
    remaining = list(values)
    for part in sql.split("SELECT call FROM fields")[1:]:
        out += branch
        count = part.count("?") - len(branch)
        out += remaining[:count]
        remaining = remaining[count:]
    return out
