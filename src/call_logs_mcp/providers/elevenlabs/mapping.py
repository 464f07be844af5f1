"""ElevenLabs wire models → domain models. Pure functions, no I/O.

- Times are unix seconds (`start_time_unix_secs`); there is no end time, so a finished call ends
  at start + `call_duration_secs`.
- Cost: `metadata.cost_fiat` is USD (SDK: "Total fiat cost of the conversation in USD"). The unit
  of `metadata.cost` is undocumented (credits): it is kept in `extra["cost_credits"]`, never
  presented as money.
- Status: `initiated|in-progress|processing` → in progress (`processing`: ended, analysis still
  running), `done` → completed, `failed` → failed; a `termination_reason` naming voicemail, a
  busy line or no answer refines a finished call's status (the reason is free text whose values
  are undocumented). `call_successful` is the agent's goal evaluation, not the call's outcome: it
  goes to `qa`, not to the status.
- Transcript roles `agent` → agent, `user` → customer, anything else → system (the role is an
  open enum); `time_in_call_secs` → offset. Turns without text (a tool call alone) carry nothing
  to show and are counted in `extra["turns_without_text"]`.
- Analysis: `transcript_summary` → summary, `evaluation_criteria_results` → `qa` (criterion id →
  result, score, max score, rationale) with `call_success_score` as the QA score, exactly as
  reported; `data_collection_results` → extracted data (id → value).
- No recording URL exists (audio is served by `GET .../{id}/audio`): `recording_urls` stays
  empty and `extra["has_audio"]` keeps the flag.

A field in an unexpected shape is skipped, logged (by name only) and listed in
`extra["skipped_fields"]`; the call is still returned.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from call_logs_mcp.models import Call, CallStatus, CallSummary, Turn
from call_logs_mcp.providers.normalize import (
    agent_of,
    normalize_speaker,
    parse_datetime,
    parse_duration,
    parse_number,
    text_or_none,
)

from .wire import PROVIDER, Conversation, ConversationItem

logger = logging.getLogger(__name__)

_STATUS: dict[str, CallStatus] = {
    "initiated": CallStatus.IN_PROGRESS,
    "in-progress": CallStatus.IN_PROGRESS,
    "processing": CallStatus.IN_PROGRESS,
    "done": CallStatus.COMPLETED,
    "failed": CallStatus.FAILED,
}
_REFINED = (
    (re.compile(r"voice[\s_-]?mail|answering[\s_-]?machine"), CallStatus.VOICEMAIL),
    (re.compile(r"\bbusy\b|[\s_-]busy\b"), CallStatus.BUSY),
    (
        re.compile(r"no[\s_-]?answer|not[\s_-]answered|unanswered|did[\s_-]not[\s_-]answer"),
        CallStatus.NO_ANSWER,
    ),
)


def status_of(raw_status: object, termination_reason: object) -> CallStatus:
    """Our status for ElevenLabs' `status` and `termination_reason` (module docstring)."""
    key = raw_status.strip().lower() if isinstance(raw_status, str) else ""
    status = _STATUS.get(key, CallStatus.UNKNOWN)
    if status in (CallStatus.COMPLETED, CallStatus.FAILED) and isinstance(termination_reason, str):
        reason = termination_reason.lower()
        for pattern, refined in _REFINED:
            if pattern.search(reason):
                return refined
    return status


class _Skips:
    """Fields skipped for an unexpected shape: logged by name, kept in `extra`."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.fields: list[str] = []

    def skip(self, field: str) -> None:
        self.fields.append(field)
        logger.warning("%s: skipped %s of a conversation (unexpected shape)", PROVIDER, field)


def _mapping(value: object, field: str, skips: _Skips) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    skips.skip(field)
    return {}


def _ended_at(status: CallStatus, started: Any, duration: float | None) -> Any:
    if started is None or duration is None or status is CallStatus.IN_PROGRESS:
        return None
    return started + timedelta(seconds=duration)


def to_summary(
    item: ConversationItem,
    *,
    campaign_id: str | None = None,
    to_number: str | None = None,
    from_number: str | None = None,
) -> CallSummary:
    """The domain summary of a listed conversation. `campaign_id` is the listing's batch (items do
    not name theirs); the numbers are the batch recipient's or the detail's, when known."""
    raw_status = text_or_none(item.status)
    status = status_of(raw_status, item.termination_reason)
    started = parse_datetime(item.start_time_unix_secs)
    duration = parse_duration(item.call_duration_secs)
    return CallSummary(
        provider=PROVIDER,
        call_id=item.conversation_id,
        campaign_id=campaign_id,
        status=status,
        raw_status=raw_status,
        started_at=started,
        ended_at=_ended_at(status, started, duration),
        duration_seconds=duration,
        to_number=to_number,
        from_number=from_number,
        summary=text_or_none(item.transcript_summary),
        agent=agent_of(item.agent_id, item.agent_name),
    )


def _numbers(phone_call: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(to, from): the external number is the customer's; direction says who dialled."""
    external = text_or_none(phone_call.get("external_number"))
    agent = text_or_none(phone_call.get("agent_number"))
    if text_or_none(phone_call.get("direction")) == "inbound":
        return agent, external
    return external, agent


def _turns(value: object, skips: _Skips) -> tuple[list[Turn], int]:
    if value is None:
        return [], 0
    if not isinstance(value, list):
        skips.skip("transcript")
        return [], 0
    turns: list[Turn] = []
    silent = 0
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            skips.skip(f"transcript turn {index}")
            continue
        message = item.get("message")
        if message is None:
            silent += 1
            continue
        if not isinstance(message, str):
            skips.skip(f"transcript turn {index}")
            continue
        turns.append(
            Turn(
                speaker=normalize_speaker(item.get("role")),
                text=message,
                offset_seconds=parse_number(item.get("time_in_call_secs")),
            )
        )
    return turns, silent


def _results(analysis: Mapping[str, Any], key: str, skips: _Skips) -> list[tuple[str, Mapping[str, Any]]]:
    """`{id: result}` (or its `*_list` twin) as (id, result) pairs."""
    found = analysis.get(key)
    pairs: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(found, Mapping):
        for name, result in found.items():
            if isinstance(result, Mapping):
                pairs.append((str(name), result))
            else:
                skips.skip(f"analysis.{key}")
        return pairs
    if found is not None:
        skips.skip(f"analysis.{key}")
    listed = analysis.get(f"{key}_list")
    if isinstance(listed, list):
        id_key = "criteria_id" if key.startswith("evaluation") else "data_collection_id"
        for result in listed:
            name = text_or_none(result.get(id_key)) if isinstance(result, Mapping) else None
            if name is None or not isinstance(result, Mapping):
                skips.skip(f"analysis.{key}_list")
                continue
            pairs.append((name, result))
    elif listed is not None:
        skips.skip(f"analysis.{key}_list")
    return pairs


def to_call(conversation: Conversation) -> Call:
    """The domain call for a conversation detail. Never raises for a leaf in an unexpected shape
    (module docstring)."""
    skips = _Skips(conversation.conversation_id)
    metadata = _mapping(conversation.metadata, "metadata", skips)
    analysis = _mapping(conversation.analysis, "analysis", skips)
    phone_call = _mapping(metadata.get("phone_call"), "metadata.phone_call", skips)
    batch = _mapping(metadata.get("batch_call"), "metadata.batch_call", skips)

    raw_status = text_or_none(conversation.status)
    reason = text_or_none(metadata.get("termination_reason"))
    status = status_of(raw_status, reason)
    started = parse_datetime(metadata.get("start_time_unix_secs"))
    duration = parse_duration(metadata.get("call_duration_secs"))
    to_number, from_number = _numbers(phone_call)
    turns, silent = _turns(conversation.transcript, skips)

    cost = parse_number(metadata.get("cost_fiat"))
    if metadata.get("cost_fiat") is not None and cost is None:
        skips.skip("metadata.cost_fiat")

    qa: dict[str, Any] = {}
    for name, result in _results(analysis, "evaluation_criteria_results", skips):
        qa[name] = {
            key: result[key]
            for key in ("result", "score", "max_score", "rationale")
            if result.get(key) is not None
        }
    if text_or_none(analysis.get("call_successful")) is not None:
        qa["call_successful"] = text_or_none(analysis.get("call_successful"))
    extracted = {
        name: result.get("value") for name, result in _results(analysis, "data_collection_results", skips)
    }

    extra: dict[str, Any] = dict(conversation.model_extra or {})
    for key, value in (
        ("user_id", conversation.user_id),
        ("has_audio", conversation.has_audio),
        ("cost_credits", metadata.get("cost")),
        ("batch_call_recipient_id", batch.get("batch_call_recipient_id")),
        ("call_summary_title", analysis.get("call_summary_title")),
        ("direction", phone_call.get("direction")),
    ):
        if value is not None:
            extra[key] = value
    if silent:
        extra["turns_without_text"] = silent
    if skips.fields:
        extra["skipped_fields"] = skips.fields

    return Call(
        provider=PROVIDER,
        call_id=conversation.conversation_id,
        campaign_id=text_or_none(batch.get("batch_call_id")),
        status=status,
        raw_status=raw_status,
        started_at=started,
        ended_at=_ended_at(status, started, duration),
        duration_seconds=duration,
        to_number=to_number,
        from_number=from_number,
        cost=cost,
        currency="USD" if cost is not None else None,
        summary=text_or_none(analysis.get("transcript_summary")),
        agent=agent_of(conversation.agent_id, conversation.agent_name),
        transcript=turns,
        extracted_data=extracted,
        qa=qa,
        qa_score=parse_number(analysis.get("call_success_score")),
        ended_reason=reason,
        extra=extra,
    )
