"""ElevenLabs Agents' JSON, as it arrives (SDK `elevenlabs-python`, `src/elevenlabs/types/`).

- `GET /v1/convai/conversations` → `{conversations, next_cursor, has_more}`; an item
  (`ConversationSummaryResponseModel`) has `agent_id`, `agent_name`, `conversation_id`,
  `start_time_unix_secs`, `call_duration_secs`, `message_count`, `status`, `termination_reason`,
  `call_successful`, `transcript_summary` (only with `summary_mode=include`), `direction`...
  and no transcript, phone number, cost or batch id.
- `GET /v1/convai/conversations/{conversation_id}` (`GetConversationResponseModel`):
  `conversation_id`, `agent_id`, `agent_name`, `status`, `metadata` (`start_time_unix_secs`,
  `call_duration_secs`, `cost`, `cost_fiat`, `phone_call`, `batch_call`, `termination_reason`,
  ...), `analysis`, `transcript[]`, `has_audio`...
- `GET /v1/convai/batch-calling/workspace` → `{batch_calls, next_doc, has_more}`;
  `GET /v1/convai/batch-calling/{batch_id}` → the batch plus `recipients[]`.

Structure is checked strictly (an envelope, a list of objects, an id); everything else stays
loose for `mapping`, which skips (and counts) a field in an unexpected shape instead of failing
the call. A structural problem is a `MalformedResponseError` whose `where` names the place, never
the content.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from call_logs_mcp.providers.normalize import WireId, read_wire, readable_items

from . import PLATFORM

PROVIDER = PLATFORM.info.name


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)


def _strip_id(value: str) -> str:
    if not value.strip():
        raise ValueError("empty id")
    return value.strip()


class ConversationItem(_Wire):
    """One item of the conversation list (no transcript)."""

    conversation_id: WireId
    agent_id: Any = None
    agent_name: Any = None
    start_time_unix_secs: Any = None
    call_duration_secs: Any = None
    message_count: Any = None
    status: Any = None
    termination_reason: Any = None
    call_successful: Any = None
    transcript_summary: Any = None
    direction: Any = None


class ConversationsPage(_Wire):
    conversations: list[ConversationItem]
    next_cursor: str | None = None
    # Required by the SDK; a body without it is read as "more when there is a cursor".
    has_more: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_bad_item_is_one_record(cls, body: Any) -> Any:
        # An item we cannot read is one record without an id, skipped and counted by the sync.
        return readable_items(body, ("conversations",), ConversationItem, "conversation_id")


class Conversation(_Wire):
    """One conversation in full. Nested objects stay loose (see the module docstring)."""

    conversation_id: str
    agent_id: Any = None
    agent_name: Any = None
    status: Any = None
    user_id: Any = None
    metadata: Any = None
    analysis: Any = None
    transcript: Any = None
    has_audio: Any = None

    @field_validator("conversation_id")
    @classmethod
    def _id_present(cls, value: str) -> str:
        return _strip_id(value)


class BatchCall(_Wire):
    """A batch call (`BatchCallResponse`): what this server calls a campaign."""

    id: str
    name: Any = None
    agent_id: Any = None
    agent_name: Any = None
    status: Any = None
    created_at_unix: Any = None
    scheduled_time_unix: Any = None
    total_calls_scheduled: Any = None
    total_calls_dispatched: Any = None
    total_calls_finished: Any = None

    @field_validator("id")
    @classmethod
    def _id_present(cls, value: str) -> str:
        return _strip_id(value)


class BatchRecipient(_Wire):
    id: Any = None
    phone_number: Any = None
    status: Any = None
    conversation_id: Any = None


class BatchCallDetail(BatchCall):
    recipients: list[BatchRecipient]


class BatchCallsPage(_Wire):
    batch_calls: list[BatchCall]
    next_doc: str | None = None
    has_more: bool | None = None


def parse_page(body: object) -> ConversationsPage:
    """Raises MalformedResponseError when the body is not a page of conversations."""
    return read_wire(ConversationsPage, body, PROVIDER, "conversation list")


def parse_conversation(body: object) -> Conversation:
    """Raises MalformedResponseError when the body is not one conversation."""
    return read_wire(Conversation, body, PROVIDER, "conversation detail", where=False)


def parse_batches(body: object) -> BatchCallsPage:
    """Raises MalformedResponseError when the body is not a page of batch calls."""
    return read_wire(BatchCallsPage, body, PROVIDER, "batch call list")


def parse_batch(body: object) -> BatchCallDetail:
    """Raises MalformedResponseError when the body is not one batch call with its recipients."""
    return read_wire(BatchCallDetail, body, PROVIDER, "batch call recipients")
