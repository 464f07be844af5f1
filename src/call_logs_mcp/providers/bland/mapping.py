"""Bland wire models → domain models. Pure functions, no I/O.

- Times: our `started_at` is Bland's `created_at` (when the call was placed: every call has it,
  list items too, and it is what the list sorts and date-filters on). Bland's `started_at` (when
  the call connected) anchors transcript offsets and the end time. `end_at` is *not* the end of the
  call (it is the `max_duration` deadline) and is kept in `extra` only.
- Duration: `corrected_duration` (seconds, a string) when present, else `call_length` (minutes)
  × 60, rounded to the millisecond. `ended_at` is the connection time plus that duration, for a
  finished call that connected.
- Status (detail): `status` (completed → voicemail when `answered_by` is voicemail; no-answer,
  busy; failed and canceled → failed), else the queue (new/queued/allocated/started →
  in_progress), else what the list fields say. Unknown words stay open: the raw value is kept.
- Status (list item, `list_status`): only where the documented list fields settle it, else None
  (the adapter then asks the detail when a status filter needs it).
- Speakers: `user` → customer, `assistant` → agent, `robot` and `agent-action` → system.
  `transcripts[]` first; `concatenated_transcript` ("user: … \\n assistant: …") when it is absent.
- `summary` → summary, `analysis` → QA (and its score, when it has one), `variables` → extracted
  data; `price` is USD. Bland has no ended reason: `call_ended_by` and `error_message` stay in
  `extra`.
- A field in an unexpected shape is skipped: the call maps without it, the field's name is
  counted in `extra["skipped_fields"]` and logged (the name only, never the value).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from call_logs_mcp.models import Call, CallStatus, CallSummary, Turn
from call_logs_mcp.providers.normalize import (
    normalize_speaker,
    normalize_status,
    parse_datetime,
    parse_number,
    qa_score,
    text_or_none,
    turns_from_text,
    url_list,
)

from .wire import PROVIDER, BlandCall, ListedCall

logger = logging.getLogger(__name__)

CURRENCY = "USD"  # "The cost of the call in USD."

LIVE_QUEUE = frozenset({"new", "queued", "allocated", "started"})
# Errors before the call connected or during it; `complete_error` (e.g. a post-call webhook
# failed) happened after a call that itself completed, so it settles nothing.
FAILED_QUEUE = frozenset({"pre_queue_error", "queue_error", "call_error"})

SPEAKERS: dict[str, str] = {
    "user": "customer",
    "assistant": "agent",
    "robot": "system",
    "agent-action": "system",
}

# Bland's `status` values → ours (open: an unlisted word goes through `normalize_status`).
WIRE_STATUS: dict[str, CallStatus] = {
    "completed": CallStatus.COMPLETED,
    "failed": CallStatus.FAILED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "canceled": CallStatus.FAILED,
    "cancelled": CallStatus.FAILED,
}
# `answered_by` values that settle a finished call's outcome on their own.
ANSWERED_STATUS: dict[str, CallStatus] = {
    "voicemail": CallStatus.VOICEMAIL,
    "no-answer": CallStatus.NO_ANSWER,
    "human": CallStatus.COMPLETED,
    "unknown": CallStatus.COMPLETED,  # "most likely a human": someone or something picked up
}


def _word(value: object) -> str | None:
    text = text_or_none(value)
    return text.lower() if text is not None else None


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def minutes_to_seconds(value: object) -> float | None:
    """`call_length` (minutes, float) in seconds, rounded to the millisecond."""
    minutes = parse_number(value)
    if minutes is None or minutes < 0:
        return None
    return round(minutes * 60, 3)


def duration_seconds(call: ListedCall) -> float | None:
    """`corrected_duration` (seconds) when the call has one, else `call_length` in seconds."""
    if isinstance(call, BlandCall):
        corrected = parse_number(call.corrected_duration)
        if corrected is not None and corrected >= 0:
            return corrected
    return minutes_to_seconds(call.call_length)


def list_status(item: ListedCall) -> tuple[CallStatus | None, str | None]:
    """(status, raw value) as far as the documented list fields settle it; status None when they
    do not (a finished call whose `answered_by` is null: not enabled or still processing)."""
    queue = _word(item.queue_status)
    completed = _flag(item.completed)
    if queue in LIVE_QUEUE and completed is not True:
        return CallStatus.IN_PROGRESS, text_or_none(item.queue_status)
    if queue in FAILED_QUEUE:
        return CallStatus.FAILED, text_or_none(item.queue_status)
    error = _word(item.error_message)
    if error is not None and "busy" in error and completed is not False:
        # The docs' own message for a busy line ("The number you dialed is busy. ...").
        return CallStatus.BUSY, text_or_none(item.error_message)
    answered = _word(item.answered_by)
    if answered in ANSWERED_STATUS and completed is not False:
        return ANSWERED_STATUS[answered], text_or_none(item.answered_by)
    return None, text_or_none(item.queue_status)


def detail_status(call: BlandCall) -> tuple[CallStatus, str | None]:
    """(status, raw value) of a call detail; see the module docstring."""
    raw = text_or_none(call.status)
    word = raw.lower() if raw is not None else None
    if word in WIRE_STATUS:
        status = WIRE_STATUS[word]
        if status is CallStatus.COMPLETED and _word(call.answered_by) == "voicemail":
            return CallStatus.VOICEMAIL, raw
        return status, raw
    if word is not None and word != "unknown":
        guessed = normalize_status(raw)
        if guessed is not CallStatus.UNKNOWN:
            return guessed, raw
    listed, listed_raw = list_status(call)
    if listed is not None:
        return listed, raw or listed_raw
    return CallStatus.UNKNOWN, raw or listed_raw


class _Skips:
    """Fields skipped because of their shape: counted in `extra`, logged by name."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.names: list[str] = []

    def skip(self, name: str) -> None:
        self.names.append(name)
        logger.warning("%s: skipped the %s field of a call: unexpected shape", PROVIDER, name)

    def mapping(self, name: str, value: object) -> dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, dict):
            return dict(value)
        self.skip(name)
        return {}

    def text(self, name: str, value: object) -> str | None:
        if value is None or isinstance(value, str):
            return text_or_none(value)
        self.skip(name)
        return None


def transcript_turns(call: BlandCall, connected: datetime | None, skips: _Skips) -> list[Turn]:
    """`transcripts[]` in order (offsets from `created_at − started_at`), else the
    `concatenated_transcript` string; an unreadable entry or field is skipped and counted."""
    items = call.transcripts
    if items is not None and not isinstance(items, list):
        skips.skip("transcripts")
        items = None
    if items:
        turns: list[Turn] = []
        bad = 0
        for item in items:
            text = item.get("text") if isinstance(item, dict) else None
            if not isinstance(text, str):
                bad += 1
                continue
            speaker = item.get("user")
            word = speaker.strip().lower() if isinstance(speaker, str) else None
            said = SPEAKERS.get(word) if word is not None else None
            at = parse_datetime(item.get("created_at"))
            offset = None
            if at is not None and connected is not None:
                offset = max(0.0, round((at - connected).total_seconds(), 3))
            turns.append(Turn(speaker=normalize_speaker(said or speaker), text=text, offset_seconds=offset))
        if bad:
            skips.skip(f"transcripts ({bad} entries)")
        return turns
    concatenated = skips.text("concatenated_transcript", call.concatenated_transcript)
    # "user: Hello? \n assistant: Hi there!" (the docs' example): role-word lines, our turns.
    return turns_from_text(concatenated) if concatenated is not None else []


def to_summary(item: ListedCall, *, campaign_id: str | None = None) -> CallSummary:
    """A list item as a summary: the documented list fields only (no status word, price or
    summary: those come from the detail). `campaign_id` is the listing's campaign scope; a batch
    call is filed under its `batch_id`."""
    status, raw = list_status(item)
    return CallSummary(
        provider=PROVIDER,
        call_id=item.call_id,
        campaign_id=text_or_none(item.batch_id) or campaign_id,
        status=status or CallStatus.UNKNOWN,
        raw_status=raw,
        started_at=parse_datetime(item.created_at),
        duration_seconds=minutes_to_seconds(item.call_length),
        to_number=text_or_none(item.to),
        from_number=text_or_none(item.from_),
    )


def to_call(call: BlandCall, *, campaign_id: str | None = None) -> Call:
    """The domain call for a call detail. `campaign_id` is the listing's campaign scope (a call
    record names its batch, never its campaign)."""
    skips = _Skips(call.call_id)
    status, raw_status = detail_status(call)
    connected = parse_datetime(call.started_at)
    duration = duration_seconds(call)
    ended_at = None
    if status.is_final and connected is not None and duration is not None:
        ended_at = connected + timedelta(seconds=duration)
    analysis = skips.mapping("analysis", call.analysis)
    variables = skips.mapping("variables", call.variables)
    turns = transcript_turns(call, connected, skips)
    summary = skips.text("summary", call.summary)
    price = parse_number(call.price)
    if call.price is not None and price is None:
        skips.skip("price")
    extra: dict[str, Any] = dict(call.model_extra or {})
    for key in (
        "started_at",
        "end_at",
        "queue_status",
        "completed",
        "answered_by",
        "error_message",
        "inbound",
        "call_ended_by",
        "batch_id",
        "campaign_id",
    ):
        value = getattr(call, key)
        if value is not None:
            extra[key] = value
    if skips.names:
        extra["skipped_fields"] = skips.names
    return Call(
        provider=PROVIDER,
        call_id=call.call_id,
        campaign_id=text_or_none(call.batch_id) or text_or_none(call.campaign_id) or campaign_id,
        status=status,
        raw_status=raw_status,
        started_at=parse_datetime(call.created_at) or connected,
        ended_at=ended_at,
        duration_seconds=duration,
        to_number=text_or_none(call.to),
        from_number=text_or_none(call.from_),
        cost=price,
        currency=CURRENCY if price is not None else None,
        summary=summary,
        transcript=turns,
        extracted_data=variables,
        qa=analysis,
        qa_score=qa_score(analysis),
        recording_urls=url_list(call.recording_url),
        # Bland has no ended-reason field: who hung up (`call_ended_by`) and `error_message` stay
        # in `extra`, rather than be passed off as one.
        ended_reason=None,
        extra=extra,
    )
