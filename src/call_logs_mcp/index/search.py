"""Transcript search: user query → safe FTS5 expression, snippets, result types.

Users (and models) type queries like `refund "credit card" resched*`, `billing OR invoice`,
`cancel -voicemail`. We parse that small language ourselves and emit an FTS5 expression in which
every term is a quoted string, so no user input is ever FTS5 syntax: an unbalanced quote, a
stray operator or a `:`/`^`/`(` cannot become an SQLite error. What cannot be searched at all
(no words, only negations) is an `InvalidArgumentError` saying what to change.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import Field

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index.records import FrozenModel
from call_logs_mcp.models import CallStatus, Speaker

MAX_QUERY_CHARS = 1_000
MAX_TERMS = 32
SNIPPET_MAX_CHARS = 240
SNIPPET_TOKENS = 24

# Unicode noncharacters: reserved for internal use, so transcript text does not carry them.
HL_OPEN = "\ufdd0"
HL_CLOSE = "\ufdd1"
ELLIPSIS_MARK = "\ufdd2"
_MARKS = HL_OPEN + HL_CLOSE + ELLIPSIS_MARK
ELLIPSIS = "…"

_OPERATORS = {"AND", "OR", "NOT"}
_SEPARATOR_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class _Term:
    text: str
    prefix: bool = False
    negated: bool = False

    def fts(self) -> str:
        quoted = '"' + self.text.replace('"', '""') + '"'
        return quoted + ("*" if self.prefix else "")


@dataclass
class ParsedQuery:
    """`fts` is the FTS5 MATCH expression; `notes` say how the query was read when it was not
    taken literally (shown to the user as `interpreted_as`)."""

    fts: str
    terms: list[str]
    notes: list[str] = field(default_factory=list)


def _searchable(text: str) -> bool:
    # unicode61 makes tokens of letters and digits; a term without any matches nothing.
    return any(ch.isalnum() for ch in text)


def parse_query(query: str) -> ParsedQuery:
    """Parse a user search query. Supports words, "exact phrases", prefix* (also on phrases),
    OR, AND, NOT and -word. Raises InvalidArgumentError when nothing searchable is left."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidArgumentError("The search query is empty; give one or more words to look for.")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidArgumentError(
            f"The search query is too long ({len(query)} characters); use at most {MAX_QUERY_CHARS}."
        )
    # Control, format (zero-width, bidi) and unpaired surrogate characters separate words: they
    # are never part of a token, and SQLite cannot take surrogates or NULs in an FTS query.
    query = "".join(" " if unicodedata.category(ch) in _SEPARATOR_CATEGORIES else ch for ch in query)
    notes: list[str] = []
    # tokens: _Term or an operator name
    tokens: list[_Term | str] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            if "parentheses are ignored" not in notes:
                notes.append("parentheses are ignored")
            i += 1
            continue
        if ch == '"':
            end = query.find('"', i + 1)
            if end == -1:
                notes.append("an unmatched quote was closed at the end of the query")
                end = n
            text = query[i + 1 : end]
            i = end + 1
            prefix = False
            while i < n and query[i] == "*":
                prefix = True
                i += 1
            if _searchable(text):
                tokens.append(_Term(_SPACE.sub(" ", text.strip()), prefix=prefix))
            continue
        start = i
        while i < n and not query[i].isspace() and query[i] not in '"()':
            i += 1
        word = query[start:i]
        if word in _OPERATORS:
            tokens.append(word)
            continue
        negated = word.startswith("-") and len(word) > 1
        if negated:
            word = word[1:]
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if _searchable(word):
            tokens.append(_Term(word, prefix=prefix, negated=negated))

    # Operators count only between two terms; elsewhere they are searched as words.
    cleaned: list[_Term | str] = []
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            prev_term = bool(cleaned) and isinstance(cleaned[-1], _Term)
            next_term = index + 1 < len(tokens) and isinstance(tokens[index + 1], _Term)
            if prev_term and next_term:
                cleaned.append(token)
            else:
                notes.append(f"a stray {token} was searched as a word")
                cleaned.append(_Term(token.lower()))
        else:
            cleaned.append(token)

    terms = [t for t in cleaned if isinstance(t, _Term)]
    if len(terms) > MAX_TERMS:
        raise InvalidArgumentError(
            f"The search query has {len(terms)} terms; use at most {MAX_TERMS} words or phrases."
        )
    positive: list[str] = []
    pending_op: str | None = None
    negatives: list[_Term] = []
    for token in cleaned:
        if isinstance(token, str):
            pending_op = token
            continue
        if token.negated:
            negatives.append(token)
            pending_op = None
            continue
        if positive:
            op = pending_op or "AND"
            if op == "NOT":
                negatives.append(token)
                pending_op = None
                continue
            positive.append(op)
        positive.append(token.fts())
        pending_op = None
    if not positive:
        raise InvalidArgumentError(
            "The search query has no words to look for (only operators, punctuation or exclusions); "
            'add at least one word or "phrase".'
        )
    expression = " ".join(positive)
    if negatives:
        expression = f"({expression})" + "".join(f" NOT {t.fts()}" for t in negatives)
    return ParsedQuery(fts=expression, terms=[t.text for t in terms if not t.negated], notes=notes)


def make_snippet(raw: str) -> tuple[str, list[tuple[int, int]]]:
    """Plain snippet text of at most SNIPPET_MAX_CHARS and the highlighted spans in it, from an
    FTS5 `snippet()` made with HL_OPEN/HL_CLOSE/ELLIPSIS_MARK."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    lead = raw.startswith(ELLIPSIS_MARK)
    trail = raw.endswith(ELLIPSIS_MARK) and len(raw) > 1
    length = 0
    open_at: int | None = None
    last_space = True
    for ch in raw:
        if ch == HL_OPEN:
            open_at = length
            continue
        if ch == HL_CLOSE:
            if open_at is not None and length > open_at:
                spans.append((open_at, length))
            open_at = None
            continue
        if ch in _MARKS:
            continue
        if ch.isspace():
            if last_space:
                continue
            ch = " "
            last_space = True
        else:
            last_space = False
        plain.append(ch)
        length += 1
    text = "".join(plain)
    stripped = text.strip()
    shift = len(text) - len(text.lstrip())
    text = stripped
    spans = [(max(0, a - shift), min(len(text), b - shift)) for a, b in spans]
    spans = [(a, b) for a, b in spans if b > a]

    budget = SNIPPET_MAX_CHARS - (1 if lead else 0) - (1 if trail else 0)
    if len(text) > budget:
        budget = SNIPPET_MAX_CHARS - 2
        anchor = spans[0][0] if spans else 0
        start = max(0, min(anchor - budget // 4, len(text) - budget))
        if start > 0:
            space = text.find(" ", start, min(len(text), start + 20))
            if space != -1 and space < anchor:
                start = space + 1
        end = min(len(text), start + budget)
        if end < len(text):
            space = text.rfind(" ", max(start, end - 20), end)
            if space > start and (not spans or space >= spans[0][1]):
                end = space
        lead = lead or start > 0
        trail = trail or end < len(text)
        text = text[start:end]
        spans = [(max(0, a - start), min(len(text), b - start)) for a, b in spans]
        spans = [(a, b) for a, b in spans if b > a]
    if lead:
        text = ELLIPSIS + text
        spans = [(a + 1, b + 1) for a, b in spans]
    if trail:
        text = text + ELLIPSIS
    return text, spans


class SearchHit(FrozenModel):
    """One matching transcript turn."""

    provider: str
    call_id: str
    uri: str
    campaign_id: str | None
    status: CallStatus
    started_at: datetime | None
    turn_index: int
    speaker: Speaker
    offset_seconds: float | None
    snippet: str = Field(description=f"at most {SNIPPET_MAX_CHARS} characters around the match")
    highlights: list[tuple[int, int]] = Field(description="[start, end) of matched words in snippet")
    turn_before: str = Field(default="", description="the end of the turn before this one (unredacted)")
    turn_after: str = Field(default="", description="the start of the turn after this one (unredacted)")
    relevance: float = Field(description="bm25 relevance, higher is better")


class SearchResult(FrozenModel):
    query: str
    interpreted_as: list[str] = Field(default_factory=list)
    hits: list[SearchHit]
    offset: int = Field(default=0, description="hits ranked before this page (0 on the first page)")
    total_hits: int
    calls_matched: int
    ranked_hits: int = Field(description="hits ranked and reachable with the cursor (the newest ones)")
    ranking_note: str | None = None
    next_cursor: str | None = None
