"""The call resources and their resources/list titles: not tool results, so no budget, same scrubbing."""

from __future__ import annotations

import json

from call_logs_mcp.models import Call, CallSummary, call_uri
from call_logs_mcp.output.calls import call_facts
from call_logs_mcp.output.sanitize import one_line, turn_line, untrusted_block
from call_logs_mcp.output.schemas import CallDetail
from call_logs_mcp.output.scrub import Scrubber
from call_logs_mcp.output.text import fmt_count, fmt_short_time


def call_json(call: Call, scrub: Scrubber) -> str:
    """The `calls://{provider}/{call_id}` resource: the call without transcript, as JSON, naming
    the resource that holds the transcript (a model given only this resource can read it next)."""
    s = scrub
    model = CallDetail(
        **call_facts(call, scrub),
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
    data.pop("recording_urls_expire_at", None)
    data["transcript_uri"] = transcript_uri(call)
    return json.dumps(data, ensure_ascii=False, indent=1)


def transcript_uri(call: Call) -> str:
    return call_uri(call.provider, call.call_id) + "/transcript"


def transcript_text(call: Call, scrub: Scrubber) -> str:
    """The `.../transcript` resource: every turn, one line each, inside an untrusted block."""
    uri = call_uri(call.provider, call.call_id)
    turns = len(call.transcript)
    header = f"Transcript of call {call.call_id} on {call.provider} ({uri}): {fmt_count(turns, 'turn')}."
    if not call.transcript:
        return header + "\nNo transcript."
    texts = [t.text for t in call.transcript]
    body = "\n".join(
        turn_line(i, t.speaker, t.offset_seconds, scrub.turn(texts, i)) for i, t in enumerate(call.transcript)
    )
    return "\n".join([header, untrusted_block(f"transcript of {call.provider}/{call.call_id}", body)])


def resource_title(call: CallSummary, scrub: Scrubber) -> str:
    """A short human title for resources/list."""
    parts = [fmt_short_time(call.started_at), call.status.value]
    if call.campaign_id:
        parts.append(f"campaign {scrub.ident(call.campaign_id)}")
    return one_line(" · ".join(parts), 160)
