"""A simulated Retell AI API (https://api.retellai.com), as a Starlette app.

- `POST /v3/list-calls`, JSON body (every member optional): `filter_criteria` (object, keys
  AND-ed), `sort_order` (`ascending|descending`, default descending, by `start_timestamp`),
  `limit` (1-1000, default 50), `skip` (≥ 0), `pagination_key` (opaque; with `skip` → 400),
  `include_total` (bool) → `{items, pagination_key, has_more, total?}`. `pagination_key` is absent
  on the last page; `total` only with `include_total`.
- Filters served, in the SDK's typed grammar (`{type, op, value}`; anything else → 400):
  `batch_call_id` (string `eq|ne|sw|ew|co`), `call_id`, `from_number`, `to_number` (string ops),
  `call_status` (enum `in`: `not_connected|ongoing|ended|error`), `disconnection_reason`,
  `user_sentiment`, `direction`, `call_type` (enum `in`), `call_successful`, `in_voicemail`
  (boolean `eq`), `start_timestamp`, `end_timestamp`, `duration_ms`, `combined_cost` (number
  `eq|ne|gt|ge|lt|le`, or range `bt` inclusive), `agent` (`[{agent_id}]`, OR-ed). Other documented
  keys (metadata, dynamic variables, tool calls...) → 400, as an unsupported filter would.
  `reject_filters` names keys answered with 400 even when valid (tests of refused filters).
- Items are phone calls as the SDK's `V3PhoneCallResponse`: no `transcript`,
  `transcript_object`, `transcript_with_tool_calls` or `recording_url` (the docs say v3 omits
  them). No item names its batch. Newest first by default.
- `GET /v2/get-call/{call_id}` → the same object plus `transcript` ("Agent: …\\nUser: …" lines,
  spoken turns only), `transcript_object` (`{role: agent|user, content, words: [{word, start,
  end}]}`, word times in seconds from the call's start), `transcript_with_tool_calls` (the
  spoken turns plus each system event as an `injected` entry `{role, content, time_sec}`) and the
  recording URLs. Unknown id → 404.
- Statuses: completed → `ended` (`user_hangup`, `agent_hangup` or `inactivity`); voicemail →
  `ended` with `voicemail_reached` and `call_analysis.in_voicemail: true`; busy / no answer →
  `not_connected` with `dial_busy` / `dial_no_answer`; failed → `not_connected` (`dial_failed`)
  or `error` (`error_llm_websocket_runtime`); in progress → `ongoing` (no end, duration, analysis
  or cost, as the docs say those come after the call). The reasons are the generated ones in
  Retell's words (`PLATFORM.sim.ended_reasons`); a call whose reason is unset has none.
- Units: epoch-millisecond timestamps, `duration_ms`, `call_cost.combined_cost` in cents.
- `call_analysis`: `call_summary`, `in_voicemail`, `user_sentiment`, `call_successful`,
  `custom_analysis_data` (the dataset's extracted data). Agents: three, each running some of the
  batches (a batch is the dataset's campaign; its id is the `batch_call_id`).
- `basic_attributes_only`: call ids served as stored with `data_storage_setting:
  basic_attributes_only` (no transcript, recording or analysis text).
- Auth `Authorization: Bearer <api_key>`, else 401. Errors are `{"status": "error", "message"}`
  (the error body's shape is not documented); unknown paths 404.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_logs_mcp.simulators.app import SimJSONResponse, build_app, dataset_of, error, unauthorized
from call_logs_mcp.simulators.dataset import SimCall, SimDataset
from call_logs_mcp.simulators.faults import Faults, SimRequest
from call_logs_mcp.simulators.generate import generate_dataset

from . import PLATFORM

DEFAULT_API_KEY = PLATFORM.sim.api_key
MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
WORD_SECONDS = 0.3

AGENTS = (
    ("agent_3f0c1d9a6b2e4c71a8d5e2f4b6c8d0e1", "Appointment reminder agent"),
    ("agent_7a2b9c4d1e6f4a3b8c5d2e7f9a1b3c5d", "Renewal outreach agent"),
    ("agent_c5e8f1a4b7d04e2a9c6f3b8d1e4a7c0f", "Survey agent"),
)
_ROLE = {"agent": "agent", "customer": "user"}
_LABEL = {"agent": "Agent", "customer": "User"}
_SENTIMENT = {"completed": "Positive", "voicemail": "Unknown", "failed": "Negative"}
STRING_OPS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "sw": lambda a, b: a.startswith(b),
    "ew": lambda a, b: a.endswith(b),
    "co": lambda a, b: b in a,
}
NUMBER_OPS: dict[str, Callable[[float, float], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}
STRING_KEYS = ("batch_call_id", "call_id", "from_number", "to_number")
ENUM_KEYS = ("call_status", "disconnection_reason", "user_sentiment", "direction", "call_type")
BOOLEAN_KEYS = ("call_successful", "in_voicemail")
NUMBER_KEYS = ("start_timestamp", "end_timestamp", "duration_ms", "combined_cost")
CALL_STATUS_FILTER_VALUES = frozenset({"not_connected", "ongoing", "ended", "error"})


class _BadRequest(Exception):
    pass


def _ms(call: SimCall, which: str) -> int | None:
    moment = call.started_at if which == "start" else call.ended_at
    return None if moment is None else int(moment.timestamp() * 1000)


def agent_of(dataset: SimDataset, call: SimCall) -> tuple[str, str]:
    """The agent running the call's batch: campaigns are dealt round the three agents."""
    index = next((i for i, c in enumerate(dataset.campaigns) if c.id == call.campaign_id), 0)
    return AGENTS[index % len(AGENTS)]


REASONS = dict(PLATFORM.sim.ended_reasons)
# Failures Retell reports while dialling (`not_connected`); the others ended in `error`.
DIAL_FAILURES = frozenset({"dial_failed", "dial_busy", "dial_no_answer"})


def wire_status(call: SimCall) -> tuple[str, str | None, bool]:
    """(call_status, disconnection_reason, call_analysis.in_voicemail) for the call; the reason
    is the generated one in Retell's words (absent when the call has none)."""
    reason = REASONS.get(call.ended_reason, call.ended_reason) if call.ended_reason else None
    if call.status == "in_progress":
        return "ongoing", None, False
    if call.status in ("completed", "voicemail"):
        return "ended", reason, call.status == "voicemail"
    if call.status in ("busy", "no_answer") or reason in DIAL_FAILURES:
        return "not_connected", reason, False
    return "error", reason, False


def call_object(dataset: SimDataset, call: SimCall, *, basic: bool = False) -> dict[str, Any]:
    """A call as a v3 list item (no transcripts, no recording URL)."""
    status, reason, in_voicemail = wire_status(call)
    agent_id, agent_name = agent_of(dataset, call)
    body: dict[str, Any] = {
        "call_type": "phone_call",
        "from_number": call.from_number,
        "to_number": call.to_number,
        "direction": "outbound",
        "call_id": call.id,
        "agent_id": agent_id,
        "agent_version": 1 + (call.seed >> 40) % 3,
        "agent_name": agent_name,
        "call_status": status,
        "metadata": {},
        "retell_llm_dynamic_variables": {"customer_name": call.customer_name},
        "data_storage_setting": "basic_attributes_only" if basic else "everything",
        "opt_in_signed_url": (call.seed >> 50) % 2 == 1,
        "start_timestamp": _ms(call, "start"),
    }
    if status == "ongoing":
        return body
    body["end_timestamp"] = _ms(call, "end")
    body["duration_ms"] = call.duration_seconds * 1000
    if reason is not None:
        body["disconnection_reason"] = reason
    analysis: dict[str, Any] = {
        "in_voicemail": in_voicemail,
        "user_sentiment": _SENTIMENT.get(call.status, "Neutral"),
        "call_successful": call.status == "completed",
    }
    if not basic:
        analysis["call_summary"] = call.summary
        analysis["custom_analysis_data"] = call.extracted_data
    body["call_analysis"] = analysis
    cents = round(call.price * 100)
    body["call_cost"] = {
        "product_costs": [{"product": "retell_platform", "unit_price": 0.0, "cost": cents}],
        "total_duration_seconds": call.duration_seconds,
        "total_duration_unit_price": round(cents / call.duration_seconds, 4) if call.duration_seconds else 0,
        "combined_cost": cents,
    }
    return body


def _words(text: str, start: float) -> list[dict[str, Any]]:
    return [
        {
            "word": word,
            "start": round(start + i * WORD_SECONDS, 2),
            "end": round(start + (i + 1) * WORD_SECONDS, 2),
        }
        for i, word in enumerate(text.split())
    ]


def call_detail(dataset: SimDataset, call: SimCall, *, basic: bool = False) -> dict[str, Any]:
    """The get-call body: the list item plus transcripts and recording URLs."""
    body = call_object(dataset, call, basic=basic)
    if basic:
        return body
    spoken: list[dict[str, Any]] = []
    woven: list[dict[str, Any]] = []
    lines: list[str] = []
    for turn in call.turns():
        if turn.speaker == "system":
            woven.append({"role": "injected", "content": turn.text, "time_sec": turn.offset_seconds})
            continue
        utterance = {
            "role": _ROLE[turn.speaker],
            "content": turn.text,
            "words": _words(turn.text, turn.offset_seconds),
        }
        spoken.append(utterance)
        woven.append(utterance)
        lines.append(f"{_LABEL[turn.speaker]}: {turn.text}")
    body["transcript"] = "\n".join(lines)
    body["transcript_object"] = spoken
    body["transcript_with_tool_calls"] = woven
    if call.recording_url is not None:
        body["recording_url"] = call.recording_url
        body["public_log_url"] = call.recording_url.rsplit(".", 1)[0] + "/public_log.txt"
    return body


# --- filters --------------------------------------------------------------------------------------


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise _BadRequest(message)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string_test(spec: Any, key: str) -> Callable[[Any], bool]:
    _expect(isinstance(spec, dict) and spec.get("type") == "string", f"{key}: expected a string filter")
    op, value = spec.get("op"), spec.get("value")
    _expect(op in STRING_OPS and isinstance(value, str), f"{key}: invalid op or value")
    test = STRING_OPS[op]
    return lambda field: isinstance(field, str) and test(field, value)


def _enum_test(spec: Any, key: str) -> Callable[[Any], bool]:
    _expect(
        isinstance(spec, dict) and spec.get("type") == "enum" and spec.get("op") == "in",
        f"{key}: expected enum in",
    )
    values = spec.get("value")
    _expect(
        isinstance(values, list) and all(isinstance(v, str) for v in values), f"{key}: value must be strings"
    )
    if key == "call_status":
        _expect(set(values) <= CALL_STATUS_FILTER_VALUES, "call_status: invalid value")
    allowed = frozenset(values)
    return lambda field: field in allowed


def _boolean_test(spec: Any, key: str) -> Callable[[Any], bool]:
    _expect(
        isinstance(spec, dict) and spec.get("type") == "boolean" and spec.get("op") == "eq",
        f"{key}: expected boolean eq",
    )
    value = spec.get("value")
    _expect(isinstance(value, bool), f"{key}: value must be a boolean")
    return lambda field: field is value


def _number_test(spec: Any, key: str) -> Callable[[Any], bool]:
    _expect(isinstance(spec, dict), f"{key}: expected a number or range filter")
    kind, op, value = spec.get("type"), spec.get("op"), spec.get("value")
    if kind == "range":
        _expect(
            op == "bt" and isinstance(value, list) and len(value) == 2 and all(map(_number, value)),
            f"{key}: invalid range",
        )
        low, high = value
        return lambda field: _number(field) and low <= field <= high
    _expect(kind == "number" and op in NUMBER_OPS and _number(value), f"{key}: invalid number filter")
    test = NUMBER_OPS[op]
    return lambda field: _number(field) and test(field, value)


def _agent_test(spec: Any) -> Callable[[dict[str, Any]], bool]:
    _expect(
        isinstance(spec, list)
        and all(isinstance(a, dict) and isinstance(a.get("agent_id"), str) for a in spec),
        "agent: expected [{agent_id}]",
    )
    wanted = {a["agent_id"] for a in spec}
    return lambda item: item.get("agent_id") in wanted


def compile_filters(criteria: Any, refused: frozenset[str]) -> list[Callable[[dict[str, Any]], bool]]:
    """Tests over a call's wire object, one per filter key. Raises _BadRequest."""
    if criteria is None:
        return []
    _expect(isinstance(criteria, dict), "filter_criteria must be an object")
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for key, spec in criteria.items():
        _expect(key not in refused, f"filter {key} is not supported")
        if key == "agent":
            tests.append(_agent_test(spec))
            continue
        if key in STRING_KEYS:
            field_test = _string_test(spec, key)
        elif key in ENUM_KEYS:
            field_test = _enum_test(spec, key)
        elif key in BOOLEAN_KEYS:
            field_test = _boolean_test(spec, key)
        elif key in NUMBER_KEYS:
            field_test = _number_test(spec, key)
        else:
            raise _BadRequest(f"filter {key} is not supported")
        tests.append(_on_field(key, field_test))
    return tests


def _on_field(key: str, field_test: Callable[[Any], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda item: field_test(_field(item, key))


def _field(item: dict[str, Any], key: str) -> Any:
    if key in ("user_sentiment", "call_successful", "in_voicemail"):
        return (item.get("call_analysis") or {}).get(key)
    if key == "combined_cost":
        return (item.get("call_cost") or {}).get("combined_cost")
    return item.get(key)


# --- paging ---------------------------------------------------------------------------------------


def _encode_key(call: SimCall) -> str:
    return base64.urlsafe_b64encode(json.dumps([call.id]).encode()).decode().rstrip("=")


def _position_after(calls: list[SimCall], dataset: SimDataset, key: str) -> int:
    """The index in `calls` (the account in the listing's order) right after the call the key
    names: a keyset, so calls added since do not shift the pages. Raises _BadRequest."""
    try:
        (call_id,) = json.loads(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))
        call = dataset.get(call_id) if isinstance(call_id, str) else None
    except (ValueError, binascii.Error, TypeError):
        call = None
    if call is None:
        raise _BadRequest("invalid pagination_key")
    return calls.index(call) + 1  # identity: SimCall compares by identity


async def _list_calls(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    state = request.app.state
    dataset = dataset_of(request)
    basic = state.basic_attributes_only
    try:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise _BadRequest("body must be JSON") from None
        _expect(isinstance(body, dict), "body must be a JSON object")
        if state.bodies is not None:
            state.bodies.append(body)
        record = request.scope.get("sim.request")
        if isinstance(record, SimRequest):
            key = body.get("pagination_key")
            skipped = body.get("skip")
            record.page = key if isinstance(key, str) else f"skip={skipped}" if skipped else "1"
        order = body.get("sort_order", "descending")
        _expect(order in ("ascending", "descending"), "sort_order must be ascending or descending")
        limit = body.get("limit", DEFAULT_LIMIT)
        _expect(
            isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit <= MAX_LIMIT,
            "limit must be 1-1000",
        )
        skip = body.get("skip")
        key = body.get("pagination_key")
        _expect(skip is None or key is None, "skip and pagination_key cannot be combined")
        _expect(
            skip is None or (isinstance(skip, int) and not isinstance(skip, bool) and skip >= 0),
            "skip must be >= 0",
        )
        _expect(key is None or isinstance(key, str), "pagination_key must be a string")
        include_total = body.get("include_total", False)
        _expect(isinstance(include_total, bool), "include_total must be a boolean")
        tests = compile_filters(body.get("filter_criteria"), state.reject_filters)
        calls = dataset.calls  # newest first
        if order == "ascending":
            calls.reverse()
        start = _position_after(calls, dataset, key) if key is not None else 0
    except _BadRequest as exc:
        return error(request, 400, str(exc))

    def matches(call: SimCall) -> bool:
        if not tests:
            return True
        # Filters read attributes only: the cheap object (no summary or extracted data) will do.
        # The batch is known to the platform, though no call object shows it.
        item = call_object(dataset, call, basic=True)
        item["batch_call_id"] = call.campaign_id
        return all(test(item) for test in tests)

    to_skip = skip or 0
    window: list[SimCall] = []
    has_more = False
    for call in calls[start:]:
        if not matches(call):
            continue
        if to_skip:
            to_skip -= 1
        elif len(window) < limit:
            window.append(call)
        else:
            has_more = True
            break
    out: dict[str, Any] = {
        "items": [call_object(dataset, call, basic=call.id in basic) for call in window],
        "has_more": has_more,
    }
    if has_more:
        out["pagination_key"] = _encode_key(window[-1])
    if include_total:
        out["total"] = sum(1 for call in calls if matches(call))
    return SimJSONResponse(out)


async def _get_call(request: Request) -> Response:
    denied = unauthorized(request)
    if denied is not None:
        return denied
    dataset = dataset_of(request)
    call = dataset.get(request.path_params["call_id"])
    if call is None:
        return error(request, 404, "Call not found")
    basic = call.id in request.app.state.basic_attributes_only
    return SimJSONResponse(call_detail(dataset, call, basic=basic))


def create_app(
    dataset: SimDataset | None = None,
    *,
    api_key: str = DEFAULT_API_KEY,
    faults: Faults | None = None,
    basic_attributes_only: Iterable[str] = (),
    reject_filters: Iterable[str] = (),
    echo_key_in_errors: bool = False,
    log_requests: bool = True,
) -> Starlette:
    """A Retell API over `dataset` (default: `generate_dataset(id_style="callcamp")`).

    `app.state` exposes `dataset`, `faults` (swap it to change behaviour), `requests` and
    `fault_counts` (see `faults`), and `bodies` (every list request's JSON body, when
    `log_requests`).
    """
    if dataset is None:
        dataset = generate_dataset(id_style=PLATFORM.sim.id_style)
    routes = [
        Route("/v3/list-calls", _list_calls, methods=["POST"]),
        Route("/v2/get-call/{call_id}", _get_call, methods=["GET"]),
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
        error_body=lambda status, message: {"status": "error", "message": message},
    )
    app.state.basic_attributes_only = frozenset(basic_attributes_only)
    app.state.reject_filters = frozenset(reject_filters)
    app.state.bodies = [] if log_requests else None
    return app
