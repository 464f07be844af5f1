"""HTTP plumbing: retries, Retry-After, backoff, throttling, status → error, path safety, secrecy.

The network is faked with `httpx2.MockTransport`; time is faked through `ProviderHttp`'s
injectable `sleep`/`clock`, so nothing here waits on the wall clock.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from http import HTTPStatus
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest
from pydantic import SecretStr

from call_logs_mcp import __version__
from call_logs_mcp.errors import (
    AuthError,
    InvalidArgumentError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    RequestRejectedError,
    UnavailableError,
)
from call_logs_mcp.ids import path_segment
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.http import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    MALFORMED_RETRIES,
    ProviderHttp,
    backoff_delay,
    parse_retry_after,
)

CANARY = "pk_live_CANARY_7f3a9c"
BASE_HOST = "api.example.test"
BASE_URL = f"https://{BASE_HOST}/base"
KEY_VAR = "PROSPER_API_KEY"
BODY_MARKER = "TRANSCRIPT_MARKER_my_card_is_4111"
Handler = Callable[[httpx2.Request], httpx2.Response | Awaitable[httpx2.Response]]


class SteppingTime:
    """Fake time for one caller at a time: each sleep is recorded and advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        await anyio.lowlevel.checkpoint()


class VirtualTime:
    """Fake time for concurrent callers: a sleeper wakes when every task is blocked and it is the
    earliest one due, so the clock reads what a real clock would, without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        if delay <= 0:
            await anyio.lowlevel.checkpoint()
            return
        wake = anyio.Event()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._order), wake))
        await wake.wait()

    async def run(self, main: Callable[[], Awaitable[Any]]) -> Any:
        outcome: dict[str, Any] = {}
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:

                async def runner() -> None:
                    try:
                        outcome["value"] = await main()
                    except Exception as exc:
                        outcome["error"] = exc
                    finally:
                        group.cancel_scope.cancel()

                group.start_soon(runner)
                idle_rounds = 0
                while not outcome:
                    await anyio.wait_all_tasks_blocked()
                    if not self._sleepers:
                        # A task woken by a finished child can look blocked for one loop turn.
                        idle_rounds += 1
                        assert idle_rounds < 100, "every task is blocked and nobody is sleeping"
                        await anyio.lowlevel.checkpoint()
                        continue
                    idle_rounds = 0
                    due, _, wake = heapq.heappop(self._sleepers)
                    self.now = max(self.now, due)
                    wake.set()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


def make_http(
    handler: Handler,
    time: SteppingTime | VirtualTime | None = None,
    *,
    random: Callable[[], float] = lambda: 0.5,
    max_body_bytes: int | None = None,
    **config: Any,
) -> ProviderHttp:
    time = time or SteppingTime()
    extra: dict[str, Any] = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    return ProviderHttp(
        provider="prosper",
        config=ProviderConfig(name="prosper", api_key=SecretStr(CANARY), base_url=BASE_URL, **config),
        base_url=BASE_URL,
        auth_header="Authorization",
        auth_value=f"Bearer {CANARY}",
        key_env_var=KEY_VAR,
        transport=httpx2.MockTransport(handler),
        sleep=time.sleep,
        clock=time.clock,
        random=random,
        **extra,
    )


def scripted(responses: list[httpx2.Response | Exception], seen: list[httpx2.Request]) -> Handler:
    """A handler answering with `responses` in order (the last one repeats)."""
    feed: Iterator[httpx2.Response | Exception] = itertools.chain(responses, itertools.repeat(responses[-1]))

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        answer = next(feed)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


def ok(payload: object) -> httpx2.Response:
    return httpx2.Response(200, json=payload)


def status(code: int, **headers: str) -> httpx2.Response:
    body = json.dumps({"error": BODY_MARKER, "key": CANARY}).encode()
    return httpx2.Response(code, content=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


# -- status classification -----------------------------------------------------------------------


def expected_for(code: int) -> tuple[type[ProviderError], bool]:
    """(error type, retried?) per issue 2: 408/429/5xx retried, 401/403 auth, 404 not found."""
    if code == 429:
        return RateLimitedError, True
    if code == 408 or code >= 500:
        return UnavailableError, True
    if code in (401, 403):
        return AuthError, False
    if code == 404:
        return NotFoundError, False
    return RequestRejectedError, False


@pytest.mark.parametrize("code", [s.value for s in HTTPStatus if s.value >= 300] + [418, 599])
async def test_every_error_status_maps_to_one_typed_error_and_only_transient_ones_are_retried(
    code: int,
) -> None:
    seen: list[httpx2.Request] = []
    retries = 2
    http = make_http(scripted([status(code)], seen), max_retries=retries)
    error_type, retried = expected_for(code)
    with pytest.raises(ProviderError) as caught:
        await http.get_json("/api/calls")
    assert type(caught.value) is error_type
    assert len(seen) == (retries + 1 if retried else 1)
    assert BODY_MARKER not in str(caught.value)
    assert CANARY not in error_text(caught.value)


@pytest.mark.parametrize("code", [200, 201, 203])
async def test_a_2xx_json_body_is_returned_decoded(code: int) -> None:
    payload = {"items": [{"id": "c1", "text": "héllo"}], "total": 1}
    seen: list[httpx2.Request] = []
    http = make_http(scripted([httpx2.Response(code, json=payload)], seen))
    assert await http.get_json("/api/calls") == payload
    assert len(seen) == 1


async def test_a_persistent_5xx_names_the_status_and_the_attempts() -> None:
    seen: list[httpx2.Request] = []
    retries = 3
    http = make_http(scripted([status(503)], seen), max_retries=retries)
    with pytest.raises(UnavailableError) as caught:
        await http.get_json("/api/calls")
    assert caught.value.reason == f"HTTP 503 after {retries + 1} attempts"


async def test_a_5xx_burst_is_survived() -> None:
    burst = [status(500), status(502), status(503), status(504)]
    payload = {"calls": [], "total": 0}
    seen: list[httpx2.Request] = []
    http = make_http(scripted([*burst, ok(payload)], seen), max_retries=len(burst))
    assert await http.get_json("/api/calls") == payload
    assert len(seen) == len(burst) + 1


@pytest.mark.parametrize("code", [400, 401, 404, 429, 503])
async def test_a_post_query_sends_its_json_body_and_fails_exactly_like_a_get(code: int) -> None:
    query = {"filter_criteria": {"call_status": {"type": "enum", "op": "in", "value": ["ended"]}}, "limit": 5}
    seen: list[httpx2.Request] = []
    retries = 2
    http = make_http(scripted([status(code), ok({"items": []})], seen), max_retries=retries)
    error_type, retried = expected_for(code)
    if retried:
        assert await http.post_json("/v3/list-calls", query) == {"items": []}
    else:
        with pytest.raises(error_type) as caught:
            await http.post_json("/v3/list-calls", query)
        assert BODY_MARKER not in str(caught.value) and CANARY not in error_text(caught.value)
    assert len(seen) == (2 if retried else 1)
    for request in seen:
        assert (request.method, request.url.path) == ("POST", "/base/v3/list-calls")
        assert json.loads(request.content) == query
        assert request.headers["content-type"] == "application/json"
        assert request.headers["authorization"] == f"Bearer {CANARY}"


async def test_a_post_query_is_refused_outside_the_base_url_like_a_get() -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([ok({})], seen))
    for path in ("//evil.example/x", "/v3/../../admin", "https://evil.example/v3/list-calls"):
        with pytest.raises(InvalidArgumentError):
            await http.post_json(path, {"limit": 1})
    assert seen == []


async def test_zero_retries_means_one_attempt() -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([status(500), ok({})], seen), max_retries=0)
    with pytest.raises(UnavailableError, match="after 1 attempt"):
        await http.get_json("/api/calls")
    assert len(seen) == 1


# -- Retry-After -----------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("  7 ", 7.0),
        ("1.5", 1.5),
        ("86400000", 86_400_000.0),  # huge but meaningful: the caller fails fast on it
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW + timedelta(hours=2), usegmt=True), 7200.0),
        (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),
        ("Sun, 01 Mar 2026 12:00:45 GMT", 45.0),
        ("Sunday, 01-Mar-26 12:00:10 GMT", 10.0),  # obsolete RFC 850 form
        ("-5", None),
        ("-0.5", None),
        ("inf", None),
        ("-inf", None),
        ("Infinity", None),
        ("nan", None),
        ("NaN", None),
        ("9" * 400, None),  # overflows to inf
        ("1e3", None),
        ("+5", None),
        ("soon", None),
        ("5 seconds", None),
        ("Sun, 99 Foo 2026 25:61:00 GMT", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_retry_after_is_parsed_as_seconds_or_an_http_date_and_anything_else_is_ignored(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, NOW) == expected


async def test_a_429_then_success_waits_exactly_the_retry_after() -> None:
    hint = 2
    payload = {"items": [], "total": 0}
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(scripted([status(429, retry_after=str(hint)), ok(payload)], seen), time)
    assert await http.get_json("/api/calls") == payload
    assert time.delays == [hint]
    assert len(seen) == 2


async def test_an_http_date_retry_after_is_honoured_against_the_wall_clock() -> None:
    wait = 6
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    header = format_datetime(NOW + timedelta(seconds=wait), usegmt=True)
    http = ProviderHttp(
        provider="prosper",
        config=ProviderConfig(name="prosper", api_key=SecretStr(CANARY), deadline_seconds=60),
        base_url=BASE_URL,
        auth_header="Authorization",
        auth_value=f"Bearer {CANARY}",
        key_env_var=KEY_VAR,
        transport=httpx2.MockTransport(scripted([status(429, retry_after=header), ok([])], seen)),
        sleep=time.sleep,
        clock=time.clock,
        wall_clock=lambda: NOW,
    )
    assert await http.get_json("/api/calls") == []
    assert time.delays == [wait]


async def test_a_503_retry_after_is_honoured_too() -> None:
    hint = 3
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(scripted([status(503, retry_after=str(hint)), ok([1])], seen), time)
    assert await http.get_json("/api/calls") == [1]
    assert time.delays == [hint]


async def test_a_persistent_429_raises_rate_limited_with_the_last_hint() -> None:
    hints = [1, 2, 3, 2]
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    responses = [status(429, retry_after=str(h)) for h in hints]
    http = make_http(
        scripted(responses, seen),
        time,
        max_retries=len(hints) - 1,
        max_retry_wait_seconds=60,
        deadline_seconds=60,  # about the hints, not the deadline
    )
    with pytest.raises(RateLimitedError) as caught:
        await http.get_json("/api/calls")
    assert caught.value.retry_after == hints[-1]
    assert f"retry in {hints[-1]} s" in str(caught.value)
    assert time.delays == hints[:-1]
    assert len(seen) == len(hints)


async def test_a_persistent_429_without_a_hint_raises_rate_limited_without_one() -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([status(429)], seen), max_retries=2)
    with pytest.raises(RateLimitedError) as caught:
        await http.get_json("/api/calls")
    assert caught.value.retry_after is None
    assert len(seen) == 3


@pytest.mark.parametrize("hint", [11, 60, 86_400_000])
async def test_a_retry_after_over_the_cap_fails_fast_with_the_hint(hint: int) -> None:
    cap = 10.0
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(
        scripted([status(429, retry_after=str(hint)), ok({})], seen), time, max_retry_wait_seconds=cap
    )
    with pytest.raises(RateLimitedError) as caught:
        await http.get_json("/api/calls")
    assert caught.value.retry_after == hint
    assert f"retry in {hint} s" in str(caught.value)
    assert len(seen) == 1
    assert time.delays == []


async def test_hinted_waits_in_one_call_never_add_up_past_the_cap() -> None:
    hint, cap = 4, 10.0
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(
        scripted([status(429, retry_after=str(hint))], seen),
        time,
        max_retries=6,
        max_retry_wait_seconds=cap,
        deadline_seconds=3600,  # this test is about the cap on hinted waits, not the deadline
    )
    with pytest.raises(RateLimitedError) as caught:
        await http.get_json("/api/calls")
    assert sum(time.delays) <= cap
    assert time.delays == [hint] * int(cap // hint)
    assert caught.value.retry_after == hint


async def test_a_503_retry_after_over_the_cap_fails_fast_as_unavailable() -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([status(503, retry_after="3600")], seen), max_retry_wait_seconds=10)
    with pytest.raises(UnavailableError, match="retry in 3600 s"):
        await http.get_json("/api/calls")
    assert len(seen) == 1


@pytest.mark.parametrize("garbage", ["soon", "-3", "nan", "inf", "1e9"])
async def test_an_unusable_retry_after_falls_back_to_backoff(garbage: str) -> None:
    draw = 0.75
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(scripted([status(429, retry_after=garbage), ok({})], seen), time, random=lambda: draw)
    assert await http.get_json("/api/calls") == {}
    assert time.delays == [draw * BACKOFF_BASE_SECONDS]


# -- backoff ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 5, 10, 40, 100, 5000])
@pytest.mark.parametrize("rand", [0.0, 0.3, 0.999999, 1.0])
def test_backoff_is_full_jitter_below_a_capped_exponential(attempt: int, rand: float) -> None:
    base, cap = 0.25, 4.0
    delay = backoff_delay(attempt, base=base, cap=cap, rand=rand)
    ceiling = cap if attempt >= 5 else base * 2**attempt
    assert 0.0 <= delay <= cap
    assert delay == pytest.approx(rand * ceiling)


async def test_retries_of_a_persistent_outage_back_off_within_bounds_and_then_give_up() -> None:
    retries = 8
    draws = iter([0.9, 0.1, 0.5, 0.999, 0.0, 0.7, 0.3, 0.95])
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(
        scripted([status(502)], seen),
        time,
        random=lambda: next(draws),
        max_retries=retries,
        deadline_seconds=3600,  # this test is about the backoff, not the request deadline
    )
    with pytest.raises(UnavailableError):
        await http.get_json("/api/calls")
    assert len(time.delays) == retries
    for attempt, delay in enumerate(time.delays):
        assert 0.0 <= delay <= min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    # Total waiting is bounded by the caps, so an outage becomes an error promptly.
    assert sum(time.delays) <= sum(
        min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**i) for i in range(retries)
    )


# -- transport faults ------------------------------------------------------------------------------

TRANSIENT = [
    httpx2.ConnectError,
    httpx2.ReadError,
    httpx2.WriteError,
    httpx2.RemoteProtocolError,
    httpx2.ConnectTimeout,
    httpx2.ReadTimeout,
    httpx2.PoolTimeout,
]


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_connection_fault_is_retried(fault: type[httpx2.TransportError]) -> None:
    seen: list[httpx2.Request] = []
    leak = fault(f"peer reset talking to {BASE_URL}/api/calls?api_key={CANARY}")
    http = make_http(scripted([leak, leak, ok({"fine": True})], seen))
    assert await http.get_json("/api/calls") == {"fine": True}
    assert len(seen) == 3


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_persistent_connection_fault_is_unavailable_without_the_upstream_text(
    fault: type[httpx2.TransportError],
) -> None:
    seen: list[httpx2.Request] = []
    retries = 2
    leak = fault(f"connection to {BASE_URL}/api/calls?api_key={CANARY} reset")
    http = make_http(scripted([leak], seen), max_retries=retries)
    with pytest.raises(UnavailableError) as caught:
        await http.get_json("/api/calls")
    assert caught.value.reason.endswith(f"after {retries + 1} attempts")
    assert caught.value.__cause__ is None
    assert CANARY not in error_text(caught.value)
    assert BASE_HOST not in error_text(caught.value)


async def test_a_request_that_never_answers_times_out_and_is_unavailable() -> None:
    async def stall(request: httpx2.Request) -> httpx2.Response:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    http = make_http(stall, max_retries=0, timeout_seconds=0.01)
    with anyio.fail_after(5), pytest.raises(UnavailableError, match="timed out after 1 attempt"):
        await http.get_json("/api/calls")


# -- malformed bodies ------------------------------------------------------------------------------

MALFORMED = [
    b'{"items": [{"id": "c1", "text": "' + BODY_MARKER.encode(),  # truncated
    b"<html><body>" + BODY_MARKER.encode() + b"</body></html>",
    b"",
    b"\xff\xfe\x00" + BODY_MARKER.encode(),
    b"[" * 200_000,  # nesting deep enough to blow the decoder's recursion
]


@pytest.mark.parametrize("body", MALFORMED, ids=["truncated", "html", "empty", "binary", "deep"])
async def test_a_body_that_is_not_json_is_malformed_and_never_quoted(body: bytes) -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([httpx2.Response(200, content=body)], seen), max_retries=4)
    with pytest.raises(MalformedResponseError) as caught:
        await http.get_json("/api/calls")
    assert BODY_MARKER not in error_text(caught.value)
    assert "/api/calls" in str(caught.value)
    assert len(seen) == 1 + MALFORMED_RETRIES


async def test_truncated_json_is_retried_and_a_good_body_then_wins() -> None:
    payload = {"items": [{"id": "c1"}], "total": 1}
    truncated = json.dumps(payload).encode()[:-5]
    seen: list[httpx2.Request] = []
    http = make_http(scripted([httpx2.Response(200, content=truncated), ok(payload)], seen))
    assert await http.get_json("/api/calls") == payload
    assert len(seen) == 2


async def test_a_body_over_the_size_cap_is_malformed_and_not_retried() -> None:
    seen: list[httpx2.Request] = []
    cap = 1000
    http = make_http(
        scripted([httpx2.Response(200, content=b"[" + b"1," * cap + b"1]")], seen), max_body_bytes=cap
    )
    with pytest.raises(MalformedResponseError, match=f"over {cap} bytes"):
        await http.get_json("/api/calls")
    assert len(seen) == 1


# -- auth, redirects, headers ----------------------------------------------------------------------


@pytest.mark.parametrize("code", [401, 403])
async def test_an_auth_error_names_the_env_var_and_never_the_key(code: int) -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([status(code)], seen))
    with pytest.raises(AuthError) as caught:
        await http.get_json("/api/calls")
    assert KEY_VAR in str(caught.value)
    assert caught.value.status == code
    assert CANARY not in error_text(caught.value)
    assert len(seen) == 1


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirects_are_never_followed(code: int) -> None:
    seen: list[httpx2.Request] = []
    target = f"https://evil.example/steal?key={CANARY}"
    http = make_http(scripted([httpx2.Response(code, headers={"Location": target})], seen))
    with pytest.raises(ProviderError) as caught:
        await http.get_json("/api/calls")
    assert [r.url.host for r in seen] == [BASE_HOST]
    assert "redirect" in str(caught.value)
    assert "PROSPER_BASE_URL" in str(caught.value)
    assert "evil.example" not in error_text(caught.value)


async def test_requests_carry_the_versioned_user_agent_and_the_key_only_to_the_base_url() -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([ok({})], seen))
    await http.get_json("/api/calls", {"status": "completed", "page": 2, "search": None, "flag": True})
    (request,) = seen
    assert request.method == "GET"
    assert request.headers["User-Agent"] == f"call-logs-mcp/{__version__}"
    assert request.headers["Authorization"] == f"Bearer {CANARY}"
    assert (request.url.scheme, request.url.host) == ("https", BASE_HOST)
    assert request.url.path == "/base/api/calls"
    assert dict(request.url.params) == {"status": "completed", "page": "2", "flag": "true"}


async def test_the_client_closes_and_works_as_a_context_manager() -> None:
    seen: list[httpx2.Request] = []
    async with make_http(scripted([ok([])], seen)) as http:
        assert await http.get_json("/api/calls") == []
    with pytest.raises(RuntimeError):
        await http.get_json("/api/calls")


# -- secrecy in logs -------------------------------------------------------------------------------


async def test_debug_logs_carry_path_and_status_but_never_the_key_or_bodies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    leak = httpx2.ConnectError(f"cannot reach {BASE_URL}?api_key={CANARY}")
    faults: list[httpx2.Response | Exception] = [
        leak,
        status(500),
        status(429, retry_after="1"),
        httpx2.Response(200, content=BODY_MARKER.encode()),
        ok({"text": BODY_MARKER}),
    ]
    seen: list[httpx2.Request] = []
    http = make_http(scripted(faults, seen), max_retries=len(faults))
    assert await http.get_json("/api/calls", {"search": BODY_MARKER}) == {"text": BODY_MARKER}
    for code in (401, 403, 404, 302, 400):
        http = make_http(scripted([status(code)], seen))
        with pytest.raises(ProviderError):
            await http.get_json("/api/calls/abc")
    assert "/api/calls" in caplog.text
    assert "500" in caplog.text and "401" in caplog.text
    for secret in (CANARY, BODY_MARKER, "Bearer", "api_key"):
        assert secret not in caplog.text


# -- throughput limits -----------------------------------------------------------------------------


def busiest_window(times: list[float], width: float = 1.0) -> int:
    """Most request starts in any half-open window [t, t + width) (a hair narrower for float noise)."""
    ordered = sorted(times)
    return max(sum(1 for u in ordered if t <= u < t + width - 1e-9) for t in ordered)


async def test_the_rate_limit_holds_under_twenty_concurrent_callers_retries_included() -> None:
    rps, callers = 5, 20
    time = VirtualTime()
    starts: list[float] = []
    first_seen: set[str] = set()

    def handler(request: httpx2.Request) -> httpx2.Response:
        starts.append(time.now)
        caller = request.url.params["caller"]
        if caller not in first_seen and int(caller) % 4 == 0:
            first_seen.add(caller)
            return status(429)  # no hint: plain backoff, and the retry is throttled too
        return ok({"caller": caller})

    http = make_http(handler, time, requests_per_second=rps, max_concurrency=64)

    async def main() -> list[Any]:
        results: list[Any] = [None] * callers

        async def call(i: int) -> None:
            results[i] = await http.get_json("/api/calls", {"caller": i})

        async with anyio.create_task_group() as group:
            for i in range(callers):
                group.start_soon(call, i)
        return results

    results = await time.run(main)
    assert results == [{"caller": str(i)} for i in range(callers)]
    retried = len([i for i in range(callers) if i % 4 == 0])
    assert len(starts) == callers + retried
    assert busiest_window(starts) <= rps
    assert max(starts) >= (len(starts) - 1) / rps - 1e-9


async def test_a_retry_after_pauses_the_other_callers_of_the_provider_too() -> None:
    hint = 3.0
    time = VirtualTime()
    starts: list[tuple[str, float]] = []
    answers = iter([status(429, retry_after=str(int(hint)))])

    def handler(request: httpx2.Request) -> httpx2.Response:
        starts.append((request.url.params["who"], time.now))
        return next(answers, ok({}))

    http = make_http(handler, time)

    async def main() -> None:
        async def late() -> None:
            await time.sleep(1.0)
            await http.get_json("/api/calls", {"who": "late"})

        async with anyio.create_task_group() as group:
            group.start_soon(http.get_json, "/api/calls", {"who": "first"})
            group.start_soon(late)

    await time.run(main)
    assert starts[0] == ("first", 0.0)
    assert sorted(starts[1:]) == [("first", hint), ("late", hint)]


async def test_no_more_than_max_concurrency_requests_are_in_flight() -> None:
    cap, callers = 3, 12
    time = VirtualTime()
    in_flight = 0
    peak = 0

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await time.sleep(1.0)
        in_flight -= 1
        return ok({})

    http = make_http(handler, time, max_concurrency=cap)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(callers):
                group.start_soon(http.get_json, "/api/calls")

    await time.run(main)
    assert peak == cap
    assert time.now == pytest.approx(callers / cap)


async def test_urgent_requests_go_first_yet_never_past_max_concurrency() -> None:
    cap = 2
    time = VirtualTime()
    in_flight = peak = 0
    started: list[str] = []
    slots_taken = anyio.Event()

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        started.append(request.url.path.rsplit("/", 1)[-1])
        if len(started) == cap:
            slots_taken.set()
        await time.sleep(1.0)
        in_flight -= 1
        return ok({})

    http = make_http(handler, time, max_concurrency=cap)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for n in range(6):
                group.start_soon(http.get_json, f"/api/calls/d{n}")
            await slots_taken.wait()
            for n in range(3):
                group.start_soon(partial(http.get_json, f"/api/calls/u{n}", urgent=True))

    await time.run(main)
    assert peak == cap
    # Two details hold the slots; the urgent ones take the next three, in their own order.
    assert started == ["d0", "d1", "u0", "u1", "u2", "d2", "d3", "d4", "d5"]


async def test_callers_cancelled_while_waiting_for_a_connection_leave_every_slot_usable() -> None:
    time = VirtualTime()
    arrived = 0
    slots_taken = anyio.Event()

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            slots_taken.set()
        await time.sleep(1.0)
        return ok({})

    http = make_http(handler, time, max_concurrency=2)

    async def main() -> int:
        async with anyio.create_task_group() as group:
            with anyio.CancelScope() as waiting:
                async with anyio.create_task_group() as queued:
                    for n in range(8):
                        queued.start_soon(partial(http.get_json, f"/api/calls/{n}", urgent=n % 2 == 0))
                    await slots_taken.wait()
                    waiting.cancel()
            answered = 0

            async def one() -> None:
                nonlocal answered
                await http.get_json("/api/calls/after")
                answered += 1

            for _ in range(4):
                group.start_soon(one)
        return answered

    assert await time.run(main) == 4
    assert arrived == 2 + 4  # the cancelled ones never went out
    assert time.now == pytest.approx(2.0)  # two slots, two rounds: none was lost


# -- paths -----------------------------------------------------------------------------------------

HOSTILE_IDS = [
    "../x",
    "..",
    ".",
    "a/b",
    "%2e%2e%2f",
    "%2e%2e",
    "%252e%252e",
    "..\\x",
    "a\\b",
    "a\x00b",
    "a#frag",
    "a?x=1",
    "//evil",
    "http://x",
    "https://evil.example/x",
    "",
    " ",
    "\t\n",
    " padded ",
    "a\rb",
    "\x7f",
    "\u0085",
    "\ud800",
    "x" * 201,
    "x" * 100_000,
]


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_a_hostile_id_is_never_a_path_segment(value: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        path_segment(value)
    if len(value.strip()) > 2:
        assert value not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("call_123", "call_123"),
        ("7f3a-9c2e", "7f3a-9c2e"),
        ("a b", "a%20b"),
        ("é", "%C3%A9"),
        ("a:b@c", "a%3Ab%40c"),
        ("x" * 200, "x" * 200),
    ],
)
def test_an_ordinary_id_is_encoded_as_exactly_one_segment(value: str, encoded: str) -> None:
    assert path_segment(value) == encoded


@pytest.mark.parametrize("value", ["call_1", "a b", "é", "a:b@c"])
async def test_an_encoded_id_reaches_the_platform_as_one_segment_under_the_base_url(value: str) -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([ok({})], seen))
    await http.get_json(f"/api/calls/{path_segment(value)}")
    (request,) = seen
    assert request.url.host == BASE_HOST
    assert request.url.raw_path.decode() == f"/base/api/calls/{path_segment(value)}"


HOSTILE_PATHS = [
    "http://evil.example/x",
    "https://api.example.test/base/api/calls",  # even our own host: paths only
    "//evil.example/x",
    "///x",
    "api/calls",
    "",
    "/api/../admin",
    "/api/./calls",
    "/api/%2e%2e/admin",
    "/api/%2E%2E/admin",
    "/api/%252e%252e/admin",
    "/api/a%2fb",
    "/api/a%5cb",
    "/api\\..\\admin",
    "/api//calls",
    "/api/calls?x=1",
    "/api/calls#frag",
    "/api/a\x00b",
    "/api/a%00b",
    "/api/a b",
    "/api/é",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
async def test_only_plain_paths_under_the_base_url_are_requested(path: str) -> None:
    seen: list[httpx2.Request] = []
    http = make_http(scripted([ok({})], seen))
    with pytest.raises(InvalidArgumentError):
        await http.get_json(path)
    assert seen == []


# -- the request deadline --------------------------------------------------------------------------


async def test_a_persistent_outage_gives_up_before_the_request_deadline() -> None:
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(
        scripted([status(503)], seen), time, random=lambda: 0.999, max_retries=10, deadline_seconds=5
    )
    with pytest.raises(UnavailableError):
        await http.get_json("/api/calls")
    assert time.now < 5, "no wait runs past the deadline"
    assert len(seen) < 11, "the deadline, not the retry count, ended it"
    assert len(seen) == len(time.delays) + 1


async def test_a_retry_after_past_the_request_deadline_fails_fast_with_the_hint() -> None:
    seen: list[httpx2.Request] = []
    time = SteppingTime()
    http = make_http(
        scripted([status(429, retry_after="4")], seen),
        time,
        max_retry_wait_seconds=60,
        deadline_seconds=6,
    )
    with pytest.raises(RateLimitedError) as caught:
        await http.get_json("/api/calls")
    assert time.delays == [4.0]
    assert len(seen) == 2
    assert caught.value.retry_after == 4.0


class RealTime:
    def clock(self) -> float:
        import time

        return time.monotonic()

    async def sleep(self, delay: float) -> None:
        await anyio.sleep(delay)


async def test_a_platform_that_never_answers_is_an_error_within_the_deadline_not_a_hang() -> None:
    calls = 0

    async def hang(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    http = make_http(hang, RealTime(), timeout_seconds=20, deadline_seconds=0.3)  # type: ignore[arg-type]
    with anyio.fail_after(10), pytest.raises(UnavailableError, match="timed out"):
        await http.get_json("/api/calls")
    assert calls >= 1


@pytest.mark.parametrize(("pause", "second_waits"), [(5, True), (12, False)])
async def test_a_caller_queued_behind_a_retry_after_pause_waits_only_if_it_ends_before_its_deadline(
    pause: int, second_waits: bool
) -> None:
    time = VirtualTime()
    answers = iter([status(429, retry_after=str(pause))])

    def handler(request: httpx2.Request) -> httpx2.Response:
        return next(answers, ok({"t": time.now}))

    http = make_http(handler, time, deadline_seconds=8, max_retry_wait_seconds=60)
    outcomes: dict[str, Any] = {}

    async def caller(name: str, start: float) -> None:
        await time.sleep(start)
        try:
            outcomes[name] = await http.get_json("/api/calls")
        except RateLimitedError as exc:
            outcomes[name] = exc

    async def both() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(caller, "first", 0.0)
            group.start_soon(caller, "second", 1.0)  # arrives while the platform's pause runs

    await time.run(both)
    if second_waits:
        assert outcomes["second"] == {"t": pause}
    else:
        assert isinstance(outcomes["second"], RateLimitedError)
        assert outcomes["second"].retry_after == pause - 1
