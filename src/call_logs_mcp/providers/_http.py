"""Shared HTTP plumbing: one `httpx2.AsyncClient` per provider.

Explicit timeouts, no redirects followed, a versioned User-Agent. GETs are retried on 408/429/5xx
and connection errors with capped exponential backoff and full jitter; `Retry-After` (seconds or
HTTP date) is honoured up to `ProviderConfig.max_retry_wait_seconds`, beyond which the request
fails fast with `RateLimitedError(retry_after=N)`. A per-provider concurrency cap and an optional
client-side rate limit (requests/second). HTTP status maps to typed errors here, once.

Secrets: the API key lives only in the client's default headers; it is never logged, never put in
an error, and requests only ever go to the configured base URL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx2

from call_logs_mcp import __version__
from call_logs_mcp.errors import (
    AuthError,
    InvalidArgumentError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from call_logs_mcp.settings import ProviderConfig

logger = logging.getLogger(__name__)

USER_AGENT = f"call-logs-mcp/{__version__}"

QueryParams = Mapping[str, str | int | float | bool | None]


def path_segment(value: str, *, what: str = "call id") -> str:
    """`value` validated and percent-encoded as exactly one URL path segment.

    Raises InvalidArgumentError for empty values, `.`/`..`, anything with `/`, `\\`, control
    characters or percent-escapes (so `%2e%2e` cannot be decoded into a traversal upstream).
    """
    if (
        not isinstance(value, str)
        or not value.strip()
        or value in {".", ".."}
        or len(value) > 200
        or any(ch in value for ch in "/\\%?#")
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        raise InvalidArgumentError(
            f"Invalid {what}: use the id exactly as list_calls returned it "
            "(no '/', '\\', '%', '?', '#', control characters; not '.' or '..')."
        )
    return quote(value, safe="")


class ProviderHttp:
    """GET JSON from one platform. Raises the `ProviderError` subclasses named in `errors`."""

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
    ) -> None:
        self.provider = provider
        self.config = config
        self.key_env_var = key_env_var
        self._client = httpx2.AsyncClient(
            base_url=base_url,
            headers={auth_header: auth_value, "User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=httpx2.Timeout(config.timeout_seconds, connect=min(10.0, config.timeout_seconds)),
            follow_redirects=False,
            transport=transport,
        )

    async def get_json(self, path: str, params: QueryParams | None = None) -> Any:
        """The decoded JSON body of `GET path?params` (None-valued params are dropped).

        Raises AuthError (401/403), NotFoundError (404, `what` = "resource at <path>"),
        RateLimitedError, UnavailableError, MalformedResponseError (not JSON; body never quoted).
        """
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.get(path, params=clean)
        except httpx2.TransportError:
            raise UnavailableError(self.provider, "connection failed") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(self.provider, self.key_env_var, status)
        if status == 404:
            raise NotFoundError(self.provider, "such record")
        if status == 429:
            raise RateLimitedError(self.provider, None)
        if status >= 400:
            raise UnavailableError(self.provider, f"HTTP {status}")
        try:
            return response.json()
        except ValueError:
            raise MalformedResponseError(self.provider, f"invalid JSON from GET {path}") from None

    async def aclose(self) -> None:
        await self._client.aclose()
