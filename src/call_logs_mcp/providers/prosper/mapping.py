"""Prosper wire models → domain models. Pure functions, no I/O.

Status: the guide's `status` (completed, failed, in_progress, ...) when present, else the outcome
implied by the OpenAPI shape's `call_ended_reason`; the raw value is kept in `raw_status`.
Prosper reports no cost, so `cost` stays None.
"""

from __future__ import annotations

from typing import Any

from call_logs_mcp.errors import MalformedResponseError
from call_logs_mcp.models import Call, CallStatus
from call_logs_mcp.providers.normalize import (
    normalize_status,
    parse_datetime,
    parse_duration,
    qa_score,
    status_from_ended_reason,
    text_or_none,
    turns_from_any,
    url_list,
)

from .wire import PROVIDER, ProsperCallLog

# Statuses the export guide documents for its `status` filter: only these are sent upstream,
# anything else is filtered client-side (an undocumented value might silently match nothing).
SERVER_STATUS_FILTER: dict[CallStatus, str] = {
    CallStatus.COMPLETED: "completed",
    CallStatus.FAILED: "failed",
    CallStatus.IN_PROGRESS: "in_progress",
}


# The OpenAPI shape's `call_categorization.category` (PatientCallCategory), used when the end
# reason alone does not tell the outcome (e.g. "silence-timeout").
CATEGORY_STATUS: dict[str, CallStatus] = {
    "GOOD": CallStatus.COMPLETED,
    "TRANSFER": CallStatus.COMPLETED,
    "HUMAN_ONLY": CallStatus.COMPLETED,
    "CALLBACK_REQUESTED": CallStatus.COMPLETED,
    "MANAGER_REQUESTED": CallStatus.COMPLETED,
    "DNC_REQUESTED": CallStatus.COMPLETED,
    "WRONG_USER": CallStatus.COMPLETED,
    "NOT_INTERESTED_RIGHT_NOW": CallStatus.COMPLETED,
    "VOICEMAIL": CallStatus.VOICEMAIL,
    "NO_RESPONSE": CallStatus.NO_ANSWER,
    "DISCONNECTED": CallStatus.FAILED,
    "TRANSFER_FAILED": CallStatus.FAILED,
    "SERVICE_NOT_AVAILABLE": CallStatus.FAILED,
    "BLACKLISTED_PHONE": CallStatus.FAILED,
}


def status_of(log: ProsperCallLog) -> tuple[CallStatus, str | None]:
    """(normalised status, raw value). The guide's `status` when it is one we know; else the
    end reason (`customer-busy` → busy), else the categorization (`DISCONNECTED` → failed); an
    OpenAPI-shaped log whose end reason is still empty is a call in progress."""
    raw_status = text_or_none(log.status)
    status = normalize_status(raw_status)
    if status is not CallStatus.UNKNOWN:
        return status, raw_status
    reason = text_or_none(log.ended_reason)
    category_value = (log.call_categorization or {}).get("category")
    category = text_or_none(category_value)
    derived = status_from_ended_reason(reason)
    if derived is CallStatus.UNKNOWN and category is not None:
        derived = CATEGORY_STATUS.get(category.upper(), CallStatus.UNKNOWN)
    if (
        derived is CallStatus.UNKNOWN
        and raw_status is None
        and reason is None
        and category is None
        and "ended_reason" in log.model_fields_set
    ):
        derived = CallStatus.IN_PROGRESS
    return derived, raw_status or reason or category


def to_call(log: ProsperCallLog, *, campaign_id: str | None = None) -> Call:
    """The domain call for a wire call log. `campaign_id` is the listing's scope, used when the
    log itself does not say (the OpenAPI shape does not).

    Raises MalformedResponseError when the transcript is neither a list of objects nor a string.
    """
    turns = turns_from_any(log.transcript)
    if turns is None:  # the wire model already rejects this; kept for direct callers
        raise MalformedResponseError(PROVIDER, "call transcript")
    status, raw_status = status_of(log)
    agent_data = log.agent_data or {}
    qa = dict(log.qa or {})
    extra: dict[str, Any] = dict(log.model_extra or {})
    for key, value in (
        ("target_id", log.target_id),
        ("call_categorization", log.call_categorization),
        ("agent_data", log.agent_data),
    ):
        if value is not None:
            extra[key] = value
    return Call(
        provider=PROVIDER,
        call_id=log.id,
        campaign_id=log.campaign_id or text_or_none(agent_data.get("campaign_id")) or campaign_id,
        status=status,
        raw_status=raw_status,
        started_at=parse_datetime(log.created_at),
        ended_at=parse_datetime(log.completed_at),
        duration_seconds=parse_duration(log.duration),
        to_number=text_or_none(log.to),
        from_number=text_or_none(log.from_),
        summary=text_or_none(log.summary),
        transcript=turns,
        extracted_data=dict(log.extracted_data or {}),
        qa=qa,
        qa_score=qa_score(qa),
        recording_urls=url_list(log.recording_urls),
        ended_reason=text_or_none(log.ended_reason),
        extra=extra,
    )
