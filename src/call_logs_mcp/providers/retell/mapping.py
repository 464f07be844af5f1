"""Retell wire models → domain models. Pure functions, no I/O (a skipped field is logged).

- Times: epoch milliseconds → UTC; `duration_ms` → seconds; `call_cost.combined_cost` cents → USD
  (Retell bills in US cents; the SDK documents every cost as cents).
- Status (`status_of`): `registered`/`ongoing` → in_progress; `not_connected`/`error` by
  `disconnection_reason` (`dial_no_answer` → no_answer, `dial_busy` → busy, else failed); `ended` →
  voicemail when `disconnection_reason` is `voicemail_reached` or `call_analysis.in_voicemail`,
  else completed. `raw_status` keeps `call_status`, `ended_reason` the `disconnection_reason`.
- Transcript: `transcript_with_tool_calls` when present (spoken turns and events, in order), else
  `transcript_object`, else the `transcript` string. Roles `agent` and `transfer_target` → agent
  (a transfer target's turns are listed in `extra["transfer_target_turns"]`), `user` → customer;
  an utterance's offset is its first word's `start`. Events become system turns: `injected`
  (its text), `sms`, `dtmf`, tool calls and results, node transitions (a short line each).
- Analysis: `call_summary` → summary; `call_successful` and `user_sentiment` → `qa` and, with
  `custom_analysis_data`, → `extracted_data` (so summaries count them as outcomes).
- A call stored with `data_storage_setting=basic_attributes_only` has no transcript: it gets one
  system turn saying so (the platform keeps none), never an error.
- A field in an unexpected shape is skipped: named in `extra["skipped_fields"]`, logged (its name
  only), and the rest of the call is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from call_logs_mcp.models import Call, CallStatus, Speaker, Turn
from call_logs_mcp.providers.normalize import agent_of, parse_number, text_or_none, turns_from_text

from .wire import PROVIDER, RetellCall

logger = logging.getLogger(__name__)

CURRENCY = "USD"
CENTS_PER_DOLLAR = 100
BASIC_ATTRIBUTES_ONLY = "basic_attributes_only"
NO_TRANSCRIPT_NOTE = (
    "No transcript: this call's agent stores basic attributes only "
    "(Retell data_storage_setting basic_attributes_only), so Retell keeps no transcript or recording."
)
RECORDING_FIELDS = (
    "recording_url",
    "recording_multi_channel_url",
    "scrubbed_recording_url",
    "scrubbed_recording_multi_channel_url",
)

_IN_PROGRESS = frozenset({"registered", "ongoing"})
_NOT_CONNECTED = frozenset({"not_connected", "error"})
_SPEAKERS: dict[str, Speaker] = {"agent": "agent", "user": "customer", "transfer_target": "agent"}


def status_of(call: RetellCall, analysis: Mapping[str, Any]) -> CallStatus:
    """The normalised status (module docstring); unknown for a `call_status` Retell has not
    documented."""
    raw = text_or_none(call.call_status)
    reason = text_or_none(call.disconnection_reason)
    if raw in _IN_PROGRESS:
        return CallStatus.IN_PROGRESS
    if raw in _NOT_CONNECTED:
        if reason == "dial_no_answer":
            return CallStatus.NO_ANSWER
        if reason == "dial_busy":
            return CallStatus.BUSY
        return CallStatus.FAILED
    if raw == "ended":
        if reason == "voicemail_reached" or analysis.get("in_voicemail") is True:
            return CallStatus.VOICEMAIL
        return CallStatus.COMPLETED
    return CallStatus.UNKNOWN


class _Skips:
    """Fields skipped for their shape, named once each and logged by name only."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.names: list[str] = []

    def add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)
            logger.warning("%s call %s: skipped field %s (unexpected shape)", PROVIDER, self.call_id, name)


def _number(value: object, name: str, skips: _Skips, *, minimum: float | None = 0.0) -> float | None:
    """A finite number (at least `minimum`), None when absent; skipped when unreadable."""
    if value is None:
        return None
    number = parse_number(value)
    if number is None or (minimum is not None and number < minimum):
        skips.add(name)
        return None
    return number


def _millis(value: object, name: str, skips: _Skips) -> datetime | None:
    number = _number(value, name, skips)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        skips.add(name)
        return None


def _object(value: object, name: str, skips: _Skips) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    skips.add(name)
    return {}


def _cost(call_cost: Mapping[str, Any], skips: _Skips) -> float | None:
    cents = _number(call_cost.get("combined_cost"), "call_cost.combined_cost", skips, minimum=None)
    return None if cents is None else cents / CENTS_PER_DOLLAR


def _first_word_start(words: object) -> float | None:
    if not isinstance(words, list) or not words or not isinstance(words[0], dict):
        return None
    return parse_number(words[0].get("start"))


def _event_text(item: Mapping[str, Any], role: str) -> str | None:
    """One line for a non-spoken entry of `transcript_with_tool_calls`, or None when it has
    nothing to show."""
    if role == "injected":
        return text_or_none(item.get("content"))
    if role == "sms":
        content = text_or_none(item.get("content"))
        return f"SMS from the caller: {content}" if content else None
    if role == "dtmf":
        digit = text_or_none(item.get("digit"))
        return f"Keypad: {digit}" if digit else None
    if role == "tool_call_invocation":
        name = text_or_none(item.get("name"))
        return f"Tool call: {name}" if name else None
    if role == "tool_call_result":
        content = text_or_none(item.get("content"))
        failed = " (failed)" if item.get("successful") is False else ""
        return f"Tool result{failed}: {content}" if content else None
    if role == "node_transition":
        before, after = text_or_none(item.get("former_node_name")), text_or_none(item.get("new_node_name"))
        return f"Moved from node {before} to node {after}" if before and after else None
    return text_or_none(item.get("content"))


def _turns_from_entries(
    entries: list[Any], name: str, skips: _Skips, transfer_turns: list[int]
) -> list[Turn]:
    turns: list[Turn] = []
    for item in entries:
        role = item.get("role") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(role, str):
            skips.add(f"{name} entry")
            continue
        speaker = _SPEAKERS.get(role)
        if speaker is not None:
            content = item.get("content")
            if not isinstance(content, str):
                skips.add(f"{name} entry")
                continue
            if role == "transfer_target":
                transfer_turns.append(len(turns))
            turns.append(
                Turn(speaker=speaker, text=content, offset_seconds=_first_word_start(item.get("words")))
            )
            continue
        text = _event_text(item, role)
        if text is None:
            skips.add(f"{name} entry")
            continue
        turns.append(Turn(speaker="system", text=text, offset_seconds=parse_number(item.get("time_sec"))))
    return turns


def turns_of(call: RetellCall, skips: _Skips, transfer_turns: list[int]) -> list[Turn]:
    """The transcript (module docstring): the richest readable representation present."""
    for name in ("transcript_with_tool_calls", "transcript_object"):
        value = getattr(call, name)
        if value is None:
            continue
        if isinstance(value, list):
            return _turns_from_entries(value, name, skips, transfer_turns)
        skips.add(name)
    if isinstance(call.transcript, str):
        return turns_from_text(call.transcript)
    if call.transcript is not None:
        skips.add("transcript")
    return []


def _recordings(call: RetellCall, skips: _Skips) -> list[str]:
    urls: list[str] = []
    for name in RECORDING_FIELDS:
        value = getattr(call, name)
        if value is None:
            continue
        if isinstance(value, str):
            if value.strip() and value.strip() not in urls:
                urls.append(value.strip())
        else:
            skips.add(name)
    return urls


def to_call(call: RetellCall, *, campaign_id: str | None = None) -> Call:
    """The domain call for a wire call. `campaign_id` is the listing's batch filter (Retell's
    calls do not carry their batch). Never raises for a field's shape (module docstring)."""
    skips = _Skips(call.call_id)
    analysis = _object(call.call_analysis, "call_analysis", skips)
    call_cost = _object(call.call_cost, "call_cost", skips)
    transfer_turns: list[int] = []
    turns = turns_of(call, skips, transfer_turns)
    storage = text_or_none(call.data_storage_setting)
    if not turns and storage == BASIC_ATTRIBUTES_ONLY:
        turns = [Turn(speaker="system", text=NO_TRANSCRIPT_NOTE)]

    qa: dict[str, Any] = {}
    for key in ("call_successful", "user_sentiment"):
        value = analysis.get(key)
        if isinstance(value, bool | str):
            qa[key] = value
        elif value is not None:
            skips.add(f"call_analysis.{key}")
    custom = analysis.get("custom_analysis_data")
    extracted: dict[str, Any] = {}
    if isinstance(custom, dict):
        extracted.update(custom)
    elif custom is not None:
        skips.add("call_analysis.custom_analysis_data")
    for key, value in qa.items():
        extracted.setdefault(key, value)
    summary = analysis.get("call_summary")
    if summary is not None and not isinstance(summary, str):
        skips.add("call_analysis.call_summary")

    cost = _cost(call_cost, skips)
    started_at = _millis(call.start_timestamp, "start_timestamp", skips)
    ended_at = _millis(call.end_timestamp, "end_timestamp", skips)
    duration_ms = _number(call.duration_ms, "duration_ms", skips)
    duration = None if duration_ms is None else duration_ms / 1000
    to_number = _text(call.to_number, "to_number", skips)
    from_number = _text(call.from_number, "from_number", skips)
    recordings = _recordings(call, skips)
    agent = agent_of(_text(call.agent_id, "agent_id", skips), _text(call.agent_name, "agent_name", skips))
    extra: dict[str, Any] = dict(call.model_extra or {})
    for key in ("call_type", "direction", "agent_version", "data_storage_setting"):
        value = getattr(call, key)
        if value is not None:
            extra[key] = value
    if call.opt_in_signed_url is True:
        extra["recording_urls_expire_after_hours"] = 24
    leftovers = {k: v for k, v in analysis.items() if k not in {"call_summary", "custom_analysis_data", *qa}}
    if leftovers:
        extra["call_analysis"] = leftovers
    if call_cost:
        extra["call_cost"] = call_cost
    if transfer_turns:
        extra["transfer_target_turns"] = transfer_turns
    if skips.names:
        extra["skipped_fields"] = list(skips.names)
    raw_status = text_or_none(call.call_status)
    return Call(
        provider=PROVIDER,
        call_id=call.call_id,
        campaign_id=campaign_id,
        status=status_of(call, analysis),
        raw_status=raw_status,
        started_at=started_at,
        ended_at=ended_at,
        duration_seconds=duration,
        to_number=to_number,
        from_number=from_number,
        cost=cost,
        currency=CURRENCY if cost is not None else None,
        summary=text_or_none(summary),
        agent=agent,
        transcript=turns,
        extracted_data=extracted,
        qa=qa,
        recording_urls=recordings,
        ended_reason=text_or_none(call.disconnection_reason),
        extra=extra,
    )


def _text(value: object, name: str, skips: _Skips) -> str | None:
    if value is None or isinstance(value, str):
        return text_or_none(value)
    skips.add(name)
    return None
