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
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index import words
from call_logs_mcp.index.accounts import AccountScope, Source, scope_sources
from call_logs_mcp.index.db import Database, placeholders
from call_logs_mcp.index.notes import NOTE_KINDS
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
    is_turn_sql,
    start_band,
    turn_range,
)
from call_logs_mcp.index.search import (
    ELLIPSIS_MARK,
    HL_CLOSE,
    HL_OPEN,
    SNIPPET_TOKENS,
    DroppedFilter,
    ParsedQuery,
    PhraseCheck,
    SearchHit,
    SearchResult,
    Suggestion,
    Tier,
    WordCount,
    WordTier,
    ZeroHits,
    make_snippet,
    parse_query,
)
from call_logs_mcp.models import CallStatus, Speaker, call_uri

logger = logging.getLogger(__name__)

# Very common words match hundreds of thousands of turns; bm25 costs about a microsecond per
# match, so ranking is limited to the RANK_WINDOW newest matching turns (counts stay exact).
RANK_WINDOW = 5_000
# A quoted phrase is checked for its exact words in at most this many of the newest turns holding
# its words in some form (see `limit_checks`).
PHRASE_CHECKS = 2_000
MAX_SEARCH_LIMIT = 100

# --- the request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    """A validated search. `offset` and `boundaries` come from the cursor: where this page starts
    (counted over the tiers in order), and per tier the last rowid its ranking covered (none on a
    first page)."""

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
    boundaries: tuple[int | None, ...]  # per tier: the last rowid its ranking covered
    digest: str  # the query and filters, so a cursor is only taken back by the same search
    # Quoted phrases are checked only in the turns with a smaller rowid (the newest candidates).
    checked_below: int | None = None


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
    boundaries: tuple[int | None, ...] = ()
    checked_below = None
    if cursor is not None:
        state = decode_cursor("search", cursor)
        bound = state.get("b")
        if isinstance(bound, int) or bound is None:
            bound = [bound]
        checked_below = state.get("v")
        if (
            state.get("h") != digest
            or not isinstance(state.get("o"), int)
            or state["o"] < 0
            or not isinstance(bound, list)
            or len(bound) > len(parsed.tiers)
            or not all(b is None or (isinstance(b, int) and 0 <= b < 2**63) for b in [*bound, checked_below])
        ):
            raise InvalidArgumentError(
                "That cursor belongs to a different search; repeat the same query and filters, "
                "or omit the cursor to start over."
            )
        offset, boundaries = state["o"], tuple(bound)
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
        boundaries=boundaries,
        digest=digest,
        checked_below=checked_below,
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
    capped_count_sql: str  # + cap → matching turns, at most cap
    window_sql: str  # + rank_window → the oldest rowid of the newest rank_window + 1 matches
    windowed_count_sql: str  # + window end → how many matches the ranking covers
    page_sql: str  # ranked page of every match: see `page_params`
    windowed_page_sql: str  # ranked page of the newest matches: see `page_params`
    rank_window: int
    limit: int
    offset: int
    boundary: int | None  # rank only rowids <= boundary (the newest matches); None: find the window
    # Its matches are among the newest `phrase_checks` candidates of a bounded phrase, so never
    # more than `rank_window`: the ranking covers them all without looking for a window.
    within_window: bool = False
    # A sentence's lower tier ("at least k words" without "at least k + 1") is ranked as its
    # `base` expression with the turns of `more` left out by rowid: bm25 reads a doclist per
    # phrase of its expression (the words' IDF), and the NOT part's phrases score nothing in the
    # tier's turns, so the scores are the same for fewer reads (3 of 9 for 2 of 3 words).
    rank_params: tuple[Any, ...] = ()
    more: str | None = None

    def page_params(self, window_end: int | None, limit: int, offset: int) -> list[Any]:
        """The parameters of `page_sql` (window end None) or `windowed_page_sql`."""
        bound = [] if window_end is None else [window_end]
        left_out = [] if self.more is None else [self.more, *bound]
        return [*self.rank_params, *bound, *left_out, limit, offset]


def plan_search(
    request: SearchRequest,
    found: SearchScope | None,
    rank_window: int,
    tier: Tier | None = None,
    *,
    loose: bool = False,
) -> SearchPlan | None:
    """The SQL of `request` (of one of its tiers: `tier`) over what `find_search_scope` found;
    None when nothing can match. `loose`: without the exact-phrase checks (the words of quoted
    phrases in order, in any form)."""
    if found is None:
        return None
    providers = {s.id: s.provider for s in found.sources}
    where = ["turns MATCH ?"]
    params: list[Any] = [request.parsed.fts if tier is None else tier.fts]
    if request.parsed.exact and not loose:
        if request.checked_below is not None:
            where.append("t.rowid < ?")
            params.append(request.checked_below)
        for check in request.parsed.exact:
            where.append(f"exact_phrase(t.text, ?, ?) = {0 if check.negated else 1}")
            params += [check.phrase, int(check.prefix)]
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
    more = None
    rank_params = list(params)
    if tier is not None and tier.more is not None:
        more, rank_params[0] = tier.more, tier.base

    def page(condition: str, bounded: bool) -> str:
        if more is not None:
            # The tier's turns: `base` matches, without those of `more` (up to the window end).
            bound = " AND rowid <= ?" if bounded else ""
            condition += f" AND t.rowid NOT IN (SELECT rowid FROM turns WHERE turns MATCH ?{bound})"
        return (
            "SELECT t.rowid, t.speaker, t.offset, t.label, "
            f"snippet(turns, 0, '{HL_OPEN}', '{HL_CLOSE}', '{ELLIPSIS_MARK}', {SNIPPET_TOKENS}), "
            # An extracted value ("refund_requested: true") is short, so bm25 puts it above what
            # was said; half weight ranks it beside the turns and summaries it comes from. Only a
            # note (its rowid says so) has its speaker column read: that costs a content seek.
            f"bm25(turns) * (CASE WHEN NOT {is_turn_sql('t.rowid')} AND t.speaker = 'extracted' "
            "THEN 0.5 ELSE 1.0 END) AS score "
            f"FROM {tables} WHERE {condition} "
            "ORDER BY score, t.rowid LIMIT ? OFFSET ?"
        )

    return SearchPlan(
        providers=providers,
        params=(*params, *call_params),
        count_sql=f"SELECT count(*), count(DISTINCT t.rowid >> {CALL_SHIFT}) FROM {tables} WHERE {matches}",
        capped_count_sql=f"SELECT count(*) FROM (SELECT 1 FROM {tables} WHERE {matches} LIMIT ?)",
        window_sql=f"SELECT t.rowid FROM {tables} WHERE {matches} ORDER BY t.rowid LIMIT 1 OFFSET ?",
        windowed_count_sql=f"SELECT count(*) FROM {tables} WHERE {windowed}",
        page_sql=page(matches, bounded=False),
        windowed_page_sql=page(windowed, bounded=True),
        rank_window=rank_window,
        limit=request.limit,
        offset=request.offset,
        boundary=None,
        within_window=bool(request.parsed.exact) and not loose and request.checked_below is not None,
        rank_params=(*rank_params, *call_params),
        more=more,
    )


def plan_tiers(
    request: SearchRequest, found: SearchScope | None, rank_window: int
) -> tuple[SearchPlan, list[SearchPlan]] | None:
    """The plan of every hit (counts) and one plan per tier (pages, in rank order); None when
    nothing can match."""
    union = plan_search(request, found, rank_window)
    if union is None:
        return None
    tiers = request.parsed.tiers
    if len(tiers) == 1:
        return union, [union]
    plans = [plan_search(request, found, rank_window, tier) for tier in tiers]
    return union, [plan for plan in plans if plan is not None]


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


@dataclass(frozen=True)
class Counts:
    total: int
    calls: int
    tiers: list[int]  # matching turns per tier


def count_all(conn: sqlite3.Connection, union: SearchPlan, tiers: Sequence[SearchPlan]) -> Counts:
    """Exact counts: of every hit, of the calls they are in, and per tier."""
    total, calls = count_matches(conn, union)
    if len(tiers) == 1:
        return Counts(total, calls, [total])
    # The tiers split the hits (each has exactly its number of the words): the last one's count
    # is what the others leave.
    per_tier = [count_matches(conn, plan)[0] if total else 0 for plan in tiers[:-1]]
    return Counts(total, calls, [*per_tier, total - sum(per_tier)])


def _window(conn: sqlite3.Connection, plan: SearchPlan) -> tuple[int | None, int]:
    """(the last rowid the ranking covers or None for all, how many matches it covers or -1 for
    all) for `plan`, whose `boundary` may come from a cursor."""
    window_end = plan.boundary
    if window_end is None and plan.within_window:
        return None, -1
    if window_end is None:
        # Rowids grow older: the newest `rank_window` matches end before this rowid.
        row = _fts(conn, plan.window_sql, [*plan.params, plan.rank_window]).fetchone()
        if row is None:
            return None, -1
        return int(row[0]) - 1, plan.rank_window
    (ranked,) = _fts(conn, plan.windowed_count_sql, [*plan.params, window_end]).fetchone()
    return window_end, int(ranked)


def _page(
    conn: sqlite3.Connection, plan: SearchPlan, window_end: int | None, limit: int, offset: int
) -> list[Any]:
    sql = plan.page_sql if window_end is None else plan.windowed_page_sql
    return _fts(conn, sql, plan.page_params(window_end, limit, offset)).fetchall()


@dataclass(frozen=True)
class Ranked:
    hits: list[SearchHit]
    ranked: list[int | None]  # per tier reached: matches its ranking covers (-1: all); None: not reached
    boundaries: list[int | None]  # per tier reached: the last rowid its ranking covered


@dataclass(frozen=True)
class WindowStep:
    """Ask the store for tier `tier`'s window from `boundary` (a cursor's, or None to find it):
    answer (the boundary its ranking covers or None for all, matches it covers or -1 for all)."""

    tier: int
    boundary: int | None


@dataclass(frozen=True)
class CountStep:
    """Ask the store for tier `tier`'s matches: answer their number."""

    tier: int


@dataclass(frozen=True)
class PageStep:
    """Ask the store for `limit` rows of tier `tier` ranked within `window_end` (None: all),
    after skipping `offset`: answer the rows."""

    tier: int
    window_end: int | None
    limit: int
    offset: int


RankStep = WindowStep | CountStep | PageStep


def rank_steps(
    tiers: int, offset: int, limit: int, boundaries: Sequence[int | None]
) -> Generator[RankStep, Any, tuple[list[Any], list[int | None], list[int | None]]]:
    """The paging of a tiered search, store-neutral: the tiers in order, each ranked within its
    window, skipping the `offset` hits earlier pages showed. Yields what it needs to know (see
    the steps) and returns (the page's rows, per tier reached the matches its ranking covers or
    -1 for all, per tier reached its window's boundary)."""
    skip = offset
    wanted = limit
    rows: list[Any] = []
    ranked: list[int | None] = []
    ends: list[int | None] = []
    for i in range(tiers):
        bound = boundaries[i] if i < len(boundaries) else None
        window_end, covered = yield WindowStep(i, bound)
        ends.append(window_end)
        if covered < 0 and tiers > 1:
            covered = yield CountStep(i)
        ranked.append(covered)
        if wanted <= 0:
            break
        page = (yield PageStep(i, window_end, wanted, skip)) if covered < 0 or skip < covered else []
        rows += page
        wanted -= len(page)
        if covered >= 0:
            skip = max(0, skip - covered)
        elif page:
            skip = 0
        if wanted <= 0:
            break
    return rows, ranked, ends


def rank_tiers(
    conn: sqlite3.Connection, tiers: Sequence[SearchPlan], boundaries: Sequence[int | None]
) -> Ranked:
    """The page of hits: the tiers in order, each ranked by bm25 within its window, skipping the
    `offset` hits earlier pages showed."""
    steps = rank_steps(len(tiers), tiers[0].offset, tiers[0].limit, boundaries)
    answer: Any = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            rows, ranked, ends = done.value
            return Ranked(_hits(conn, tiers[0].providers, rows), ranked, ends)
        plan = tiers[step.tier]
        if isinstance(step, WindowStep):
            answer = _window(conn, replace(plan, boundary=step.boundary))
        elif isinstance(step, CountStep):
            answer = count_matches(conn, plan)[0]
        else:
            answer = _page(conn, plan, step.window_end, step.limit, step.offset)


def _hits(conn: sqlite3.Connection, providers: Mapping[int, str], rows: Sequence[Any]) -> list[SearchHit]:
    call_rows = _call_rows(conn, [int(r[0]) >> CALL_SHIFT for r in rows])
    hits = []
    for rowid, speaker, offset, label, raw_snippet, score in rows:
        source, call_id, campaign_name, call_status, started = call_rows[int(rowid) >> CALL_SHIFT]
        name = providers.get(source)
        if name is None:  # pragma: no cover - rows are filtered by source above
            continue
        snippet, spans = make_snippet(raw_snippet or "")
        note = speaker in NOTE_KINDS
        before, after = ("", "") if note else _neighbour_edges(conn, int(rowid))
        hits.append(
            SearchHit(
                provider=name,
                call_id=call_id,
                uri=call_uri(name, call_id),
                campaign_id=campaign_name,
                status=CallStatus(call_status),
                started_at=parse_ts(started),
                matched_in=speaker if note else "turn",
                field=label if note else None,
                turn_index=None if note else int(rowid) & MAX_TURNS,
                speaker=None if note else speaker,
                offset_seconds=None if note else float_or_none(offset),
                snippet=snippet,
                highlights=spans,
                turn_before=before,
                turn_after=after,
                relevance=round(-float(score), 4),
            )
        )
    return hits


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
        f"WHERE rowid BETWEEN ? AND ? AND (rowid & ?) IN (?, ?) AND {is_turn_sql('rowid')}",
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


def limit_checks(
    conn: sqlite3.Connection, request: SearchRequest, found: SearchScope | None, rank_window: int
) -> tuple[SearchRequest, SearchPlan | None]:
    """A quoted phrase's exact words are checked by reading each candidate turn (its words in
    order in any form), which costs about three microseconds per turn, twice (the count and the
    ranking): when more than PHRASE_CHECKS (or `rank_window`) turns are candidates, only the
    newest of them are checked, as ranking covers only the newest matches. The request, bounded
    so (a cursor keeps the bound), and the plan of its candidates when bounded (None: every
    candidate is checked)."""
    if not request.parsed.exact:
        return request, None
    loose = plan_search(request, found, rank_window, loose=True)
    if loose is None:
        return request, None
    if request.checked_below is None:
        if request.offset or request.boundaries:
            return request, None  # the first page checked every candidate
        row = _fts(conn, loose.window_sql, [*loose.params, phrase_checks(rank_window)]).fetchone()
        if row is None:
            return request, None
        request = replace(request, checked_below=int(row[0]))
    return request, loose


def phrase_checks(rank_window: int) -> int:
    return min(rank_window, PHRASE_CHECKS)


async def _count_and_rank(
    db: Database, request: SearchRequest, rank_window: int
) -> tuple[SearchRequest, Counts, Ranked, PhraseCheck | None]:
    def scope(conn: sqlite3.Connection) -> tuple[SearchRequest, SearchScope | None, SearchPlan | None]:
        found = find_search_scope(conn, request)
        bounded, loose = limit_checks(conn, request, found, rank_window)
        return bounded, found, loose

    request, found, loose = await db.read(scope, "searching transcripts")
    plans = plan_tiers(request, found, rank_window)
    if plans is None:
        return request, Counts(0, 0, [0] * len(request.parsed.tiers)), Ranked([], [], []), None
    union, tiers = plans

    def count(conn: sqlite3.Connection) -> tuple[Counts, PhraseCheck | None]:
        counts = count_all(conn, union, tiers)
        if loose is None:
            return counts, None
        # How many candidates a bounded phrase had, counted beside the ranking (words only).
        (candidates,) = _fts(conn, loose.capped_count_sql, [*loose.params, -1]).fetchone()
        return counts, PhraseCheck(candidates=int(candidates), checked=phrase_checks(rank_window))

    (counts, check), ranked = await db.read_pair(
        count, lambda conn: rank_tiers(conn, tiers, request.boundaries), "searching transcripts"
    )
    return request, counts, ranked, check


async def search(db: Database, request: SearchRequest, *, rank_window: int) -> SearchResult:
    """Run `request`: plan it, then count and rank on two reader connections at once; explain a
    search that finds nothing.

    Raises InvalidArgumentError when SQLite rejects the expression (a safety net) and StoreError
    when the index cannot be read."""
    try:
        request, counts, ranked, check = await _count_and_rank(db, request, rank_window)
        fallback = request.parsed.fallback
        if not counts.total and fallback is not None:
            request = replace(request, parsed=fallback)
            request, counts, ranked, check = await _count_and_rank(db, request, rank_window)
        zero = None
        # A bounded phrase with no exact match among the turns checked: the words are together
        # in older turns, not checked (phrase_check says so); "absent" or "apart" would mislead.
        if not counts.total and request.offset == 0 and check is None:
            zero = await db.read(lambda conn: explain_zero(conn, request, rank_window), "explaining a search")
    except _QueryRejected:
        # parse_query emits only quoted terms; this is a safety net, never an SQLite message
        # (which can quote the query) in the error or the log.
        logger.warning("the index rejected a search expression")
        raise InvalidArgumentError(
            'The search query could not be run; use plain words, "phrases" and prefix*.'
        ) from None
    return search_result(request, counts, ranked, check, zero, rank_window)


def search_result(
    request: SearchRequest,
    counts: Counts,
    ranked: Ranked,
    check: PhraseCheck | None,
    zero: ZeroHits | None,
    rank_window: int,
) -> SearchResult:
    """The answer of a counted and ranked search (store-neutral): what is reachable, the next
    cursor, the ranking note and how the query was read."""
    reachable = 0
    for i, total in enumerate(counts.tiers):
        covered = ranked.ranked[i] if i < len(ranked.ranked) else None
        if covered is None:
            covered = min(total, rank_window)
        reachable += total if covered < 0 else min(covered, total)
    next_offset = request.offset + len(ranked.hits)
    next_cursor = None
    if ranked.hits and next_offset < reachable:
        bounds = list(ranked.boundaries)
        state: dict[str, Any] = {"h": request.digest, "o": next_offset, "b": bounds}
        if request.checked_below is not None:
            state["v"] = request.checked_below
        next_cursor = encode_cursor("search", state)
    note = None
    if reachable < counts.total:
        note = (
            f"Ranked the {reachable:,} most recent of {counts.total:,} matching turns; add words or "
            "filters (campaign, dates, speaker, status) to rank them all."
        )
    parsed = request.parsed
    word_tiers = [
        WordTier(words=tier.words, of=tier.of, hits=hits)
        for tier, hits in zip(parsed.tiers, counts.tiers, strict=False)
        if tier.of
    ]
    notes = list(parsed.notes)
    if len(word_tiers) > 1:
        first = word_tiers[0]
        notes.append(
            f"the pass for all {first.of} words found {first.hits:,} matches"
            + ("" if first.hits else f"; showing matches with at least {word_tiers[-1].words} of them")
        )
    return SearchResult(
        query=request.query,
        interpreted_as=notes,
        word_tiers=word_tiers,
        hits=ranked.hits,
        offset=request.offset,
        total_hits=counts.total,
        calls_matched=counts.calls,
        ranked_hits=reachable,
        ranking_note=note,
        next_cursor=next_cursor,
        zero_hits=zero,
        phrase_check=check,
    )


# --- when nothing matched -------------------------------------------------------------------

_FILTER_NAMES = {
    "campaign_id": "the campaign filter",
    "status": "the status filter",
    "dates": "the date range",
    "speaker": "the speaker filter",
}
_MAX_SUGGESTIONS = 5


def _without(request: SearchRequest, name: str) -> SearchRequest:
    if name == "dates":
        return replace(request, from_date=None, to_date=None, offset=0, boundaries=())
    return replace(request, **{name: None}, offset=0, boundaries=())  # type: ignore[arg-type]


# Counts in an explanation stop here ("10,000 or more"): a suggestion of a common word would
# otherwise cost a count of every turn holding it.
EXPLAIN_CAP = 10_000


def _count(conn: sqlite3.Connection, request: SearchRequest, rank_window: int) -> int:
    """Matches of `request`, counted up to EXPLAIN_CAP."""
    plan = plan_search(request, find_search_scope(conn, request), rank_window)
    if plan is None:
        return 0
    (count,) = _fts(conn, plan.capped_count_sql, [*plan.params, EXPLAIN_CAP]).fetchone()
    return int(count)


@dataclass(frozen=True)
class CountAsk:
    """Ask the store for the matches of `request`, counted up to EXPLAIN_CAP: answer an int."""

    request: SearchRequest


@dataclass(frozen=True)
class CandidatesAsk:
    """Ask the store for the terms of its index near `word` (see `_candidates`): answer a list."""

    word: str


def explain_steps(request: SearchRequest) -> Generator[CountAsk | CandidatesAsk, Any, ZeroHits]:
    """Why a search found nothing (store-neutral): the filters (and which one to drop), or the
    words (and terms the caller's calls do hold that look like them). Yields what it needs to
    count or look up and returns the explanation."""
    active = [
        name
        for name, on in (
            ("campaign_id", request.campaign_id is not None),
            ("status", request.status is not None),
            ("dates", request.from_date is not None or request.to_date is not None),
            ("speaker", request.speaker is not None),
        )
        if on
    ]
    if active:
        unfiltered = request
        for name in active:
            unfiltered = _without(unfiltered, name)
        everywhere: int = yield CountAsk(unfiltered)
        if everywhere:
            drops = []
            for name in active:
                hits: int = yield CountAsk(_without(request, name))
                drops.append(DroppedFilter(filter=_FILTER_NAMES[name], hits=hits))
            return ZeroHits(reason="filtered", unfiltered_hits=everywhere, without=drops)
    else:
        unfiltered = request
    suggestions: list[Suggestion] = []
    present: list[WordCount] = []
    query_words = _query_words(request.parsed)
    for word in query_words:
        hits = yield CountAsk(replace(unfiltered, parsed=parse_query(word)))
        if hits:
            present.append(WordCount(word=word, hits=hits))
            continue
        candidates: list[str] = yield CandidatesAsk(word)
        for candidate in candidates:
            hits = yield CountAsk(replace(unfiltered, parsed=parse_query(candidate)))
            if hits:
                suggestions.append(Suggestion(instead_of=word, term=candidate, hits=hits))
            if sum(1 for s in suggestions if s.instead_of == word) >= 3:
                break
        if len(suggestions) >= _MAX_SUGGESTIONS:
            break
    if query_words and len(present) == len(query_words):
        return ZeroHits(reason="apart", word_hits=present)
    return ZeroHits(
        reason="absent",
        alternatives=request.parsed.alternatives,
        suggestions=suggestions[:_MAX_SUGGESTIONS],
        word_hits=present,
    )


def explain_zero(conn: sqlite3.Connection, request: SearchRequest, rank_window: int) -> ZeroHits:
    """`explain_steps` on the SQLite index."""
    steps = explain_steps(request)
    answer: Any = None
    while True:
        try:
            ask = steps.send(answer)
        except StopIteration as done:
            explained: ZeroHits = done.value
            return explained
        if isinstance(ask, CountAsk):
            answer = _count(conn, ask.request, rank_window)
        else:
            answer = _candidates(conn, ask.word)


def _query_words(parsed: ParsedQuery) -> list[str]:
    found: list[str] = []
    for term in parsed.terms:
        for token in words.tokens(term):
            if token not in found and len(token) > 2:
                found.append(token)
    return found[:8]


def _candidates(conn: sqlite3.Connection, word: str) -> list[str]:
    """`near_terms` of `word` in the FTS5 index."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.turns_vocab USING fts5vocab(main, turns, row)")

    def known(term: str) -> bool:
        # A phrase query finds the first row holding the term: one seek per index segment.
        query = '"' + term.replace('"', '""') + '"'
        return (
            conn.execute("SELECT 1 FROM turns WHERE turns MATCH ? LIMIT 1", (query,)).fetchone() is not None
        )

    low, high = vocabulary_range(word)
    vocabulary = [
        term
        for (term,) in conn.execute(
            "SELECT term FROM temp.turns_vocab WHERE term >= ? AND term < ? LIMIT ?",
            (low, high, VOCABULARY_WALK),
        )
    ]
    return near_terms(word, known, vocabulary)


# How many of the index's terms sharing a word's first letters a suggestion looks at.
VOCABULARY_WALK = 400


def vocabulary_range(word: str) -> tuple[str, str]:
    """The terms [low, high) sharing `word`'s first three letters, in code point order."""
    start = word[:3]
    return start, start[:-1] + chr(ord(start[-1]) + 1)


def split_parts(word: str) -> list[tuple[str, str]]:
    """`word` cut in two words of two letters or more ("callback" → ("call", "back"), ...)."""
    return [
        (word[:cut], word[cut:])
        for cut in range(2, len(word) - 1)
        if len(word[:cut]) > 1 and len(word[cut:]) > 1
    ]


def near_terms(word: str, known: Callable[[str], bool], vocabulary: Iterable[str]) -> list[str]:
    """Terms of an index near `word` (store-neutral): split in two ("callback" → "call back")
    where `known` holds both parts, then the `vocabulary` terms (those of `vocabulary_range`, in
    order, at most VOCABULARY_WALK) one or two edits away or sharing a long prefix, closest first."""
    found: list[tuple[int, str]] = []
    for head, tail in split_parts(word):
        if known(head) and known(tail):
            found.append((0, f'"{head} {tail}"'))
    limit = 2 if len(word) > 4 else 1
    for term in vocabulary:
        if term == word:
            continue
        distance = words.edit_distance(word, term, limit)
        if distance <= limit:
            found.append((distance, term))
        elif len(term) >= 4 and (word.startswith(term) or term.startswith(word)):
            found.append((limit + 1, f"{term}*" if term.startswith(word) else term))
    found.sort(key=lambda item: (item[0], len(item[1]), item[1]))
    return list(dict.fromkeys(term for _, term in found))[:8]
