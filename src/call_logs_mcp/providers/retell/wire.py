"""Retell's JSON, as it arrives (RetellAI/retell-python-sdk v5.60.0 types, docs.retellai.com).

List (`POST /v3/list-calls`): `{items: [V3PhoneCallResponse | V3WebCallResponse], pagination_key,
has_more, total?}`. Items carry the call's attributes, `call_analysis` and `call_cost`, but no
`transcript`, `transcript_object` or `transcript_with_tool_calls` (the docs say `recording_url` is
left out too; the SDK's item model still lists it, so it is read from the detail only).

Detail (`GET /v2/get-call/{call_id}`): the same object plus the transcripts and recording URLs.
Times are epoch milliseconds, `duration_ms` milliseconds, `call_cost` cents. A call never carries
its batch (`batch_call_id` exists only as a list filter).

Structure is checked strictly (an envelope with a list of objects, each with a `call_id`); every
other field stays loosely typed here and `mapping` reads it, skipping (and counting) a field in an
unexpected shape instead of failing the call. A structural problem is a `MalformedResponseError`
whose `where` names the place, never the content.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from call_logs_mcp.errors import MalformedResponseError
from call_logs_mcp.providers.normalize import WireId, read_wire, readable_items

from . import PLATFORM

PROVIDER = PLATFORM.info.name


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)


class RetellCall(_Wire):
    """A call from the listing or the detail endpoint, phone or web."""

    call_id: WireId
    call_type: Any = None
    call_status: Any = None
    direction: Any = None
    agent_id: Any = None
    agent_name: Any = None
    agent_version: Any = None
    from_number: Any = None
    to_number: Any = None
    start_timestamp: Any = None
    end_timestamp: Any = None
    duration_ms: Any = None
    disconnection_reason: Any = None
    call_analysis: Any = None
    call_cost: Any = None
    data_storage_setting: Any = None
    opt_in_signed_url: Any = None
    transcript: Any = None
    transcript_object: Any = None
    transcript_with_tool_calls: Any = None
    recording_url: Any = None
    recording_multi_channel_url: Any = None
    scrubbed_recording_url: Any = None
    scrubbed_recording_multi_channel_url: Any = None


class RetellList(_Wire):
    """`{items, pagination_key, has_more, total?}` (every member optional in the SDK's model)."""

    items: list[RetellCall] = []
    pagination_key: str | None = None
    has_more: bool | None = None
    total: int | None = None

    @field_validator("items", mode="before")
    @classmethod
    def _no_items(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("pagination_key", mode="before")
    @classmethod
    def _key_text(cls, value: Any) -> Any:
        return value if isinstance(value, str) and value else None

    @field_validator("has_more", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        return value if isinstance(value, bool) else None

    @field_validator("total", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        # A total is only asked for to report it; an unreadable one is "not reported".
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    @property
    def more(self) -> bool:
        """Whether another page follows: `has_more` when it is a boolean, else whether a
        `pagination_key` came with a non-empty page."""
        if self.has_more is not None:
            return self.has_more and self.pagination_key is not None
        return self.pagination_key is not None and bool(self.items)

    @model_validator(mode="before")
    @classmethod
    def _one_bad_item_is_one_record(cls, body: Any) -> Any:
        # An item we cannot read is one record without an id, skipped and counted by the sync.
        return readable_items(body, ("items",), RetellCall, "call_id")


def parse_list(body: object) -> RetellList:
    """Raises MalformedResponseError when the body is not a page of calls (a bare list, the
    retired `/v2/list-calls` shape, included)."""
    if not isinstance(body, dict):
        raise MalformedResponseError(PROVIDER, "call list")
    return read_wire(RetellList, body, PROVIDER, "call list")


def parse_call(body: object) -> RetellCall:
    """Raises MalformedResponseError when the body is not one call."""
    return read_wire(RetellCall, body, PROVIDER, "call detail", where=False)
