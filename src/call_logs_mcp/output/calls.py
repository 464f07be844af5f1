"""list_calls and get_call answers: call rows shrunk by rows, a call's details shrunk to leave room
for its transcript (`transcript.with_transcript` renders the turns)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.models import Call, CallSummary, PlatformTotals, call_uri
from call_logs_mcp.output.budget import Shaped, fit_rows, fit_value, json_size
from call_logs_mcp.output.sanitize import clean_text, one_line, untrusted_block
from call_logs_mcp.output.schemas import CallDetail, CallList, CallRow, ProviderFailure, ProviderTotals
from call_logs_mcp.output.scrub import Scrubber
from call_logs_mcp.output.text import (
    clip,
    fmt_count,
    fmt_duration,
    fmt_int,
    fmt_money,
    fmt_short_time,
    fmt_time,
    parse_iso,
)
from call_logs_mcp.output.transcript import with_transcript


class CallPage(Protocol):
    """One page of a merged listing: its rows and what is needed to continue after any of them."""

    @property
    def rows(self) -> Sequence[CallSummary]: ...
    @property
    def providers(self) -> Sequence[str]: ...
    @property
    def totals(self) -> Mapping[str, PlatformTotals]: ...
    @property
    def unsupported_filters(self) -> Mapping[str, Sequence[str]]: ...
    @property
    def provider_errors(self) -> Mapping[str, str]: ...
    @property
    def notes(self) -> Sequence[str]: ...

    def cursor_after(self, count: int) -> str | None:
        """A cursor resuming right after the first `count` rows (None: nothing follows)."""
        ...

    def has_more_after(self, count: int) -> bool:
        """Whether anything follows the first `count` rows."""
        ...


def call_row(call: CallSummary, scrub: Scrubber) -> CallRow:
    s = scrub
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


def row_line(row: CallRow) -> str:
    parts = [f"- {row.call_id} ({row.provider})", fmt_short_time(parse_iso(row.started_at)), row.status]
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


def call_list(page: CallPage, *, scrub: Scrubber, budget: int) -> tuple[int, Shaped]:
    """A list_calls answer with as many rows as fit; returns (rows shown, answer)."""
    rows = page.rows
    providers = page.providers
    out_rows = [call_row(call, scrub) for call in rows]
    lines = [row_line(row) for row in out_rows]
    total_models = [
        ProviderTotals(
            provider=name,
            calls=t.calls,
            duration_seconds=t.duration_seconds,
            cost=t.cost,
            currency=scrub.ident(t.currency),
        )
        for name, t in page.totals.items()
    ]
    failures = [ProviderFailure(provider=name, error=msg) for name, msg in page.provider_errors.items()]
    unsupported = {name: list(filters) for name, filters in page.unsupported_filters.items()}
    notes = [scrub.line(note, 400) for note in page.notes]

    def build(k: int) -> tuple[str, dict[str, Any]]:
        cursor = page.cursor_after(k)
        more = page.has_more_after(k)
        model = CallList(
            calls=out_rows[:k],
            has_more=more,
            next_cursor=cursor,
            providers=list(providers),
            totals=total_models,
            unsupported_filters=unsupported,
            provider_errors=failures,
            notes=notes,
        )
        head = f"{fmt_count(k, 'call')}, newest first, from {', '.join(providers)}."
        text_lines = [head, *notes]
        for t in total_models:
            bits = [fmt_count(t.calls, "call") if t.calls is not None else None]
            bits.append(fmt_duration(t.duration_seconds))
            bits.append(fmt_money(t.cost, t.currency))
            shown = ", ".join(b for b in bits if b)
            if shown:
                text_lines.append(f"Platform totals for {t.provider} (whole filtered set): {shown}.")
        for name, filters in unsupported.items():
            text_lines.append(f"{name} could not apply these filters: {', '.join(filters)}.")
        for failure in failures:
            text_lines.append(f"{failure.provider} failed, its calls are missing: {failure.error}")
        if k:
            # Rows carry the platform's summaries (its model's words, from caller speech).
            text_lines.append(untrusted_block("calls as the platforms list them", "\n".join(lines[:k])))
        if cursor:
            text_lines.append(f'More calls: call list_calls with the same filters and cursor="{cursor}".')
        elif not more:
            text_lines.append("End of the list.")
        text_lines.append("Use get_call with call_id and provider for a call's transcript and details.")
        return "\n".join(text_lines), model.model_dump(mode="json")

    return fit_rows(budget, len(rows), build)


# Shares of the budget each free-form field of a call's details may take, most generous first.
_META_SHARES = (0.08, 0.04, 0.02, 0.01, 0.004)


def call_detail(
    call: Call,
    *,
    scrub: Scrubber,
    budget: int,
    transcript_offset: int = 0,
    transcript_char_offset: int = 0,
    include_recording: bool = False,
    recording_note: str | None = None,
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
            f"transcript_offset is past the end: this call has {fmt_count(total, 'turn')} "
            f"(0–{fmt_int(total - 1)})."
        )
    texts = [t.text for t in call.transcript]
    first_text = scrub.turn(texts, transcript_offset) if total else ""
    if transcript_char_offset and transcript_char_offset >= len(first_text):
        raise InvalidArgumentError(
            f"transcript_char_offset is past the end of turn {transcript_offset} "
            f"({fmt_int(len(first_text))} characters)."
        )

    # Metadata gets at most ~45% of the budget, so the transcript always gets the rest.
    for level in range(len(_META_SHARES)):
        note = recording_note if include_recording else None
        head_text, model = _detail_head(call, scrub, budget, include_recording, level, note)
        probe = model.model_copy(
            update={
                "transcript_offset": transcript_offset,
                "transcript_total_turns": total,
                "transcript_truncated": True,
                "next_transcript_offset": 10**9,
                "next_transcript_char_offset": 10**9,
            }
        )
        if len(head_text) <= budget * 0.45 and json_size(probe.model_dump(mode="json")) <= budget * 0.45:
            break
    else:  # pragma: no cover - the last level always fits: every field is tiny by then
        raise AssertionError("call metadata does not fit the budget")
    return with_transcript(
        call,
        head_text,
        model,
        first_text,
        transcript_offset,
        transcript_char_offset,
        scrub=scrub,
        budget=budget,
    )


def _detail_head(
    call: Call, scrub: Scrubber, budget: int, include_recording: bool, level: int, recording_note: str | None
) -> tuple[str, CallDetail]:
    s = scrub
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

    # At least 40 characters a field, but at the last level whatever the share gives: the fixed
    # fields take most of a small budget's share, and a floor could keep the rest from fitting.
    unit = int(budget * share) if level == len(_META_SHARES) - 1 else max(40, int(budget * share))
    recordings = [clean_text(url) for url in call.recording_urls]
    model = CallDetail(
        **call_facts(call, scrub),
        ended_reason=fit_text("ended_reason", call.ended_reason, min(200, unit)),
        summary=fit_text("summary", call.summary, unit * 2),
        extracted_data=fit_json("extracted_data", call.extracted_data, unit),
        qa=fit_json("qa", call.qa, unit),
        has_recording=bool(recordings),
        recording_note=recording_note if not recordings else None,
    )
    if include_recording and recordings:
        # Whole URLs or none: a shortened link is a wrong one.
        urls = list(recordings)
        while urls and json_size(urls) > unit:
            urls.pop()
        if len(urls) < len(recordings):
            clipped.append("recording_urls")
        model.recording_urls = urls
        model.recording_urls_expire_at = fmt_time(call.recording_urls_expire_at)
    model.clipped_fields = clipped
    return _detail_head_text(model), model


def call_facts(call: Call, scrub: Scrubber) -> dict[str, Any]:
    """The short, never-clipped fields of a call's detail: identity, times, numbers, cost."""
    s = scrub
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
    written: list[str] = []  # the platform's words (its model's, from caller speech): delimited
    if m.ended_reason:
        written.append(f"Ended reason: {one_line(m.ended_reason, 200)}")
    if m.summary:
        written.append(f"Summary: {one_line(m.summary, len(m.summary) + 20)}")
    if m.extracted_data:
        written.append(f"Extracted data: {_kv_line(m.extracted_data)}")
    if m.qa:
        written.append(f"QA: {_kv_line(m.qa)}")
    if written:
        lines.append(untrusted_block(f"details of call {m.provider}/{m.call_id}", "\n".join(written)))
    if m.recording_urls:
        expiry = f", they expire {m.recording_urls_expire_at}" if m.recording_urls_expire_at else ""
        lines.append(f"Recording URLs (bearer links, do not share{expiry}): " + " ".join(m.recording_urls))
    elif m.has_recording and "recording_urls" in m.clipped_fields:
        lines.append(
            "A recording exists; its URLs were left out to fit the output budget "
            "(CALL_LOGS_MAX_OUTPUT_CHARS, where the server runs, sets it)."
        )
    elif m.has_recording:
        lines.append("A recording exists; call get_call with include_recording=true for its URL.")
    if m.recording_note:
        lines.append(f"Recording: {m.recording_note}")
    if m.clipped_fields:
        whole = [name for name in m.clipped_fields if name != "recording_urls"]
        where = f" Read {', '.join(whole)} whole in the resource {m.uri}." if whole else ""
        lines.append(f"Shortened to fit the output budget: {', '.join(m.clipped_fields)}.{where}")
    return "\n".join(lines)


def _kv_line(data: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for key, value in data.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    joined = "; ".join(parts)
    return one_line(joined, len(joined) + 20)
