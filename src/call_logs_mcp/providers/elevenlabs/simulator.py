"""A simulated ElevenLabs Agents API (https://api.elevenlabs.io), as a Starlette app.

Shapes follow the vendor's SDK (`elevenlabs-python`, `src/elevenlabs/types/`) and API reference:

- Auth: `xi-api-key: <key>`; otherwise 401 `{"detail": {"status": "invalid_api_key", "message"}}`.
  Errors are `{"detail": {"status", "message"}}`; bad query parameters are 422 with FastAPI's
  `{"detail": [{"loc", "msg", "type"}]}`.
- `GET /v1/convai/conversations` `?cursor&agent_id&call_start_after_unix&call_start_before_unix
  &call_successful&exclude_statuses (repeatable)&search&summary_mode&page_size` →
  `{conversations, next_cursor, has_more}`, newest first. `page_size` 1–100 (default 30; out of
  range → 422). The time bounds are unix seconds and exclusive here (the docs do not say; the
  adapter must not rely on either). `search` is a case-insensitive substring of any transcript
  message. `summary_mode` `exclude` (default) or `include` (adds `transcript_summary`). The cursor
  is opaque (a keyset position: new calls never shift a walk). Items carry no transcript, phone
  number, cost or batch id, as documented.
- `GET /v1/convai/conversations/{conversation_id}`: the detail (`metadata` with unix-second
  times, `call_duration_secs`, `cost` in credits and `cost_fiat` in USD, `phone_call` (twilio,
  outbound), `batch_call`, `termination_reason`; `analysis`; `transcript[]` with `role`,
  `message`, `time_in_call_secs`; `has_audio`). Unknown id → 404.
- `GET /v1/convai/batch-calling/workspace?limit&last_doc` → `{batch_calls, next_doc, has_more}`;
  `GET /v1/convai/batch-calling/{batch_id}` → the batch with `recipients[]` (`id`,
  `phone_number`, `status`, `conversation_id`, ...). Unknown batch → 404.

Mapping the dataset: each campaign is a batch call; its scenario is an agent (two campaigns of
one scenario share an agent). Statuses: completed → `done`, voicemail → `done`, failed / busy /
no-answer → `failed`, in progress → `in-progress`; `termination_reason` (free text, values
undocumented) carries the dataset's ended reason. A completed call the agent ended has a last
agent turn without text (its `end_call` tool call). The dataset's platform events (hold,
voicemail greeting, disconnect) are sent with role `system`: the SDK types `role` as an open enum
(`Literal["user", "agent"]` or any string), so the adapter's handling of other roles is exercised.
Given a dataset with numeric ids (Prosper-style), those are served as-is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_logs_mcp.simulators.app import SimJSONResponse, build_app, dataset_of, error, unauthorized
from call_logs_mcp.simulators.dataset import SimCall, SimCampaign, SimDataset, SimStatus
from call_logs_mcp.simulators.faults import Faults
from call_logs_mcp.simulators.generate import generate_dataset

from . import PLATFORM

DEFAULT_API_KEY = PLATFORM.sim.api_key
AUTH_HEADER = "xi-api-key"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 30
DEFAULT_BATCH_LIMIT = 100
CREDITS_PER_SECOND = 10  # `metadata.cost`: a whole number of credits (unit undocumented)

WIRE_STATUS: dict[SimStatus, str] = {
    "completed": "done",
    "voicemail": "done",
    "failed": "failed",
    "busy": "failed",
    "no_answer": "failed",
    "in_progress": "in-progress",
}
RECIPIENT_STATUS: dict[SimStatus, str] = {
    "completed": "completed",
    "voicemail": "voicemail",
    "failed": "failed",
    "busy": "failed",
    "no_answer": "failed",
    "in_progress": "in_progress",
}
_ROLE = {"agent": "agent", "customer": "user", "system": "system"}
_ERROR_CODES = {401: "invalid_api_key", 404: "not_found", 429: "too_many_concurrent_requests"}


def _digest(*parts: str, size: int = 26) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    number = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:20])
    out = []
    for _ in range(size):
        number, rest = divmod(number, len(alphabet))
        out.append(alphabet[rest])
    return "".join(out)


def agent_id(scenario: str) -> str:
    return f"agent_{_digest('agent', scenario)}"


def agent_name(scenario: str) -> str:
    return scenario.replace("_", " ").capitalize() + " agent"


def unix(value: Any) -> int:
    return int(value.timestamp())


def call_successful(call: SimCall) -> str:
    if call.status == "in_progress":
        return "unknown"
    if call.status != "completed":
        return "failure"
    score = call.qa_score
    return "success" if score is None or score >= 60 else "failure"


def list_item(call: SimCall, *, with_summary: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "agent_id": agent_id(call.scenario),
        "agent_name": agent_name(call.scenario),
        "conversation_id": call.id,
        "start_time_unix_secs": unix(call.started_at),
        "call_duration_secs": call.duration_seconds,
        "message_count": call.turn_count,
        "status": WIRE_STATUS[call.status],
        "termination_reason": call.ended_reason,
        "call_successful": call_successful(call),
        "main_language": "en",
        "direction": "outbound",
    }
    if with_summary:
        item["transcript_summary"] = call.summary
    return item


def _transcript(call: SimCall) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = [
        {"role": _ROLE[t.speaker], "message": t.text, "time_in_call_secs": int(t.offset_seconds)}
        for t in call.turns()
    ]
    if call.ended_reason == "assistant-ended-call" and turns:
        turns.append(
            {
                "role": "agent",
                "message": None,
                "time_in_call_secs": call.duration_seconds,
                "tool_calls": [
                    {
                        "request_id": f"end_call_{call.id}",
                        "tool_name": "end_call",
                        "params_as_json": "{}",
                        "tool_has_been_called": True,
                        "type": "system",
                    }
                ],
            }
        )
    return turns


def _analysis(call: SimCall) -> dict[str, Any] | None:
    if call.status == "in_progress":
        return None
    criteria = call.qa_criteria
    notes = criteria.get("notes") if isinstance(criteria.get("notes"), str) else ""
    evaluations = {
        name: {
            "criteria_id": name,
            "result": "success" if value >= 60 else "failure",
            "rationale": notes,
            "scoring_mode": "score",
            "score": value,
            "max_score": 100,
        }
        for name, value in criteria.items()
        if isinstance(value, int)
    }
    analysis: dict[str, Any] = {
        "evaluation_criteria_results": evaluations,
        "data_collection_results": {
            key: {"data_collection_id": key, "value": value, "rationale": "Collected from the conversation."}
            for key, value in call.extracted_data.items()
        },
        "call_successful": call_successful(call),
        "transcript_summary": call.summary or "",
    }
    if call.qa_score is not None:
        analysis["call_success_score"] = float(call.qa_score)
    return analysis


def recipient_id(call: SimCall) -> str:
    return f"rcpt_{_digest('recipient', call.id, size=20)}"


def conversation_detail(call: SimCall) -> dict[str, Any]:
    start = unix(call.started_at)
    answered = call.status in ("completed", "voicemail", "in_progress") or (
        call.status == "failed" and call.duration_seconds > 0
    )
    metadata: dict[str, Any] = {
        "start_time_unix_secs": start,
        "accepted_time_unix_secs": start + 2 if answered else None,
        "call_duration_secs": call.duration_seconds,
        "cost": call.duration_seconds * CREDITS_PER_SECOND,
        "cost_fiat": call.price,
        "phone_call": {
            "type": "twilio",
            "direction": "outbound",
            "phone_number_id": f"phnum_{_digest('number', call.from_number, size=20)}",
            "agent_number": call.from_number,
            "external_number": call.to_number,
            "stream_sid": f"MZ{_digest('stream', call.id, size=32)}",
            "call_sid": f"CA{_digest('call', call.id, size=32)}",
        },
        "batch_call": {"batch_call_id": call.campaign_id, "batch_call_recipient_id": recipient_id(call)},
        "termination_reason": call.ended_reason,
        "main_language": "en",
        "text_only": False,
    }
    return {
        "agent_id": agent_id(call.scenario),
        "agent_name": agent_name(call.scenario),
        "status": WIRE_STATUS[call.status],
        "user_id": None,
        "metadata": metadata,
        "analysis": _analysis(call),
        "conversation_id": call.id,
        "has_audio": call.status in ("completed", "voicemail"),
        "has_user_audio": call.status == "completed",
        "has_response_audio": call.status in ("completed", "voicemail"),
        "transcript": _transcript(call),
    }


def batch_object(dataset: SimDataset, campaign: SimCampaign) -> dict[str, Any]:
    calls = dataset.query(campaign_id=campaign.id)
    running = any(c.status == "in_progress" for c in calls)
    finished = sum(1 for c in calls if c.status != "in_progress")
    created = unix(campaign.created_at)
    return {
        "id": campaign.id,
        "phone_number_id": f"phnum_{_digest('number', campaign.from_number, size=20)}",
        "phone_provider": "twilio",
        "name": campaign.name,
        "agent_id": agent_id(campaign.scenario),
        "created_at_unix": created,
        "scheduled_time_unix": created,
        "timezone": "UTC",
        "total_calls_dispatched": len(calls),
        "total_calls_scheduled": len(calls),
        "total_calls_finished": finished,
        "last_updated_at_unix": max((unix(c.updated_at) for c in calls), default=created),
        "status": "in_progress" if running else "completed",
        "retry_count": 0,
        "telephony_call_config": {"ringing_timeout_secs": 60},
        "agent_name": agent_name(campaign.scenario),
    }


def batch_detail(dataset: SimDataset, campaign: SimCampaign) -> dict[str, Any]:
    body = batch_object(dataset, campaign)
    body["recipients"] = [
        {
            "id": recipient_id(call),
            "phone_number": call.to_number,
            "status": RECIPIENT_STATUS[call.status],
            "created_at_unix": unix(campaign.created_at),
            "updated_at_unix": unix(call.updated_at),
            "conversation_id": call.id,
        }
        # Oldest first: the order recipients were submitted in.
        for call in reversed(dataset.query(campaign_id=campaign.id))
    ]
    return body


# --- requests -------------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _invalid(request: Request, exc: _Invalid) -> Response:
    body = {"detail": [{"loc": ["query", exc.name], "msg": str(exc), "type": "value_error"}]}
    return SimJSONResponse(body, status_code=422)


def _int(
    request: Request, name: str, default: int | None, low: int | None = None, high: int | None = None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Invalid(name, "value is not a valid integer") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Invalid(name, f"ensure this value is between {low} and {high}")
    return value


def _encode_cursor(call: SimCall) -> str:
    raw = json.dumps({"id": call.id, "t": unix(call.started_at)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(state["id"]), int(state["t"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise _Invalid("cursor", "invalid cursor") from None


def _matches_text(call: SimCall, needle: str) -> bool:
    return any(needle in turn.text.casefold() for turn in call.turns())


def _view(request: Request, key: tuple[Any, ...]) -> tuple[list[SimCall], dict[str, int]]:
    """The conversations a listing's filters select, newest first, and each one's position
    (cached per dataset version, like `SimDataset.query`)."""
    dataset = dataset_of(request)
    state = request.app.state
    if state.views_version != dataset.version:
        state.views = {}
        state.views_version = dataset.version
    cached: tuple[list[SimCall], dict[str, int]] | None = state.views.get(key)
    if cached is not None:
        return cached
    after, before, agent, successful, excluded, needle = key
    calls = [
        call
        for call in dataset  # newest first
        if (after is None or unix(call.started_at) > after)
        and (before is None or unix(call.started_at) < before)
        and (agent is None or agent_id(call.scenario) == agent)
        and (successful is None or call_successful(call) == successful)
        and WIRE_STATUS[call.status] not in excluded
        and (not needle or _matches_text(call, needle))
    ]
    if len(state.views) > 64:
        state.views = {}
    state.views[key] = cached = (calls, {call.id: i for i, call in enumerate(calls)})
    return cached


async def _list_conversations(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    params = request.query_params
    try:
        size = _int(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
        after = _int(request, "call_start_after_unix", None)
        before = _int(request, "call_start_before_unix", None)
        mode = params.get("summary_mode") or "exclude"
        if mode not in ("exclude", "include"):
            raise _Invalid("summary_mode", "value is not one of: exclude, include")
        successful = params.get("call_successful") or None
        if successful not in (None, "success", "failure", "unknown"):
            raise _Invalid("call_successful", "value is not one of: success, failure, unknown")
        excluded = set(params.getlist("exclude_statuses"))
        if excluded - {"initiated", "in-progress", "processing", "done", "failed"}:
            raise _Invalid("exclude_statuses", "unknown status")
        position = _decode_cursor(params["cursor"]) if params.get("cursor") else None
    except _Invalid as exc:
        return _invalid(request, exc)
    agent = params.get("agent_id") or None
    needle = (params.get("search") or "").strip().casefold()
    key = (after, before, agent, successful, frozenset(excluded), needle)
    calls, index = _view(request, key)
    begin = 0
    if position is not None:
        found = index.get(position[0])
        if found is not None:
            begin = found + 1
        else:  # the cursor's call left the view: continue from its time
            begin = next((i for i, c in enumerate(calls) if unix(c.started_at) < position[1]), len(calls))
    window = calls[begin : begin + size + 1]
    page, more = window[:size], len(window) > size
    body = {
        "conversations": [list_item(c, with_summary=mode == "include") for c in page],
        "next_cursor": _encode_cursor(page[-1]) if more else None,
        "has_more": more,
    }
    return SimJSONResponse(body)


async def _get_conversation(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    call = dataset_of(request).get(request.path_params["conversation_id"])
    if call is None:
        return error(request, 404, "Conversation not found")
    return SimJSONResponse(conversation_detail(call))


async def _list_batches(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    try:
        limit = _int(request, "limit", DEFAULT_BATCH_LIMIT, 1, None) or DEFAULT_BATCH_LIMIT
    except _Invalid as exc:
        return _invalid(request, exc)
    dataset = dataset_of(request)
    # Newest batch first; `last_doc` is the id of the last batch of the previous page.
    campaigns = sorted(dataset.campaigns, key=lambda c: (c.created_at, c.id), reverse=True)
    last = request.query_params.get("last_doc")
    if last:
        ids = [c.id for c in campaigns]
        if last not in ids:
            return _invalid(request, _Invalid("last_doc", "unknown document"))
        campaigns = campaigns[ids.index(last) + 1 :]
    page = campaigns[:limit]
    more = len(campaigns) > limit
    body = {
        "batch_calls": [batch_object(dataset, c) for c in page],
        "next_doc": page[-1].id if more else None,
        "has_more": more,
    }
    return SimJSONResponse(body)


async def _get_batch(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    dataset = dataset_of(request)
    campaign = dataset.campaign(request.path_params["batch_id"])
    if campaign is None:
        return error(request, 404, "Batch call not found")
    return SimJSONResponse(batch_detail(dataset, campaign))


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"detail": {"status": _ERROR_CODES.get(status, "error"), "message": message}}


def create_app(
    dataset: SimDataset | None = None,
    *,
    api_key: str = DEFAULT_API_KEY,
    faults: Faults | None = None,
    echo_key_in_errors: bool = False,
    log_requests: bool = True,
) -> Starlette:
    """An ElevenLabs Agents API over `dataset` (default: `generate_dataset(id_style=...)`).

    `app.state` exposes `dataset`, `faults` (swap it to change behaviour), `requests` and
    `fault_counts` (see `simulators.faults`).
    """
    if dataset is None:
        dataset = generate_dataset(id_style=PLATFORM.sim.id_style)
    routes = [
        Route("/v1/convai/conversations", _list_conversations, methods=["GET"]),
        Route("/v1/convai/conversations/{conversation_id}", _get_conversation, methods=["GET"]),
        Route("/v1/convai/batch-calling/workspace", _list_batches, methods=["GET"]),
        Route("/v1/convai/batch-calling/{batch_id}", _get_batch, methods=["GET"]),
    ]
    app = build_app(
        routes=routes,
        dataset=dataset,
        api_key=api_key,
        auth_header=AUTH_HEADER,
        expected_credentials=api_key,
        faults=faults,
        echo_key_in_errors=echo_key_in_errors,
        log_requests=log_requests,
        error_body=_error_body,
    )
    app.state.views = {}
    app.state.views_version = -1
    return app
