"""Vapi's JSON, as it arrives (https://api.vapi.ai, the published OpenAPI `fern/apis/api/openapi.json`).

- `GET /call` answers a bare JSON array of `Call` objects: no envelope, cursor or total.
- `GET /call/{id}` answers one `Call`. Required: `id`, `orgId`, `createdAt`, `updatedAt`; the rest
  is optional: `type`, `status`, `endedReason`, `startedAt`, `endedAt` (ISO 8601), `cost` (USD),
  `customer {number, name}`, `phoneNumber {number}` / `phoneNumberId`, `campaignId`,
  `assistantId`, `squadId`, `workflowId`, `artifact {messages, transcript, presigned…Url,
  presignedUrlsExpiresAt, structuredOutputs, scorecards}`, `analysis {summary, successEvaluation,
  structuredData}`, top-level `messages`.
- `GET /campaign` answers `{results: Campaign[], metadata: {itemsPerPage, totalItems, currentPage}}`.

Only the structure the adapter cannot do without is checked here (an object with a non-empty
`id`; for list items also a readable `createdAt`, the paging key); every other leaf stays loose
(`Any`) and `mapping` reads it, skipping a field of an unexpected shape instead of failing the
call. A structural problem is a `MalformedResponseError` whose `where` names the place, never the
content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from call_logs_mcp.errors import MalformedResponseError
from call_logs_mcp.providers.normalize import (
    WireId,
    parse_datetime,
    read_wire,
    readable_items,
    validation_where,
)

from . import PLATFORM

PROVIDER = PLATFORM.info.name


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


def _field(alias: str) -> Any:
    return Field(default=None, validation_alias=alias)


class VapiCall(_Wire):
    """A `Call`, from the list or the detail endpoint (the same schema)."""

    id: WireId
    created_at: Any = _field("createdAt")
    updated_at: Any = _field("updatedAt")
    started_at: Any = _field("startedAt")
    ended_at: Any = _field("endedAt")
    type: Any = None
    status: Any = None
    ended_reason: Any = _field("endedReason")
    cost: Any = None
    customer: Any = None
    phone_number: Any = _field("phoneNumber")
    campaign_id: Any = _field("campaignId")
    artifact: Any = None
    analysis: Any = None
    messages: Any = None

    @property
    def created(self) -> datetime | None:
        """`createdAt` as an aware datetime (None when absent or unreadable)."""
        return parse_datetime(self.created_at)


class VapiCampaign(_Wire):
    id: str
    name: Any = None
    status: Any = None
    created_at: Any = _field("createdAt")
    calls: Any = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_present(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("missing id")
        return value.strip()


class VapiCampaignPage(_Wire):
    results: list[VapiCampaign]
    metadata: dict[str, Any] = Field(default_factory=dict)


class _CallList(BaseModel):
    calls: list[VapiCall]

    @model_validator(mode="before")
    @classmethod
    def _one_bad_item_is_one_record(cls, body: Any) -> Any:
        # An item we cannot read is one record without an id, skipped and counted by the sync.
        return readable_items(body, ("calls",), VapiCall, "id")


def parse_list(body: object) -> list[VapiCall]:
    """Raises MalformedResponseError when the body is not an array of calls, or an item has no id
    or no readable `createdAt` (the key the listing pages on)."""
    if not isinstance(body, list):
        raise MalformedResponseError(PROVIDER, "call list (not an array)")
    try:
        calls = _CallList.model_validate({"calls": body}).calls
    except ValidationError as exc:
        # Error locations are ("calls", <item>, ...): `validation_where` names the item.
        raise MalformedResponseError(PROVIDER, validation_where(exc, "call list")) from None
    for index, call in enumerate(calls):
        if call.created is None:
            raise MalformedResponseError(PROVIDER, f"call list item {index} (createdAt)")
    return calls


def parse_call(body: object) -> VapiCall:
    """Raises MalformedResponseError when the body is not one call."""
    return read_wire(VapiCall, body, PROVIDER, "call detail", where=False)


def parse_campaigns(body: object) -> VapiCampaignPage:
    """Raises MalformedResponseError when the body is not a page of campaigns. A bare array of
    campaigns is tolerated as one page (as `GET /call` answers; not seen documented)."""
    if isinstance(body, list):
        body = {"results": body}
    return read_wire(VapiCampaignPage, body, PROVIDER, "campaign list")
