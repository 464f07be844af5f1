"""Output shaping: THE ONLY place that truncates, budgets or renders what leaves the server.

One budget, `Settings.max_output_chars`, bounds every tool result twice over: the text content
(`len(text)`) and the structured content (`len(json.dumps(structured, ensure_ascii=False))`,
which is at least as long as the compact JSON the SDK puts on the wire) each stay within it.

- Lists shrink by rows: the renderer asks how many rows fit and hands out a cursor that resumes
  right after the last row shown.
- Transcripts shrink by whole turns, from `transcript_offset`; a turn longer than the budget is
  split at a character position (`transcript_char_offset`) and the continuation loses nothing.
  Positions count characters of the turn text as it is shown (sanitised and redacted), so a split
  can never cut a phone number in half before redaction.
- Free text (summaries, snippets, extracted data) shrinks by length, announced with "…".

Every string that leaves goes through `Scrubber`: control/zero-width/bidi/tag characters removed
(`sanitize.clean_text`), PII redacted (`redact.Redactor`), markdown links/images made inert
(`sanitize.inert_markdown`). Transcript turns are rendered one per line inside an untrusted block
whose markers the content cannot forge (`sanitize.turn_line`, `sanitize.untrusted_block`).
Text content is written for a model: compact lines, not indented JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from call_logs_mcp.analytics import CampaignSummary
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.models import Call, CallSummary, PlatformTotals, Turn, call_uri
from call_logs_mcp.output.redact import Redactor
from call_logs_mcp.output.sanitize import clean_text, inert_markdown, one_line, turn_line, untrusted_block

ELLIPSIS = "…"


def json_size(obj: Any) -> int:
    """The budget measure of structured content."""
    return len(json.dumps(obj, ensure_ascii=False))


def fmt_int(value: int) -> str:
    return f"{value:,}"


def fmt_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fmt_short_time(value: datetime | None) -> str:
    if value is None:
        return "unknown time"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _calls_over_time(per_day: dict[str, int]) -> str:
    """Calls per day, or per ISO week (keyed by its Monday) when the span is over 31 days."""
    if len(per_day) <= 31:
        return "Calls per day: " + ", ".join(f"{k[:10]} {v}" for k, v in per_day.items())
    from datetime import date, timedelta

    weeks: dict[str, int] = {}
    for day, count in per_day.items():
        d = date.fromisoformat(day[:10])
        monday = (d - timedelta(days=d.weekday())).isoformat()
        weeks[monday] = weeks.get(monday, 0) + count
    return "Calls per week (week of Monday): " + ", ".join(f"{k} {v}" for k, v in weeks.items())


def fmt_duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def fmt_money(amount: float | None, currency: str | None) -> str | None:
    if amount is None:
        return None
    return f"{amount:.2f} {currency}" if currency else f"{amount:.4g}"


def clip(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars` characters, marking the cut with an ellipsis."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return ELLIPSIS[:max_chars]
    return text[: max_chars - 1] + ELLIPSIS


# Clipping levels for free-form values: (longest string, most items per list/dict).
_LEVELS: tuple[tuple[int, int], ...] = (
    (4000, 200),
    (1000, 100),
    (300, 40),
    (120, 20),
    (40, 8),
    (12, 3),
)


def clip_value(value: Any, max_string: int, max_items: int) -> Any:
    """A JSON-ish value with every string cut to `max_string` and containers to `max_items`."""
    if isinstance(value, str):
        return clip(value, max_string)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        items = list(value.items())
        for key, item in items[:max_items]:
            out[clip(str(key), min(max_string, 80))] = clip_value(item, max_string, max_items)
        if len(items) > max_items:
            out[ELLIPSIS] = f"{len(items) - max_items} more omitted"
        return out
    if isinstance(value, list | tuple):
        seq = [clip_value(item, max_string, max_items) for item in list(value)[:max_items]]
        if len(value) > max_items:
            seq.append(f"{ELLIPSIS} {len(value) - max_items} more omitted")
        return seq
    if value is None or isinstance(value, bool | int | float):
        return value
    return clip(str(value), max_string)


def fit_value(value: Any, max_json: int) -> tuple[Any, bool]:
    """`value` clipped (least first) until its JSON fits `max_json`; (value, was_clipped)."""
    if json_size(value) <= max_json:
        return value, False
    for max_string, max_items in _LEVELS:
        clipped = clip_value(value, max_string, max_items)
        if json_size(clipped) <= max_json:
            return clipped, True
    if isinstance(value, Mapping):
        return {}, True
    if isinstance(value, list | tuple):
        return [], True
    return clip(str(value), max(1, max_json // 2)), True


# ---------------------------------------------------------------------------------------------
# Scrubbing: every outgoing string
# ---------------------------------------------------------------------------------------------

# A chunk that may be part of a phone number, card, SSN or e-mail address: digits with only
# punctuation, two or more digits, an "@", or word pieces joined by ".", "_" or "+".
_FRAGMENT = re.compile(r"[\W\d_]*\d[\W\d_]*|.*\d.*\d.*|.*@.*|.*\w[._+]\w.*")


def trim_cut_fragments(snippet: str) -> str:
    """`snippet` without the space-separated chunks next to a leading or trailing "…" (where the
    index cut the text) that `_FRAGMENT` says may be a piece of PII."""
    text = snippet
    if text.startswith(ELLIPSIS):
        chunks = text[1:].split(" ")
        while chunks and _FRAGMENT.fullmatch(chunks[0]):
            chunks.pop(0)
        text = ELLIPSIS + " ".join(chunks)
    if len(text) > 1 and text.endswith(ELLIPSIS):
        chunks = text[:-1].split(" ")
        while chunks and _FRAGMENT.fullmatch(chunks[-1]):
            chunks.pop()
        text = " ".join(chunks).rstrip() + ELLIPSIS
    return text


class Scrubber:
    """Sanitise and redact what leaves the server. `redact` comes from settings only."""

    def __init__(self, *, redact: bool = True) -> None:
        self.redactor = Redactor(enabled=redact)

    def text(self, value: str) -> str:
        """Platform text as shown: invisible characters removed, PII redacted, markdown inert."""
        return inert_markdown(self.redactor.text(clean_text(value)))

    def line(self, value: str, max_chars: int) -> str:
        """Platform text on one line, at most `max_chars` characters."""
        return one_line(self.text(value), max_chars)

    def snippet(self, value: str, max_chars: int) -> str:
        """A search snippet on one line. With redaction on, the chunks next to a cut ("…") that
        may be pieces of a phone number or e-mail address are dropped first: a fragment such as
        "…7946 0958" or "jane.roe@exa…" is no longer recognisable as PII, but is still PII."""
        if self.redactor.enabled:
            value = trim_cut_fragments(value)
        return self.line(value, max_chars)

    def opt(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def phone(self, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return self.redactor.phone(clean_text(value))

    def value(self, value: Any) -> Any:
        """A JSON-ish platform value with every string (and key) scrubbed.

        The redactor walks it first (it also masks whole values under phone-like keys).
        """
        return self._inert(self.redactor.value(value))

    def _inert(self, value: Any) -> Any:
        if isinstance(value, str):
            return inert_markdown(clean_text(value))
        if isinstance(value, Mapping):
            return {one_line(str(k), 200): self._inert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._inert(item) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))

    def ident(self, value: str | None) -> str | None:
        """An identifier from a platform (campaign id, raw status): cleaned, never redacted."""
        if value is None:
            return None
        return one_line(clean_text(value), 200)


# ---------------------------------------------------------------------------------------------
# Result models (the tools' outputSchema)
# ---------------------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallRef(_Out):
    """How to name a call in any other tool or resource."""

    provider: str
    call_id: str
    uri: str = Field(description="calls://{provider}/{call_id}: readable as an MCP resource")


class CallRow(CallRef):
    campaign_id: str | None = None
    status: str
    started_at: str | None = None
    duration_seconds: float | None = None
    cost: float | None = None
    currency: str | None = None
    to_number: str | None = Field(default=None, description="masked unless redaction is off")
    summary: str | None = Field(default=None, description="shortened; get_call has the whole summary")


class ProviderTotals(_Out):
    provider: str
    calls: int | None = None
    duration_seconds: float | None = None
    cost: float | None = None
    currency: str | None = None


class ProviderFailure(_Out):
    provider: str
    error: str


class CallList(_Out):
    """A page of calls, newest first."""

    calls: list[CallRow]
    has_more: bool
    next_cursor: str | None = Field(default=None, description="pass as cursor= with the same filters")
    providers: list[str]
    totals: list[ProviderTotals] = Field(
        default_factory=list, description="platform-reported totals for the whole filtered set"
    )
    unsupported_filters: dict[str, list[str]] = Field(
        default_factory=dict, description="provider -> filters that platform could not apply"
    )
    provider_errors: list[ProviderFailure] = Field(
        default_factory=list, description="providers that failed; their calls are missing"
    )


class TranscriptTurn(_Out):
    index: int = Field(description="turn number, from 0")
    speaker: str
    offset_seconds: float | None = None
    text: str
    text_offset: int = Field(default=0, description="where this piece starts inside the turn's text")
    partial: bool = Field(default=False, description="the turn's text continues in the next answer")


class CallDetail(CallRef):
    """A full call, with as many transcript turns as fit the output budget."""

    campaign_id: str | None = None
    status: str
    raw_status: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_seconds: float | None = None
    to_number: str | None = None
    from_number: str | None = None
    cost: float | None = None
    currency: str | None = None
    ended_reason: str | None = None
    summary: str | None = None
    extracted_data: dict[str, Any] = Field(default_factory=dict)
    qa: dict[str, Any] = Field(default_factory=dict)
    qa_score: float | None = None
    recording_urls: list[str] | None = Field(
        default=None, description="present only with include_recording=true (bearer links)"
    )
    has_recording: bool = False
    transcript: list[TranscriptTurn] = Field(default_factory=list)
    transcript_offset: int = 0
    transcript_total_turns: int = 0
    transcript_truncated: bool = False
    next_transcript_offset: int | None = None
    next_transcript_char_offset: int | None = Field(
        default=None, description="with next_transcript_offset: where to resume inside that turn"
    )
    clipped_fields: list[str] = Field(
        default_factory=list, description="fields shortened to fit the output budget"
    )


class IndexCoverage(_Out):
    """How much of a scope the local index holds."""

    provider: str
    indexed_calls: int = Field(description="calls of this provider (and campaign) in the index")
    last_synced_at: str | None = None
    sync_error: str | None = Field(default=None, description="why syncing failed just now, if it did")


class SearchHitOut(CallRef):
    campaign_id: str | None = None
    status: str
    started_at: str | None = None
    turn_index: int = Field(description="pass as transcript_offset to get_call to read from there")
    speaker: str
    offset_seconds: float | None = None
    snippet: str


class SearchAnswer(_Out):
    """Transcript search hits, best first."""

    query: str
    interpreted_as: list[str] = Field(default_factory=list)
    hits: list[SearchHitOut]
    total_hits: int
    calls_matched: int
    has_more: bool
    next_cursor: str | None = None
    coverage: list[IndexCoverage]


class CampaignReport(_Out):
    """A campaign summary from the local index."""

    summary: CampaignSummary
    shortened: list[str] = Field(default_factory=list, description="parts cut to fit the output budget")
    sync_errors: dict[str, str] = Field(default_factory=dict)


class CampaignRow(_Out):
    provider: str
    campaign_id: str | None = Field(description="None groups calls whose campaign is unknown")
    name: str | None = None
    indexed_calls: int
    platform_calls: int | None = None
    first_call_at: str | None = None
    last_call_at: str | None = None
    last_synced_at: str | None = None


class CampaignList(_Out):
    """Campaigns known to the local index."""

    campaigns: list[CampaignRow]
    omitted: int = Field(default=0, description="campaigns left out to fit the output budget")
    sync_errors: dict[str, str] = Field(default_factory=dict)


class Shaped(BaseModel):
    """A rendered tool answer: text for the model, structured content for the client."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str
    structured: dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Shaper
# ---------------------------------------------------------------------------------------------


class Shaper:
    """Renders domain results into budgeted (text, structured) answers."""

    def __init__(self, *, max_chars: int, redact: bool = True) -> None:
        self.budget = max_chars
        self.scrub = Scrubber(redact=redact)

    # -- generic -----------------------------------------------------------------------------

    def _check(self, text: str, structured: Mapping[str, Any]) -> None:
        if len(text) > self.budget or json_size(structured) > self.budget:
            raise AssertionError("shaping exceeded the output budget")  # a bug of ours, never data

    def fit_rows(self, count: int, build: Callable[[int], tuple[str, dict[str, Any]]]) -> tuple[int, Shaped]:
        """The largest k ≤ count (at least 0) whose rendering `build(k)` fits the budget."""
        k = count
        while True:
            text, structured = build(k)
            if (len(text) <= self.budget and json_size(structured) <= self.budget) or k == 0:
                self._check(text, structured)
                return k, Shaped(text=text, structured=structured)
            # Shrink proportionally first, then one by one.
            over = max(len(text) / self.budget, json_size(structured) / self.budget)
            k = max(0, min(k - 1, int(k / over)))

    # -- call lists --------------------------------------------------------------------------

    def call_row(self, call: CallSummary) -> CallRow:
        s = self.scrub
        return CallRow(
            provider=call.provider,
            call_id=call.call_id,
            uri=call_uri(call.provider, call.call_id),
            campaign_id=s.ident(call.campaign_id),
            status=call.status.value,
            started_at=fmt_time(call.started_at),
            duration_seconds=call.duration_seconds,
            cost=call.cost,
            currency=s.ident(call.currency),
            to_number=s.phone(call.to_number),
            summary=s.line(call.summary, 240) if call.summary else None,
        )

    @staticmethod
    def row_line(row: CallRow) -> str:
        parts = [f"- {row.call_id} ({row.provider})", fmt_short_time(_parse_iso(row.started_at)), row.status]
        duration = fmt_duration(row.duration_seconds)
        if duration:
            parts.append(duration)
        if row.campaign_id:
            parts.append(f"campaign {row.campaign_id}")
        if row.to_number:
            parts.append(f"to {row.to_number}")
        money = fmt_money(row.cost, row.currency)
        if money:
            parts.append(money)
        line = " · ".join(parts)
        if row.summary:
            line += f" | {row.summary}"
        return line

    def call_list(
        self,
        *,
        rows: Sequence[CallSummary],
        providers: Sequence[str],
        cursor_after: Callable[[int], str | None],
        has_more_after: Callable[[int], bool],
        totals: Mapping[str, PlatformTotals],
        unsupported_filters: Mapping[str, Sequence[str]],
        provider_errors: Mapping[str, str],
    ) -> tuple[int, Shaped]:
        """A list_calls answer with as many rows as fit; returns (rows shown, answer)."""
        out_rows = [self.call_row(call) for call in rows]
        lines = [self.row_line(row) for row in out_rows]
        total_models = [
            ProviderTotals(
                provider=name,
                calls=t.calls,
                duration_seconds=t.duration_seconds,
                cost=t.cost,
                currency=self.scrub.ident(t.currency),
            )
            for name, t in totals.items()
        ]
        failures = [ProviderFailure(provider=name, error=msg) for name, msg in provider_errors.items()]
        unsupported = {name: list(filters) for name, filters in unsupported_filters.items()}

        def build(k: int) -> tuple[str, dict[str, Any]]:
            cursor = cursor_after(k)
            more = has_more_after(k)
            model = CallList(
                calls=out_rows[:k],
                has_more=more,
                next_cursor=cursor,
                providers=list(providers),
                totals=total_models,
                unsupported_filters=unsupported,
                provider_errors=failures,
            )
            head = f"{k} call{'s' if k != 1 else ''}, newest first, from {', '.join(providers)}."
            text_lines = [head]
            for t in total_models:
                bits = [f"{fmt_int(t.calls)} calls" if t.calls is not None else None]
                bits.append(fmt_duration(t.duration_seconds))
                bits.append(fmt_money(t.cost, t.currency))
                shown = ", ".join(b for b in bits if b)
                if shown:
                    text_lines.append(f"Platform totals for {t.provider} (whole filtered set): {shown}.")
            for name, filters in unsupported.items():
                text_lines.append(f"{name} could not apply these filters: {', '.join(filters)}.")
            for failure in failures:
                text_lines.append(f"{failure.provider} failed, its calls are missing: {failure.error}")
            text_lines.extend(lines[:k])
            if cursor:
                text_lines.append(f'More calls: call list_calls with the same filters and cursor="{cursor}".')
            elif not more:
                text_lines.append("End of the list.")
            text_lines.append("Use get_call with call_id and provider for a call's transcript and details.")
            return "\n".join(text_lines), model.model_dump(mode="json")

        return self.fit_rows(len(rows), build)

    # -- one call ------------------------------------------------------------------------------

    def call_detail(
        self,
        call: Call,
        *,
        transcript_offset: int = 0,
        transcript_char_offset: int = 0,
        include_recording: bool = False,
    ) -> Shaped:
        """A get_call answer: metadata plus the transcript from the given position, budgeted.

        Raises InvalidArgumentError when the offsets are past the end of the transcript.
        """
        total = len(call.transcript)
        if transcript_offset < 0 or transcript_char_offset < 0:
            raise InvalidArgumentError("transcript_offset and transcript_char_offset must be 0 or more.")
        if total == 0 and (transcript_offset or transcript_char_offset):
            raise InvalidArgumentError("This call has no transcript; use transcript_offset=0.")
        if total and transcript_offset >= total:
            raise InvalidArgumentError(
                f"transcript_offset is past the end: this call has {fmt_int(total)} turns "
                f"(0–{fmt_int(total - 1)})."
            )
        first_text = self.scrub.text(call.transcript[transcript_offset].text) if total else ""
        if transcript_char_offset and transcript_char_offset >= len(first_text):
            raise InvalidArgumentError(
                f"transcript_char_offset is past the end of turn {transcript_offset} "
                f"({fmt_int(len(first_text))} characters)."
            )

        # Metadata gets at most ~45% of the budget, so the transcript always gets the rest.
        for level in range(len(_META_SHARES)):
            head_text, model, clipped = self._detail_head(call, include_recording, level)
            probe = model.model_copy(
                update={
                    "transcript_offset": transcript_offset,
                    "transcript_total_turns": total,
                    "transcript_truncated": True,
                    "next_transcript_offset": 10**9,
                    "next_transcript_char_offset": 10**9,
                }
            )
            if (
                len(head_text) <= self.budget * 0.45
                and json_size(probe.model_dump(mode="json")) <= self.budget * 0.45
            ):
                break
        else:  # pragma: no cover - the last level always fits: every field is tiny by then
            raise AssertionError("call metadata does not fit the budget")
        model.clipped_fields = clipped
        return self._with_transcript(
            call, head_text, model, first_text, transcript_offset, transcript_char_offset
        )

    def _detail_head(
        self, call: Call, include_recording: bool, level: int
    ) -> tuple[str, CallDetail, list[str]]:
        s = self.scrub
        share = _META_SHARES[level]
        clipped: list[str] = []

        def fit_text(name: str, value: str | None, max_chars: int) -> str | None:
            if value is None:
                return None
            shown = s.text(value)
            if len(shown) > max_chars:
                clipped.append(name)
                return clip(shown, max_chars)
            return shown

        def fit_json(name: str, value: Mapping[str, Any], max_chars: int) -> dict[str, Any]:
            shown, was_clipped = fit_value(s.value(dict(value)), max_chars)
            if was_clipped:
                clipped.append(name)
            return dict(shown) if isinstance(shown, Mapping) else {}

        unit = max(40, int(self.budget * share))
        recordings = [clean_text(url) for url in call.recording_urls]
        model = CallDetail(
            **self._call_facts(call),
            ended_reason=fit_text("ended_reason", call.ended_reason, min(200, unit)),
            summary=fit_text("summary", call.summary, unit * 2),
            extracted_data=fit_json("extracted_data", call.extracted_data, unit),
            qa=fit_json("qa", call.qa, unit),
            has_recording=bool(recordings),
        )
        if include_recording and recordings:
            urls, was_clipped = fit_value(recordings, unit)
            if was_clipped:
                clipped.append("recording_urls")
            model.recording_urls = [u for u in urls if isinstance(u, str)]
        return self._detail_head_text(model), model, clipped

    def _call_facts(self, call: Call) -> dict[str, Any]:
        """The short, never-clipped fields of a call's detail: identity, times, numbers, cost."""
        s = self.scrub
        return {
            "provider": call.provider,
            "call_id": call.call_id,
            "uri": call_uri(call.provider, call.call_id),
            "campaign_id": s.ident(call.campaign_id),
            "status": call.status.value,
            "raw_status": s.ident(call.raw_status),
            "started_at": fmt_time(call.started_at),
            "ended_at": fmt_time(call.ended_at),
            "duration_seconds": call.duration_seconds,
            "to_number": s.phone(call.to_number),
            "from_number": s.phone(call.from_number),
            "cost": call.cost,
            "currency": s.ident(call.currency),
            "qa_score": call.qa_score,
        }

    @staticmethod
    def _detail_head_text(m: CallDetail) -> str:
        lines = [f"Call {m.call_id} on {m.provider} ({m.uri})"]
        facts = [f"status {m.status}" + (f" (platform: {m.raw_status})" if m.raw_status else "")]
        if m.campaign_id:
            facts.append(f"campaign {m.campaign_id}")
        if m.started_at:
            facts.append(f"started {m.started_at}")
        if m.ended_at:
            facts.append(f"ended {m.ended_at}")
        duration = fmt_duration(m.duration_seconds)
        if duration:
            facts.append(f"duration {duration}")
        money = fmt_money(m.cost, m.currency)
        if money:
            facts.append(f"cost {money}")
        if m.to_number:
            facts.append(f"to {m.to_number}")
        if m.from_number:
            facts.append(f"from {m.from_number}")
        if m.qa_score is not None:
            facts.append(f"QA score {m.qa_score:g}")
        lines.append(" · ".join(facts))
        if m.ended_reason:
            lines.append(f"Ended reason: {one_line(m.ended_reason, 200)}")
        if m.summary:
            lines.append(f"Summary: {one_line(m.summary, len(m.summary) + 20)}")
        if m.extracted_data:
            lines.append(f"Extracted data: {_kv_line(m.extracted_data)}")
        if m.qa:
            lines.append(f"QA: {_kv_line(m.qa)}")
        if m.recording_urls:
            lines.append("Recording URLs (bearer links, do not share): " + " ".join(m.recording_urls))
        elif m.has_recording:
            lines.append("A recording exists; call get_call with include_recording=true for its URL.")
        if m.clipped_fields:
            lines.append(f"Shortened to fit the output budget: {', '.join(m.clipped_fields)}.")
        return "\n".join(lines)

    def _with_transcript(
        self,
        call: Call,
        head_text: str,
        model: CallDetail,
        first_text: str,
        offset: int,
        char_offset: int,
    ) -> Shaped:
        total = len(call.transcript)
        model.transcript_offset = offset
        model.transcript_total_turns = total
        if total == 0:
            text = head_text + "\nNo transcript."
            structured = model.model_dump(mode="json")
            self._check(text, structured)
            return Shaped(text=text, structured=structured)

        label = f"transcript of {call.provider}/{call.call_id}"
        empty_block = untrusted_block(label, "")
        worst_footer = _transcript_footer(total - 1, 10**9, total - 1, 10**9, total, True, True)
        # Room left for turn lines (text) and turn objects (JSON), keeping the worst-case footer.
        probe = model.model_copy(
            update={
                "transcript_truncated": True,
                "next_transcript_offset": total,
                "next_transcript_char_offset": 10**9,
            }
        )
        room_text = self.budget - len(head_text) - len(empty_block) - len(worst_footer) - 8
        room_json = self.budget - json_size(probe.model_dump(mode="json")) - 8

        turns: list[TranscriptTurn] = []
        lines: list[str] = []
        next_offset: int | None = None
        next_char: int | None = None
        index = offset
        while index < total:
            turn = call.transcript[index]
            full = first_text if index == offset else self.scrub.text(turn.text)
            start = char_offset if index == offset else 0
            piece = full[start:]
            if len(piece) < min(room_text, room_json):
                item, line = self._turn_out(index, turn, piece, start, partial=False)
                cost_text = len(line) + 1
                cost_json = json_size(item.model_dump(mode="json")) + 2
            else:  # cannot fit: every rendering is at least as long as the text
                cost_text = cost_json = self.budget + 1
            if cost_text <= room_text and cost_json <= room_json:
                turns.append(item)
                lines.append(line)
                room_text -= cost_text
                room_json -= cost_json
                index += 1
                continue
            if not turns:
                # A turn longer than everything left: show as much as fits and resume inside it.
                cut = self._largest_piece(index, turn, piece, start, room_text, room_json)
                item, line = self._turn_out(index, turn, piece[:cut], start, partial=True)
                turns.append(item)
                lines.append(line)
                next_offset, next_char = index, start + cut
            else:
                next_offset, next_char = index, (start if start else None)
            break

        truncated = next_offset is not None
        model.transcript = turns
        model.transcript_truncated = truncated
        model.next_transcript_offset = next_offset
        model.next_transcript_char_offset = next_char if next_char else None
        last = turns[-1]
        footer = _transcript_footer(
            offset, char_offset, last.index, next_char, total, truncated, last.partial
        )
        body = "\n".join(lines)
        text = "\n".join([head_text, untrusted_block(label, body), footer])
        structured = model.model_dump(mode="json")
        self._check(text, structured)
        return Shaped(text=text, structured=structured)

    @staticmethod
    def _turn_out(
        index: int, turn: Turn, piece: str, start: int, *, partial: bool
    ) -> tuple[TranscriptTurn, str]:
        item = TranscriptTurn(
            index=index,
            speaker=turn.speaker,
            offset_seconds=turn.offset_seconds,
            text=piece,
            text_offset=start,
            partial=partial,
        )
        shown = piece
        if start:
            shown = f"[…continued from character {start}] " + shown
        if partial:
            shown = shown + " […continues]"
        return item, turn_line(index, turn.speaker, turn.offset_seconds, shown)

    def _largest_piece(
        self, index: int, turn: Turn, piece: str, start: int, room_text: int, room_json: int
    ) -> int:
        """The longest prefix length of `piece` whose line and JSON fit the room (at least 1)."""

        def fits(n: int) -> bool:
            item, line = self._turn_out(index, turn, piece[:n], start, partial=True)
            return len(line) + 1 <= room_text and json_size(item.model_dump(mode="json")) + 2 <= room_json

        low, high = 1, max(1, min(len(piece) - 1, room_text, room_json))
        if not fits(low):
            raise AssertionError("no room for a single transcript character")
        while low < high:
            mid = (low + high + 1) // 2
            if fits(mid):
                low = mid
            else:
                high = mid - 1
        return low

    # -- search ----------------------------------------------------------------------------------

    def search_answer(
        self,
        *,
        query: str,
        interpreted_as: Sequence[str],
        hits: Sequence[Any],
        total_hits: int,
        calls_matched: int,
        next_cursor: str | None,
        coverage: Sequence[Any],
        offset_hint: int = 0,
    ) -> tuple[int, Shaped]:
        """A search_transcripts answer with as many hits as fit; (hits shown, answer).

        When fewer hits than given are shown, `next_cursor` is not theirs: the caller re-runs the
        search with that many hits to get the exact cursor and renders again.
        """
        s = self.scrub
        rows = [
            SearchHitOut(
                provider=h.provider,
                call_id=h.call_id,
                uri=call_uri(h.provider, h.call_id),
                campaign_id=s.ident(h.campaign_id),
                status=str(getattr(h.status, "value", h.status)),
                started_at=fmt_time(h.started_at),
                turn_index=h.turn_index,
                speaker=str(h.speaker),
                offset_seconds=h.offset_seconds,
                snippet=s.snippet(h.snippet, 400),
            )
            for h in hits
        ]
        lines = [
            f"{r.call_id} ({r.provider}) {fmt_short_time(_parse_iso(r.started_at))} "
            + turn_line(r.turn_index, r.speaker, r.offset_seconds, r.snippet)
            for r in rows
        ]
        covered = [
            IndexCoverage(
                provider=c.provider,
                indexed_calls=c.indexed_calls,
                last_synced_at=fmt_time(c.last_synced_at),
                sync_error=c.sync_error,
            )
            for c in coverage
        ]
        shown_query = s.line(query, 300)
        notes = [s.line(n, 200) for n in interpreted_as][:10]
        placeholder = "x" * (len(next_cursor or "") + 40)

        def build(k: int) -> tuple[str, dict[str, Any]]:
            cursor = next_cursor if k == len(rows) else placeholder
            more = k < len(rows) or next_cursor is not None
            model = SearchAnswer(
                query=shown_query,
                interpreted_as=notes,
                hits=rows[:k],
                total_hits=total_hits,
                calls_matched=calls_matched,
                has_more=more,
                next_cursor=cursor,
                coverage=covered,
            )
            first = offset_hint + 1
            span = f"hits {first}–{offset_hint + k}" if k else "no hits on this page"
            out = [
                f"Search {shown_query!r}: {fmt_int(total_hits)} matching turns in {fmt_int(calls_matched)} "
                f"calls; showing {span}, best first."
            ]
            if notes:
                out.append("Interpreted as: " + "; ".join(notes))
            for c in covered:
                synced = c.last_synced_at or "never"
                line = f"Index coverage {c.provider}: {fmt_int(c.indexed_calls)} calls, last synced {synced}."
                if c.sync_error:
                    line += f" Sync did not complete just now: {c.sync_error}"
                out.append(line)
            if k:
                out.append(untrusted_block("search hits (caller speech)", "\n".join(lines[:k])))
                out.append(
                    "Each hit: call id (provider), time, [turn] speaker @offset | snippet. "
                    "get_call with transcript_offset=<turn> reads the call from there."
                )
            if cursor:
                out.append(
                    f'More hits: call search_transcripts with the same arguments and cursor="{cursor}".'
                )
            return "\n".join(out), model.model_dump(mode="json")

        return self.fit_rows(len(rows), build)

    # -- campaigns -------------------------------------------------------------------------------

    def campaign_report(self, summary: CampaignSummary, *, sync_errors: Mapping[str, str]) -> Shaped:
        """A summarize_campaign answer: every platform string scrubbed, big parts cut to fit."""
        data = summary.model_dump(mode="json")
        scrubbed = self._scrub_summary(data)
        shortened: list[str] = []
        for level in range(len(_SUMMARY_LEVELS)):
            shrunk, cut = _shrink_summary(scrubbed, level)
            checked = CampaignSummary.model_validate(shrunk)
            model = CampaignReport(summary=checked, shortened=cut, sync_errors=dict(sync_errors))
            structured = model.model_dump(mode="json")
            text = _summary_text(structured)
            if len(text) <= self.budget and json_size(structured) <= self.budget:
                shortened = cut
                break
        else:  # pragma: no cover - the last level keeps only small, bounded parts
            raise AssertionError("campaign summary does not fit the budget")
        _ = shortened
        self._check(text, structured)
        return Shaped(text=text, structured=structured)

    def _scrub_summary(self, data: dict[str, Any]) -> dict[str, Any]:
        s = self.scrub
        out = dict(data)
        out["campaign_id"] = s.ident(data.get("campaign_id"))
        out["campaign_name"] = s.line(data["campaign_name"], 200) if data.get("campaign_name") else None
        out["by_ended_reason"] = _merge_keys({s.line(k, 120): v for k, v in data["by_ended_reason"].items()})
        fields = []
        for item in data.get("extracted_fields", []):
            item = dict(item)
            phones = s.redactor.phone_key(item["name"])
            item["name"] = s.line(item["name"], 120)
            if phones:
                # The values of a phone-number field are phone numbers: no mean/min/max of them.
                item["mean"] = item["min"] = item["max"] = None
            if item.get("values") is not None:
                merged: dict[str, int] = {}
                for key, count in item["values"].items():
                    shown = (s.phone(key) or "") if phones else s.line(key, 160)
                    merged[shown] = merged.get(shown, 0) + int(count)
                item["values"] = merged
            fields.append(item)
        out["extracted_fields"] = fields
        coverage = dict(data["coverage"])
        coverage["note"] = s.line(coverage.get("note", ""), 600)
        out["coverage"] = coverage
        totals = dict(data["totals"])
        totals["currency"] = _currency(s, totals.get("currency"))
        out["totals"] = totals
        cost = dict(data["cost"])
        cost["currency"] = _currency(s, cost.get("currency"))
        cost["by_currency"] = {_currency(s, k) or "?": v for k, v in cost.get("by_currency", {}).items()}
        out["cost"] = cost
        out["notable_calls"] = [
            {**n, "call_id": s.ident(n["call_id"]), "uri": clip(n["uri"], 300)} for n in data["notable_calls"]
        ]
        return out

    def campaign_list(self, listings: Sequence[Any], *, sync_errors: Mapping[str, str]) -> Shaped:
        """A list_campaigns answer: as many campaigns as fit, the rest counted."""
        s = self.scrub
        rows = [
            CampaignRow(
                provider=c.provider,
                campaign_id=s.ident(c.campaign_id),
                name=s.line(c.name, 160) if c.name else None,
                indexed_calls=c.indexed_calls,
                platform_calls=c.platform_calls,
                first_call_at=fmt_time(c.first_call_at),
                last_call_at=fmt_time(c.last_call_at),
                last_synced_at=fmt_time(c.last_synced_at),
            )
            for c in listings
        ]
        rows.sort(key=lambda r: (r.last_call_at or "", r.provider), reverse=True)

        def line(r: CampaignRow) -> str:
            ident = r.campaign_id or "(calls whose platform record names no campaign)"
            name = f' "{r.name}"' if r.name else ""
            counts = f"{fmt_int(r.indexed_calls)} calls indexed"
            if r.platform_calls is not None:
                counts += f" (platform reports {fmt_int(r.platform_calls)})"
            span = ""
            if r.first_call_at or r.last_call_at:
                span = f", {(r.first_call_at or '?')[:10]} → {(r.last_call_at or '?')[:10]}"
            return f"- {ident}{name} ({r.provider}): {counts}{span}"

        def build(k: int) -> tuple[str, dict[str, Any]]:
            model = CampaignList(campaigns=rows[:k], omitted=len(rows) - k, sync_errors=dict(sync_errors))
            out = [
                f"{len(rows)} campaign{'s' if len(rows) != 1 else ''} in the local index, most recent first:"
            ]
            for name, error in sync_errors.items():
                out.append(f"Syncing {name} did not complete just now, the list may be stale: {error}")
            out.extend(line(r) for r in rows[:k])
            if k < len(rows):
                out.append(f"{len(rows) - k} more omitted to fit the output budget; pass provider to narrow.")
            out.append("Pass a campaign_id to summarize_campaign, list_calls or search_transcripts.")
            if any(r.campaign_id is None for r in rows[:k]):
                out.append(
                    "Some platforms (CallCamp) do not name the campaign on a call record: their "
                    "campaigns appear here once summarize_campaign or search_transcripts has been "
                    "called with that campaign_id (the id from the platform's dashboard) and provider."
                )
            return "\n".join(out), model.model_dump(mode="json")

        _, shaped = self.fit_rows(len(rows), build)
        return shaped

    # -- resources (not tool results: no budget, same scrubbing) ---------------------------------

    def call_json(self, call: Call) -> str:
        """The `calls://{provider}/{call_id}` resource: the call without transcript, as JSON."""
        s = self.scrub
        model = CallDetail(
            **self._call_facts(call),
            ended_reason=s.opt(call.ended_reason),
            summary=s.opt(call.summary),
            extracted_data=s.value(dict(call.extracted_data)),
            qa=s.value(dict(call.qa)),
            has_recording=bool(call.recording_urls),
            transcript_total_turns=len(call.transcript),
        )
        data = model.model_dump(mode="json", exclude={"transcript", "transcript_offset", "clipped_fields"})
        for key in ("transcript_truncated", "next_transcript_offset", "next_transcript_char_offset"):
            data.pop(key, None)
        data.pop("recording_urls", None)
        return json.dumps(data, ensure_ascii=False, indent=1)

    def transcript_text(self, call: Call) -> str:
        """The `.../transcript` resource: every turn, one line each, inside an untrusted block."""
        uri = call_uri(call.provider, call.call_id)
        header = (
            f"Transcript of call {call.call_id} on {call.provider} ({uri}): "
            f"{fmt_int(len(call.transcript))} turns."
        )
        if not call.transcript:
            return header + "\nNo transcript."
        body = "\n".join(
            turn_line(i, t.speaker, t.offset_seconds, self.scrub.text(t.text))
            for i, t in enumerate(call.transcript)
        )
        return "\n".join([header, untrusted_block(f"transcript of {call.provider}/{call.call_id}", body)])

    def resource_title(self, call: CallSummary) -> str:
        """A short human title for resources/list."""
        parts = [fmt_short_time(call.started_at), call.status.value]
        if call.campaign_id:
            parts.append(f"campaign {self.scrub.ident(call.campaign_id)}")
        return one_line(" · ".join(parts), 160)


_META_SHARES = (0.08, 0.04, 0.02, 0.01, 0.004)


def _transcript_footer(
    offset: int,
    char_offset: int,
    last: int,
    next_char: int | None,
    total: int,
    truncated: bool,
    last_partial: bool,
) -> str:
    first = f"{fmt_int(offset)}" + (f" (from character {fmt_int(char_offset)})" if char_offset else "")
    span = f"turn {first}" if offset == last else f"turns {first}–{fmt_int(last)}"
    if not truncated:
        return f"Showing {span} of {fmt_int(total)}; that is the end of the transcript."
    if last_partial and next_char:
        return (
            f"Showing {span} of {fmt_int(total)}; turn {fmt_int(last)} continues. Call get_call with "
            f"transcript_offset={last} and transcript_char_offset={next_char} for more."
        )
    nxt = last + 1
    return f"Showing {span} of {fmt_int(total)}. Call get_call with transcript_offset={nxt} for more."


def _kv_line(data: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for key, value in data.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    joined = "; ".join(parts)
    return one_line(joined, len(joined) + 20)


def _parse_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def lines_within(lines: Iterable[str], max_chars: int) -> list[str]:
    """The leading lines whose joined length stays within `max_chars`."""
    out: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if out else 0)
        if used + cost > max_chars:
            break
        out.append(line)
        used += cost
    return out


# (top values per extracted field, extracted fields / list entries kept, days of calls_per_day kept)
_SUMMARY_LEVELS = (
    (None, None, None),
    (20, 40, 60),
    (8, 20, 31),
    (3, 10, 14),
    (1, 5, 7),
    (0, 2, 3),
    (0, 0, 0),
)


def _currency(scrub: Scrubber, value: str | None) -> str | None:
    return None if value is None else one_line(clean_text(value), 12)


def _merge_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    return dict(values)


def _top(values: Mapping[str, int], n: int) -> dict[str, int]:
    ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return dict(ranked)


def _shrink_summary(data: dict[str, Any], level: int) -> tuple[dict[str, Any], list[str]]:
    """The summary with big parts cut to the given level; (data, names of what was cut)."""
    top_values, max_fields, max_days = _SUMMARY_LEVELS[level]
    if top_values is None or max_fields is None or max_days is None:
        return data, []
    out = dict(data)
    cut: list[str] = []
    fields = []
    for item in data.get("extracted_fields", [])[:max_fields]:
        item = dict(item)
        values = item.get("values")
        if values and len(values) > top_values:
            item["values"] = _top(values, top_values)
            if "extracted_fields.values" not in cut:
                cut.append("extracted_fields.values")
        fields.append(item)
    if len(data.get("extracted_fields", [])) > max_fields:
        cut.append("extracted_fields")
    out["extracted_fields"] = fields
    days = data.get("calls_per_day", {})
    if len(days) > max_days:
        out["calls_per_day"] = dict(sorted(days.items())[-max_days:])
        cut.append("calls_per_day (latest days kept)")
    reasons = data.get("by_ended_reason", {})
    if len(reasons) > max_fields:
        out["by_ended_reason"] = _top(reasons, max_fields)
        cut.append("by_ended_reason")
    for key in ("by_status", "platform_by_status"):
        values = data.get(key)
        if values and len(values) > max(3, max_fields):
            out[key] = _top(values, max(3, max_fields))
            cut.append(key)
    notable = data.get("notable_calls", [])
    if len(notable) > max_fields:
        out["notable_calls"] = notable[:max_fields]
        cut.append("notable_calls")
    if level == len(_SUMMARY_LEVELS) - 1:
        # The smallest form: headline figures only.
        qa = dict(data["qa"])
        if qa.get("distribution"):
            qa["distribution"] = []
            cut.append("qa.distribution")
        out["qa"] = qa
        cost = dict(data["cost"])
        if len(cost.get("by_currency", {})) > 3:
            cost["by_currency"] = _top(cost["by_currency"], 3)
            cut.append("cost.by_currency")
        out["cost"] = cost
        coverage = dict(data["coverage"])
        coverage["note"] = clip(coverage.get("note") or "", 160)
        out["coverage"] = coverage
        if out.get("campaign_name"):
            out["campaign_name"] = clip(out["campaign_name"], 60)
    return out, cut


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _summary_text(report: Mapping[str, Any]) -> str:
    """Terse lines for a model; every string in `report` is already scrubbed."""
    sm = report["summary"]
    t = sm["totals"]
    title = f"Campaign {sm.get('campaign_id') or '(all calls)'}"
    if sm.get("campaign_name"):
        title += f' "{sm["campaign_name"]}"'
    title += f" on {sm['provider']}"
    if sm.get("from_date") or sm.get("to_date"):
        title += f", {(sm.get('from_date') or '…')[:10]} to {(sm.get('to_date') or '…')[:10]}"
    lines = [title]
    head = [f"{fmt_int(t['calls'])} calls ({t['calls_source']})"]
    for label, key in (("connect rate", "connect_rate"), ("completion rate", "completion_rate")):
        shown = _pct(sm.get(key))
        if shown:
            head.append(f"{label} {shown}")
    if t.get("duration_seconds") is not None:
        head.append(f"total duration {fmt_duration(t['duration_seconds'])} ({t['duration_source']})")
    money = fmt_money(t.get("cost"), t.get("currency"))
    if money:
        head.append(f"cost {money} ({t['cost_source']})")
    lines.append(" · ".join(head))
    if sm.get("first_call_at"):
        lines.append(f"Calls from {sm['first_call_at']} to {sm.get('last_call_at')}")
    d = sm["duration"]
    if d.get("calls_with_duration"):
        lines.append(
            "Duration per call: "
            + ", ".join(
                f"{label} {fmt_duration(d.get(key))}"
                for label, key in (
                    ("mean", "mean_seconds"),
                    ("median", "median_seconds"),
                    ("p90", "p90_seconds"),
                    ("max", "max_seconds"),
                )
                if d.get(key) is not None
            )
        )
    lines.append("By status: " + (", ".join(f"{k} {v}" for k, v in sm["by_status"].items()) or "none"))
    if sm.get("platform_by_status"):
        lines.append(
            "Platform's status counts: " + ", ".join(f"{k} {v}" for k, v in sm["platform_by_status"].items())
        )
    if sm["by_ended_reason"]:
        lines.append("By ended reason: " + ", ".join(f"{k} {v}" for k, v in sm["by_ended_reason"].items()))
    qa = sm["qa"]
    if qa.get("scored_calls"):
        dist = ", ".join(
            f"{_num(b['low'])}–{_num(b['high'])}: {b['calls']}" for b in qa.get("distribution", [])
        )
        lines.append(
            f"QA: {qa['scored_calls']} scored, mean {_num(qa.get('mean'))}, min {_num(qa.get('min'))}, "
            f"max {_num(qa.get('max'))}" + (f"; distribution {dist}" if dist else "")
        )
    if sm["extracted_fields"]:
        lines.append("Extracted data:")
        for f in sm["extracted_fields"]:
            bits = [f"{f['kind']}, {f['calls']} calls"]
            if f.get("true_rate") is not None:
                bits.append(f"true {_pct(f['true_rate'])}")
            if f.get("mean") is not None:
                bits.append(f"mean {_num(f['mean'])}, min {_num(f.get('min'))}, max {_num(f.get('max'))}")
            if f.get("values"):
                bits.append(", ".join(f"{k}: {v}" for k, v in f["values"].items()))
            lines.append(f"- {f['name']} ({'; '.join(bits)})")
    if sm["calls_per_day"]:
        lines.append(_calls_over_time(sm["calls_per_day"]))
    if sm["notable_calls"]:
        lines.append("Notable calls (get_call with call_id and provider):")
        for n in sm["notable_calls"]:
            value = ""
            if n.get("value") is not None:
                shown = fmt_duration(n["value"]) if n["why"] == "longest" else _num(n["value"])
                value = f" ({shown})"
            lines.append(f"- {n['why']}{value}: {n['call_id']} ({n['provider']})")
    cov = sm["coverage"]
    lines.append(
        f"Coverage: {fmt_int(cov['indexed_calls'])} calls indexed"
        + (
            f" of {fmt_int(cov['platform_calls'])} the platform reports"
            if cov.get("platform_calls") is not None
            else ""
        )
        + f", last synced {cov.get('last_synced_at') or 'never'}. {cov.get('note') or ''}".rstrip()
    )
    for name, error in report.get("sync_errors", {}).items():
        lines.append(f"Syncing {name} did not complete just now, figures may be stale: {error}")
    if report.get("shortened"):
        lines.append("Shortened to fit the output budget: " + ", ".join(report["shortened"]) + ".")
    return "\n".join(lines)
