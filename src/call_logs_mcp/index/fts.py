"""Transcript search over the FTS5 index: validate the request, plan its SQL, then run it.

`plan_search` is a pure function: from the request and what the index holds for its scope (read
first by `find_search_scope`) it builds every statement a page needs. `search` runs them: the
exact counts and the ranked page at once, on two reader connections.

Status, speaker and dates are rowid arithmetic (see `rowids`); account and campaign need the call
row (a primary-key lookup per match), and without them there is no join at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index.accounts import AccountScope, Source, scope_sources
from call_logs_mcp.index.db import Database, placeholders
from call_logs_mcp.index.records import float_or_none, parse_ts, sql_text, ts
from call_logs_mcp.index.rowids import (
    CALL_SHIFT,
    MAX_TURNS,
    SEQ_BITS,
    SPEAKER_BITS,
    SPEAKER_CODES,
    SPILL_MINUTES,
    STATUS_BITS,
    STATUS_CODES,
    STATUS_SHIFT,
    TURN_BITS,
    start_band,
    turn_range,
)
from call_logs_mcp.index.search import (
    ELLIPSIS_MARK,
    HL_CLOSE,
    HL_OPEN,
    SNIPPET_TOKENS,
    ParsedQuery,
    SearchHit,
    SearchResult,
    make_snippet,
    parse_query,
)
from call_logs_mcp.models import CallStatus, Speaker, call_uri

logger = logging.getLogger(__name__)

# Very common words match hundreds of thousands of turns; bm25 costs about a microsecond per
# match, so ranking is limited to the RANK_WINDOW newest matching turns (counts stay exact).
RANK_WINDOW = 5_000
MAX_SEARCH_LIMIT = 100

# --- the request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    """A validated search. `offset` and `boundary` come from the cursor: where this page starts,
    and the last rowid the first page's ranking covered (None on a first page)."""

    scope: AccountScope
    query: str
    parsed: ParsedQuery
    provider: str | None
    campaign_id: str | None
    status: CallStatus | None
    from_date: datetime | None
    to_date: datetime | None
    speaker: Speaker | None
    limit: int
    offset: int
    boundary: int | None
    digest: str  # the query and filters, so a cursor is only taken back by the same search


def search_request(
    scope: AccountScope,
    query: str,
    *,
    provider: str | None,
    campaign_id: str | None,
    status: CallStatus | None,
    from_date: datetime | None,
    to_date: datetime | None,
    speaker: Speaker | None,
    limit: int,
    cursor: str | None,
) -> SearchRequest:
    """Raises InvalidArgumentError for a query with nothing to search, a bad limit or a cursor
    from another search."""
    campaign_id = sql_text(campaign_id)
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}.")
    parsed = parse_query(query)
    filters = {
        "q": parsed.fts,
        "p": provider,
        "c": campaign_id,
        "st": status.value if status else None,
        "f": ts(from_date),
        "t": ts(to_date),
        "sp": speaker,
        "a": sorted(scope.items()),
    }
    digest = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
    offset = 0
    boundary: int | None = None
    if cursor is not None:
        state = decode_cursor("search", cursor)
        bound = state.get("b")
        if (
            state.get("h") != digest
            or not isinstance(state.get("o"), int)
            or state["o"] < 0
            or not (bound is None or isinstance(bound, int))
        ):
            raise InvalidArgumentError(
                "That cursor belongs to a different search; repeat the same query and filters, "
                "or omit the cursor to start over."
            )
        offset, boundary = state["o"], bound
    return SearchRequest(
        scope=scope,
        query=query,
        parsed=parsed,
        provider=provider,
        campaign_id=campaign_id,
        status=status,
        from_date=from_date,
        to_date=to_date,
        speaker=speaker,
        limit=limit,
        offset=offset,
        boundary=boundary,
        digest=digest,
    )


# --- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchScope:
    """What the index holds for a search's scope."""

    sources: list[Source]  # the sources the caller may see (never empty)
    stored_sources: frozenset[int]  # every source in the file
    campaign_refs: list[int] | None  # the campaign's ids in those sources; None: no campaign filter


def find_search_scope(conn: sqlite3.Connection, request: SearchRequest) -> SearchScope | None:
    """The sources and campaign ids the search covers; None when the caller's accounts have
    stored nothing."""
    sources = scope_sources(conn, request.scope, request.provider)
    if not sources:
        return None
    ids = [s.id for s in sources]
    stored_sources = frozenset(r[0] for r in conn.execute("SELECT id FROM sources"))
    refs: list[int] | None = None
    if request.campaign_id is not None:
        refs = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM campaigns WHERE source IN ({placeholders(sources)}) AND campaign_id = ?",
                (*ids, request.campaign_id),
            )
        ]
    return SearchScope(sources, stored_sources, refs)


@dataclass(frozen=True)
class SearchPlan:
    """The statements of one search page. Each takes `params` first, then what its comment says."""

    providers: Mapping[int, str]  # source id → provider name, for the hits
    params: tuple[Any, ...]
    count_sql: str  # → (matching turns, matching calls)
    window_sql: str  # + rank_window → the oldest rowid of the newest rank_window + 1 matches
    windowed_count_sql: str  # + window end → how many matches the ranking covers
    page_sql: str  # + limit, offset → a ranked page of every match
    windowed_page_sql: str  # + window end, limit, offset → a ranked page of the newest matches
    rank_window: int
    limit: int
    offset: int
    boundary: int | None  # rank only rowids <= boundary (the newest matches); None: find the window


def plan_search(request: SearchRequest, found: SearchScope | None, rank_window: int) -> SearchPlan | None:
    """The SQL of `request` over what `find_search_scope` found; None when nothing can match."""
    if found is None:
        return None
    providers = {s.id: s.provider for s in found.sources}
    where = ["turns MATCH ?"]
    params: list[Any] = [request.parsed.fts]
    call_filters: list[str] = []
    call_params: list[Any] = []
    if not found.stored_sources <= set(providers):
        call_filters.append(f"c.source IN ({placeholders(found.sources)})")
        call_params += list(providers)
    if found.campaign_refs is not None:
        refs = found.campaign_refs
        if not refs:
            return None
        call_filters.append(f"c.campaign IN ({placeholders(refs)})")
        call_params += refs
    if request.status is not None:
        where.append(f"((t.rowid >> {STATUS_SHIFT}) & {(1 << STATUS_BITS) - 1}) = ?")
        params.append(STATUS_CODES[request.status.value])
    if request.speaker is not None:
        where.append(f"((t.rowid >> {TURN_BITS}) & {(1 << SPEAKER_BITS) - 1}) = ?")
        params.append(SPEAKER_CODES[request.speaker])
    if request.from_date is not None:
        last_band = start_band(request.from_date) + SPILL_MINUTES
        where.append("t.rowid < ?")
        params.append(((last_band + 1) << SEQ_BITS) << CALL_SHIFT)
        call_filters.append("c.started_at >= ?")
        call_params.append(ts(request.from_date))
    if request.to_date is not None:
        where.append("t.rowid >= ?")
        params.append((start_band(request.to_date) << SEQ_BITS) << CALL_SHIFT)
        call_filters += ["c.started_at <= ?", "c.started_at != ''"]
        call_params.append(ts(request.to_date))
    join = f"CROSS JOIN calls c ON c.id = (t.rowid >> {CALL_SHIFT})" if call_filters else ""
    tables = f"turns t {join}"
    matches = " AND ".join(where + call_filters)
    windowed = f"{matches} AND t.rowid <= ?"

    def page(condition: str) -> str:
        return (
            "SELECT t.rowid, t.speaker, t.offset, "
            f"snippet(turns, 0, '{HL_OPEN}', '{HL_CLOSE}', '{ELLIPSIS_MARK}', {SNIPPET_TOKENS}), "
            f"bm25(turns) AS score FROM {tables} WHERE {condition} "
            "ORDER BY score, t.rowid LIMIT ? OFFSET ?"
        )

    return SearchPlan(
        providers=providers,
        params=(*params, *call_params),
        count_sql=f"SELECT count(*), count(DISTINCT t.rowid >> {CALL_SHIFT}) FROM {tables} WHERE {matches}",
        window_sql=f"SELECT t.rowid FROM {tables} WHERE {matches} ORDER BY t.rowid LIMIT 1 OFFSET ?",
        windowed_count_sql=f"SELECT count(*) FROM {tables} WHERE {windowed}",
        page_sql=page(matches),
        windowed_page_sql=page(windowed),
        rank_window=rank_window,
        limit=request.limit,
        offset=request.offset,
        boundary=request.boundary,
    )


# --- running it -----------------------------------------------------------------------------


class _QueryRejected(Exception):
    """SQLite refused a MATCH expression (never expected: see parse_query)."""


def _fts(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
    try:
        return conn.execute(sql, params)
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc).lower():
            raise _QueryRejected from None
        raise


def count_matches(conn: sqlite3.Connection, plan: SearchPlan) -> tuple[int, int]:
    """(matching turns, matching calls): exact, whatever the rank window."""
    total, matched = _fts(conn, plan.count_sql, plan.params).fetchone()
    return int(total), int(matched)


def rank_page(conn: sqlite3.Connection, plan: SearchPlan) -> tuple[list[SearchHit], int, int | None]:
    """The page of hits, how many matches the ranking covered (-1: all), and the last rowid it
    covered (for the cursor; None: all)."""
    window_end = plan.boundary
    if window_end is None:
        # Rowids grow older: the newest `rank_window` matches end before this rowid.
        row = _fts(conn, plan.window_sql, [*plan.params, plan.rank_window]).fetchone()
        if row is not None:
            window_end = int(row[0]) - 1
    ranked = -1
    if window_end is None:
        rows = _fts(conn, plan.page_sql, [*plan.params, plan.limit, plan.offset]).fetchall()
    else:
        params = [*plan.params, window_end]
        if plan.boundary is not None:  # from the cursor: newer calls may have been indexed since
            (ranked,) = _fts(conn, plan.windowed_count_sql, params).fetchone()
        else:
            ranked = plan.rank_window
        rows = _fts(conn, plan.windowed_page_sql, [*params, plan.limit, plan.offset]).fetchall()
    call_rows = _call_rows(conn, [int(r[0]) >> CALL_SHIFT for r in rows])
    hits = []
    for rowid, turn_speaker, turn_offset, raw_snippet, score in rows:
        source, call_id, campaign_name, call_status, started = call_rows[int(rowid) >> CALL_SHIFT]
        name = plan.providers.get(source)
        if name is None:  # pragma: no cover - rows are filtered by source above
            continue
        snippet, spans = make_snippet(raw_snippet or "")
        before, after = _neighbour_edges(conn, int(rowid))
        hits.append(
            SearchHit(
                provider=name,
                call_id=call_id,
                uri=call_uri(name, call_id),
                campaign_id=campaign_name,
                status=CallStatus(call_status),
                started_at=parse_ts(started),
                turn_index=int(rowid) & MAX_TURNS,
                speaker=turn_speaker,
                offset_seconds=float_or_none(turn_offset),
                snippet=snippet,
                highlights=spans,
                turn_before=before,
                turn_after=after,
                relevance=round(-float(score), 4),
            )
        )
    return hits, ranked, window_end


# How much of the turns around a hit comes with it: enough for a number split between two turns.
NEIGHBOUR_CHARS = 200


def _neighbour_edges(conn: sqlite3.Connection, rowid: int) -> tuple[str, str]:
    """The end of the turn before the turn `rowid` and the start of the turn after it ("" when
    there is none): the output needs them to mask a number split across two turns."""
    low, high = turn_range(rowid >> CALL_SHIFT)
    index = rowid & MAX_TURNS
    before = after = ""
    for turn, head, tail in conn.execute(
        "SELECT rowid & ?, substr(text, 1, ?), substr(text, -?) FROM turns "
        "WHERE rowid BETWEEN ? AND ? AND (rowid & ?) IN (?, ?)",
        [MAX_TURNS, NEIGHBOUR_CHARS, NEIGHBOUR_CHARS, low, high, MAX_TURNS, index - 1, index + 1],
    ):
        if int(turn) == index - 1:
            before = str(tail or "")
        else:
            after = str(head or "")
    return before, after


def _call_rows(
    conn: sqlite3.Connection, rowids: Iterable[int]
) -> dict[int, tuple[int, str, str | None, str, str]]:
    ids = sorted(set(rowids))
    if not ids:
        return {}
    return {
        int(r[0]): (int(r[1]), r[2], r[3], r[4], r[5])
        for r in conn.execute(
            "SELECT c.id, c.source, c.call_id, p.campaign_id, c.status, c.started_at FROM calls c "
            f"LEFT JOIN campaigns p ON p.id = c.campaign WHERE c.id IN ({placeholders(ids)})",
            ids,
        )
    }


async def search(db: Database, request: SearchRequest, *, rank_window: int) -> SearchResult:
    """Run `request`: plan it, then count and rank on two reader connections at once.

    Raises InvalidArgumentError when SQLite rejects the expression (a safety net) and StoreError
    when the index cannot be read."""
    try:
        found = await db.read(lambda conn: find_search_scope(conn, request), "searching transcripts")
        plan = plan_search(request, found, rank_window)
        if plan is None:
            return SearchResult(
                query=request.query,
                interpreted_as=request.parsed.notes,
                hits=[],
                total_hits=0,
                calls_matched=0,
                ranked_hits=0,
            )
        planned = plan
        (total, matched), (hits, ranked, boundary) = await db.read_pair(
            lambda conn: count_matches(conn, planned),
            lambda conn: rank_page(conn, planned),
            "searching transcripts",
        )
    except _QueryRejected:
        # parse_query emits only quoted terms; this is a safety net, never an SQLite message
        # (which can quote the query) in the error or the log.
        logger.warning("the index rejected a search expression")
        raise InvalidArgumentError(
            'The search query could not be run; use plain words, "phrases" and prefix*.'
        ) from None
    ranked = total if ranked < 0 else min(ranked, total)
    next_offset = request.offset + len(hits)
    next_cursor = None
    if hits and next_offset < ranked:
        next_cursor = encode_cursor("search", {"h": request.digest, "o": next_offset, "b": boundary})
    note = None
    if ranked < total:
        note = (
            f"Ranked the {ranked:,} most recent of {total:,} matching turns; add words or "
            "filters (campaign, dates, speaker, status) to rank them all."
        )
    return SearchResult(
        query=request.query,
        interpreted_as=request.parsed.notes,
        hits=hits,
        offset=request.offset,
        total_hits=total,
        calls_matched=matched,
        ranked_hits=ranked,
        ranking_note=note,
        next_cursor=next_cursor,
    )
