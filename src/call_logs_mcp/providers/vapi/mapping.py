"""Vapi wire models → domain models. Pure functions, no I/O.

- Status: `scheduled|queued|ringing|in-progress|forwarding` → in progress; `ended` by its
  `endedReason` (an open set of hundreds of values, which Vapi does not group by outcome):
  anything naming an error, a failure or a fault → failed; `customer-did-not-answer` → no answer,
  `customer-busy` → busy, `voicemail` → voicemail; a forwarding outcome (`call.forwarding.…`) →
  completed (the customer was reached); a caller hanging up before the call connected → no
  answer; a call that never properly happened (invalid or missing assistant, misdialed,
  rejected, canceled, deleted, worker shutdown...) → failed; any other reason → completed, and no
  reason at all → unknown; `not-found` and
  `deletion-failed` → unknown. Status words we do not know yet go by the end reason too. The raw
  `status` is `raw_status`, the raw `endedReason` is `ended_reason`.
- Times: `startedAt` (else `createdAt`) is the start, `endedAt` the end; the duration is
  `endedAt - startedAt` (Vapi has no duration field), None while the call has not ended.
- Cost: `cost` is USD (the OpenAPI says so for every call); a call that reports none has None.
- Other party: `customer.number`; outbound calls go to it, inbound calls come from it. Our own
  line is `phoneNumber.number` when the call carries a transient number (only `phoneNumberId`
  otherwise: not resolved).
- Transcript: `artifact.messages` (else the top-level `messages`, else the `artifact.transcript`
  string), roles `bot`/`assistant` → agent, `user` → customer, `system`, `tool_calls`,
  `tool_call_result` and any other role → system; `secondsFromStart` is the offset.
- Analysis: `analysis.summary`; `analysis.structuredData` and `artifact.structuredOutputs` (by
  output name) → extracted data; `analysis.successEvaluation` and `artifact.scorecards` → QA, the
  evaluation as the QA score when it is a number.
- Recordings: the presigned URLs (`artifact.presignedMonoUrl`, `presignedStereoUrl`), which expire
  at `artifact.presignedUrlsExpiresAt` (`recording_urls_expire_at`); the raw
  storage URLs are private, so they are used only when no presigned URL is given.

A field in an unexpected shape (a string where the messages belong, a list for `analysis`) is
skipped, not fatal: its name goes to `extra["skipped_fields"]` and a warning is logged (names
only, never values).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from call_logs_mcp.models import Call, CallStatus, Speaker, Turn
from call_logs_mcp.providers.normalize import (
    agent_of,
    parse_datetime,
    parse_number,
    turns_from_text,
)

from .wire import PROVIDER, VapiCall

logger = logging.getLogger(__name__)

RUNNING = frozenset({"scheduled", "queued", "ringing", "in-progress", "forwarding"})
UNKNOWN_STATES = frozenset({"not-found", "deletion-failed"})
REASON_STATUS: dict[str, CallStatus] = {
    "customer-did-not-answer": CallStatus.NO_ANSWER,
    "no-answer": CallStatus.NO_ANSWER,  # not Vapi's word, but plain enough to read
    "customer-busy": CallStatus.BUSY,
    "voicemail": CallStatus.VOICEMAIL,
}
# Reasons naming an error come first: "pipeline-error-eleven-labs-system-busy-…" is a failure.
_ERROR_WORDS = ("error", "failed", "fault")
# Reasons that say the call never properly happened, in words other than "error".
_FAILED_WORDS = (
    "invalid",
    "not-valid",
    "not-found",
    "rejected",
    "misdialed",
    "shutdown",
    "no-call-received",
    "did-not-give",
    "join-timed-out",
    "canceled",
    "deleted",
)
SPEAKERS: dict[str, Speaker] = {"bot": "agent", "assistant": "agent", "user": "customer"}
# Fields of the `Call` schema the mapping reads; every other member goes to `extra` as sent.
_MAPPED = frozenset(
    {
        "status",
        "endedReason",
        "startedAt",
        "endedAt",
        "cost",
        "customer",
        "phoneNumber",
        "campaignId",
        "artifact",
        "analysis",
        "messages",
        "assistantId",
    }
)


def status_from_reason(reason: str | None) -> CallStatus:
    """The outcome an `endedReason` implies (see the module docstring)."""
    if reason is None:
        return CallStatus.UNKNOWN
    key = reason.strip().lower()
    if any(word in key for word in _ERROR_WORDS):
        return CallStatus.FAILED
    exact = REASON_STATUS.get(key)
    if exact is not None:
        return exact
    if key.startswith("call.forwarding."):
        # The customer was reached; the transfer target was busy or did not answer.
        return CallStatus.COMPLETED
    if "before-call-connect" in key:
        return CallStatus.NO_ANSWER
    if any(word in key for word in _FAILED_WORDS):
        return CallStatus.FAILED
    return CallStatus.COMPLETED


def status_of(status: str | None, reason: str | None) -> CallStatus:
    """Normalised status from Vapi's `status` and `endedReason`."""
    key = status.strip().lower() if status else None
    if key in RUNNING:
        return CallStatus.IN_PROGRESS
    if key in UNKNOWN_STATES:
        return CallStatus.UNKNOWN
    return status_from_reason(reason)


class _Reader:
    """Reads the loosely typed members of one call, noting each one of an unexpected shape."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.skipped: list[str] = []

    def skip(self, name: str) -> None:
        self.skipped.append(name)
        logger.warning("%s call %s: skipped %s (unexpected shape)", PROVIDER, self.call_id, name)

    def obj(self, value: Any, name: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return value
        self.skip(name)
        return {}

    def text(self, value: Any, name: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value.strip() or None
        self.skip(name)
        return None

    def number(self, value: Any, name: str) -> float | None:
        if value is None:
            return None
        number = parse_number(value)
        if number is None:
            self.skip(name)
        return number

    def time(self, value: Any, name: str) -> Any:
        if value is None:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            self.skip(name)
        return parsed


def turns_from_messages(messages: list[Any], read: _Reader, name: str) -> list[Turn]:
    """Turns from `artifact.messages` (see the module docstring). An item that is not an object,
    or carries no text at all, is skipped and noted."""
    turns: list[Turn] = []
    bad = 0
    for item in messages:
        # JSON objects are dicts: checked first, the Mapping check is several times slower.
        if type(item) is not dict and not isinstance(item, Mapping):
            bad += 1
            continue
        role = item.get("role")
        message = item.get("message")
        text = message if type(message) is str and message.strip() else _message_text(item)
        if text is None:
            bad += 1
            continue
        speaker: Speaker = SPEAKERS.get(role.strip().lower(), "system") if isinstance(role, str) else "system"
        offset = item.get("secondsFromStart")
        if type(offset) is float or type(offset) is int:
            seconds = float(offset) if math.isfinite(offset) else None
        else:
            seconds = parse_number(offset) if not isinstance(offset, str | bool) else None
        turns.append(Turn(speaker=speaker, text=text, offset_seconds=seconds))
    if bad:
        read.skip(f"{name} ({bad} of {len(messages)})")
    return turns


def _message_text(item: Mapping[str, Any]) -> str | None:
    message = item.get("message")
    if isinstance(message, str) and message.strip():
        return message
    result = item.get("result")
    if isinstance(result, str) and result.strip():  # ToolCallResultMessage
        tool = item.get("name")
        return f"{tool}: {result}" if isinstance(tool, str) and tool.strip() else result
    calls = item.get("toolCalls")
    if isinstance(calls, list) and calls:  # ToolCallMessage without spoken text
        names = [
            call["function"]["name"]
            for call in calls
            if isinstance(call, Mapping)
            and isinstance(call.get("function"), Mapping)
            and isinstance(call["function"].get("name"), str)
        ]
        return "Tool call: " + ", ".join(names) if names else "Tool call"
    return None  # an empty utterance, or no text at all: nothing to show


def _transcript(call: VapiCall, artifact: Mapping[str, Any], read: _Reader) -> list[Turn]:
    for value, name in ((artifact.get("messages"), "artifact.messages"), (call.messages, "messages")):
        if value is None:
            continue
        if isinstance(value, list):
            return turns_from_messages(value, read, name)
        read.skip(name)
    text = read.text(artifact.get("transcript"), "artifact.transcript")
    return turns_from_text(text) if text else []


def _extracted(analysis: Mapping[str, Any], artifact: Mapping[str, Any], read: _Reader) -> dict[str, Any]:
    extracted = dict(read.obj(analysis.get("structuredData"), "analysis.structuredData"))
    outputs = read.obj(artifact.get("structuredOutputs"), "artifact.structuredOutputs")
    for output_id, output in outputs.items():
        if isinstance(output, Mapping) and "result" in output:
            name = output.get("name") if isinstance(output.get("name"), str) else output_id
            extracted.setdefault(str(name), output["result"])
        else:
            extracted.setdefault(str(output_id), output)
    return extracted


def _qa(
    analysis: Mapping[str, Any], artifact: Mapping[str, Any], read: _Reader
) -> tuple[dict[str, Any], float | None]:
    qa: dict[str, Any] = {}
    evaluation = analysis.get("successEvaluation")
    score: float | None = None
    if evaluation is not None:
        qa["success_evaluation"] = evaluation
        # A numeric rubric's answer is a score; "true"/"false" or a letter grade is not a number.
        score = parse_number(evaluation) if not isinstance(evaluation, bool) else None
    scorecards = read.obj(artifact.get("scorecards"), "artifact.scorecards")
    if scorecards:
        qa["scorecards"] = dict(scorecards)
    return qa, score


def _recordings(artifact: Mapping[str, Any], read: _Reader) -> list[str]:
    urls = [
        url
        for name in ("presignedMonoUrl", "presignedStereoUrl")
        if (url := read.text(artifact.get(name), f"artifact.{name}")) is not None
    ]
    if urls:
        return urls
    recording = read.obj(artifact.get("recording"), "artifact.recording")
    mono = read.obj(recording.get("mono"), "artifact.recording.mono")
    raw = (artifact.get("recordingUrl"), mono.get("combinedUrl"), artifact.get("stereoRecordingUrl"))
    return list(dict.fromkeys(url.strip() for url in raw if isinstance(url, str) and url.strip()))


def to_call(call: VapiCall) -> Call:
    """The domain call for a wire call. Never raises for a member of an unexpected shape (it is
    skipped and named in `extra["skipped_fields"]`)."""
    read = _Reader(call.id)
    artifact = read.obj(call.artifact, "artifact")
    analysis = read.obj(call.analysis, "analysis")
    customer = read.obj(call.customer, "customer")
    own_line = read.obj(call.phone_number, "phoneNumber")
    raw_status = read.text(call.status, "status")
    reason = read.text(call.ended_reason, "endedReason")
    created = call.created
    started = read.time(call.started_at, "startedAt") or created
    ended = read.time(call.ended_at, "endedAt")
    duration = None
    if started is not None and ended is not None:
        seconds = (ended - started).total_seconds()
        duration = seconds if seconds >= 0 else None
    cost = read.number(call.cost, "cost")
    other = read.text(customer.get("number"), "customer.number")
    ours = read.text(own_line.get("number"), "phoneNumber.number")
    inbound = call.type == "inboundPhoneCall"
    qa, score = _qa(analysis, artifact, read)
    extra: dict[str, Any] = {
        key: value for key, value in (call.model_extra or {}).items() if key not in _MAPPED
    }
    for key, value in (
        ("createdAt", call.created_at),
        ("updatedAt", call.updated_at),
        ("type", call.type),
    ):
        if value is not None:
            extra[key] = value
    transcript = _transcript(call, artifact, read)
    summary = read.text(analysis.get("summary"), "analysis.summary")
    extracted = _extracted(analysis, artifact, read)
    recordings = _recordings(artifact, read)
    expires = read.time(artifact.get("presignedUrlsExpiresAt"), "artifact.presignedUrlsExpiresAt")
    campaign = read.text(call.campaign_id, "campaignId")
    extras = call.model_extra or {}
    # A saved assistant is named by id only; a transient one (`assistant`) may carry its name.
    transient = extras.get("assistant")
    assistant = agent_of(
        read.text(extras.get("assistantId"), "assistantId"),
        transient.get("name") if isinstance(transient, dict) else None,
    )
    if read.skipped:
        extra["skipped_fields"] = read.skipped
    return Call(
        provider=PROVIDER,
        call_id=call.id,
        campaign_id=campaign,
        status=status_of(raw_status, reason),
        raw_status=raw_status,
        started_at=started,
        ended_at=ended,
        duration_seconds=duration,
        to_number=ours if inbound else other,
        from_number=other if inbound else ours,
        cost=cost,
        currency="USD" if cost is not None else None,
        summary=summary,
        agent=assistant,
        transcript=transcript,
        extracted_data=extracted,
        qa=qa,
        qa_score=score,
        recording_urls=recordings,
        recording_urls_expire_at=expires if recordings else None,
        ended_reason=reason,
        extra=extra,
    )
