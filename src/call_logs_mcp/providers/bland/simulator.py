"""A simulated Bland AI API (https://api.bland.ai), as a Starlette app: exactly the documented
endpoints (BLAND-DOCS, see `wire`), over a generated dataset.

- Auth: header `authorization: <api_key>` (the bare key; `Bearer <key>` is refused), else 401
  `{"status": "error", "message": ...}`. Errors are that shape; unknown paths 404.
- `GET /v1/calls` → `{total_count, count, calls}`. `from` (0-based, inclusive, default 0), `to`
  (exclusive), `limit` (default 1000): the window is `[from, min(to, from + limit))`. `sort_by`
  (`created_at` | `updated_at`), `ascending` (default false). Filters: `start_date` / `end_date`
  (inclusive; `YYYY-MM-DD`, in `timezone` when given, else UTC, or ISO 8601 with an offset),
  `created_at` (one day; 400 with start/end), `update_start_date` / `update_end_date`, `completed`,
  `batch_id`, `campaign_id`, `answered_by`, `inbound`, `duration_gt` / `duration_lt` (minutes),
  `from_number` / `to_number` (same digits). A malformed value → 400. List items carry only the
  documented list fields: no transcript, status, price or summary.
- `GET /v1/calls/{call_id}` → the call detail: `created_at` (when placed: the dataset's start),
  `started_at` (connected, a few seconds later; null for calls that never connected), `end_at`
  (the `max_duration` deadline, not the end), `call_length` (minutes), `corrected_duration`
  (seconds, a string), `status`, `queue_status`, `answered_by`, `price` (USD), `summary`,
  `analysis` (QA: criteria and `score`), `variables` (extracted data), `transcripts[{id,
  created_at, text, user}]` (system lines as `robot` or `agent-action`), `concatenated_transcript`
  (system lines excluded), `recording_url`, ... Unknown id → 404.
- Statuses, as the list fields show them: completed → `answered_by` human or unknown (null for
  the `pending_answered_by` share: "still processing"); voicemail → `status` completed +
  `answered_by` voicemail; no_answer → `no-answer`; busy → `busy`, `answered_by` null and the
  docs' busy `error_message`; failed → `failed` (`queue_status` call_error or queue_error) or
  `canceled` (queue_error); in_progress → `queue_status` started, `completed` false, `status` null.
- The dataset's campaigns alternate between Bland campaigns (`campaign_id` filter, listed by
  `GET /v1/campaigns` with their totals) and batches (`batch_id` on each call, `GET
  /v2/batches/list?take&skip`, `GET /v2/batches/{id}`). Call records name their batch, never their
  campaign (as documented).
- `transcript_style`: "turns" (default: `transcripts` and `concatenated_transcript`) or
  "concatenated" (no `transcripts` array: the adapter's fallback). `pending_answered_by` (0-1):
  share of completed calls listed with `answered_by` null, whose status only the detail tells.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_logs_mcp.simulators.app import SimJSONResponse, build_app, dataset_of, error, unauthorized
from call_logs_mcp.simulators.dataset import SimCall, SimCampaign, SimDataset
from call_logs_mcp.simulators.faults import Faults
from call_logs_mcp.simulators.generate import generate_dataset

from . import PLATFORM

TranscriptStyle = Literal["turns", "concatenated"]
DEFAULT_API_KEY = PLATFORM.sim.api_key
DEFAULT_LIMIT = 1000
MAX_DURATION_MINUTES = 30
ORG_ID = "5f0c9a62-3d1e-4c8b-9b7a-0c4e2d1f6a11"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_FAILED_MESSAGES = (
    "The number you dialed is not found.",
    "The number you dialed is temporarily unavailable.",
    "Service Provider Blocked Call due to Spam or Number Reputation. Try a different number.",
)


def is_batch(dataset: SimDataset, campaign_id: str) -> bool:
    """Every other campaign of the dataset is a batch (the first is a Bland campaign)."""
    for index, campaign in enumerate(dataset.campaigns):
        if campaign.id == campaign_id:
            return index % 2 == 1
    return False


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _ring_seconds(call: SimCall) -> int:
    return 2 + (call.seed >> 21) % 8


def connected_at(call: SimCall) -> datetime | None:
    """When the call connected (Bland's `started_at`): never for busy, no-answer and canceled."""
    if call.status in ("busy", "no_answer") or _canceled(call):
        return None
    if call.status == "failed" and call.duration_seconds == 0:
        return None
    return call.started_at + timedelta(seconds=_ring_seconds(call))


def _canceled(call: SimCall) -> bool:
    return call.status == "failed" and (call.seed >> 27) % 3 == 0


def answered_by(call: SimCall, pending: float = 0.0) -> str | None:
    """Answering-machine detection is on for the simulated account; a `pending` share of the
    completed calls still has it null ("still processing the result")."""
    if call.status == "voicemail":
        return "voicemail"
    if call.status == "no_answer":
        return "no-answer"
    if call.status == "completed":
        roll = (call.seed >> 31) % 100
        if roll < pending * 100:
            return None
        return "human" if (call.seed >> 38) % 20 < 17 else "unknown"
    if call.status == "failed" and call.duration_seconds > 0 and not _canceled(call):
        return "human"
    return None


def queue_status(call: SimCall) -> str:
    if call.status == "in_progress":
        return "started"
    if call.status == "failed":
        # A canceled call never left the queue.
        return "call_error" if call.duration_seconds > 0 and not _canceled(call) else "queue_error"
    return "complete"


def wire_status(call: SimCall) -> str | None:
    if call.status == "in_progress":
        return None
    if call.status == "voicemail":
        return "completed"
    if call.status == "no_answer":
        return "no-answer"
    if _canceled(call):
        return "canceled"
    return call.status


def error_message(call: SimCall) -> str | None:
    if call.status == "busy":
        return "The number you dialed is busy. Please try again later."
    if _canceled(call):
        return "Call was canceled before completion."
    if call.status == "failed":
        return _FAILED_MESSAGES[(call.seed >> 35) % len(_FAILED_MESSAGES)]
    return None


def call_item(call: SimCall, dataset: SimDataset, pending: float = 0.0) -> dict[str, Any]:
    """A list item: the documented list fields, nothing else."""
    return {
        "call_id": call.id,
        "created_at": _iso(call.started_at),
        "call_length": call.duration_seconds / 60,
        "to": call.to_number,
        "from": call.from_number,
        "completed": call.status != "in_progress",
        "queue_status": queue_status(call),
        "error_message": error_message(call),
        "answered_by": answered_by(call, pending),
        "batch_id": call.campaign_id if is_batch(dataset, call.campaign_id) else None,
    }


def _ended_by(call: SimCall) -> str | None:
    if call.status != "completed":
        return None
    return "USER" if call.ended_reason == "customer-ended-call" else "ASSISTANT"


def _wire_speaker(call: SimCall, speaker: str, index: int) -> str:
    if speaker == "agent":
        return "assistant"
    if speaker == "customer":
        return "user"
    return "agent-action" if (call.seed >> (index % 40)) % 2 else "robot"


def call_detail(
    call: SimCall, dataset: SimDataset, style: TranscriptStyle, pending: float = 0.0
) -> dict[str, Any]:
    connected = connected_at(call)
    anchor = connected or call.started_at
    base = (call.seed >> 3) % 9_000_000
    transcripts = [
        {
            "id": base + index,
            "created_at": _iso(anchor + timedelta(seconds=turn.offset_seconds)),
            "text": turn.text,
            "user": _wire_speaker(call, turn.speaker, index),
            "c_id": call.id,
        }
        for index, turn in enumerate(call.turns())
    ]
    spoken = [t for t in transcripts if t["user"] in ("user", "assistant")]
    qa = call.qa_score
    criteria = call.qa_criteria
    body = call_item(call, dataset, pending) | {
        "started_at": _iso(connected),
        "end_at": _iso(anchor + timedelta(minutes=MAX_DURATION_MINUTES)),
        "max_duration": MAX_DURATION_MINUTES,
        "corrected_duration": str(call.duration_seconds),
        "status": wire_status(call),
        "inbound": False,
        "price": call.price,
        "summary": call.summary,
        "analysis": ({**criteria, "score": qa} if qa is not None else criteria) or None,
        "variables": call.extracted_data,
        "record": call.recording_url is not None,
        "recording_url": call.recording_url,
        "call_ended_by": _ended_by(call),
        "request_data": {"phone_number": call.to_number, "wait": False, "language": "en-US"},
        "metadata": {},
        "endpoint_url": "api.prod.bland.ai",
        "local_dialing": False,
        "is_canary": False,
        "c_id": call.id,
        "concatenated_transcript": " \n ".join(f"{t['user']}: {t['text']}" for t in spoken),
    }
    if style == "turns":
        body["transcripts"] = transcripts
    return body


# --- query parsing --------------------------------------------------------------------------------


class _BadRequest(Exception):
    pass


def _int(request: Request, name: str, default: int | None, minimum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer") from None
    if value < minimum:
        raise _BadRequest(f"{name} must be at least {minimum}")
    return value


def _bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise _BadRequest(f"{name} must be true or false")
    return raw.lower() == "true"


def _float(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a number") from None


def _zone(request: Request) -> ZoneInfo:
    raw = request.query_params.get("timezone") or "UTC"
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise _BadRequest("timezone must be an IANA time zone name") from None


def _bound(
    request: Request, name: str, zone: ZoneInfo, *, end: bool, date_only: bool = False
) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        if _DAY.fullmatch(raw):
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time(0, 0), tzinfo=zone)
            moment = moment + timedelta(days=1, microseconds=-1) if end else moment
            return moment.astimezone(UTC)
        if date_only:
            raise ValueError
        parsed = datetime.fromisoformat(raw)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed.astimezone(UTC)
    except ValueError:
        shape = "YYYY-MM-DD" if date_only else "YYYY-MM-DD or an ISO 8601 date-time with offset"
        raise _BadRequest(f"{name} must be {shape}") from None


def _digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def _filters(request: Request, dataset: SimDataset) -> Callable[[SimCall], bool]:
    zone = _zone(request)
    start = _bound(request, "start_date", zone, end=False)
    end = _bound(request, "end_date", zone, end=True)
    day_start = _bound(request, "created_at", zone, end=False, date_only=True)
    if day_start is not None:
        if start is not None or end is not None:
            raise _BadRequest("created_at can't be used with start_date or end_date")
        start, end = day_start, _bound(request, "created_at", zone, end=True, date_only=True)
    updated_from = _bound(request, "update_start_date", zone, end=False, date_only=True)
    updated_to = _bound(request, "update_end_date", zone, end=True, date_only=True)
    completed = _bool(request, "completed")
    inbound = _bool(request, "inbound")
    longer = _float(request, "duration_gt")
    shorter = _float(request, "duration_lt")
    params = request.query_params
    batch = params.get("batch_id") or None
    campaign = params.get("campaign_id") or None
    answered = params.get("answered_by") or None
    from_digits = _digits(params.get("from_number"))
    to_digits = _digits(params.get("to_number"))

    def keep(call: SimCall) -> bool:
        if start is not None and call.started_at < start:
            return False
        if end is not None and call.started_at > end:
            return False
        if updated_from is not None and call.updated_at < updated_from:
            return False
        if updated_to is not None and call.updated_at > updated_to:
            return False
        if completed is not None and (call.status != "in_progress") is not completed:
            return False
        if inbound is True:
            return False  # every simulated call is outbound
        minutes = call.duration_seconds / 60
        if longer is not None and not minutes > longer:
            return False
        if shorter is not None and not minutes < shorter:
            return False
        if batch is not None and (call.campaign_id != batch or not is_batch(dataset, batch)):
            return False
        if campaign is not None and (call.campaign_id != campaign or is_batch(dataset, campaign)):
            return False
        if answered is not None and answered_by(call, request.app.state.pending_answered_by) != answered:
            return False
        if from_digits and _digits(call.from_number) != from_digits:
            return False
        return not (to_digits and _digits(call.to_number) != to_digits)

    return keep


async def _list_calls(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    dataset = dataset_of(request)
    try:
        first = _int(request, "from", 0, 0) or 0
        last = _int(request, "to", None, 0)
        limit = _int(request, "limit", DEFAULT_LIMIT, 1) or DEFAULT_LIMIT
        ascending = _bool(request, "ascending") or False
        sort_by = request.query_params.get("sort_by") or "created_at"
        if sort_by not in ("created_at", "updated_at"):
            raise _BadRequest("sort_by must be created_at or updated_at")
        keep = _filters(request, dataset)
    except _BadRequest as exc:
        return error(request, 400, str(exc))
    calls = [call for call in dataset.query() if keep(call)]  # newest first by creation
    if sort_by == "updated_at":
        calls = sorted(calls, key=lambda c: c.updated_at, reverse=True)
    if ascending:
        calls = calls[::-1]
    stop = first + limit if last is None else min(last, first + limit)
    window = calls[first:stop]
    body = {
        "total_count": len(calls),
        "count": len(window),
        "calls": [call_item(call, dataset, request.app.state.pending_answered_by) for call in window],
    }
    return SimJSONResponse(body)


async def _get_call(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    dataset = dataset_of(request)
    call = dataset.get(request.path_params["call_id"])
    if call is None:
        return error(request, 404, "Call not found")
    state = request.app.state
    return SimJSONResponse(call_detail(call, dataset, state.transcript_style, state.pending_answered_by))


def _campaign_totals(campaign: SimCampaign, dataset: SimDataset) -> dict[str, Any]:
    calls = dataset.query(campaign_id=campaign.id)
    answered = [answered_by(call) for call in calls]  # the platform's own view: AMD finished
    ended = [_ended_by(call) for call in calls]
    return {
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "count": len(calls),
        "human_ended": ended.count("USER"),
        "assistant_ended": ended.count("ASSISTANT"),
        "human_answered": answered.count("human"),
        "voicemail_answered": answered.count("voicemail"),
        "unknown_answered": answered.count("unknown"),
        "transferred_count": 0,
    }


async def _list_campaigns(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    dataset = dataset_of(request)
    campaigns = [_campaign_totals(c, dataset) for c in dataset.campaigns if not is_batch(dataset, c.id)]
    return SimJSONResponse({"status": "success", "campaigns": campaigns})


def _batch(campaign: SimCampaign, dataset: SimDataset) -> dict[str, Any]:
    preview = [
        {"task": f"{campaign.scenario} call", "phone_number": call.to_number}
        for call in dataset.query(campaign_id=campaign.id)[:2]
    ]
    return {
        "id": campaign.id,
        "user_id": ORG_ID,
        "base_prompt": '{"record":true,"task":"' + campaign.scenario + ' call"}',
        "created_at": campaign.created_at.astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "call_objects": preview,
        "description": campaign.name,
    }


async def _list_batches(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    dataset = dataset_of(request)
    try:
        take = _int(request, "take", None, 0)
        skip = _int(request, "skip", 0, 0) or 0
    except _BadRequest as exc:
        return error(request, 400, str(exc))
    batches = [_batch(c, dataset) for c in dataset.campaigns if is_batch(dataset, c.id)]
    window = batches[skip:] if take is None else batches[skip : skip + take]
    return SimJSONResponse({"data": window, "errors": None})


async def _get_batch(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    dataset = dataset_of(request)
    campaign = dataset.campaign(request.path_params["batch_id"])
    if campaign is None or not is_batch(dataset, campaign.id):
        return error(request, 404, "Batch not found")
    return SimJSONResponse({"data": _batch(campaign, dataset), "errors": None})


def create_app(
    dataset: SimDataset | None = None,
    *,
    api_key: str = DEFAULT_API_KEY,
    faults: Faults | None = None,
    transcript_style: TranscriptStyle = "turns",
    pending_answered_by: float = 0.0,
    echo_key_in_errors: bool = False,
    log_requests: bool = True,
) -> Starlette:
    """A Bland AI API over `dataset` (default: `generate_dataset(id_style="uuid")`).

    `app.state` exposes `dataset`, `faults` (swap it to change behaviour), `requests` and
    `fault_counts` (see `simulators.faults`). Raises ValueError for an unknown transcript style.
    """
    if transcript_style not in ("turns", "concatenated"):
        raise ValueError(f"unknown transcript style {transcript_style!r}")
    if dataset is None:
        dataset = generate_dataset(id_style=PLATFORM.sim.id_style)
    routes = [
        Route("/v1/calls", _list_calls, methods=["GET"]),
        Route("/v1/calls/{call_id}", _get_call, methods=["GET"]),
        Route("/v1/campaigns", _list_campaigns, methods=["GET"]),
        Route("/v2/batches/list", _list_batches, methods=["GET"]),
        Route("/v2/batches/{batch_id}", _get_batch, methods=["GET"]),
    ]
    app = build_app(
        routes=routes,
        dataset=dataset,
        api_key=api_key,
        auth_header="authorization",
        expected_credentials=api_key,
        faults=faults,
        echo_key_in_errors=echo_key_in_errors,
        log_requests=log_requests,
        error_body=lambda status, message: {"status": "error", "message": message},
    )
    app.state.transcript_style = transcript_style
    app.state.pending_answered_by = pending_answered_by
    return app
