"""Bland's JSON, as it arrives (BLAND-DOCS: `api-v1/get/calls.mdx`, `calls-id.mdx`,
`campaigns.mdx`, `api-v2/get/batches.mdx`, `batches-id.mdx`; the examples are kept in
`tests/providers/bland/fixtures/`).

- `GET /v1/calls` → `{total_count, count, calls[]}`; an item documents `call_id`, `created_at`,
  `call_length` (minutes), `to`, `from`, `completed`, `queue_status`, `error_message`,
  `answered_by`, `batch_id`. Only these are read from list items (`ListedCall`): anything else an
  item carries goes to `extra` (status and price come from the detail).
- `GET /v1/calls/{call_id}` → one call (`BlandCall`): the list fields plus `started_at`, `status`,
  `price` (USD), `corrected_duration` (seconds, a string), `summary`, `analysis`, `variables`,
  `transcripts[{id, created_at, text, user}]`, `concatenated_transcript`, `recording_url`, ...
- `GET /v1/campaigns` → `{status, campaigns[{campaign_id, campaign_name, count, ...}]}`.
- `GET /v2/batches/list` → `{data[{id, description, created_at, ...}], errors}`;
  `GET /v2/batches/{id}` → `{data: {...}, errors}`.

Structure is checked strictly (an object where an object belongs, a call id); leaves stay loosely
typed and are interpreted by `mapping`. A structural problem is a `MalformedResponseError` whose
`where` names the place, never the content.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from call_logs_mcp.providers.normalize import WireId, read_wire, readable_items

from . import PLATFORM

PROVIDER = PLATFORM.info.name


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)


class _Identified(_Wire):
    """A wire object whose `id_field` must be a non-empty string (numbers are read as text)."""

    @classmethod
    def _check_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty id")
        return value.strip()


class ListedCall(_Identified):
    """A list item: the documented list fields only; the rest stays in `model_extra`."""

    call_id: WireId
    created_at: Any = None
    call_length: Any = None
    to: Any = None
    from_: Any = Field(default=None, validation_alias="from")
    completed: Any = None
    queue_status: Any = None
    error_message: Any = None
    answered_by: Any = None
    batch_id: Any = None


class BlandCall(ListedCall):
    """A call detail. Leaves are loose: `mapping` reads each and counts what it cannot."""

    started_at: Any = None
    end_at: Any = None
    status: Any = None
    price: Any = None
    corrected_duration: Any = None
    inbound: Any = None
    summary: Any = None
    analysis: Any = None
    variables: Any = None
    transcripts: Any = None
    concatenated_transcript: Any = None
    recording_url: Any = None
    call_ended_by: Any = None
    campaign_id: Any = None


class CallList(_Wire):
    calls: list[ListedCall]
    total_count: int | None = None
    count: int | None = None

    @field_validator("total_count", "count", mode="before")
    @classmethod
    def _count_or_none(cls, value: Any) -> Any:
        # A count we cannot read is "not reported" (paging then falls back to the items).
        if isinstance(value, bool) or not isinstance(value, int | str):
            return None
        try:
            return int(value)
        except ValueError:
            return None

    @model_validator(mode="before")
    @classmethod
    def _one_bad_item_is_one_record(cls, body: Any) -> Any:
        # An item we cannot read is one record without an id, skipped and counted by the sync.
        return readable_items(body, ("calls",), ListedCall, "call_id")


class BlandCampaign(_Identified):
    campaign_id: str
    campaign_name: Any = None
    count: Any = None

    @field_validator("campaign_id")
    @classmethod
    def _id_present(cls, value: str) -> str:
        return cls._check_id(value)


class CampaignList(_Wire):
    campaigns: list[BlandCampaign]


class BlandBatch(_Identified):
    id: str
    description: Any = None
    created_at: Any = None

    @field_validator("id")
    @classmethod
    def _id_present(cls, value: str) -> str:
        return cls._check_id(value)


class BatchList(_Wire):
    data: list[BlandBatch] | None = None


class BatchDetail(_Wire):
    data: BlandBatch | None = None


def parse_list(body: object) -> CallList:
    """Raises MalformedResponseError when the body is not a page of calls (an item without a
    call id included)."""
    return read_wire(CallList, body, PROVIDER, "call list")


def parse_call(body: object) -> BlandCall:
    """Raises MalformedResponseError when the body is not one call."""
    return read_wire(BlandCall, body, PROVIDER, "call detail", where=False)


def parse_campaigns(body: object) -> CampaignList:
    """Raises MalformedResponseError when the body is not a campaign list."""
    return read_wire(CampaignList, body, PROVIDER, "campaign list")


def parse_batches(body: object) -> BatchList:
    """Raises MalformedResponseError when the body is not a batch list."""
    return read_wire(BatchList, body, PROVIDER, "batch list")


def parse_batch(body: object) -> BatchDetail:
    """Raises MalformedResponseError when the body is not one batch."""
    return read_wire(BatchDetail, body, PROVIDER, "batch detail", where=False)
