"""Shared HTTP plumbing: one `httpx2.AsyncClient` per provider. THE place for HTTP policy.

Explicit timeouts (per operation, and `config.timeout_seconds` for a whole attempt), no redirects
followed, a versioned User-Agent, bodies capped at `MAX_BODY_BYTES` (error bodies are never read). Only
GETs, and POSTs of read-only queries that take a JSON body (`post_json`: a platform whose listing is
a POST, such as Retell's `/v3/list-calls`), only to paths under the configured base URL.

Retry policy (`ProviderHttp.get_json`, and `post_json` alike), at most `1 + config.max_retries` attempts:

    outcome                                  retried?          finally raises
    2xx + JSON                               -                 (returns the JSON)
    2xx, not JSON / truncated / too deep     yes, at most 2x   MalformedResponseError (body never quoted)
    3xx                                      no, not followed  RequestRejectedError "redirect ... X_BASE_URL"
    401, 403                                 no                AuthError naming the key env var
    404                                      no                NotFoundError
    408, 5xx                                 yes               UnavailableError("HTTP 503 after N attempts")
    429                                      yes               RateLimitedError(retry_after=last hint or None)
    other 4xx (400, 422, ...)                no                RequestRejectedError "rejected (HTTP n)"
    timeout, connect/read error, reset       yes               UnavailableError("... after N attempts")
    body over MAX_BODY_BYTES                 no                MalformedResponseError

Malformed bodies are retried (truncated JSON is usually a transient proxy/network fault) but only
`MALFORMED_RETRIES` times, so a base URL that serves HTML with 200 fails fast.

Waits: capped exponential backoff with full jitter (`backoff_delay`, first step
`config.retry_backoff_seconds`). A `Retry-After` on 429/503
(`parse_retry_after`: delta-seconds or HTTP-date; garbage, negative, nan, inf fall back to
backoff) is honoured exactly, and pauses the other requests of this provider too. When one hint,
or the sum of the hinted waits in one call, would exceed `config.max_retry_wait_seconds`, the call
fails fast: `RateLimitedError(retry_after=hint)` for 429. So no call hangs on a hostile hint.

Throughput: at most `config.max_concurrency` requests in flight (`urgent=True` requests, which
adapters pass for listing pages, take the next free slot before waiting non-urgent ones, so a
sync's listing never queues behind its own detail fetches), and with
`config.requests_per_second` set, request starts are spaced at least `1/rps` apart (retries too),
which holds under any number of concurrent callers. All sleeping goes through the injectable
`sleep`/`clock`, so tests run on virtual time.

Secrets: the API key lives only in the client's default headers. Logs (DEBUG) carry provider,
method, path, status and attempt only; never headers, query strings or bodies. Upstream exception
text (which can contain URLs) is never chained into our errors (`from None`).
"""

from __future__ import annotations

import json
import logging
import math
import random as _random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

import anyio
import anyio.lowlevel
import httpx2

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
from call_logs_mcp.providers.config import ProviderConfig

logger = logging.getLogger(__name__)

# httpx2 logs every request URL at INFO (query strings carry users' search text, some platforms
# accept keys in the query) and httpcore2 logs response headers at DEBUG. Whatever level the root
# logger is set to, they stay at WARNING; our own DEBUG lines say what is safe to say.
for _noisy in ("httpx2", "httpcore2"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

USER_AGENT = f"call-logs-mcp/{__version__}"

QueryParams = Mapping[str, str | int | float | bool | None]

BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0
MALFORMED_RETRIES = 2
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_PATH_LENGTH = 2048

_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait according to a `Retry-After` header value, or None when unusable.

    Accepts delta-seconds (`"120"`, leniently `"1.5"`) and HTTP-dates (an HTTP-date in the past
    means 0.0). None, empty, negative, `nan`, `inf`, overflowing numbers and garbage give None so
    the caller falls back to its own backoff. `now` is the current time (aware; naive = UTC).
    """
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        delta = (when - now).total_seconds()
    except OverflowError:
        return None
    return max(0.0, delta) if math.isfinite(delta) else None


def backoff_delay(attempt: int, *, base: float, cap: float, rand: float) -> float:
    """Full-jitter exponential backoff: `rand * min(cap, base * 2**attempt)`, within [0, cap].

    `attempt` counts retries from 0; `rand` is a uniform draw from [0, 1) (clamped).
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempt, 0), 62))
    return max(0.0, min(1.0, rand)) * max(0.0, ceiling)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _base_url_env_var(key_env_var: str) -> str:
    if key_env_var.endswith("_API_KEY"):
        return key_env_var.removesuffix("_API_KEY") + "_BASE_URL"
    return "the base URL setting"


def _path_is_safe(path: str) -> bool:
    """True for a plain absolute path (`/a/b`), every segment free of traversal tricks."""
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or path.startswith("//")
        or len(path) > MAX_PATH_LENGTH
        or not path.isascii()
        or any(ch in path for ch in "\\?#")
        or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in path)
        or "%25" in path.lower()  # a double-encoded escape: path_segment never emits one
    ):
        return False
    segments = path[1:].split("/")
    for index, segment in enumerate(segments):
        if not segment and index != len(segments) - 1:
            return False  # `//` inside the path
        decoded = unquote(segment)
        if decoded in {".", ".."} or any(ch in decoded for ch in "/\\") or not decoded.isprintable():
            return False
    return True


class _BodyTooLarge(Exception):
    pass


class _Slots:
    """At most `capacity` holders; a freed slot goes to the longest-waiting urgent request, else
    to the longest-waiting other one (FIFO within each class)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._urgent: deque[anyio.Event] = deque()
        self._normal: deque[anyio.Event] = deque()

    async def acquire(self, urgent: bool) -> None:
        """Wait for a slot. Cancellable while waiting; a slot handed over as it is cancelled is
        passed on, never lost."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        ahead = self._urgent if urgent else (self._urgent or self._normal)
        if self.in_use < self.capacity and not ahead:
            self.in_use += 1
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return
        event = anyio.Event()
        queue = self._urgent if urgent else self._normal
        queue.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():
                self.release()  # ours already: pass it on
            else:
                queue.remove(event)
            raise

    def release(self) -> None:
        # The slot passes straight to the next waiter, so nobody can overtake it in between.
        queue = self._urgent or self._normal
        if queue:
            queue.popleft().set()
        else:
            self.in_use -= 1


class ProviderHttp:
    """GET JSON from one platform. Raises the `ProviderError` subclasses named in `errors`.

    `sleep`, `clock` (monotonic seconds), `wall_clock` (aware now, for HTTP-date Retry-After) and
    `random` (uniform [0, 1)) are injectable so tests run on virtual time and assert the waits.
    """

    def __init__(
        self,
        *,
        provider: str,
        config: ProviderConfig,
        base_url: str,
        auth_header: str,
        auth_value: str,
        key_env_var: str,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utcnow,
        random: Callable[[], float] = _random.random,
        backoff_base: float | None = None,
        backoff_cap: float = BACKOFF_CAP_SECONDS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.provider = provider
        self.config = config
        self.key_env_var = key_env_var
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._random = random
        self._backoff_base = config.retry_backoff_seconds if backoff_base is None else backoff_base
        self._backoff_cap = backoff_cap
        self._max_body_bytes = max_body_bytes
        self._slots = _Slots(config.max_concurrency)
        rps = config.requests_per_second
        self._interval = 1.0 / rps if rps else 0.0
        self._next_slot = -math.inf
        self._paused_until = -math.inf
        self._client = httpx2.AsyncClient(
            base_url=base_url,
            headers={auth_header: auth_value, "User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=httpx2.Timeout(config.timeout_seconds, connect=min(10.0, config.timeout_seconds)),
            limits=httpx2.Limits(max_connections=config.max_concurrency),
            follow_redirects=False,
            transport=transport,
        )
        base = self._client.base_url
        self._base = (base.scheme, base.host, base.port, base.raw_path)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def get_json(self, path: str, params: QueryParams | None = None, *, urgent: bool = False) -> Any:
        """The decoded JSON body of `GET path?params` (None-valued params are dropped).

        `urgent=True` (listing pages) takes the next free connection slot before the non-urgent
        requests already waiting for one; `config.max_concurrency` still caps requests in
        flight, and the rate limit applies as to any other request.

        `path` must be a plain path under the base URL (`/api/calls/<path_segment(id)>`).
        Raises InvalidArgumentError for any other path (absolute URLs, `//host`, traversal; nothing
        is sent), AuthError (401/403), NotFoundError (404, `what` = "resource at <path>"),
        RateLimitedError (429 beyond the retry budget or a Retry-After over the cap),
        UnavailableError (5xx/408/transport errors after the retries), MalformedResponseError
        (not JSON; the body is never quoted) and RequestRejectedError (3xx not followed, other
        4xx; carries `status`).
        """
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return await self._json(self._build_request(path, clean), path, urgent)

    async def post_json(self, path: str, body: Mapping[str, Any], *, urgent: bool = False) -> Any:
        """The decoded JSON body of `POST path` with `body` as JSON: for read-only queries a
        platform takes as a POST (a listing with a filter body). Retried, throttled and mapped to
        errors exactly as `get_json` (the request changes nothing upstream); raises the same.
        """
        return await self._json(self._build_request(path, {}, method="POST", body=body), path, urgent)

    async def _json(self, request: httpx2.Request, path: str, urgent: bool) -> Any:
        method = request.method
        attempts = self.config.max_retries + 1
        malformed_left = min(MALFORMED_RETRIES, self.config.max_retries)
        hinted_wait = 0.0
        skip_pause = False
        # Everything counts against the deadline, waiting for a slot included: a caller waits for
        # an answer, whatever it is waiting on.
        deadline = self._clock() + self.config.deadline_seconds
        for attempt in range(1, attempts + 1):
            failure, status, hint, body = await self._attempt(
                request, path, attempt, attempts, skip_pause, deadline, urgent
            )
            skip_pause = False
            if failure is None:
                assert body is not None
                try:
                    return json.loads(body)
                except (ValueError, RecursionError):
                    if malformed_left == 0 or attempt == attempts:
                        raise MalformedResponseError(
                            self.provider, f"invalid JSON from {method} {path}"
                        ) from None
                    malformed_left -= 1
                    failure = "malformed"
            if attempt == attempts:
                raise self._final_error(failure, status, hint, attempt)
            if hint is not None:
                if hint > self.config.max_retry_wait_seconds or (
                    hinted_wait + hint > self.config.max_retry_wait_seconds
                ):
                    logger.debug(
                        "%s %s %s: Retry-After %.1f s is over the wait budget; failing fast",
                        self.provider,
                        method,
                        path,
                        hint,
                    )
                    raise self._final_error(failure, status, hint, attempt, fail_fast=True)
                delay = hint
                hinted_wait += hint
                # Everyone else on this provider waits too; this caller has waited already.
                self._paused_until = max(self._paused_until, self._clock() + hint)
                skip_pause = True
            else:
                delay = backoff_delay(
                    attempt - 1, base=self._backoff_base, cap=self._backoff_cap, rand=self._random()
                )
            if self._clock() + delay >= deadline:
                logger.debug(
                    "%s %s %s: no time left for a retry within the deadline", self.provider, method, path
                )
                raise self._final_error(failure, status, hint, attempt, fail_fast=hint is not None)
            logger.debug(
                "%s %s %s: %s on attempt %d/%d; retrying in %.2f s",
                self.provider,
                method,
                path,
                failure,
                attempt,
                attempts,
                delay,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- internals ---------------------------------------------------------------------------

    def _build_request(
        self,
        path: str,
        params: dict[str, str | int | float | bool],
        *,
        method: str = "GET",
        body: Mapping[str, Any] | None = None,
    ) -> httpx2.Request:
        refused = InvalidArgumentError(
            f"Refusing to request a path outside the configured {self.provider} base URL."
        )
        if not _path_is_safe(path):
            raise refused
        try:
            request = self._client.build_request(method, path, params=params, json=body)
        except (httpx2.InvalidURL, ValueError, TypeError):
            raise refused from None
        url = request.url
        scheme, host, port, raw_path = self._base
        if (url.scheme, url.host, url.port) != (scheme, host, port) or not url.raw_path.startswith(raw_path):
            raise refused
        return request

    async def _attempt(
        self,
        request: httpx2.Request,
        path: str,
        attempt: int,
        attempts: int,
        skip_pause: bool,
        deadline: float,
        urgent: bool = False,
    ) -> tuple[str | None, int | None, float | None, bytes | None]:
        """One throttled send before `deadline`: (failure kind or None, status, Retry-After hint,
        2xx body).

        Raises the non-retryable errors directly, and RateLimitedError when this request's start
        slot (a Retry-After pause, or the client-side rate limit) lies past the deadline.
        """
        with anyio.move_on_after(max(0.0, deadline - self._clock())) as queued:
            await self._slots.acquire(urgent)
        if queued.cancelled_caught:
            logger.debug(
                "%s %s %s: no free connection before the deadline", self.provider, request.method, path
            )
            return "timed out waiting for a free connection", None, None, None
        try:
            if self._clock() >= deadline:
                # The slot came as the deadline passed: that is a wait for a connection, not a
                # rate limit (which `_throttle` would report).
                return "timed out waiting for a free connection", None, None, None
            await self._throttle(skip_pause, deadline)
            timeout = min(self.config.timeout_seconds, deadline - self._clock())
            if timeout <= 0:
                return "timed out", None, None, None
            try:
                with anyio.fail_after(timeout):
                    status, headers, body = await self._send(request)
            except (TimeoutError, httpx2.TimeoutException):
                logger.debug(
                    "%s %s %s: timed out (attempt %d/%d)",
                    self.provider,
                    request.method,
                    path,
                    attempt,
                    attempts,
                )
                return "timed out", None, None, None
            except (httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                logger.debug(
                    "%s %s %s: %s (attempt %d/%d)",
                    self.provider,
                    request.method,
                    path,
                    type(exc).__name__,
                    attempt,
                    attempts,
                )
                return "connection failed", None, None, None
            except _BodyTooLarge:
                raise MalformedResponseError(
                    self.provider, f"response to {request.method} {path} is over {self._max_body_bytes} bytes"
                ) from None
            except httpx2.DecodingError:
                raise MalformedResponseError(
                    self.provider, f"undecodable body from {request.method} {path}"
                ) from None
            except httpx2.RequestError:
                raise UnavailableError(self.provider, "request failed") from None
        finally:
            self._slots.release()
        logger.debug(
            "%s %s %s -> %d (attempt %d/%d)", self.provider, request.method, path, status, attempt, attempts
        )
        if 200 <= status < 300:
            return None, status, None, body
        if status == 429 or status == 408 or 500 <= status < 600:
            hint = None
            if status in (429, 503):
                hint = parse_retry_after(headers.get("retry-after"), self._wall_clock())
            return f"HTTP {status}", status, hint, None
        raise self._status_error(status, path)

    async def _throttle(self, skip_pause: bool, deadline: float) -> None:
        """Wait for this request's start slot (rate limit and Retry-After pause).

        Raises RateLimitedError, reserving nothing, when the slot lies past `deadline`.
        """
        now = self._clock()
        start = now if skip_pause else max(now, self._paused_until)
        if self._interval:
            start = max(start, self._next_slot)
        if start >= deadline:
            raise RateLimitedError(self.provider, start - now)
        if self._interval:
            # Reserve synchronously (no await in between), so concurrent callers get distinct slots.
            self._next_slot = start + self._interval
        if start > now:
            await self._sleep(start - now)

    async def _send(self, request: httpx2.Request) -> tuple[int, httpx2.Headers, bytes | None]:
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            if not 200 <= status < 300:
                return status, response.headers, None  # error bodies are never read
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_body_bytes:
                    raise _BodyTooLarge
                chunks.append(chunk)
            return status, response.headers, b"".join(chunks)
        finally:
            await response.aclose()

    def _status_error(self, status: int, path: str) -> ProviderError:
        if status in (401, 403):
            return AuthError(self.provider, self.key_env_var, status)
        if status == 404:
            return NotFoundError(self.provider, f"resource at {path}")
        if 300 <= status < 400:
            return RequestRejectedError(
                self.provider,
                f"{self.provider} answered with a redirect (HTTP {status}), which is not followed; "
                f"check {_base_url_env_var(self.key_env_var)}.",
                status,
            )
        if 400 <= status < 500:
            return RequestRejectedError(
                self.provider, f"{self.provider} rejected the request (HTTP {status}).", status
            )
        return UnavailableError(self.provider, f"unexpected HTTP {status}")

    def _final_error(
        self,
        failure: str,
        status: int | None,
        hint: float | None,
        attempt: int,
        *,
        fail_fast: bool = False,
    ) -> ProviderError:
        if status == 429:
            return RateLimitedError(self.provider, hint)
        if failure == "malformed":
            return MalformedResponseError(self.provider, "invalid JSON")
        if fail_fast and hint is not None:
            return UnavailableError(self.provider, f"{failure}, asked to retry in {max(1, round(hint))} s")
        noun = "attempt" if attempt == 1 else "attempts"
        return UnavailableError(self.provider, f"{failure} after {attempt} {noun}")
