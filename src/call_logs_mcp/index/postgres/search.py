"""Transcript search on PostgreSQL: the SQLite store's `search` (see `index.fts`) over `turns.words`.

The store-neutral parts come from `index.fts` and `index.search`: the request and its cursor, the
parsed query and its tiers, the paging of tiers (`rank_steps`), the answer (`search_result`) and
the zero-hit explanation (`explain_steps`, `near_terms`). This module answers their steps here:

- **The query.** `parse_query` emits an FTS5 expression of quoted terms, AND, OR, NOT and
  parentheses (never user syntax). `tsquery_text` reads that expression back and writes a
  tsquery of each term's tokens (`words.tokens`: runs of letters and digits), each folded by
  `call_logs_fold` first (as the column's text is) and then quoted and escaped: unaccent folds
  some letters to an apostrophe ("ʼ", "ŉ"), tsquery's quote. No user text is ever tsquery syntax;
  `to_tsquery` stems the lexemes as the column's are.
- **Newest.** SQLite's rowid order: the start minute (newest first; unknown, before 1970 or in
  its first minute last), then the call's id (the order calls were stored in, within a minute),
  then the agent's, the customer's and the system's turns, then the notes, each by index. Each
  turn carries its call's minute, source and status (migration 5): a search reads calls only for
  a campaign or dates.
  `KEY` is a turn's place among its call's: call id << 18 | speaker code << 16 | index, an
  integer (as SQLite's rowid) for the cursor; "newer than a key" looks up its call's minute.
  One difference is left: a call whose start moves by less than an hour (SQLite's
  `rowids.SPILL_MINUTES`) keeps its SQLite id, so there it stays at its old start among the
  newest; here it moves.
- **Rank within a tier.** `ts_rank_cd` (extracted values at half weight, as SQLite's bm25), ties
  newest first. bm25 and ts_rank_cd differ in value, so within a tier the two stores may order
  hits differently. The contract both meet: the same hits, exact counts and tiers; pages of the
  same sizes, each tier's hits before the next tier's, reaching the same hits; the same rank
  window (the newest matches), phrase check and explanations.
- **Quoted phrases.** The exact words are checked in Python (`words.exact_phrase`, SQLite's SQL
  function) on the candidates: at most PHRASE_CHECKS newest, as in SQLite (`limit_checks`).
- **Snippets.** Built here as FTS5's `snippet()` would be (a window of SNIPPET_TOKENS tokens
  around the matched words, marked), then `make_snippet`: the matched words are the text's
  tokens whose stems (from `to_tsvector`) are the query's. `ts_headline` would read the text
  without `call_logs_fold`, so "café" would not be marked for "cafe".
- **Suggestions.** The vocabulary is `search_words` (kept by a trigger, see `migrations`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from call_logs_mcp.index import words
from call_logs_mcp.index.accounts import Source
from call_logs_mcp.index.fts import (
    EXPLAIN_CAP,
    VOCABULARY_WALK,
    CandidatesAsk,
    CountAsk,
    Counts,
    CountStep,
    Ranked,
    SearchRequest,
    WindowStep,
    explain_steps,
    near_terms,
    phrase_checks,
    rank_steps,
    search_result,
    split_parts,
    vocabulary_range,
)
from call_logs_mcp.index.notes import NOTE_KINDS
from call_logs_mcp.index.postgres.db import Connection, Database
from call_logs_mcp.index.postgres.migrations import SEARCH_MINUTE, WORDS_CONFIG
from call_logs_mcp.index.postgres.reads import scope_sources
from call_logs_mcp.index.postgres.writes import pg_str
from call_logs_mcp.index.records import float_or_none, parse_ts, ts
from call_logs_mcp.index.search import (
    ELLIPSIS_MARK,
    HL_CLOSE,
    HL_OPEN,
    SNIPPET_TOKENS,
    PhraseCheck,
    SearchHit,
    SearchResult,
    ZeroHits,
    make_snippet,
)
from call_logs_mcp.models import CallStatus, call_uri

# A turn's place in its call (see the module): speaker code 0-2, 3 for notes.
KEY = (
    "((t.call << 18) | ((CASE WHEN t.note THEN 3 WHEN t.speaker = 'agent' THEN 0 "
    "WHEN t.speaker = 'customer' THEN 1 ELSE 2 END) << 16) | t.seq)"
)
KEY_SHIFT = 18
NOTE_CODE = 3


# A turn's call's start minute (migration 5: turns carry it, with their call's source and status).
MINUTE = "t.minute"
NEWEST = f"{MINUTE} DESC, {KEY}"
# SQL true for a turn newer than the turn whose key is the parameter (given twice).
NEWER = (
    f"({MINUTE}, -{KEY}) > ((SELECT {SEARCH_MINUTE.format(started='b.started_at')} FROM calls b "
    f"WHERE b.id = %s >> {KEY_SHIFT}), -%s)"
)
TSQUERY = f"to_tsquery('{WORDS_CONFIG}', %s)"
TURNS = "turns t"  # a search without a campaign or dates reads no call
WITH_CALLS = "turns t JOIN calls c ON c.id = t.call"


# --- the query ------------------------------------------------------------------------------

_EXPRESSION = re.compile(r'\s*(?:"((?:[^"]|"")*)"(\*?)|(\()|(\))|(AND|OR|NOT)(?![^\s()"]))')


@dataclass(frozen=True)
class Phrase:
    tokens: tuple[str, ...]
    prefix: bool

    def tsquery(self, folds: Mapping[str, str]) -> str | None:
        """Its tokens as `folds` folds them, quoted, one after the other (the last a prefix)."""
        if not self.tokens:
            return None
        parts = ["'" + folds[token].replace("\\", "\\\\").replace("'", "''") + "'" for token in self.tokens]
        if self.prefix:
            parts[-1] += ":*"
        return "(" + " <-> ".join(parts) + ")"


@dataclass
class TsQuery:
    """A tsquery (None: matches nothing) and the phrases a hit matches (not those excluded)."""

    text: str | None
    phrases: list[Phrase]


class _Reader:
    """Reads an FTS5 expression as `parse_query` writes it: quoted terms (prefix*), AND (also
    implied), OR, NOT (binary, left to right), parentheses; NOT binds tightest, then AND, then OR,
    as in FTS5."""

    def __init__(self, expression: str, folds: Mapping[str, str] | None = None) -> None:
        self.folds = folds or {}
        self.items: list[tuple[str, Any]] = []
        at = 0
        while at < len(expression):
            if not expression[at:].strip():
                break
            match = _EXPRESSION.match(expression, at)
            if match is None:
                raise ValueError("not an expression parse_query writes")
            at = match.end()
            if match.group(1) is not None:
                text = match.group(1).replace('""', '"')
                self.items.append(("term", Phrase(tuple(words.tokens(text)), bool(match.group(2)))))
            elif match.group(3):
                self.items.append(("(", None))
            elif match.group(4):
                self.items.append((")", None))
            else:
                self.items.append((match.group(5), None))
        self.at = 0
        self.phrases: list[Phrase] = []

    def peek(self) -> str | None:
        return self.items[self.at][0] if self.at < len(self.items) else None

    def take(self) -> tuple[str, Any]:
        item = self.items[self.at]
        self.at += 1
        return item

    def any_of(self, positive: bool) -> str | None:
        left = self.all_of(positive)
        while self.peek() == "OR":
            self.take()
            right = self.all_of(positive)
            left = right if left is None else left if right is None else f"({left} | {right})"
        return left

    def all_of(self, positive: bool) -> str | None:
        left = self.without(positive)
        while self.peek() in ("AND", "term", "("):
            if self.peek() == "AND":
                self.take()
            right = self.without(positive)
            left = None if left is None or right is None else f"({left} & {right})"
        return left

    def without(self, positive: bool) -> str | None:
        left = self.primary(positive)
        while self.peek() == "NOT":
            self.take()
            right = self.primary(False)
            left = left if left is None or right is None else f"({left} & !{right})"
        return left

    def primary(self, positive: bool) -> str | None:
        kind, value = self.take()
        if kind == "(":
            inner = self.any_of(positive)
            if self.peek() == ")":
                self.take()
            return inner
        if kind != "term":
            raise ValueError("not an expression parse_query writes")
        if positive:
            self.phrases.append(value)
        text: str | None = value.tsquery(self.folds)
        return text


def expression_tokens(expression: str) -> set[str]:
    """The tokens of the terms of an FTS5 expression `parse_query` wrote."""
    return {token for kind, value in _Reader(expression).items if kind == "term" for token in value.tokens}


async def fold_tokens(conn: Connection, tokens: set[str]) -> dict[str, str]:
    """Each token as `call_logs_fold` folds the column's text."""
    if not tokens:
        return {}
    rows = await _rows(conn, "SELECT x, call_logs_fold(x) FROM unnest(%s::text[]) AS x", (sorted(tokens),))
    return {str(token): str(folded) for token, folded in rows}


def tsquery_text(expression: str, folds: Mapping[str, str]) -> TsQuery:
    """The tsquery (for `to_tsquery`) of an FTS5 expression `parse_query` wrote, its tokens
    folded by `folds` (see `fold_tokens`). Every lexeme is quoted and escaped: nothing of the
    user's text is tsquery syntax. Raises ValueError for any other expression (never expected)."""
    reader = _Reader(expression, folds)
    text = reader.any_of(True)
    if reader.at != len(reader.items):
        raise ValueError("not an expression parse_query writes")
    return TsQuery(text, reader.phrases)


# --- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    sources: list[Source]
    campaign_refs: list[int] | None


@dataclass(frozen=True)
class Plan:
    """The conditions of one search (or tier) on `tables`, with their parameters."""

    where: str
    params: tuple[Any, ...]
    query: TsQuery
    tables: str  # TURNS, or WITH_CALLS for a campaign or dates


async def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return await (await conn.execute(sql.encode(), params)).fetchall()


async def find_scope(conn: Connection, request: SearchRequest) -> Scope | None:
    """The sources and campaign ids the search covers; None when the caller's accounts have
    stored nothing."""
    sources = await scope_sources(conn, request.scope, request.provider)
    if not sources:
        return None
    refs: list[int] | None = None
    if request.campaign_id is not None:
        refs = [
            int(r[0])
            for r in await _rows(
                conn,
                "SELECT id FROM campaigns WHERE source = ANY(%s) AND campaign_id = %s",
                ([s.id for s in sources], pg_str(request.campaign_id)),
            )
        ]
    return Scope(sources, refs)


def plan(
    request: SearchRequest,
    found: Scope | None,
    folds: Mapping[str, str],
    expression: str | None = None,
    passing: list[int] | None = None,
) -> Plan | None:
    """The conditions of `request` (of one of its tiers: `expression`); None when nothing can
    match. `passing`: the keys of the candidates whose exact words were checked and hold (then
    they are the matches: read by primary key, not by the word index)."""
    if found is None or (found.campaign_refs is not None and not found.campaign_refs):
        return None
    query = tsquery_text(request.parsed.fts if expression is None else expression, folds)
    if query.text is None:
        return None
    where = [f"t.words @@ {TSQUERY}", "t.source = ANY(%s)"]
    params: list[Any] = [query.text, [s.id for s in found.sources]]
    if passing is not None:
        where[0] = "(t.call, t.note, t.seq) IN (SELECT * FROM unnest(%s::bigint[], %s::boolean[], %s::int[]))"
        params[0:1] = [
            [key >> KEY_SHIFT for key in passing],
            [(key >> 16) & 3 == NOTE_CODE for key in passing],
            [key & 0xFFFF for key in passing],
        ]
    if request.status is not None:
        where.append("t.status = %s")
        params.append(request.status.value)
    if request.speaker is not None:
        where.append("NOT t.note AND t.speaker = %s")
        params.append(request.speaker)
    # What only the calls hold: a campaign and the exact start.
    call_filters: list[str] = []
    if found.campaign_refs is not None:
        call_filters.append("c.campaign = ANY(%s)")
        params.append(found.campaign_refs)
    if request.from_date is not None:
        call_filters.append('c.started_at COLLATE "C" >= %s')
        params.append(ts(request.from_date))
    if request.to_date is not None:
        call_filters.append("c.started_at COLLATE \"C\" <= %s AND c.started_at != ''")
        params.append(ts(request.to_date))
    tables = WITH_CALLS if call_filters else TURNS
    return Plan(" AND ".join(where + call_filters), tuple(params), query, tables)


# --- exact phrases --------------------------------------------------------------------------


async def _passing(
    conn: Connection, request: SearchRequest, loose: Plan, below: int | None, cap: int | None = None
) -> list[int]:
    """The keys of the candidates (newest first; newer than `below` when given) whose exact words
    pass every check of the request's quoted phrases; at most `cap` of them."""
    sql = f"SELECT {KEY}, t.text FROM {loose.tables} WHERE {loose.where}"
    params: list[Any] = list(loose.params)
    if below is not None:
        sql += f" AND {NEWER}"
        params += [below, below]
    sql += f" ORDER BY {NEWEST}"
    checks = request.parsed.exact
    keys: list[int] = []
    async with conn.cursor() as cur:
        await cur.execute(sql.encode(), params)
        async for key, text in cur:
            if all(
                words.exact_phrase(text, c.phrase, int(c.prefix)) == (0 if c.negated else 1) for c in checks
            ):
                keys.append(int(key))
                if cap is not None and len(keys) >= cap:
                    break
    return keys


async def _facts(conn: Connection, found: Plan, nth: int) -> tuple[int, int, int | None]:
    """(matches, calls they are in, the key of the match after the `nth` newest or None when
    there is none), from one read of the matches."""
    ((total, calls, key),) = await _rows(
        conn,
        f"WITH m AS MATERIALIZED (SELECT t.call, {KEY} AS key, {MINUTE} AS minute FROM {found.tables} "
        f"WHERE {found.where}) SELECT (SELECT count(*) FROM m), (SELECT count(DISTINCT call) FROM m), "
        "(SELECT key FROM m ORDER BY minute DESC, key LIMIT 1 OFFSET %s)",
        (*found.params, nth),
    )
    return int(total), int(calls), None if key is None else int(key)


async def _tier_facts(
    conn: Connection, union: Plan, tiers: Sequence[Plan], nth: int
) -> tuple[tuple[int, int], list[tuple[int, int, int | None]]]:
    """(the union's matches and calls, `_facts` of each tier), from one read of the union's
    matches (each in the first tier whose words it has: the tiers split the union)."""
    tier = " ".join(f"WHEN t.words @@ {TSQUERY} THEN {i}" for i in range(len(tiers)))
    rows = await _rows(
        conn,
        f"WITH m AS MATERIALIZED (SELECT t.call, {KEY} AS key, {MINUTE} AS minute, CASE {tier} END AS tier "
        f"FROM {union.tables} WHERE {union.where}) "
        "SELECT m.tier, count(*), count(DISTINCT m.call), (SELECT e.key FROM m e WHERE e.tier = m.tier "
        "ORDER BY e.minute DESC, e.key LIMIT 1 OFFSET %s), (SELECT count(*) FROM m), "
        "(SELECT count(DISTINCT call) FROM m) FROM m GROUP BY m.tier",
        (*(p.query.text for p in tiers), *union.params, nth),
    )
    found = {
        int(i): (int(total), int(calls), None if key is None else int(key))
        for i, total, calls, key, _, _ in rows
        if i is not None
    }
    union_facts = (int(rows[0][4]), int(rows[0][5])) if rows else (0, 0)
    return union_facts, [found.get(i, (0, 0, None)) for i in range(len(tiers))]


@dataclass(frozen=True)
class Prepared:
    request: SearchRequest
    union: Plan
    tiers: list[Plan]
    check: PhraseCheck | None
    providers: dict[int, str]  # source id → provider name, for the hits
    rank_window: int
    # Per plan (by id): `_facts` at `rank_window`, read once for the counts and the window.
    known: dict[int, tuple[int, int, int | None]] = field(default_factory=dict)
    # Pages read with them: (plan id, window end, limit, offset) → rows.
    pages: dict[tuple[int, int | None, int, int], list[tuple[Any, ...]]] = field(default_factory=dict)

    async def facts(self, conn: Connection, found: Plan) -> tuple[int, int, int | None]:
        if id(found) not in self.known:
            self.known[id(found)] = await _facts(conn, found, self.rank_window)
        return self.known[id(found)]


async def prepare(conn: Connection, request: SearchRequest, rank_window: int) -> Prepared | None:
    """The request (bounded as `fts.limit_checks` bounds it) and its plans; None when nothing
    can match."""
    found = await find_scope(conn, request)
    tiers = request.parsed.tiers
    folds = await fold_tokens(
        conn, set().union(*(expression_tokens(e) for e in [request.parsed.fts, *(t.fts for t in tiers)]))
    )
    passing: list[int] | None = None
    check = None
    if request.parsed.exact:
        loose = plan(request, found, folds)
        if loose is None:
            return None
        candidates: int | None = None
        if request.checked_below is None and not (request.offset or request.boundaries):
            candidates, _, below = await _facts(conn, loose, phrase_checks(rank_window))
            if below is not None:
                request = replace(request, checked_below=below)
        if request.checked_below is not None:
            if candidates is None:
                candidates = (await _facts(conn, loose, 0))[0]
            check = PhraseCheck(candidates=candidates, checked=phrase_checks(rank_window))
        passing = await _passing(conn, request, loose, request.checked_below)
    union = plan(request, found, folds, passing=passing)
    if union is None or found is None:
        return None
    providers = {s.id: s.provider for s in found.sources}
    if len(tiers) == 1:
        prepared = Prepared(request, union, [union], check, providers, rank_window)
        if passing is not None:
            # The checked candidates are the matches, newest first: their facts need no read.
            edge = passing[rank_window] if len(passing) > rank_window else None
            prepared.known[id(union)] = (len(passing), len({key >> KEY_SHIFT for key in passing}), edge)
        return prepared
    plans = [plan(request, found, folds, tier.fts, passing) for tier in tiers]
    return Prepared(request, union, [p for p in plans if p is not None], check, providers, rank_window)


# --- counting and ranking -------------------------------------------------------------------


async def count_all(conn: Connection, prepared: Prepared) -> Counts:
    """Exact counts: of every hit, of the calls they are in, and per tier (see `fts.count_all`)."""
    tiers = prepared.tiers
    if len(tiers) == 1:
        union = prepared.union
        request = prepared.request
        if id(union) not in prepared.known and not request.boundaries:
            # A first page: the counts, the window and the page from one read of the matches.
            first, rows = await _facts_and_page(
                conn, union, prepared.rank_window, request.limit, request.offset
            )
            prepared.known[id(union)] = first
            prepared.pages[(id(union), first[2], request.limit, request.offset)] = rows
        total, calls, _ = await prepared.facts(conn, union)
        return Counts(total, calls, [total])
    (total, calls), facts = await _tier_facts(conn, prepared.union, tiers, prepared.rank_window)
    for found, known in zip(tiers, facts, strict=True):
        prepared.known[id(found)] = known
    per_tier = [(await prepared.facts(conn, p))[0] if total else 0 for p in tiers[:-1]]
    return Counts(total, calls, [*per_tier, total - sum(per_tier)])


async def _window(
    conn: Connection, prepared: Prepared, found: Plan, boundary: int | None
) -> tuple[int | None, int]:
    """(the key of the first match the ranking leaves out or None for all, how many matches it
    covers or -1 for all); `boundary` from a cursor."""
    if boundary is None:
        first_out = (await prepared.facts(conn, found))[2]
        return (None, -1) if first_out is None else (first_out, prepared.rank_window)
    ((ranked,),) = await _rows(
        conn,
        f"SELECT count(*) FROM {found.tables} WHERE {found.where} AND {NEWER}",
        (*found.params, boundary, boundary),
    )
    return boundary, int(ranked)


async def _page(
    conn: Connection, found: Plan, window_end: int | None, limit: int, offset: int
) -> list[tuple[Any, ...]]:
    """The ranked rows: the matches in the window first, then their rank (of those only: a common
    word has many more matches than the window), then what the hits show of the page's rows."""
    # Extracted values are short: half weight ranks them beside the turns (as in SQLite).
    score = f"ts_rank_cd(w.words, {TSQUERY}) * (CASE w.speaker WHEN 'extracted' THEN 0.5 ELSE 1.0 END)"
    window = (
        f"SELECT t.call, t.note, t.seq, t.speaker, t.words, {MINUTE} AS minute, {KEY} AS key "
        f"FROM {found.tables} WHERE {found.where}"
    )
    params: list[Any] = [*found.params]
    if window_end is not None:
        window += f" AND {NEWER}"
        params += [window_end, window_end]
    sql = (
        f"WITH w AS MATERIALIZED ({window}), "
        f"r AS MATERIALIZED (SELECT w.call, w.note, w.seq, w.minute, w.key, {score} AS score FROM w "
        "ORDER BY score DESC, w.minute DESC, w.key LIMIT %s OFFSET %s) "
        f"SELECT {_HIT_COLUMNS} FROM {_HIT_TABLES} ORDER BY r.score DESC, r.minute DESC, r.key"
    )
    return await _rows(conn, sql, [*params, found.query.text, limit, offset])


_HIT_COLUMNS = (
    'r.key, t.call, t.note, t.seq, t.speaker, t."offset", t.label, t.text, c.source, c.call_id, '
    "p.campaign_id, c.status, c.started_at, r.score"
)
_HIT_TABLES = (
    "r JOIN turns t ON t.call = r.call AND t.note = r.note AND t.seq = r.seq JOIN calls c ON c.id = r.call "
    "LEFT JOIN campaigns p ON p.id = c.campaign"
)


async def _facts_and_page(
    conn: Connection, found: Plan, nth: int, limit: int, offset: int
) -> tuple[tuple[int, int, int | None], list[tuple[Any, ...]]]:
    """`_facts` and the first page ranked within the window it finds (`_page`), from one read of
    the matches: the window's words are read by primary key."""
    score = f"ts_rank_cd(x.words, {TSQUERY}) * (CASE x.speaker WHEN 'extracted' THEN 0.5 ELSE 1.0 END)"
    sql = (
        f"WITH m AS MATERIALIZED (SELECT t.call, t.note, t.seq, {MINUTE} AS minute, {KEY} AS key "
        f"FROM {found.tables} WHERE {found.where}), "
        "e AS MATERIALIZED (SELECT key, minute FROM m ORDER BY minute DESC, key LIMIT 1 OFFSET %s), "
        "r AS MATERIALIZED (SELECT m.call, m.note, m.seq, m.minute, m.key, x.score FROM m CROSS JOIN LATERAL "
        f"(SELECT {score} AS score FROM turns x WHERE x.call = m.call AND x.note = m.note AND x.seq = m.seq "
        "OFFSET 0) x "
        "WHERE NOT EXISTS (SELECT 1 FROM e) OR (m.minute, -m.key) > (SELECT e.minute, -e.key FROM e) "
        "ORDER BY x.score DESC, m.minute DESC, m.key LIMIT %s OFFSET %s) "
        "SELECT a.total, a.calls, a.edge, h.* FROM (SELECT (SELECT count(*) FROM m) AS total, "
        "(SELECT count(DISTINCT call) FROM m) AS calls, (SELECT key FROM e) AS edge) a "
        f"LEFT JOIN LATERAL (SELECT {_HIT_COLUMNS}, r.minute AS r_minute FROM {_HIT_TABLES}) h ON true "
        "ORDER BY h.score DESC, h.r_minute DESC, h.key"
    )
    rows = await _rows(conn, sql, [*found.params, nth, found.query.text, limit, offset])
    total, calls, edge = rows[0][:3]
    page = [row[3:17] for row in rows if row[3] is not None]
    return (int(total), int(calls), None if edge is None else int(edge)), page


async def rank(conn: Connection, prepared: Prepared) -> Ranked:
    """The page of hits (`fts.rank_steps` answered here)."""
    request = prepared.request
    steps = rank_steps(len(prepared.tiers), request.offset, request.limit, request.boundaries)
    answer: Any = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            rows, ranked, ends = done.value
            return Ranked(await _hits(conn, prepared, rows), ranked, ends)
        found = prepared.tiers[step.tier]
        if isinstance(step, WindowStep):
            answer = await _window(conn, prepared, found, step.boundary)
        elif isinstance(step, CountStep):
            answer = (await prepared.facts(conn, found))[0]
        else:
            read = prepared.pages.get((id(found), step.window_end, step.limit, step.offset))
            answer = (
                read
                if read is not None
                else await _page(conn, found, step.window_end, step.limit, step.offset)
            )


# --- hits -----------------------------------------------------------------------------------

# How much of the turns around a hit comes with it (as `fts.NEIGHBOUR_CHARS`).
NEIGHBOUR_CHARS = 200


async def _stems(conn: Connection, tokens: set[str]) -> dict[str, set[str]]:
    """Each token's lexemes, as `turns.words` holds them."""
    if not tokens:
        return {}
    rows = await _rows(
        conn,
        f"SELECT x, coalesce(tsvector_to_array(to_tsvector('{WORDS_CONFIG}', call_logs_fold(x))), '{{}}') "
        "FROM unnest(%s::text[]) AS x",
        (sorted(tokens),),
    )
    return {str(token): set(lexemes) for token, lexemes in rows}


def snippet_marks(text: str, matched: Sequence[bool]) -> str:
    """The text as FTS5's `snippet()` gives it: the window of SNIPPET_TOKENS tokens around the
    matched ones, each matched token between HL_OPEN and HL_CLOSE, ELLIPSIS_MARK where the text
    goes on."""
    spans = words.token_spans(text)
    count = len(spans)
    start, end = 0, count
    if count > SNIPPET_TOKENS:
        hits = [i for i, hit in enumerate(matched) if hit]
        best, best_start = -1, 0
        for first in hits or [0]:
            window = set(i for i in hits if first <= i < first + SNIPPET_TOKENS)
            if len(window) > best:
                best, best_start = len(window), first
        inside = [i for i in hits if best_start <= i < best_start + SNIPPET_TOKENS] or [0]
        spare = SNIPPET_TOKENS - (inside[-1] - inside[0] + 1)
        start = max(0, min(inside[0] - spare // 2, count - SNIPPET_TOKENS))
        end = start + SNIPPET_TOKENS
    out: list[str] = [ELLIPSIS_MARK] if start > 0 else []
    at = 0 if start == 0 else spans[start][0]
    for i in range(start, end):
        a, b, _ = spans[i]
        out.append(text[at:a])
        out.append(HL_OPEN + text[a:b] + HL_CLOSE if matched[i] else text[a:b])
        at = b
    if end < count:
        out.append(ELLIPSIS_MARK)
    else:
        out.append(text[at:])
    return "".join(out)


async def _hits(conn: Connection, prepared: Prepared, rows: Sequence[tuple[Any, ...]]) -> list[SearchHit]:
    phrases = prepared.union.query.phrases
    texts = [str(r[7]) for r in rows]
    tokens = {token for text in texts for _, _, token in words.token_spans(text)}
    stems = await _stems(conn, tokens | {t for p in phrases for t in p.tokens})
    exact: set[str] = set()
    prefixes: set[str] = set()
    for phrase in phrases:
        for i, token in enumerate(phrase.tokens):
            lexemes = stems.get(token, set())
            (prefixes if phrase.prefix and i == len(phrase.tokens) - 1 else exact).update(lexemes)

    def matches(token: str) -> bool:
        lexemes = stems.get(token, set())
        return bool(lexemes & exact) or any(x.startswith(p) for x in lexemes for p in prefixes)

    neighbours = await _neighbour_edges(conn, [(int(r[1]), int(r[3])) for r in rows if not r[2]])
    hits = []
    for row, text in zip(rows, texts, strict=True):
        _key, call, note, seq, speaker, offset, label, _text, source, call_id, campaign, status, started = (
            row[:13]
        )
        name = prepared.providers.get(int(source))
        if name is None:  # pragma: no cover - rows are filtered by source
            continue
        marked = snippet_marks(text, [matches(token) for _, _, token in words.token_spans(text)])
        snippet, spans = make_snippet(marked)
        before, after = ("", "") if note else neighbours.get((int(call), int(seq)), ("", ""))
        hits.append(
            SearchHit(
                provider=name,
                call_id=call_id,
                uri=call_uri(name, call_id),
                campaign_id=campaign,
                status=CallStatus(status),
                started_at=parse_ts(started),
                matched_in=speaker if note and speaker in NOTE_KINDS else "turn",
                field=label if note else None,
                turn_index=None if note else int(seq),
                speaker=None if note else speaker,
                offset_seconds=None if note else float_or_none(offset),
                snippet=snippet,
                highlights=spans,
                turn_before=before,
                turn_after=after,
                relevance=round(float(row[13]), 4),
            )
        )
    return hits


async def _neighbour_edges(
    conn: Connection, turns: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], tuple[str, str]]:
    """Per (call, turn index): the end of the turn before and the start of the turn after ("" when
    there is none)."""
    if not turns:
        return {}
    rows = await _rows(
        conn,
        "SELECT n.call, n.seq, left(n.text, %s), right(n.text, %s) FROM turns n "
        "JOIN unnest(%s::bigint[], %s::int[]) AS h(call, seq) ON n.call = h.call "
        "AND n.seq IN (h.seq - 1, h.seq + 1) WHERE NOT n.note",
        (NEIGHBOUR_CHARS, NEIGHBOUR_CHARS, [c for c, _ in turns], [s for _, s in turns]),
    )
    text = {(int(c), int(s)): (str(head), str(tail)) for c, s, head, tail in rows}
    return {
        (call, seq): (text.get((call, seq - 1), ("", ""))[1], text.get((call, seq + 1), ("", ""))[0])
        for call, seq in turns
    }


# --- when nothing matched -------------------------------------------------------------------


async def _explain_count(conn: Connection, request: SearchRequest) -> int:
    """Matches of `request`, counted up to EXPLAIN_CAP (every candidate of a phrase checked)."""
    found = await find_scope(conn, request)
    folds = await fold_tokens(conn, expression_tokens(request.parsed.fts))
    passing = None
    if request.parsed.exact:
        loose = plan(request, found, folds)
        if loose is None:
            return 0
        passing = await _passing(conn, request, loose, None, EXPLAIN_CAP)
    counted = plan(request, found, folds, passing=passing)
    if counted is None:
        return 0
    ((count,),) = await _rows(
        conn,
        f"SELECT count(*) FROM (SELECT 1 FROM {counted.tables} WHERE {counted.where} LIMIT %s) m",
        (*counted.params, EXPLAIN_CAP),
    )
    return int(count)


async def _candidates(conn: Connection, word: str) -> list[str]:
    """`fts.near_terms` of `word` in this index (its vocabulary: `search_words`)."""
    parts = sorted({part for pair in split_parts(word) for part in pair})
    known: set[str] = set()
    if parts:
        phrases = [Phrase(tuple(words.tokens(part)), False) for part in parts]
        folds = await fold_tokens(conn, {token for phrase in phrases for token in phrase.tokens})
        queries = [phrase.tsquery(folds) or "''" for phrase in phrases]
        known = {
            str(r[0])
            for r in await _rows(
                conn,
                "SELECT x.part FROM unnest(%s::text[], %s::text[]) AS x(part, q) WHERE EXISTS "
                f"(SELECT 1 FROM turns t WHERE t.words @@ to_tsquery('{WORDS_CONFIG}', x.q))",
                (parts, queries),
            )
        }
    low, high = vocabulary_range(word)
    vocabulary = [
        str(r[0])
        for r in await _rows(
            conn,
            "SELECT DISTINCT word FROM search_words WHERE word >= %s AND word < %s ORDER BY word LIMIT %s",
            (low, high, VOCABULARY_WALK),
        )
    ]
    return near_terms(word, known.__contains__, vocabulary)


async def explain_zero(conn: Connection, request: SearchRequest) -> ZeroHits:
    """`fts.explain_steps` answered here."""
    steps = explain_steps(request)
    answer: Any = None
    while True:
        try:
            ask = steps.send(answer)
        except StopIteration as done:
            explained: ZeroHits = done.value
            return explained
        if isinstance(ask, CountAsk):
            answer = await _explain_count(conn, ask.request)
        else:
            assert isinstance(ask, CandidatesAsk)
            answer = await _candidates(conn, ask.word)


# --- the search -----------------------------------------------------------------------------


async def _count_and_rank(
    conn: Connection, request: SearchRequest, rank_window: int
) -> tuple[SearchRequest, Counts, Ranked, PhraseCheck | None]:
    prepared = await prepare(conn, request, rank_window)
    if prepared is None:
        return request, Counts(0, 0, [0] * len(request.parsed.tiers)), Ranked([], [], []), None
    counts = await count_all(conn, prepared)
    ranked = await rank(conn, prepared)
    return prepared.request, counts, ranked, prepared.check


async def search(db: Database, request: SearchRequest, *, rank_window: int) -> SearchResult:
    """Run `request` as `fts.search` does: count and rank, then search the fallback of a
    two-word sentence that found nothing, then explain a search that found nothing. Each
    statement reads the index as it is when it starts (as SQLite's count and ranking, on two
    connections, each do), outside any transaction: no BEGIN and COMMIT round trips. Raises
    StoreError when the index cannot be read."""
    async with db.reading("searching transcripts") as conn:
        request, counts, ranked, check = await _count_and_rank(conn, request, rank_window)
        fallback = request.parsed.fallback
        if not counts.total and fallback is not None:
            request = replace(request, parsed=fallback)
            request, counts, ranked, check = await _count_and_rank(conn, request, rank_window)
        zero = None
        if not counts.total and request.offset == 0 and check is None:
            zero = await explain_zero(conn, request)
    return search_result(request, counts, ranked, check, zero, rank_window)
