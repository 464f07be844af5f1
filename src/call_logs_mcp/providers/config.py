"""How to reach one platform account, and the `{NAME}_*` environment convention.

Platform settings follow one convention derived from the platform name, so a new platform needs
no new fields anywhere: `{NAME}_API_KEY` (enables it), `{NAME}_BASE_URL`, `{NAME}_AUTH_HEADER`,
`{NAME}_RATE_LIMIT` (requests/second), `{NAME}_MAX_CONCURRENCY`, `{NAME}_TIMEOUT`, and
`{NAME}_ALLOW_HTTP=1`, without which a plain-`http` base URL is accepted for loopback hosts only
(the key travels in every request).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from call_logs_mcp.errors import ConfigurationError
from call_logs_mcp.listen import is_loopback

_CLEAR_TEXT = "a plain-http base URL sends the API key in clear text"


class ProviderConfig(BaseModel):
    """How to reach one platform account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    api_key: SecretStr
    base_url: str | None = None  # None: the adapter's documented production host
    auth_header: str | None = None  # None: the adapter's default (Authorization: Bearer)
    requests_per_second: float | None = Field(default=None, gt=0)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    # Longest Retry-After we are willing to wait inside one request before failing fast.
    max_retry_wait_seconds: float = Field(default=10.0, ge=0)
    # Longest one request may take from its first send, every attempt and wait between them
    # included: a platform that hangs or keeps failing gives an error within it, not a stuck tool.
    deadline_seconds: float = Field(default=6.0, gt=0, le=3600)
    # First backoff step between retries without a Retry-After (doubles per retry, full jitter).
    retry_backoff_seconds: float = Field(default=0.25, ge=0, le=60)
    # {NAME}_ALLOW_HTTP=1: accept a plain-http base URL on a non-loopback host (a TLS-terminating
    # proxy on a trusted network, say). Without it only https, or http to loopback, is accepted.
    allow_plain_http: bool = False

    @model_validator(mode="after")
    def _key_never_in_clear_text(self) -> ProviderConfig:
        if self.base_url and not self.allow_plain_http:
            try:
                parts = urlsplit(self.base_url.strip())
                host = parts.hostname or ""
            except ValueError:
                return self  # the HTTP layer reports an unusable URL by itself
            if parts.scheme.lower() == "http" and not is_loopback(host):
                raise ValueError(_CLEAR_TEXT)
        return self


def provider_configs_from_env(environ: Mapping[str, str] | None = None) -> dict[str, ProviderConfig]:
    """Every platform in `PLATFORMS` whose `{NAME}_API_KEY` is set and non-empty.

    Raises ConfigurationError naming the variable when a numeric setting is not a number.
    """
    from call_logs_mcp.providers import PLATFORMS

    env = os.environ if environ is None else environ
    configs: dict[str, ProviderConfig] = {}
    for name in PLATFORMS:
        prefix = name.upper()
        key = env.get(f"{prefix}_API_KEY", "").strip()
        if not key:
            continue
        values: dict[str, object] = {"name": name, "api_key": SecretStr(key)}
        for field, suffix in (
            ("base_url", "BASE_URL"),
            ("auth_header", "AUTH_HEADER"),
            ("requests_per_second", "RATE_LIMIT"),
            ("max_concurrency", "MAX_CONCURRENCY"),
            ("timeout_seconds", "TIMEOUT"),
            ("allow_plain_http", "ALLOW_HTTP"),
        ):
            raw = env.get(f"{prefix}_{suffix}", "").strip()
            if raw:
                values[field] = raw
        try:
            configs[name] = ProviderConfig.model_validate(values)
        except ValidationError as exc:
            if any(_CLEAR_TEXT in str(err.get("msg", "")) for err in exc.errors()):
                raise ConfigurationError(
                    f"{prefix}_BASE_URL uses plain http to a host other than this machine: {_CLEAR_TEXT}. "
                    f"Use https, or set {prefix}_ALLOW_HTTP=1 if this is intended (a trusted network)."
                ) from None
            bad = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
            raise ConfigurationError(
                f"Invalid setting for {name}: {', '.join(bad) or 'unknown field'}; "
                f"check the {prefix}_* environment variables."
            ) from None
    return configs


def account_id(config: ProviderConfig) -> str:
    """A stable, non-reversible id of the platform account `config` points at: HMAC-SHA256
    keyed by the API key over the provider name and base URL (16 hex chars)."""
    base = (config.base_url or "").strip().rstrip("/").lower()
    if not base:
        try:
            from call_logs_mcp.providers import platform

            base = platform(config.name).info.default_base_url.rstrip("/").lower()
        except Exception:  # an unknown or unimportable platform: the key alone still scopes
            base = ""
    message = f"{config.name}\n{base}".encode()
    key = config.api_key.get_secret_value().encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def accounts_for(configs: Mapping[str, ProviderConfig]) -> dict[str, str]:
    """The AccountScope of a set of provider configs (e.g. `settings.providers`)."""
    return {name: account_id(config) for name, config in configs.items()}
