"""search_transcripts answers: hits shrunk by rows, snippets inside an untrusted block, and how much
of each scope the local index covers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any, Protocol

from call_logs_mcp.ids import skipped_line
from call_logs_mcp.models import call_uri
from call_logs_mcp.output.budget import Shaped, fit_rows
from call_logs_mcp.output.sanitize import note_line, turn_line, untrusted_block
from call_logs_mcp.output.schemas import (
    IndexCoverage,
    PhraseCheckOut,
    SearchAnswer,
    SearchHitOut,
    WordTierOut,
    ZeroHitsOut,
)
from call_logs_mcp.output.scrub import Scrubber
from call_logs_mcp.output.text import fmt_count, fmt_int, fmt_short_time, fmt_synced, fmt_time, parse_iso

if TYPE_CHECKING:
    # Types only: importing the index package at start-up would load all of it.
    from call_logs_mcp.index import SearchResult


class ScopeCoverage(Protocol):
    """How much of a searched scope (one provider, maybe one campaign) the local index holds."""

    @property
    def provider(self) -> str: ...
    @property
    def indexed_calls(self) -> int: ...
    @property
    def last_synced_at(self) -> datetime | None: ...
    @property
    def sync_error(self) -> str | None: ...
    @property
    def platform_calls(self) -> int | None: ...
    @property
    def syncing(self) -> bool: ...
    @property
    def skipped_calls(self) -> int: ...
    @property
    def dates_indexed(self) -> tuple[datetime | None, datetime | None] | None: ...


class SearchFound(Protocol):
    """What a search found: one page of hits, the coverage of the searched scopes, and notes on
    the request (e.g. a campaign no platform knows)."""

    @property
    def result(self) -> SearchResult: ...
    @property
    def coverage(self) -> Sequence[ScopeCoverage]: ...
    @property
    def notes(self) -> Sequence[str]: ...


def search_answer(found: SearchFound, *, scrub: Scrubber, budget: int) -> tuple[int, Shaped]:
    """A search_transcripts answer with as many hits as fit; (hits shown, answer).

    When fewer hits than given are shown, `result.next_cursor` is not theirs: the caller re-runs
    the search with that many hits to get the exact cursor and renders again.
    """
    s = scrub
    result, coverage = found.result, found.coverage
    request_notes = [s.line(note, 400) for note in found.notes]
    next_cursor = result.next_cursor
    rows = [
        SearchHitOut(
            provider=h.provider,
            call_id=h.call_id,
            uri=call_uri(h.provider, h.call_id),
            campaign_id=s.ident(h.campaign_id),
            status=h.status.value,
            started_at=fmt_time(h.started_at),
            matched_in=h.matched_in,
            field=s.ident(h.field),
            turn_index=h.turn_index,
            speaker=h.speaker,
            offset_seconds=h.offset_seconds,
            snippet=s.snippet(h.snippet, 400, before=h.turn_before, after=h.turn_after),
        )
        for h in result.hits
    ]
    lines = [
        f"{r.call_id} ({r.provider}) {fmt_short_time(parse_iso(r.started_at))} "
        + (
            turn_line(r.turn_index, r.speaker or "unknown", r.offset_seconds, r.snippet)
            if r.turn_index is not None
            else note_line(r.matched_in, r.field, r.snippet)
        )
        for r in rows
    ]
    tiers = [WordTierOut(words=t.words, of=t.of, hits=t.hits) for t in result.word_tiers]
    check = result.phrase_check
    checked = PhraseCheckOut(candidates=check.candidates, checked=check.checked) if check else None
    zero = _zero_hits(result, scrub)
    covered = coverage_models(coverage)
    shown_query = s.line(result.query, 300)
    notes = [s.line(n, 200) for n in result.interpreted_as][:10]
    placeholder = "x" * (len(next_cursor or "") + 40)

    def build(k: int) -> tuple[str, dict[str, Any]]:
        cursor = next_cursor if k == len(rows) else placeholder
        more = k < len(rows) or next_cursor is not None
        model = SearchAnswer(
            query=shown_query,
            interpreted_as=notes,
            word_tiers=tiers,
            hits=rows[:k],
            total_hits=result.total_hits,
            calls_matched=result.calls_matched,
            phrase_check=checked,
            zero_hits=zero,
            has_more=more,
            next_cursor=cursor,
            coverage=covered,
            notes=request_notes,
        )
        first = result.offset + 1
        span = f"hits {first}–{result.offset + k}" if k else "no hits on this page"
        out = [
            f"Search {shown_query!r}: {fmt_count(result.total_hits, 'match', 'matches')} in "
            f"{fmt_count(result.calls_matched, 'call')} (transcript turns, summaries, extracted data "
            f"and QA notes); showing {span}, best first."
        ]
        if checked is not None:
            of = (
                f"the newest {fmt_int(checked.checked)} of the {fmt_int(checked.candidates)} turns "
                "holding the quoted words in order in some form"
            )
            if result.total_hits:
                out.append(
                    f"Those counts are of {of} (only they were checked for the exact words); add "
                    "dates or other filters to count them all."
                )
            else:
                out.append(
                    f"None of {of} has the exact words; older turns were not checked. Add dates or "
                    "other filters to check them, or drop the quotes to match any form."
                )
        if notes:
            out.append("Interpreted as: " + "; ".join(notes))
        if tiers and result.total_hits:  # with no hits, "every hit has the word" says nothing
            out.append(tier_line(tiers))
        if zero is not None:
            out.append(
                zero_line(zero, alternatives=result.zero_hits is not None and result.zero_hits.alternatives)
            )
        out.extend(request_notes)
        out.extend(coverage_line(c) for c in covered)
        if k:
            out.append(untrusted_block("search hits (caller speech)", "\n".join(lines[:k])))
            out.append(
                "Each hit: call id (provider), time, then [turn] speaker @offset | snippet, or where "
                "it matched ([summary], [extracted <field>], [qa <criterion>]) | snippet. get_call with "
                "transcript_offset=<turn> reads the call from that turn."
            )
        if cursor:
            out.append(f'More hits: call search_transcripts with the same arguments and cursor="{cursor}".')
        return "\n".join(out), model.model_dump(mode="json")

    return fit_rows(budget, len(rows), build)


def coverage_models(coverage: Sequence[ScopeCoverage]) -> list[IndexCoverage]:
    """The coverage of the searched scopes as the answers carry it (search and find_calls)."""
    return [
        IndexCoverage(
            provider=c.provider,
            indexed_calls=c.indexed_calls,
            platform_calls=c.platform_calls,
            syncing=c.syncing,
            last_synced_at=fmt_time(c.last_synced_at),
            sync_error=c.sync_error,
            skipped_calls=c.skipped_calls,
            dates_indexed=None if c.dates_indexed is None else dates_phrase(*c.dates_indexed),
        )
        for c in coverage
    ]


def dates_phrase(since: datetime | None, until: datetime | None) -> str:
    """`from 2026-11-23 to 2026-11-29` (whole days as dates), `from … on` or `until …`."""

    def shown(value: datetime, end: bool) -> str:
        value = value.astimezone(UTC)
        whole = value.time() == (time.max if end else time.min)
        return value.date().isoformat() if whole else str(fmt_time(value))

    if until is None:
        return f"from {shown(since, False)} on" if since is not None else ""
    if since is None:
        return f"until {shown(until, True)}"
    return f"from {shown(since, False)} to {shown(until, True)}"


def coverage_line(c: IndexCoverage) -> str:
    """`Index coverage prosper: 939 of 2,000 calls indexed (47%), sync running.`"""
    held = fmt_count(c.indexed_calls, "call")
    if c.platform_calls:
        share = min(100, round(100 * c.indexed_calls / c.platform_calls))
        held = f"{fmt_int(c.indexed_calls)} of {fmt_count(c.platform_calls, 'call')} indexed ({share}%)"
    else:
        held += " indexed"
    if c.dates_indexed:
        # The asked dates are whole even while the rest of the scope is still syncing.
        rest = ", sync running" if c.syncing else ""
        line = (
            f"Index coverage {c.provider}: every call {c.dates_indexed} is indexed (synced "
            f"{fmt_synced(c.last_synced_at)}); all dates: {held}{rest}."
        )
    else:
        state = "sync running" if c.syncing else f"last synced {fmt_synced(c.last_synced_at)}"
        line = f"Index coverage {c.provider}: {held}, {state}."
    if c.skipped_calls:
        line += f" {skipped_line(c.skipped_calls)} (the platform sent ids this server cannot address)."
    if c.sync_error:
        line += f" Sync did not complete just now: {c.sync_error}"
    return line


def tier_line(tiers: Sequence[WordTierOut]) -> str:
    """How a sentence query's hits split by the number of its words they have."""
    first, rest = tiers[0], tiers[1:]
    if not rest:
        if first.of == 1:
            return "Every hit has the word."
        if first.words < first.of:
            return f"Every hit has {first.words} of the {first.of} words (none has them all)."
        return f"Every hit has {'both' if first.of == 2 else f'all {first.of}'} words."
    parts = [f"with {'both' if first.of == 2 else f'all {first.of}'} words: {fmt_int(first.hits)}"]
    parts += [f"with {t.words} of the {t.of}: {fmt_int(t.hits)}" for t in rest]
    line = "Hits " + "; ".join(parts) + " (ranked in that order)."
    if not first.hits:
        line += f" No single turn or note has {'both' if first.of == 2 else f'all {first.of}'} words."
    return line


def _zero_hits(result: SearchResult, scrub: Scrubber) -> ZeroHitsOut | None:
    zero = result.zero_hits
    if zero is None:
        return None
    return ZeroHitsOut(
        reason=zero.reason,
        unfiltered_hits=zero.unfiltered_hits,
        without={d.filter: d.hits for d in zero.without},
        suggestions={scrub.line(x.term, 80): x.hits for x in zero.suggestions},
        word_hits={scrub.line(x.word, 80): x.hits for x in zero.word_hits},
    )


def zero_line(zero: ZeroHitsOut, *, alternatives: bool = False) -> str:
    """Why nothing matched, and what to try instead (`alternatives`: the query already joined
    words with OR)."""
    if zero.reason == "filtered":
        drops = "; ".join(
            f"without {name}: {fmt_count(hits, 'match', 'matches')}" for name, hits in zero.without.items()
        )
        found = fmt_count(zero.unfiltered_hits, "time")
        return (
            f"Nothing matched within the filters, but the words match {found} in the searched calls "
            f"without them ({drops}). Drop or widen a filter to see them."
        )
    if zero.reason == "apart":
        each = ", ".join(
            f"{word} ({fmt_count(hits, 'match', 'matches')})" for word, hits in zero.word_hits.items()
        )
        return (
            f"Each word is in the searched calls on its own ({each}), but no single turn, summary or "
            "note has them together as asked. Search fewer words, join alternatives with OR, or "
            "drop the quotes to match the words anywhere in a turn."
        )
    which = "any of these words" if alternatives else "these words"
    line = f"No transcript turn, summary, extracted value or QA note in the searched calls has {which}."
    if zero.suggestions:
        terms = ", ".join(
            f"{term} ({fmt_count(hits, 'match', 'matches')})" for term, hits in zero.suggestions.items()
        )
        line += f" Terms the calls do have that look like them: {terms}."
    elif alternatives:
        line += (
            " Nothing close to any of the alternatives is indexed either: try other words people "
            "would say for this meaning, or find_calls to filter by outcome."
        )
    else:
        line += (
            " Nothing close to them is indexed either: try other words for the same meaning joined with OR "
            "(refund OR reimburse OR money back), or find_calls to filter by outcome."
        )
    return line
