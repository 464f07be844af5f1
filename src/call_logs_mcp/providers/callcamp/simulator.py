"""A simulated CallCamp API (https://callcamp.ai), as a Starlette app.

- `GET /api/calls` `?campaignUuid&status&search&startDate&endDate&page&limit` →
  `{calls, total, page, limit, totalPages, totalDuration, totalPrice}`; the totals cover the whole
  filtered set, not the page. `page` is 1-based (default 1), `limit` defaults to 10 and is capped
  at 100 (the response's `limit` says what was used: the docs give no maximum, and silently
  capping is what such APIs do). Non-integer or < 1 page/limit → 400.
- `status` ∈ completed, failed, busy, no-answer — plus the two CallCamp would plausibly also say
  for our other statuses: in-progress, voicemail. Anything else → 400.
- `startDate`/`endDate` must be `YYYY-MM-DD` (else 400) and are inclusive whole UTC days on
  `callStartTime`. `search` matches phone-number digits (3+ digits), the campaign name or the
  record (customer) name, case-insensitively.
- Call objects exactly as documented: `uuid` (`call_…`), `callOrderUuid`, `status`,
  `toPhoneNumber`, `fromPhoneNumber`, `callDurationSeconds`, `callStartTime`, `price`,
  `currencyCode`, `recordingUrl` (null without a recording), `summary` (null while in progress),
  `createdAt`. No campaign id (as documented).
- `GET /api/calls/{uuid}`: the same object plus `transcript`, either `[{role: assistant|user|system,
  text}]` or one string of `Assistant: …` / `User: …` / `System: …` lines (`transcript_style`;
  "mixed" picks per call, deterministically). Unknown uuid → 404 `{"error": "Call not found"}`.
- `GET /api/auth/me` → `{tokenName, scopes: ["calls:read", "campaigns:read"], rateLimit: {limit,
  remaining, windowSeconds, resetAt}}` (limit per minute: the fault rate limit × 60, else 600).
- Bearer auth (`Authorization: Bearer <api_key>`); otherwise 401 `{"error": "Invalid token"}`.
  Errors are `{"error": message}`; unknown paths 404.
- Newest first. Given a dataset with numeric ids (Prosper-style), those are served as-is.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_logs_mcp.simulators.app import (
    SimJSONResponse,
    build_app,
    dataset_of,
    error,
    iso_z,
    unauthorized,
)
from call_logs_mcp.simulators.dataset import SimCall, SimDataset, SimStatus
from call_logs_mcp.simulators.faults import Faults, runtime
from call_logs_mcp.simulators.generate import generate_dataset

from . import PLATFORM

TranscriptStyle = Literal["turns", "string", "mixed"]
DEFAULT_API_KEY = PLATFORM.sim.api_key
MAX_LIMIT = 100
DEFAULT_LIMIT = 10

WIRE_STATUS: dict[SimStatus, str] = {
    "completed": "completed",
    "failed": "failed",
    "busy": "busy",
    "no_answer": "no-answer",
    "in_progress": "in-progress",
    "voicemail": "voicemail",
}
_STATUS_FROM_WIRE = {wire: status for status, wire in WIRE_STATUS.items()}
_ROLE = {"agent": "assistant", "customer": "user", "system": "system"}
_LABEL = {"agent": "Assistant", "customer": "User", "system": "System"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def call_object(call: SimCall) -> dict[str, Any]:
    return {
        "uuid": call.id,
        "callOrderUuid": f"order_{(call.seed >> 7) % 10**8:08d}",
        "status": WIRE_STATUS[call.status],
        "toPhoneNumber": call.to_number,
        "fromPhoneNumber": call.from_number,
        "callDurationSeconds": call.duration_seconds,
        "callStartTime": iso_z(call.started_at),
        "price": call.price,
        "currencyCode": call.currency,
        "recordingUrl": call.recording_url,
        "summary": call.summary,
        "createdAt": iso_z(call.started_at - timedelta(seconds=(call.seed >> 13) % 90)),
    }


def transcript_is_string(call: SimCall, style: TranscriptStyle) -> bool:
    if style == "mixed":
        return (call.seed >> 45) % 2 == 1
    return style == "string"


def call_detail(call: SimCall, style: TranscriptStyle) -> dict[str, Any]:
    body = call_object(call)
    if transcript_is_string(call, style):
        body["transcript"] = "\n".join(f"{_LABEL[t.speaker]}: {t.text}" for t in call.turns())
    else:
        body["transcript"] = [{"role": _ROLE[t.speaker], "text": t.text} for t in call.turns()]
    return body


class _BadRequest(Exception):
    pass


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a positive integer") from None
    if value < 1:
        raise _BadRequest(f"{name} must be a positive integer")
    return value


def _day(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a date in YYYY-MM-DD format") from None


async def _list_calls(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    try:
        page = _positive_int(request, "page", 1)
        limit = min(MAX_LIMIT, _positive_int(request, "limit", DEFAULT_LIMIT))
        start_day = _day(request, "startDate")
        end_day = _day(request, "endDate")
        raw_status = request.query_params.get("status") or None
        if raw_status is not None and raw_status not in _STATUS_FROM_WIRE:
            raise _BadRequest("status must be one of: completed, failed, busy, no-answer")
    except _BadRequest as exc:
        return error(request, 400, str(exc))
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC) if start_day else None
    end = (
        datetime(end_day.year, end_day.month, end_day.day, tzinfo=UTC) + timedelta(days=1, microseconds=-1)
        if end_day
        else None
    )
    dataset = dataset_of(request)
    filters: dict[str, Any] = {
        "campaign_id": request.query_params.get("campaignUuid") or None,
        "statuses": None if raw_status is None else [_STATUS_FROM_WIRE[raw_status]],
        "start": start,
        "end": end,
        "search": (request.query_params.get("search") or "").strip() or None,
    }
    calls = dataset.query(**filters)
    total, total_duration, total_price = dataset.totals(**filters)
    window = calls[(page - 1) * limit : page * limit]
    body = {
        "calls": [{**call_object(c), **c.wire_patch} for c in window],
        "total": total,
        "page": page,
        "limit": limit,
        "totalPages": math.ceil(total / limit),
        "totalDuration": total_duration,
        "totalPrice": total_price,
    }
    return SimJSONResponse(body)


async def _get_call(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    call = dataset_of(request).get(request.path_params["uuid"])
    if call is None:
        return error(request, 404, "Call not found")
    return SimJSONResponse({**call_detail(call, request.app.state.transcript_style), **call.wire_patch})


async def _me(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    rt = runtime(request.app.state)
    rate = rt.faults.rate_limit_per_second
    per_minute = math.floor(rate * 60) if rate is not None else 600
    now = time.monotonic()
    used = sum(1 for moment in rt.recent if now - moment < 60.0)
    body = {
        "tokenName": "Simulator token",
        "scopes": ["calls:read", "campaigns:read"],
        "rateLimit": {
            "limit": per_minute,
            "remaining": max(0, per_minute - used),
            "windowSeconds": 60,
            "resetAt": iso_z(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)),
        },
    }
    return SimJSONResponse(body)


def create_app(
    dataset: SimDataset | None = None,
    *,
    api_key: str = DEFAULT_API_KEY,
    faults: Faults | None = None,
    transcript_style: TranscriptStyle = "mixed",
    echo_key_in_errors: bool = False,
    log_requests: bool = True,
) -> Starlette:
    """A CallCamp API over `dataset` (default: `generate_dataset(id_style="callcamp")`).

    `app.state` exposes `dataset`, `faults` (swap it to change behaviour), `requests` and
    `fault_counts` (see `faults`). Raises ValueError for an unknown transcript style.
    """
    if transcript_style not in ("turns", "string", "mixed"):
        raise ValueError(f"unknown transcript style {transcript_style!r}")
    if dataset is None:
        dataset = generate_dataset(id_style=PLATFORM.sim.id_style)
    routes = [
        Route("/api/calls", _list_calls, methods=["GET"]),
        Route("/api/calls/{uuid}", _get_call, methods=["GET"]),
        Route("/api/auth/me", _me, methods=["GET"]),
    ]
    app = build_app(
        routes=routes,
        dataset=dataset,
        api_key=api_key,
        auth_header="Authorization",
        expected_credentials=f"Bearer {api_key}",
        faults=faults,
        echo_key_in_errors=echo_key_in_errors,
        log_requests=log_requests,
        error_body=lambda status, message: {"error": message},
    )
    app.state.transcript_style = transcript_style
    return app
