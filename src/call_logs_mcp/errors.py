"""One exception tree for the whole server.

    CallLogsError                      every error we raise on purpose; its message is ours
    ├── ConfigurationError             no provider configured, unknown provider, bad setting
    ├── InvalidArgumentError           bad user input (dates, ids, cursors, limits)
    │   └── UnknownFieldError          a find_calls condition on a field no indexed call has
    ├── StoreError                     the local index cannot be read or written
    └── ProviderError                  something about one platform (carries `provider`)
        ├── AuthError                  401/403: names the env var holding the key
        ├── NotFoundError              404 on a detail request (after every fallback)
        ├── RateLimitedError           429 beyond the retry budget: carries `retry_after`
        ├── UnavailableError           5xx, timeouts, connection errors after retries
        ├── MalformedResponseError     a body we cannot parse (the body is never included)
        ├── RequestRejectedError       another 4xx, or a redirect we do not follow: carries `status`
        └── UnsupportedError           the platform cannot answer this (e.g. no campaign list)

Messages are templates filled with our own values (provider names, env var names, ids we
validated, numbers). They never contain upstream bodies, transcript text or secrets, which is
what lets the MCP layer pass `str(error)` to the model verbatim.
"""

from __future__ import annotations


class CallLogsError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(CallLogsError):
    pass


class InvalidArgumentError(CallLogsError):
    pass


class UnknownFieldError(InvalidArgumentError):
    pass


class StoreError(CallLogsError):
    pass


class ProviderError(CallLogsError):
    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


class AuthError(ProviderError):
    def __init__(self, provider: str, env_var: str, status: int | None = None) -> None:
        code = f" (HTTP {status})" if status else ""
        super().__init__(
            provider,
            f"{provider} rejected the API key{code}. Check that {env_var} holds a valid key "
            f"with read access to call logs.",
        )
        self.env_var = env_var
        self.status = status


class NotFoundError(ProviderError):
    def __init__(self, provider: str, what: str, message: str | None = None) -> None:
        super().__init__(provider, message or f"{provider} has no {what}.")
        self.what = what


class RateLimitedError(ProviderError):
    def __init__(self, provider: str, retry_after: float | None) -> None:
        if retry_after is None:
            hint = "retry in a little while"
        else:
            hint = f"retry in {max(1, round(retry_after))} s"
        super().__init__(provider, f"{provider} is rate limiting requests; {hint}.")
        self.retry_after = retry_after


class UnavailableError(ProviderError):
    def __init__(self, provider: str, reason: str) -> None:
        # `reason` is ours: e.g. "HTTP 503 after 4 attempts" or "connection failed".
        super().__init__(provider, f"{provider} is unavailable ({reason}); try again later.")
        self.reason = reason


class MalformedResponseError(ProviderError):
    def __init__(self, provider: str, where: str) -> None:
        super().__init__(provider, f"{provider} sent a response we could not read ({where}).")
        self.where = where


class RequestRejectedError(ProviderError):
    def __init__(self, provider: str, message: str, status: int) -> None:
        super().__init__(provider, message)
        self.status = status


class UnsupportedError(ProviderError):
    pass
