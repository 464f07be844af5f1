"""CallCamp's JSON, as it arrives (https://callcamp.ai/api/calls and /api/calls/{uuid}).

List: `{calls, total, page, limit, totalPages, totalDuration, totalPrice}`. A call: `uuid`,
`callOrderUuid`, `status` (completed, failed, busy, no-answer), `toPhoneNumber`,
`fromPhoneNumber`, `callDurationSeconds`, `callStartTime`, `price`, `currencyCode`,
`recordingUrl`, `summary`, `createdAt`; the detail adds a transcript, either a list of
`{role|speaker, text|message|content}` or one string of `Speaker: text` lines. Calls do not carry
their campaign id.

Structure is checked strictly; leaves stay loose for `mapping`. A structural problem is a
`MalformedResponseError` whose `where` names the place, never the content.
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


class CallCampCall(_Wire):
    uuid: WireId = Field(default="", validation_alias=AliasChoices("uuid", "id", "callUuid"))
    call_order_uuid: Any = Field(default=None, validation_alias=AliasChoices("callOrderUuid"))
    campaign_uuid: Any = Field(
        default=None, validation_alias=AliasChoices("campaignUuid", "campaignId", "campaign_uuid")
    )
    status: Any = None
    to_number: Any = Field(default=None, validation_alias=AliasChoices("toPhoneNumber", "to"))
    from_number: Any = Field(default=None, validation_alias=AliasChoices("fromPhoneNumber", "from"))
    duration: Any = Field(
        default=None, validation_alias=AliasChoices("callDurationSeconds", "durationSeconds", "duration")
    )
    start_time: Any = Field(default=None, validation_alias=AliasChoices("callStartTime", "startTime"))
    end_time: Any = Field(default=None, validation_alias=AliasChoices("callEndTime", "endTime", "endedAt"))
    created_at: Any = Field(default=None, validation_alias=AliasChoices("createdAt", "created_at"))
    price: Any = None
    currency: Any = Field(default=None, validation_alias=AliasChoices("currencyCode", "currency"))
    recording_url: Any = Field(
        default=None, validation_alias=AliasChoices("recordingUrl", "recordingUrls", "recording_url")
    )
    summary: Any = None
    ended_reason: Any = Field(default=None, validation_alias=AliasChoices("endedReason", "endReason"))
    transcript: list[dict[str, Any]] | str | None = Field(
        default=None, validation_alias=AliasChoices("transcript", "transcripts")
    )
    extracted_data: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("extractedData", "analysis", "structuredData")
    )


class CallCampList(_Wire):
    calls: list[CallCampCall]

    @model_validator(mode="before")
    @classmethod
    def _one_bad_item_is_one_record(cls, body: Any) -> Any:
        return readable_items(body, ("calls",), CallCampCall, "uuid")

    total: int | None = None
    page: int | None = None
    limit: int | None = None
    total_pages: int | None = Field(default=None, validation_alias=AliasChoices("totalPages"))
    total_duration: float | None = Field(default=None, validation_alias=AliasChoices("totalDuration"))
    total_price: float | None = Field(default=None, validation_alias=AliasChoices("totalPrice"))

    @field_validator("total_duration", "total_price", mode="before")
    @classmethod
    def _number_or_none(cls, value: Any) -> Any:
        # A money total may come as "12.50"; anything unreadable is "not reported", not an error.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_list(body: object) -> CallCampList:
    """Raises MalformedResponseError when the body is not a page of calls."""
    return read_wire(CallCampList, body, PROVIDER, "call list")


def parse_call(body: object) -> CallCampCall:
    """Raises MalformedResponseError when the body is not one call. A body wrapped as
    `{"call": {...}}` is accepted too."""
    if isinstance(body, dict) and set(body) == {"call"} and isinstance(body["call"], dict):
        body = body["call"]
    try:
        call = CallCampCall.model_validate(body)
    except ValidationError:
        raise MalformedResponseError(PROVIDER, "call detail") from None
    if not call.uuid:  # a listing skips such a record; a detail of one is no detail
        raise MalformedResponseError(PROVIDER, "call detail")
    return call
