"""Provider-neutral domain types.

Adapters translate wire JSON into these; everything above the adapters (core, index, output,
tools) speaks only these types. Wire field names never appear here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CallStatus(StrEnum):
    """The one status vocabulary every platform's raw status is normalised into."""

    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    IN_PROGRESS = "in_progress"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """Whether a call in this status can still change (in-progress calls are re-checked)."""
        return self is not CallStatus.IN_PROGRESS


Speaker = Literal["agent", "customer", "system"]


def call_uri(provider: str, call_id: str) -> str:
    """The MCP resource URI of a call. `call_id` is percent-encoded as one segment."""
    from urllib.parse import quote

    return f"calls://{provider}/{quote(call_id, safe='')}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Turn(_Model):
    """One utterance of a transcript."""

    speaker: Speaker
    text: str
    offset_seconds: float | None = None


class Agent(_Model):
    """The platform's agent (or assistant) that made or took the call: the second grouping of
    calls beside campaigns. `name` only when the platform gives one with the call."""

    agent_id: str
    name: str | None = None


class CallSummary(_Model):
    """What a list endpoint tells about a call: no transcript."""

    provider: str
    call_id: str
    campaign_id: str | None = None
    status: CallStatus = CallStatus.UNKNOWN
    raw_status: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: float | None = None
    to_number: str | None = None
    from_number: str | None = None
    cost: float | None = None
    currency: str | None = None
    summary: str | None = None
    agent: Agent | None = None

    @field_validator("started_at", "ended_at")
    @classmethod
    def _utc_aware(cls, value: datetime | None) -> datetime | None:
        from datetime import UTC

        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def uri(self) -> str:
        return call_uri(self.provider, self.call_id)


class Call(CallSummary):
    """A full call: the summary plus transcript, extracted data, QA and provider leftovers."""

    transcript: list[Turn] = Field(default_factory=list)
    extracted_data: dict[str, Any] = Field(default_factory=dict)
    qa: dict[str, Any] = Field(default_factory=dict)
    qa_score: float | None = None
    recording_urls: list[str] = Field(default_factory=list)
    # When signed recording URLs stop working (None: they do not expire, or the platform does
    # not say). Signed links are re-issued on every read, so neither field marks a change.
    recording_urls_expire_at: datetime | None = None
    ended_reason: str | None = None
    # Provider leftovers: kept for debugging and the index, never part of tool output.
    extra: dict[str, Any] = Field(default_factory=dict)

    def summary_only(self) -> CallSummary:
        return CallSummary.model_validate(self.model_dump(include=set(CallSummary.model_fields)))


class CallQuery(_Model):
    """Filters for listing calls. Dates are UTC-aware datetimes; `to_date` is inclusive."""

    campaign_id: str | None = None
    status: CallStatus | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None
    search: str | None = None


class PlatformTotals(_Model):
    """Aggregates a platform reports for a whole filtered set (exact, not computed by us)."""

    calls: int | None = None
    duration_seconds: float | None = None
    cost: float | None = None
    currency: str | None = None


class CallPage(_Model):
    """One page of calls from one provider, newest first."""

    calls: list[CallSummary]
    next_cursor: str | None = None
    totals: PlatformTotals | None = None
    # Filters of the query this provider could not apply at all (not even client-side).
    unsupported_filters: list[str] = Field(default_factory=list)


class Campaign(_Model):
    provider: str
    campaign_id: str
    name: str | None = None
    call_count: int | None = None
    first_call_at: datetime | None = None
    last_call_at: datetime | None = None
