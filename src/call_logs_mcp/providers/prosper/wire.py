"""Prosper's JSON, as it arrives: both documented shapes, every field spelling we have seen.

The export guide shows list items `{call_log_id, target_id, status, duration: 180, created_at,
phone_number}` inside `{items, total, page, page_size}` and details with `transcript: [{speaker,
text, timestamp}]`, `extracted_data`, `qa_results`, `completed_at`. The published OpenAPI shows
`{call_logs, page_count, next_page}` whose items (and details) carry `id`, `to`, `from_`,
`call_length: "3:00"`, `call_ended_reason`, `transcripts: [{"role": ..., "content": ...}]` or
`[{"user": "text"}]`, `post_call_data`, `qa`, `recording_urls`. One model reads both.

Structure is checked strictly (an object where an object belongs, an id); leaves stay loosely
typed and are interpreted by `mapping`. A structural problem is a `MalformedResponseError` whose
`where` names the place, never the content.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from call_logs_mcp.errors import MalformedResponseError
from call_logs_mcp.providers.normalize import WireId, read_wire, readable_items

from . import PLATFORM

PROVIDER = PLATFORM.info.name


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)


class ProsperCallLog(_Wire):
    """A call log from the list or the detail endpoint, in either shape."""

    id: WireId = Field(default="", validation_alias=AliasChoices("call_log_id", "id", "callLogId"))
    campaign_id: str | None = Field(default=None, validation_alias=AliasChoices("campaign_id", "campaignId"))
    target_id: Any = Field(default=None, validation_alias=AliasChoices("target_id", "campaign_target_id"))
    status: Any = Field(default=None, validation_alias=AliasChoices("status", "call_status"))
    ended_reason: Any = Field(
        default=None, validation_alias=AliasChoices("call_ended_reason", "ended_reason", "end_reason")
    )
    duration: Any = Field(
        default=None, validation_alias=AliasChoices("duration", "call_length", "duration_seconds")
    )
    created_at: Any = Field(default=None, validation_alias=AliasChoices("created_at", "started_at"))
    completed_at: Any = Field(default=None, validation_alias=AliasChoices("completed_at", "ended_at"))
    to: Any = Field(default=None, validation_alias=AliasChoices("to", "phone_number", "to_number"))
    from_: Any = Field(default=None, validation_alias=AliasChoices("from", "from_", "from_number"))
    transcript: list[dict[str, Any]] | str | None = Field(
        default=None, validation_alias=AliasChoices("transcript", "transcripts")
    )
    extracted_data: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("extracted_data", "post_call_data")
    )
    qa: dict[str, Any] | None = Field(default=None, validation_alias=AliasChoices("qa_results", "qa"))
    recording_urls: Any = Field(
        default=None, validation_alias=AliasChoices("recording_urls", "recording_url", "recordings")
    )
    summary: Any = Field(default=None, validation_alias=AliasChoices("summary", "call_summary"))
    call_categorization: dict[str, Any] | None = None
    agent_data: dict[str, Any] | None = None

    @field_validator("campaign_id", mode="before")
    @classmethod
    def _campaign_text(cls, value: Any) -> Any:
        return value if value not in ("", []) else None


class ProsperListPage(_Wire):
    """`{items, total, page, page_size}` (export guide) or `{call_logs, page_count, next_page}`."""

    items: list[ProsperCallLog] = Field(validation_alias=AliasChoices("items", "call_logs", "data"))
    total: int | None = None
    page: int | None = None
    page_size: int | None = None
    page_count: int | None = None
    next_page: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_bad_item_is_one_record(cls, body: Any) -> Any:
        return readable_items(body, ("items", "call_logs", "data"), ProsperCallLog, "id")

    @property
    def announces_next_page(self) -> bool:
        """Whether the body has a `next_page` member at all (the OpenAPI shape)."""
        return "next_page" in self.model_fields_set


def parse_list(body: object) -> ProsperListPage:
    """Raises MalformedResponseError when the body is not a call-log page."""
    return read_wire(ProsperListPage, body, PROVIDER, "call list")


def parse_call(body: object) -> ProsperCallLog:
    """Raises MalformedResponseError when the body is not one call log."""
    try:
        call = ProsperCallLog.model_validate(body)
    except ValidationError:
        raise MalformedResponseError(PROVIDER, "call detail") from None
    if not call.id:  # a listing skips such a record; a detail of one is no detail
        raise MalformedResponseError(PROVIDER, "call detail")
    return call
