"""Injected upstream trouble, shared by every simulator: latency, rate limits, 5xx, 429, connection
resets and truncated JSON, deterministic for a seed.

The middleware reads `app.state.faults` on every request, so a test can swap it mid-run
(`app.state.faults = Faults()` = "the platform heals"); a new `Faults` object restarts its random
sequence from its seed. Every request that arrives is appended to `app.state.requests` (a list of
`SimRequest`, whose `outcome` says what the simulator did with it) and counted in
`app.state.fault_counts` (`collections.Counter` keyed by outcome).

Order per request: latency (`anyio.sleep`, so concurrent requests overlap) → client rate limit
(token bucket, burst = one second's worth, 429 + `Retry-After`) → `script` (forced outcomes for the
first requests) → random faults. Each request draws the same four random numbers whatever the
rates, so one fault kind's sequence does not shift when another kind's rate changes.

Resets: the simulator starts a response and then raises `SimulatedReset` (an
`httpx2.RemoteProtocolError`). Through `httpx2.ASGITransport` the client sees exactly that
transport error; under uvicorn the connection is closed mid-response, which clients also see as
a protocol/read error.
"""

from __future__ import annotations

import hmac
import json
import math
import random
import time
from collections import Counter, deque
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx2
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCRIPT_OUTCOMES = frozenset({"ok", "reset", "malformed"})


@dataclass
class Faults:
    """What goes wrong, and how often (rates are probabilities per request, 0..1).

    `script`: outcomes forced on the first requests, in order, before any random fault: an HTTP
    status 400-599 (e.g. 429, 503), "reset", "malformed" or "ok". `retry_after_value` overrides the
    `Retry-After` header text of every 429 (e.g. "0" for fast tests, an HTTP date, garbage).
    `echo_key_in_errors` makes 401 and 5xx bodies quote the presented credentials (secret-leak
    tests). Raises ValueError for a rate outside 0..1 or an unknown script step.
    """

    latency_seconds: float = 0.0
    rate_limit_per_second: float | None = None
    retry_after: bool = True
    error_rate: float = 0.0
    rate_429: float = 0.0
    reset_rate: float = 0.0
    malformed_rate: float = 0.0
    seed: int = 0
    echo_key_in_errors: bool = False
    retry_after_value: str | None = None
    error_statuses: tuple[int, ...] = (500, 502, 503)
    script: tuple[int | str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_429", "reset_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must be >= 0")
        if self.rate_limit_per_second is not None and self.rate_limit_per_second <= 0:
            raise ValueError("rate_limit_per_second must be > 0 (or None for no limit)")
        if not self.error_statuses or any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("error_statuses must be 5xx codes")
        for step in self.script:
            if isinstance(step, int) and not 400 <= step <= 599:
                raise ValueError(f"script status {step} is not an HTTP status")
            if isinstance(step, str) and step not in SCRIPT_OUTCOMES:
                raise ValueError(f"script step {step!r} is not one of {sorted(SCRIPT_OUTCOMES)}")


# The `Faults` fields a "key=value,..." spec may set (`simulate --faults`), and how each is read.
SPEC_KEYS: dict[str, type[float] | type[int]] = {
    "error_rate": float,
    "rate_429": float,
    "reset_rate": float,
    "malformed_rate": float,
    "rate_limit_per_second": float,
    "seed": int,
}


def parse_faults(spec: str, *, latency_seconds: float = 0.0) -> Faults:
    """`Faults` from a spec such as "error_rate=0.1,rate_429=0.05,reset_rate=0.01" (the syntax
    of `call-logs-mcp simulate --faults`); keys are `SPEC_KEYS`, an empty spec injects nothing.

    Raises ValueError, naming the accepted keys, for an unknown or repeated key, a part without
    "=" or a value that is not a finite number (a whole number for `seed`); and `Faults`' own
    ValueError for a value out of range (a rate outside 0..1, a negative latency).
    """
    accepted = ", ".join(SPEC_KEYS)
    values: dict[str, float | int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key, equals, raw = (x.strip() for x in part.partition("="))
        if key not in SPEC_KEYS or not equals:
            what = f"unknown fault {key!r}" if key not in SPEC_KEYS else f"{key} needs a value"
            raise ValueError(f"{what}; use key=value pairs separated by commas, keys: {accepted}")
        if key in values:
            raise ValueError(f"{key} is given twice; keys: {accepted}")
        kind = SPEC_KEYS[key]
        try:
            value = kind(raw)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise ValueError(f"{key} must be {noun}, not {raw!r}; keys: {accepted}") from None
        if not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, not {raw!r}; keys: {accepted}")
        values[key] = value
    # mypy sees every Faults field as a target of **values; only SPEC_KEYS' numeric ones are.
    return Faults(latency_seconds=latency_seconds, **values)  # type: ignore[arg-type]


@dataclass(slots=True)
class SimRequest:
    """One request as the simulator received it. `path` is decoded, `raw_path` as sent. `page`
    is set by a simulator whose listing pages in the request body (a POST), to the page asked
    for ("1" for the first, else the platform's cursor); it stays None for a GET listing, whose
    page is in `params`. The request is on its ASGI scope as `scope["sim.request"]`."""

    method: str
    path: str
    query: str
    raw_path: str
    outcome: str = "ok"
    page: str | None = None

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


class SimulatedReset(httpx2.RemoteProtocolError):
    """The simulated platform dropped the connection mid-response."""


@dataclass
class _Runtime:
    """Mutable fault state tied to one `Faults` object."""

    faults: Faults
    rng: random.Random
    script_left: deque[int | str]
    tokens: float
    refilled_at: float
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    @classmethod
    def for_faults(cls, faults: Faults) -> _Runtime:
        burst = max(1.0, faults.rate_limit_per_second or 1.0)
        return cls(
            faults=faults,
            rng=random.Random(f"sim-faults:{faults.seed}"),
            script_left=deque(faults.script),
            tokens=burst,
            refilled_at=time.monotonic(),
        )

    def take_token(self) -> float | None:
        """None when the request may pass, else seconds until a token is available."""
        rate = self.faults.rate_limit_per_second
        if rate is None:
            return None
        now = time.monotonic()
        burst = max(1.0, rate)
        self.tokens = min(burst, self.tokens + (now - self.refilled_at) * rate)
        self.refilled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / rate


def runtime(state: Any) -> _Runtime:
    """The fault runtime for `state.faults`, rebuilt when the test swapped the Faults object."""
    faults: Faults = state.faults
    current: _Runtime | None = getattr(state, "fault_runtime", None)
    if current is None or current.faults is not faults:
        current = _Runtime.for_faults(faults)
        state.fault_runtime = current
    return current


def presented_credentials(scope: Scope, header: str) -> str | None:
    wanted = header.lower().encode("latin-1")
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def credentials_ok(presented: str | None, expected: str) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def should_echo(state: Any) -> bool:
    return bool(getattr(state, "echo_key_in_errors", False) or state.faults.echo_key_in_errors)


async def send_json(
    send: Send, status: int, body: Any, headers: MutableMapping[str, str] | None = None
) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class FaultMiddleware:
    """Pure ASGI middleware applying `app.state.faults` (see module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        record = SimRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            raw_path=raw_path.decode("latin-1") if isinstance(raw_path, bytes) else str(raw_path),
        )
        if state.requests is not None:
            state.requests.append(record)
        scope["sim.request"] = record
        rt = runtime(state)
        faults = rt.faults
        rt.recent.append(time.monotonic())
        if faults.latency_seconds > 0:
            await anyio.sleep(faults.latency_seconds)

        outcome: int | str = "ok"
        wait = rt.take_token()
        if wait is not None:
            outcome = 429
        elif rt.script_left:
            outcome = rt.script_left.popleft()
        else:
            draw_429, draw_5xx, draw_reset, draw_malformed = (rt.rng.random() for _ in range(4))
            if draw_429 < faults.rate_429:
                outcome = 429
            elif draw_5xx < faults.error_rate:
                index = min(
                    len(faults.error_statuses) - 1,
                    int(draw_5xx / faults.error_rate * len(faults.error_statuses)),
                )
                outcome = faults.error_statuses[index]
            elif draw_reset < faults.reset_rate:
                outcome = "reset"
            elif draw_malformed < faults.malformed_rate:
                outcome = "malformed"

        record.outcome = str(outcome)
        state.fault_counts[str(outcome)] += 1
        if outcome == "ok":
            await self.app(scope, receive, send)
        elif outcome == "reset":
            await self._reset(send)
        elif outcome == "malformed":
            await self._malformed(scope, receive, send)
        elif outcome == 429:
            headers: dict[str, str] = {}
            if faults.retry_after:
                default = str(max(1, math.ceil(wait))) if wait is not None else "1"
                headers["Retry-After"] = faults.retry_after_value or default
            await send_json(send, 429, _error_body(state, 429, "Too Many Requests"), headers)
        else:
            assert isinstance(outcome, int)
            await self._error(scope, send, state, outcome)

    async def _error(self, scope: Scope, send: Send, state: Any, status: int) -> None:
        message = "Internal Server Error" if status >= 500 else "Request failed"
        if status >= 500 and should_echo(state):
            presented = presented_credentials(scope, state.auth_header)
            message = f"Internal error while serving credentials {presented}"
        await send_json(send, status, _error_body(state, status, message))

    async def _reset(self, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        raise SimulatedReset("Server disconnected without sending a complete response (simulated reset)")

    async def _malformed(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        truncated = body[: max(1, len(body) // 2)] if len(body) > 2 else b'{"'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(truncated)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": truncated, "more_body": False})


def _error_body(state: Any, status: int, message: str) -> Any:
    make = getattr(state, "error_body", None)
    return make(status, message) if make is not None else {"detail": message}


def new_counts() -> Counter[str]:
    return Counter()
