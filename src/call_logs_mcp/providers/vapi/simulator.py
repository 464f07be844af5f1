"""A simulated Vapi API (https://api.vapi.ai), as a Starlette app: exactly the parts of the
published OpenAPI (`VapiAI/docs`, `fern/apis/api/openapi.json`) the adapter reads.

- Auth: `Authorization: Bearer <private key>`; anything else answers 401
  `{"message", "error": "Unauthorized", "statusCode": 401}` (Vapi's NestJS error shape, used for
  every error).
- `GET /call` `?id&assistantId&phoneNumberId&limit&createdAt{Gt,Lt,Ge,Le}&updatedAt{Gt,Lt,Ge,Le}`
  → a bare JSON array of whole `Call` objects (no envelope, cursor or total). `limit` is a number
  from 0 to 1000, default 100; the instants are ISO 8601 date-times. A malformed value, or any
  query parameter the OpenAPI does not list, answers 400 (`"property X should not exist"`, as a
  NestJS API with a whitelisting validation pipe does), so an adapter sending an undocumented
  parameter fails loudly here. Order: newest `createdAt` first; calls sharing one `createdAt`
  come in id order, or (`tie_order="shuffled"`) in a new random order on every request, since
  Vapi documents no order at all.
- `GET /call/{id}` → one `Call`; an id that is not a UUID answers 400 ("Validation failed (uuid
  is expected)"), an unknown one 404.
- `GET /campaign` `?page&limit&sortOrder&sortBy&status&id&createdAt…&updatedAt…` →
  `{results: Campaign[], metadata: {itemsPerPage, totalItems, currentPage}}`;
  `GET /campaign/{id}` → one `Campaign`. A campaign has `name`, `status`, `assistantId`,
  `phoneNumberId`, `calls` (call id → `{status, createdAt}`) and the `callsCounter…` counters.
- `Call` objects: `id` (UUID), `orgId`, `type: outboundPhoneCall`, `createdAt` (750 ms before
  `startedAt`, millisecond ISO strings like every instant here), `updatedAt`, `startedAt`,
  `endedAt` (absent while running), `status` (`queued`/`ringing`/`in-progress` while running,
  else `ended`), `endedReason` (the dataset's reason, absent while running), `cost` (USD) and
  `costBreakdown`, `customer {number, name}`, `phoneNumberId`, `assistantId` (one per campaign
  scenario), `campaignId`, `artifact {messages, transcript, recordingUrl, presignedMonoUrl,
  presignedUrlsExpiresAt}` (recordings only for calls that have one; the presigned URL expires
  an hour after the request), `analysis {summary, successEvaluation, structuredData}`. Messages
  are `{role: bot|user|system, message, time, endTime, secondsFromStart, duration}` (`time` and
  `endTime` epoch milliseconds); the transcript string has `AI:` / `User:` lines. There is no
  duration field, as on Vapi.
"""

from __future__ import annotations

import bisect
import math
import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_logs_mcp.simulators.app import SimJSONResponse, build_app, dataset_of, error, unauthorized
from call_logs_mcp.simulators.dataset import SimCall, SimDataset, SimStatus
from call_logs_mcp.simulators.faults import Faults
from call_logs_mcp.simulators.generate import generate_dataset

from . import PLATFORM

TieOrder = Literal["id", "shuffled"]
DEFAULT_API_KEY = PLATFORM.sim.api_key
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CREATED_LEAD = timedelta(milliseconds=750)  # createdAt comes this long before startedAt
PRESIGNED_LIFETIME = timedelta(hours=1)
ORG_ID = "0b9c1ad4-6a7e-4d8f-9c1e-5f2a3b4c5d6e"

_LIST_PARAMS = frozenset(
    {"id", "assistantId", "phoneNumberId", "limit"}
    | {f"{field}{op}" for field in ("createdAt", "updatedAt") for op in ("Gt", "Lt", "Ge", "Le")}
)
_CAMPAIGN_PARAMS = frozenset(
    {"id", "status", "page", "sortOrder", "sortBy", "limit"}
    | {f"{field}{op}" for field in ("createdAt", "updatedAt") for op in ("Gt", "Lt", "Ge", "Le")}
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ROLE = {"agent": "bot", "customer": "user", "system": "system"}
_RUNNING = ("queued", "ringing", "in-progress")
_PHRASE = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}


def ms_iso(value: datetime) -> str:
    """`2026-01-05T10:00:00.000Z`, as Vapi writes every instant."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def created_at(call: SimCall) -> datetime:
    return call.started_at - CREATED_LEAD


def _derived_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "vapi-sim:" + ":".join(parts)))


def assistant_id(call: SimCall) -> str:
    return _derived_uuid("assistant", call.scenario)


def phone_number_id(campaign_id: str) -> str:
    return _derived_uuid("phone-number", campaign_id)


def wire_status(call: SimCall) -> str:
    if call.status == "in_progress":
        return _RUNNING[(call.seed >> 21) % len(_RUNNING)]
    return "ended"


def _epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def messages(call: SimCall) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    turns = list(call.turns())
    for index, turn in enumerate(turns):
        start = call.started_at + timedelta(seconds=turn.offset_seconds)
        following = turns[index + 1].offset_seconds if index + 1 < len(turns) else turn.offset_seconds + 1.0
        spoken = max(0.0, following - turn.offset_seconds)
        message: dict[str, Any] = {
            "role": _ROLE[turn.speaker],
            "message": turn.text,
            "time": _epoch_ms(start),
            "secondsFromStart": turn.offset_seconds,
        }
        if turn.speaker != "system":
            message["endTime"] = _epoch_ms(start + timedelta(seconds=spoken))
            message["duration"] = round(spoken, 3)
        out.append(message)
    return out


def call_object(call: SimCall, now: datetime) -> dict[str, Any]:
    """The call as `GET /call` and `GET /call/{id}` show it (the same schema)."""
    body: dict[str, Any] = {
        "id": call.id,
        "orgId": ORG_ID,
        "type": "outboundPhoneCall",
        "createdAt": ms_iso(created_at(call)),
        "updatedAt": ms_iso(call.updated_at),
        "startedAt": ms_iso(call.started_at),
        "status": wire_status(call),
        "phoneCallProvider": "twilio",
        "phoneCallTransport": "pstn",
        "phoneNumberId": phone_number_id(call.campaign_id),
        "assistantId": assistant_id(call),
        "campaignId": call.campaign_id,
        "customer": {"number": call.to_number, "name": call.customer_name},
        "cost": call.price,
        "costBreakdown": {
            "transport": round(call.price * 0.2, 4),
            "vapi": round(call.price * 0.5, 4),
            "llm": round(call.price * 0.3, 4),
            "total": call.price,
        },
    }
    if call.ended_at is not None:
        body["endedAt"] = ms_iso(call.ended_at)
    if call.ended_reason is not None:
        body["endedReason"] = call.ended_reason
    artifact: dict[str, Any] = {"messages": messages(call)}
    artifact["transcript"] = "\n".join(
        f"{'AI' if m['role'] == 'bot' else 'User'}: {m['message']}"
        for m in artifact["messages"]
        if m["role"] != "system"
    )
    if call.recording_url is not None:
        artifact["recordingUrl"] = f"https://storage.vapi.ai/{call.id}-mono.wav"
        artifact["presignedMonoUrl"] = call.recording_url
        artifact["presignedUrlsExpiresAt"] = ms_iso(now + PRESIGNED_LIFETIME)
    body["artifact"] = artifact
    analysis: dict[str, Any] = {}
    if call.summary is not None:
        analysis["summary"] = call.summary
    if call.qa_score is not None:
        analysis["successEvaluation"] = str(call.qa_score)
    extracted = call.extracted_data
    if extracted:
        analysis["structuredData"] = extracted
    if analysis:
        body["analysis"] = analysis
    return body


class _BadRequest(Exception):
    pass


def _unknown_params(request: Request, allowed: frozenset[str]) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise _BadRequest(f"property {name} should not exist")


def _number(request: Request, name: str, default: int, *, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a number conforming to the specified constraints") from None
    if not math.isfinite(value) or value != int(value) or value < low or (high is not None and value > high):
        raise _BadRequest(
            f"{name} must not be less than {low}" + (f" or greater than {high}" if high else "")
        )
    return int(value)


def _instant(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a valid ISO 8601 date string") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _range_check(request: Request, field: str) -> Callable[[datetime], bool]:
    gt, lt, ge, le = (_instant(request, f"{field}{op}") for op in ("Gt", "Lt", "Ge", "Le"))

    def inside(value: datetime) -> bool:
        return not (
            (gt is not None and value <= gt)
            or (lt is not None and value >= lt)
            or (ge is not None and value < ge)
            or (le is not None and value > le)
        )

    return inside


def _guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        denied = unauthorized(request)
        if denied is not None:
            return denied
        try:
            result: Response = await handler(request)
        except _BadRequest as exc:
            return error(request, 400, str(exc))
        return result

    return endpoint


def _newest_first(dataset: SimDataset) -> list[SimCall]:
    return dataset.query()  # cached per dataset version, newest first


async def _list_calls(request: Request) -> Response:
    _unknown_params(request, _LIST_PARAMS)
    limit = _number(request, "limit", DEFAULT_LIMIT, low=0, high=MAX_LIMIT)
    created_ok = _range_check(request, "createdAt")
    updated_ok = _range_check(request, "updatedAt")
    upper = min(
        (v for v in (_instant(request, "createdAtLe"), _instant(request, "createdAtLt")) if v is not None),
        default=None,
    )
    wanted_id = request.query_params.get("id")
    wanted_assistant = request.query_params.get("assistantId")
    wanted_number = request.query_params.get("phoneNumberId")
    calls = _newest_first(dataset_of(request))
    start = 0
    if upper is not None:
        # The first call created at or before `upper` (the list is newest first).
        start = bisect.bisect_left(calls, -upper.timestamp(), key=lambda c: -created_at(c).timestamp())
    picked: list[SimCall] = []
    tie_at: datetime | None = None
    for call in calls[start:]:
        created = created_at(call)
        if len(picked) >= limit and created != tie_at:
            break
        if not created_ok(created) or not updated_ok(call.updated_at):
            continue
        if wanted_id is not None and call.id != wanted_id:
            continue
        if wanted_assistant is not None and assistant_id(call) != wanted_assistant:
            continue
        if wanted_number is not None and phone_number_id(call.campaign_id) != wanted_number:
            continue
        picked.append(call)
        tie_at = created
    if request.app.state.tie_order == "shuffled":
        picked = _shuffle_ties(picked, request.app.state.tie_rng)
    now = datetime.now(UTC)
    return SimJSONResponse([call_object(call, now) for call in picked[:limit]])


def _shuffle_ties(calls: list[SimCall], rng: random.Random) -> list[SimCall]:
    out: list[SimCall] = []
    group: list[SimCall] = []
    for call in calls:
        if group and created_at(group[0]) != created_at(call):
            rng.shuffle(group)
            out += group
            group = []
        group.append(call)
    rng.shuffle(group)
    return out + group


async def _get_call(request: Request) -> Response:
    call_id = request.path_params["id"]
    if not _UUID.fullmatch(call_id):
        raise _BadRequest("Validation failed (uuid is expected)")
    call = dataset_of(request).get(call_id)
    if call is None:
        return error(request, 404, "Not Found")
    return SimJSONResponse(call_object(call, datetime.now(UTC)))


def campaign_object(dataset: SimDataset, campaign_id: str) -> dict[str, Any] | None:
    campaign = dataset.campaign(campaign_id)
    if campaign is None:
        return None
    calls = dataset.query(campaign_id=campaign_id)  # newest first
    statuses: dict[SimStatus, int] = {}
    for call in calls:
        statuses[call.status] = statuses.get(call.status, 0) + 1
    running = [c for c in calls if c.status == "in_progress"]
    queued = sum(1 for c in running if wire_status(c) == "queued")
    updated = max((c.updated_at for c in calls), default=campaign.created_at)
    return {
        "id": campaign.id,
        "orgId": ORG_ID,
        "name": campaign.name,
        "status": "in-progress" if running else "ended",
        "assistantId": _derived_uuid("assistant", campaign.scenario),
        "phoneNumberId": phone_number_id(campaign.id),
        "createdAt": ms_iso(campaign.created_at),
        "updatedAt": ms_iso(updated),
        "calls": {c.id: {"status": wire_status(c), "createdAt": ms_iso(created_at(c))} for c in calls},
        "callsCounterScheduled": 0,
        "callsCounterQueued": queued,
        "callsCounterInProgress": len(running) - queued,
        "callsCounterEndedVoicemail": statuses.get("voicemail", 0),
        "callsCounterEnded": len(calls) - len(running),
    }


async def _list_campaigns(request: Request) -> Response:
    _unknown_params(request, _CAMPAIGN_PARAMS)
    page = _number(request, "page", 1, low=1, high=None)
    limit = _number(request, "limit", DEFAULT_LIMIT, low=0, high=MAX_LIMIT)
    dataset = dataset_of(request)
    wanted_status = request.query_params.get("status")
    wanted_id = request.query_params.get("id")
    created_ok = _range_check(request, "createdAt")
    found: list[dict[str, Any]] = []
    for campaign in sorted(dataset.campaigns, key=lambda c: (c.created_at, c.id), reverse=True):
        if wanted_id is not None and campaign.id != wanted_id:
            continue
        if not created_ok(campaign.created_at):
            continue
        body = campaign_object(dataset, campaign.id)
        if body is None or (wanted_status is not None and body["status"] != wanted_status):
            continue
        found.append(body)
    if request.query_params.get("sortOrder") == "ASC":
        found.reverse()
    window = found[(page - 1) * limit : page * limit]
    metadata = {"itemsPerPage": limit, "totalItems": len(found), "currentPage": page}
    return SimJSONResponse({"results": window, "metadata": metadata})


async def _get_campaign(request: Request) -> Response:
    campaign_id = request.path_params["id"]
    if not _UUID.fullmatch(campaign_id):
        raise _BadRequest("Validation failed (uuid is expected)")
    body = campaign_object(dataset_of(request), campaign_id)
    if body is None:
        return error(request, 404, "Not Found")
    return SimJSONResponse(body)


def create_app(
    dataset: SimDataset | None = None,
    *,
    api_key: str = DEFAULT_API_KEY,
    faults: Faults | None = None,
    tie_order: TieOrder = "id",
    echo_key_in_errors: bool = False,
    log_requests: bool = True,
) -> Starlette:
    """A Vapi API over `dataset` (default: `generate_dataset(id_style="uuid")`).

    `app.state` exposes `dataset`, `faults` (swap it to change behaviour), `requests` and
    `fault_counts` (see `simulators.faults`). Raises ValueError for an unknown tie order or a
    dataset whose ids are not UUIDs.
    """
    if tie_order not in ("id", "shuffled"):
        raise ValueError(f"unknown tie order {tie_order!r}")
    if dataset is None:
        dataset = generate_dataset(id_style=PLATFORM.sim.id_style)
    if dataset.id_style != "uuid":
        raise ValueError("Vapi call ids are UUIDs: generate the dataset with id_style='uuid'")
    routes = [
        Route("/call", _guarded(_list_calls), methods=["GET"]),
        Route("/call/{id}", _guarded(_get_call), methods=["GET"]),
        Route("/campaign", _guarded(_list_campaigns), methods=["GET"]),
        Route("/campaign/{id}", _guarded(_get_campaign), methods=["GET"]),
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
        error_body=lambda status, message: {
            "message": message,
            "error": _PHRASE.get(status, "Error"),
            "statusCode": status,
        },
    )
    app.state.tie_order = tie_order
    app.state.tie_rng = random.Random(f"vapi-ties:{dataset.seed}")
    return app
