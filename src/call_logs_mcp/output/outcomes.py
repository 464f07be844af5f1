"""find_calls answers: the calls matching outcome filters, newest first, with the exact count and
how much of each scope the index covers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from call_logs_mcp.output.budget import Shaped, fit_rows
from call_logs_mcp.output.calls import call_row, row_line
from call_logs_mcp.output.sanitize import untrusted_block
from call_logs_mcp.output.schemas import FoundCalls
from call_logs_mcp.output.scrub import Scrubber
from call_logs_mcp.output.search import ScopeCoverage, coverage_line, coverage_models
from call_logs_mcp.output.text import fmt_count

if TYPE_CHECKING:
    from call_logs_mcp.index.outcomes import OutcomeResult


class FindFound(Protocol):
    @property
    def result(self) -> OutcomeResult: ...
    @property
    def coverage(self) -> Sequence[ScopeCoverage]: ...
    @property
    def filters(self) -> Sequence[str]: ...
    @property
    def notes(self) -> Sequence[str]: ...


def found_calls(found: FindFound, *, scrub: Scrubber, budget: int) -> tuple[int, Shaped]:
    """A find_calls answer with as many calls as fit; (calls shown, answer). When fewer are shown
    than given, the caller re-runs the query for that many (the cursor is the last one shown)."""
    result = found.result
    rows = [call_row(call, scrub) for call in result.calls]
    lines = [row_line(row) for row in rows]
    filters = [scrub.line(f, 200) for f in found.filters]
    notes = [scrub.line(n, 400) for n in [*found.notes, *result.notes]]
    covered = coverage_models(found.coverage)
    placeholder = "x" * (len(result.next_cursor or "") + 40)

    def build(k: int) -> tuple[str, dict[str, Any]]:
        cursor = result.next_cursor if k == len(rows) else placeholder
        more = k < len(rows) or result.next_cursor is not None
        model = FoundCalls(
            filters=filters,
            total=result.total,
            calls=rows[:k],
            has_more=more,
            next_cursor=cursor,
            coverage=covered,
            notes=notes,
        )
        where = "; ".join(filters) if filters else "no filters (every indexed call)"
        first = result.offset + 1
        span = f"showing {first}–{result.offset + k}, newest first" if k else "none on this page"
        out = [f"{fmt_count(result.total, 'indexed call')} match: {where}; {span}.", *notes]
        out.extend(coverage_line(c) for c in covered)
        if k:
            out.append(
                untrusted_block("calls (summaries are model output from caller speech)", "\n".join(lines[:k]))
            )
        if cursor:
            out.append(f'More calls: call find_calls with the same arguments and cursor="{cursor}".')
        elif result.total and not more:
            out.append("End of the list.")
        out.append("get_call with call_id and provider reads a call's transcript and extracted data.")
        return "\n".join(out), model.model_dump(mode="json")

    return fit_rows(budget, len(rows), build)
