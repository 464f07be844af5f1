"""Transcript search: user query → safe FTS5 expression, snippets, result types.

Users (and models) type queries like `refund "credit card" resched*`, `billing OR invoice`,
`cancel -voicemail`. We parse that small language ourselves and emit an FTS5 expression in which
every term is a quoted string, so no user input is ever FTS5 syntax: an unbalanced quote, a
stray operator or a `:`/`^`/`(` cannot become an SQLite error. What cannot be searched at all
(no words, only negations) is an `InvalidArgumentError` saying what to change.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import Field

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index import words
from call_logs_mcp.index.records import FrozenModel
from call_logs_mcp.models import CallStatus, Speaker

MAX_QUERY_CHARS = 1_000
MAX_TERMS = 32
MAX_SENTENCE_WORDS = 6
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
    quoted: bool = False

    def fts(self) -> str:
        quoted = '"' + self.text.replace('"', '""') + '"'
        return quoted + ("*" if self.prefix else "")

    def shown(self) -> str:
        """As the user wrote it (quotes and prefix star included)."""
        return (f'"{self.text}"' if self.quoted else self.text) + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Tier:
    """The turns that match `words` of a sentence's `of` content words (a keyword query is one
    tier with `of` = 0): those `base` matches (a sentence's: at least `words` of them), without
    those `more` matches (at least one word more) when set. `fts` matches exactly these."""

    base: str
    words: int = 0
    of: int = 0
    more: str | None = None

    @property
    def fts(self) -> str:
        return self.base if self.more is None else f"({self.base}) NOT ({self.more})"


@dataclass(frozen=True)
class ExactCheck:
    """A quoted phrase whose exact (unstemmed) words must (or, negated, must not) occur in order."""

    phrase: str  # its tokens joined by one space
    prefix: bool
    negated: bool


@dataclass
class ParsedQuery:
    """How a query is searched.

    `fts` is the FTS5 MATCH expression every hit matches (for a sentence: at least the fewest
    words a tier needs); `tiers` split the hits into ranked groups (a keyword query has one);
    `exact` are the checks quoted phrases add to the stemmed match; `notes` say how the query
    was read when it was not taken literally (shown to the user as `interpreted_as`)."""

    fts: str
    terms: list[str]
    notes: list[str] = field(default_factory=list)
    tiers: list[Tier] = field(default_factory=list)
    exact: list[ExactCheck] = field(default_factory=list)
    sentence_words: list[str] = field(default_factory=list)
    fallback: ParsedQuery | None = None  # searched instead when this finds nothing
    alternatives: bool = False  # words joined with OR (not an OR inside a quoted phrase)


def _searchable(text: str) -> bool:
    # unicode61 makes tokens of letters and digits; a term without any matches nothing.
    return any(ch.isalnum() for ch in text)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _at_least(words: Sequence[str], count: int) -> str:
    """An FTS5 expression matching turns with at least `count` of `words`."""
    groups = [" AND ".join(_quoted(w) for w in combo) for combo in itertools.combinations(words, count)]
    if len(groups) == 1:
        return groups[0]
    return " OR ".join(f"({g})" if count > 1 else g for g in groups)


def _fewest_words(count: int) -> int:
    """How many of a sentence's `count` content words a hit needs: all of one or two (one of two
    only when no hit has both: see `ParsedQuery.fallback`), else a majority."""
    return count if count <= 2 else count // 2 + 1


def parse_sentence(query: str) -> ParsedQuery | None:
    """A query written as a sentence ("calls where someone asked for a refund"), searched as its
    content words; None when `query` uses the query language (quotes, operators, -word, prefix*)
    or has fewer than two content words and no stop words (a keyword query)."""
    if any(ch in query for ch in '"*()') or any(w in _OPERATORS for w in query.split()):
        return None
    if any(w.startswith("-") and len(w) > 1 for w in query.split()):
        return None
    frame, rest = words.strip_frame(query)
    all_tokens = words.tokens(rest)
    content: list[str] = []
    dropped: list[str] = []
    speech: list[str] = []
    for token in all_tokens:
        if token in words.STOP_WORDS or len(token) < 2:
            if token not in dropped:
                dropped.append(token)
        elif token not in content:
            content.append(token)
    if not content or (not frame and not dropped and len(content) < 3):
        return None
    if any(w not in words.SPEECH_WORDS for w in content):
        speech = [w for w in content if w in words.SPEECH_WORDS]
        content = [w for w in content if w not in words.SPEECH_WORDS]
    notes = []
    if len(content) > MAX_SENTENCE_WORDS:
        notes.append(
            f"only the first {MAX_SENTENCE_WORDS} content words were searched; leave out "
            f"{', '.join(content[MAX_SENTENCE_WORDS:])} or search for them separately"
        )
        content = content[:MAX_SENTENCE_WORDS]
    left_out = [w for w in (words.tokens(frame) + dropped) if w not in content and w not in speech]
    described = f"searched as a sentence: its words {', '.join(content)}, in any form"
    if left_out:
        described += f" (left out: {', '.join(dict.fromkeys(left_out))})"
    notes.insert(0, described)
    if speech:
        notes.insert(
            1,
            f"also left out {', '.join(speech)}: words about who spoke, not what was said "
            "(speaker=customer or speaker=agent searches one side of the conversation)",
        )
    fewest = _fewest_words(len(content))
    tiers = []
    for count in range(len(content), fewest - 1, -1):
        more = _at_least(content, count + 1) if count < len(content) else None
        tiers.append(Tier(_at_least(content, count), words=count, of=len(content), more=more))
    fallback = None
    if len(content) == 2:
        either = _at_least(content, 1)
        fallback = ParsedQuery(
            fts=either,
            terms=list(content),
            notes=[
                *notes,
                f"no turn or note has both {content[0]} and {content[1]}: showing those with either",
            ],
            tiers=[Tier(either, words=1, of=2)],
            sentence_words=list(content),
        )
    return ParsedQuery(
        fts=_at_least(content, fewest),
        terms=list(content),
        notes=notes,
        tiers=tiers,
        sentence_words=list(content),
        fallback=fallback,
    )


def parse_query(query: str) -> ParsedQuery:
    """Parse a user search query. Supports words (matched in any form: "refund" finds "refunds"),
    "exact phrases", prefix* (also on phrases), OR, AND, NOT and -word; a plain sentence is
    searched as its content words (see `parse_sentence`). Raises InvalidArgumentError when
    nothing searchable is left."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidArgumentError("The search query is empty; give one or more words to look for.")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidArgumentError(
            f"The search query is too long ({len(query)} characters); use at most {MAX_QUERY_CHARS}."
        )
    # Control, format (zero-width, bidi) and unpaired surrogate characters separate words: they
    # are never part of a token, and SQLite cannot take surrogates or NULs in an FTS query.
    query = "".join(" " if unicodedata.category(ch) in _SEPARATOR_CATEGORIES else ch for ch in query)
    sentence = parse_sentence(query)
    if sentence is not None:
        return sentence
    notes: list[str] = []
    # tokens: _Term or an operator name
    tokens: list[_Term | str] = []
    negate = False
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
                tokens.append(
                    _Term(_SPACE.sub(" ", text.strip()), prefix=prefix, negated=negate, quoted=True)
                )
            negate = False
            continue
        start = i
        while i < n and not query[i].isspace() and query[i] not in '"()':
            i += 1
        word = query[start:i]
        if word == "-" and i < n and query[i] == '"':  # -"a phrase": exclude the phrase
            negate = True
            continue
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
    has_or = "OR" in cleaned
    positive: list[str] = []
    pending_op: str | None = None
    negatives: list[_Term] = []
    exact: list[ExactCheck] = []
    groups: list[list[str]] = [[]]  # the positive terms, between ORs (as shown to the user)
    for token in cleaned:
        if isinstance(token, str):
            pending_op = token
            continue
        if token.negated or (positive and pending_op == "NOT"):
            negatives.append(token)
            pending_op = None
            continue
        if positive:
            positive.append(pending_op or "AND")
            if pending_op == "OR":
                groups.append([])
        groups[-1].append(token.shown())
        positive.append(token.fts())
        if token.quoted and not has_or:
            exact.append(ExactCheck(" ".join(words.tokens(token.text)), token.prefix, negated=False))
        pending_op = None
    if not positive:
        raise InvalidArgumentError(
            "The search query has no words to look for (only operators, punctuation or exclusions); "
            'add at least one word or "phrase".'
        )
    expression = " ".join(positive)
    fts_negatives = []
    for term in negatives:
        if term.quoted:
            # A stemmed NOT would also drop other forms of the phrase: checked exactly instead.
            exact.append(ExactCheck(" ".join(words.tokens(term.text)), term.prefix, negated=True))
        else:
            fts_negatives.append(term)
    if fts_negatives:
        expression = f"({expression})" + "".join(f" NOT {t.fts()}" for t in fts_negatives)
    if has_or and any(t.quoted and not t.negated for t in terms):
        notes.append("with OR, quoted phrases also match other forms of their words")
    if has_or and any(len(group) > 1 for group in groups):
        # OR joins what stands beside it; the words beside each other must all be in one turn.
        read = " OR ".join(f"({' '.join(g)})" if len(g) > 1 else g[0] for g in groups)
        notes.append(
            f"read as {read}: words side by side must all be in one turn; for any of several "
            "words, put OR between each two"
        )
    return ParsedQuery(
        fts=expression,
        terms=[t.text for t in terms if not t.negated],
        notes=notes,
        tiers=[Tier(expression)],
        exact=exact,
        alternatives=has_or,
    )


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
    """One match: a transcript turn, or a call's summary, extracted value or QA note."""

    provider: str
    call_id: str
    uri: str
    campaign_id: str | None
    status: CallStatus
    started_at: datetime | None
    matched_in: Literal["turn", "summary", "extracted", "qa"] = "turn"
    field: str | None = Field(default=None, description="the extracted field or QA criterion matched")
    turn_index: int | None = None
    speaker: Speaker | None = None
    offset_seconds: float | None = None
    snippet: str = Field(description=f"at most {SNIPPET_MAX_CHARS} characters around the match")
    highlights: list[tuple[int, int]] = Field(description="[start, end) of matched words in snippet")
    turn_before: str = Field(default="", description="the end of the turn before this one (unredacted)")
    turn_after: str = Field(default="", description="the start of the turn after this one (unredacted)")
    relevance: float = Field(description="bm25 relevance, higher is better")


class WordTier(FrozenModel):
    """How many hits of a sentence query have `words` of its `of` content words."""

    words: int
    of: int
    hits: int


class DroppedFilter(FrozenModel):
    filter: str
    hits: int = Field(description="hits the same search has without this filter")


class Suggestion(FrozenModel):
    instead_of: str
    term: str
    hits: int = Field(description="hits of the term in the searched calls")


class WordCount(FrozenModel):
    word: str
    hits: int


class ZeroHits(FrozenModel):
    """Why a search found nothing: some of its words are not in the searched calls (`absent`,
    with terms that are), each word is but never together as asked (`apart`, with each word's
    hits), or its filters excluded every match (`filtered`, with what dropping each filter
    would find)."""

    reason: Literal["absent", "apart", "filtered"]
    alternatives: bool = False  # the query joined words with OR
    unfiltered_hits: int = 0
    without: list[DroppedFilter] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list)
    word_hits: list[WordCount] = Field(default_factory=list)


class PhraseCheck(FrozenModel):
    """A quoted phrase over many turns: its exact words were checked only in the `checked` newest
    of the `candidates` turns holding its words in order in any form; the counts are of those."""

    candidates: int
    checked: int


class SearchResult(FrozenModel):
    query: str
    interpreted_as: list[str] = Field(default_factory=list)
    word_tiers: list[WordTier] = Field(default_factory=list)
    hits: list[SearchHit]
    offset: int = Field(default=0, description="hits ranked before this page (0 on the first page)")
    total_hits: int
    calls_matched: int
    ranked_hits: int = Field(description="hits ranked and reachable with the cursor (the newest ones)")
    ranking_note: str | None = None
    next_cursor: str | None = None
    zero_hits: ZeroHits | None = None
    phrase_check: PhraseCheck | None = None
