"""CallCamp wire models → domain models. Pure functions, no I/O."""

from __future__ import annotations

from typing import Any

from call_logs_mcp.errors import MalformedResponseError
from call_logs_mcp.models import Call, CallStatus
from call_logs_mcp.providers.normalize import (
    normalize_status,
    parse_datetime,
    parse_duration,
    parse_number,
    text_or_none,
    turns_from_any,
    url_list,
)

from .wire import PROVIDER, CallCampCall

# Our status → CallCamp's `status` filter value. Statuses CallCamp does not have are filtered
# client-side (they match nothing CallCamp reports, which is the truth).
SERVER_STATUS_FILTER: dict[CallStatus, str] = {
    CallStatus.COMPLETED: "completed",
    CallStatus.FAILED: "failed",
    CallStatus.BUSY: "busy",
    CallStatus.NO_ANSWER: "no-answer",
}


def to_call(call: CallCampCall, *, campaign_id: str | None = None) -> Call:
    """The domain call for a wire call. `campaign_id` is the listing's scope (CallCamp's call
    objects do not carry it).

    Raises MalformedResponseError when the transcript is neither a list of objects nor a string.
    """
    turns = turns_from_any(call.transcript)
    if turns is None:  # the wire model already rejects this; kept for direct callers
        raise MalformedResponseError(PROVIDER, "call transcript")
    raw_status = text_or_none(call.status)
    extra: dict[str, Any] = dict(call.model_extra or {})
    if call.call_order_uuid is not None:
        extra["callOrderUuid"] = call.call_order_uuid
    started_at = parse_datetime(call.start_time) or parse_datetime(call.created_at)
    if call.start_time is not None and call.created_at is not None:
        extra["createdAt"] = call.created_at
    return Call(
        provider=PROVIDER,
        call_id=call.uuid,
        campaign_id=text_or_none(call.campaign_uuid) or campaign_id,
        status=normalize_status(raw_status),
        raw_status=raw_status,
        started_at=started_at,
        ended_at=parse_datetime(call.end_time),
        duration_seconds=parse_duration(call.duration),
        to_number=text_or_none(call.to_number),
        from_number=text_or_none(call.from_number),
        cost=parse_number(call.price),
        currency=text_or_none(call.currency),
        summary=text_or_none(call.summary),
        transcript=turns,
        extracted_data=dict(call.extracted_data or {}),
        recording_urls=url_list(call.recording_url),
        ended_reason=text_or_none(call.ended_reason),
        extra=extra,
    )
