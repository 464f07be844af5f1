"""A simulated Prosper API (both documented shapes), as a Starlette app.

Paths per variant (anything not served answers 404 `{"detail": "Not Found"}`, before auth, as a
FastAPI app would):

| path                                   | export | openapi | both |
| ---                                    | ---    | ---     | ---  |
| GET /api/v1/campaigns/call-logs        | list (guide shape) | 404 | list (guide shape) |
| GET /api/v1/campaigns/call-logs/{id}   | detail (guide)     | 404 | detail (guide)     |
| GET /api/v1/call-logs                  | 404                | list (OpenAPI) | list (OpenAPI) |
| GET /api/v1/call-logs/{id}             | detail (guide)     | detail (OpenAPI) | detail (OpenAPI) |

So "both" deliberately serves the guide's list with the OpenAPI detail shape: an adapter must read
either shape wherever it meets it.

Guide list `?campaign_id&page(1-based, default 1)&page_size(1-100, default 20)&status&from_date&to_date`
→ `{items, total, page, page_size}`; items `{call_log_id: int, target_id, status, duration: int,
created_at, phone_number, campaign_id}`. `campaign_id` is optional (all campaigns when absent).
`status` ∈ completed, failed, busy, no_answer, in_progress, voicemail, else 422.

Guide detail: `{call_log_id, target_id, campaign_id, status, duration, transcript: [{speaker:
agent|user|system, text, timestamp: float}], extracted_data, qa_results: {overall_score, criteria}
| null, created_at, completed_at | null}` plus, where the guide only says "phone numbers" and
"outcomes", `phone_number`, `from_number`, `summary`, `ended_reason`, `recording_url`.

OpenAPI list `?page(0-based, default 0)&limit(1-1000, default 200)&campaign_id&from_date&to_date`
(no status; unknown parameters ignored) → `{call_logs, page_count, next_page}` with
`CallLogListExportInformation` items: `id` (string), `to`, `from_`, `created_at`, `call_length`
(a string: "180" or "3:00" / "1:02:03", varying per call), `call_ended_reason` ("" while in
progress), `call_categorization` (`{"category": <PatientCallCategory>}` or null while in
progress), `agent_data` (`{campaign_id, campaign_name, agent_name}`: the shape carries no campaign
field, so the campaign lives here), `campaign_target_id`, `post_call_data` (null when empty),
`qa` (`{overall_score, criteria}` or null), `transcripts` (`[{"role": assistant|user|system,
"content": text, "timestamp": "12.5"}]`, string values only). No `status` field: the outcome is in
`call_ended_reason` / `call_categorization`. Detail adds `recording_urls` (empty unless
`include_recordings=true`).

Dates: ISO 8601 date or date-time (naive = UTC), bounds inclusive on `created_at`; a bare
`to_date` covers its whole day. Invalid values → 422 FastAPI-style `{"detail": [{loc, msg, type,
input}]}`. Detail ids must be non-negative integers (422 otherwise), unknown ids → 404
`{"detail": "Call log not found"}`. Newest first everywhere; ids are numeric strings.

Auth: header `auth_header` (default `Authorization`) must be `Bearer <api_key>`; with any other
header name it must be the bare key. Otherwise 401 `{"detail": "Invalid API key"}` (or, with
`echo_key_in_errors`, the presented value quoted back — for secret-leak tests only).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_logs_mcp.simulators.app import (
    SimJSONResponse,
    build_app,
    dataset_of,
    iso_z,
    parse_instant,
    unauthorized,
)
from call_logs_mcp.simulators.dataset import STATUSES, SimCall, SimDataset, SimStatus
from call_logs_mcp.simulators.faults import Faults
from call_logs_mcp.simulators.generate import generate_dataset

from . import PLATFORM

Variant = Literal["export", "openapi", "both"]
DEFAULT_API_KEY = PLATFORM.sim.api_key
GUIDE_LIST = "/api/v1/campaigns/call-logs"
OPENAPI_LIST = "/api/v1/call-logs"

_GUIDE_SPEAKER = {"agent": "agent", "customer": "user", "system": "system"}
_OPENAPI_ROLE = {"agent": "assistant", "customer": "user", "system": "system"}
_CATEGORY: dict[SimStatus, str | None] = {
    "completed": "GOOD",
    "voicemail": "VOICEMAIL",
    "no_answer": "NO_RESPONSE",
    "busy": "NO_RESPONSE",
    "failed": "DISCONNECTED",
    "in_progress": None,
}


class _Invalid(Exception):
    def __init__(self, loc: tuple[str, str], msg: str, kind: str, value: object) -> None:
        super().__init__(msg)
        self.entry = {"type": kind, "loc": list(loc), "msg": msg, "input": value}


def _validation_error(exc: _Invalid) -> Response:
    return SimJSONResponse({"detail": [exc.entry]}, status_code=422)


def _int_param(
    request: Request, name: str, default: int, *, ge: int, le: int | None = None, where: str = "query"
) -> int:
    raw = request.query_params.get(name) if where == "query" else request.path_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Invalid(
            (where, name),
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
            raw,
        ) from None
    if value < ge:
        raise _Invalid(
            (where, name), f"Input should be greater than or equal to {ge}", "greater_than_equal", raw
        )
    if le is not None and value > le:
        raise _Invalid((where, name), f"Input should be less than or equal to {le}", "less_than_equal", raw)
    return value


def _date_param(request: Request, name: str, *, end_of_day: bool) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_instant(raw, end_of_day=end_of_day)
    except ValueError:
        raise _Invalid(
            ("query", name), "Input should be a valid datetime or date", "datetime_from_date_parsing", raw
        ) from None


def _target_id(call: SimCall) -> str:
    return str(uuid.UUID(int=(call.seed << 66) | (call.seed * 0x9E3779B97F4A7C15 % (1 << 66)), version=4))


def _call_length(call: SimCall) -> str:
    seconds = call.duration_seconds
    if (call.seed >> 44) % 2 == 0:
        return str(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _qa(call: SimCall) -> dict[str, Any] | None:
    score = call.qa_score
    if score is None:
        return None
    return {"overall_score": score, "criteria": call.qa_criteria}


def _log_id(call: SimCall) -> int | str:
    # Prosper's ids are integers; a test may plant any text as an id to see it skipped.
    return int(call.id) if call.id.isascii() and call.id.isdigit() and len(call.id) < 19 else call.id


def guide_item(call: SimCall) -> dict[str, Any]:
    return {
        "call_log_id": _log_id(call),
        "target_id": _target_id(call),
        "status": call.status,
        "duration": call.duration_seconds,
        "created_at": iso_z(call.started_at),
        "phone_number": call.to_number,
        "campaign_id": call.campaign_id,
    }


def guide_detail(call: SimCall) -> dict[str, Any]:
    return {
        "call_log_id": _log_id(call),
        "target_id": _target_id(call),
        "campaign_id": call.campaign_id,
        "status": call.status,
        "duration": call.duration_seconds,
        "transcript": [
            {"speaker": _GUIDE_SPEAKER[turn.speaker], "text": turn.text, "timestamp": turn.offset_seconds}
            for turn in call.turns()
        ],
        "extracted_data": call.extracted_data,
        "qa_results": _qa(call),
        "created_at": iso_z(call.started_at),
        "completed_at": iso_z(call.ended_at),
        "phone_number": call.to_number,
        "from_number": call.from_number,
        "summary": call.summary,
        "ended_reason": call.ended_reason,
        "recording_url": call.recording_url,
    }


def openapi_item(call: SimCall) -> dict[str, Any]:
    category = _CATEGORY[call.status]
    extracted = call.extracted_data
    if category == "GOOD" and extracted.get("callback_requested"):
        category = "CALLBACK_REQUESTED"
    return {
        "id": call.id,
        "to": call.to_number,
        "from_": call.from_number,
        "created_at": iso_z(call.started_at),
        "call_length": _call_length(call),
        "call_ended_reason": call.ended_reason or "",
        "call_categorization": None if category is None else {"category": category},
        "agent_data": {
            "campaign_id": call.campaign_id,
            "campaign_name": call.campaign_name,
            "agent_name": "Prosper Assistant",
        },
        "campaign_target_id": _target_id(call),
        "post_call_data": extracted or None,
        "qa": _qa(call),
        "transcripts": [
            {"role": _OPENAPI_ROLE[turn.speaker], "content": turn.text, "timestamp": str(turn.offset_seconds)}
            for turn in call.turns()
        ],
    }


def openapi_detail(call: SimCall, *, include_recordings: bool) -> dict[str, Any]:
    body = openapi_item(call)
    url = call.recording_url
    body["recording_urls"] = [url] if include_recordings and url else []
    return body


def _guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        denied = unauthorized(request)
        if denied is not None:
            return denied
        try:
            result: Response = await handler(request)
        except _Invalid as exc:
            return _validation_error(exc)
        return result

    return endpoint


async def _guide_list(request: Request) -> Response:
    page = _int_param(request, "page", 1, ge=1)
    page_size = _int_param(request, "page_size", 20, ge=1, le=100)
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        raise _Invalid(
            ("query", "status"),
            "Input should be " + ", ".join(repr(s) for s in STATUSES),
            "enum",
            status,
        )
    calls = dataset_of(request).query(
        campaign_id=request.query_params.get("campaign_id") or None,
        statuses=None if status is None else [status],  # type: ignore[list-item]
        start=_date_param(request, "from_date", end_of_day=False),
        end=_date_param(request, "to_date", end_of_day=True),
    )
    window = calls[(page - 1) * page_size : page * page_size]
    body = {
        "items": [{**guide_item(c), **c.wire_patch} for c in window],
        "total": len(calls),
        "page": page,
        "page_size": page_size,
    }
    return SimJSONResponse(body)


async def _openapi_list(request: Request) -> Response:
    page = _int_param(request, "page", 0, ge=0)
    limit = _int_param(request, "limit", 200, ge=1, le=1000)
    calls = dataset_of(request).query(
        campaign_id=request.query_params.get("campaign_id") or None,
        start=_date_param(request, "from_date", end_of_day=False),
        end=_date_param(request, "to_date", end_of_day=True),
    )
    page_count = math.ceil(len(calls) / limit)
    window = calls[page * limit : (page + 1) * limit]
    body = {
        "call_logs": [{**openapi_item(c), **c.wire_patch} for c in window],
        "page_count": page_count,
        "next_page": page + 1 if page + 1 < page_count else None,
    }
    return SimJSONResponse(body)


def _lookup(request: Request) -> SimCall | Response:
    call_id = _int_param(request, "call_log_id", 0, ge=0, le=9_223_372_036_854_775_807, where="path")
    call = dataset_of(request).get(str(call_id))
    if call is None:
        return SimJSONResponse({"detail": "Call log not found"}, status_code=404)
    return call


def _bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes", "on", "t", "y"):
        return True
    if lowered in ("false", "0", "no", "off", "f", "n"):
        return False
    raise _Invalid(
        ("query", name), "Input should be a valid boolean, unable to interpret input", "bool_parsing", raw
    )


async def _guide_detail(request: Request) -> Response:
    found = _lookup(request)
    return (
        found if isinstance(found, Response) else SimJSONResponse({**guide_detail(found), **found.wire_patch})
    )


async def _openapi_detail(request: Request) -> Response:
    include = _bool_param(request, "include_recordings")
    found = _lookup(request)
    if isinstance(found, Response):
        return found
    return SimJSONResponse({**openapi_detail(found, include_recordings=include), **found.wire_patch})


def create_app(
    dataset: SimDataset | None = None,
    *,
    api_key: str = DEFAULT_API_KEY,
    variant: Variant = "both",
    auth_header: str = "Authorization",
    faults: Faults | None = None,
    echo_key_in_errors: bool = False,
    log_requests: bool = True,
) -> Starlette:
    """A Prosper API over `dataset` (default: `generate_dataset()` with numeric ids).

    `app.state` exposes `dataset`, `faults` (swap it to change behaviour), `requests` (every
    request received, see `faults.SimRequest`) and `fault_counts`.
    Raises ValueError for an unknown variant or a dataset whose ids are not numeric.
    """
    if variant not in ("export", "openapi", "both"):
        raise ValueError(f"unknown Prosper variant {variant!r}")
    if dataset is None:
        dataset = generate_dataset()
    if dataset.id_style != "numeric":
        raise ValueError("Prosper call-log ids are integers: generate the dataset with id_style='numeric'")
    routes: list[Route] = []
    if variant in ("export", "both"):
        routes.append(Route(GUIDE_LIST, _guarded(_guide_list), methods=["GET"]))
        routes.append(Route(GUIDE_LIST + "/{call_log_id}", _guarded(_guide_detail), methods=["GET"]))
    if variant in ("openapi", "both"):
        routes.append(Route(OPENAPI_LIST, _guarded(_openapi_list), methods=["GET"]))
    detail = _guide_detail if variant == "export" else _openapi_detail
    routes.append(Route(OPENAPI_LIST + "/{call_log_id}", _guarded(detail), methods=["GET"]))
    expected = f"Bearer {api_key}" if auth_header.lower() == "authorization" else api_key
    app = build_app(
        routes=routes,
        dataset=dataset,
        api_key=api_key,
        auth_header=auth_header,
        expected_credentials=expected,
        faults=faults,
        echo_key_in_errors=echo_key_in_errors,
        log_requests=log_requests,
        error_body=lambda status, message: {"detail": message},
    )
    app.state.variant = variant
    return app
