"""Configuration, built once at the edge (CLI) and passed down. Nothing reads the environment
at import; tests build `Settings(...)` directly.

Provider settings follow one convention derived from the registry name, so a new platform needs
no new fields here: `{NAME}_API_KEY` (enables it), `{NAME}_BASE_URL`, `{NAME}_AUTH_HEADER`,
`{NAME}_RATE_LIMIT` (requests/second), `{NAME}_MAX_CONCURRENCY`, `{NAME}_TIMEOUT`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from call_logs_mcp.errors import ConfigurationError


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


class Settings(BaseSettings):
    """Server settings. `CALL_LOGS_*` variables; providers via `provider_configs_from_env`."""

    model_config = SettingsConfigDict(env_prefix="CALL_LOGS_", extra="ignore", frozen=True)

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    db: Path | None = None  # CALL_LOGS_DB; None: the user data dir
    max_output_chars: int = Field(default=24_000, ge=2_000, le=1_000_000)
    freshness_seconds: float = Field(default=300.0, ge=0)
    # Longest a tool answer waits for a sync of a stale scope: a first sync of a large account takes
    # far longer than any client waits for a tool. What was synced stays; the next call continues.
    sync_budget_seconds: float = Field(default=25.0, gt=0, le=3600)
    redact: bool = True
    demo: bool = False
    http_token: SecretStr | None = None
    log_level: str = "INFO"
    # Tool calls per client per minute on the HTTP transport (0 disables the limit).
    tool_calls_per_minute: int = Field(default=120, ge=0)

    def db_path(self) -> Path:
        if self.db is not None:
            return self.db
        import platformdirs

        return Path(platformdirs.user_data_dir("call-logs-mcp")) / "calls.db"


def provider_configs_from_env(environ: Mapping[str, str] | None = None) -> dict[str, ProviderConfig]:
    """Every registered provider whose `{NAME}_API_KEY` is set and non-empty.

    Raises ConfigurationError naming the variable when a numeric setting is not a number.
    """
    from call_logs_mcp.providers import PROVIDERS

    env = os.environ if environ is None else environ
    configs: dict[str, ProviderConfig] = {}
    for name in PROVIDERS:
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
        ):
            raw = env.get(f"{prefix}_{suffix}", "").strip()
            if raw:
                values[field] = raw
        try:
            configs[name] = ProviderConfig.model_validate(values)
        except ValidationError as exc:
            bad = sorted({str(err["loc"][0]) for err in exc.errors()})
            raise ConfigurationError(
                f"Invalid setting for {name}: {', '.join(bad) or 'unknown field'}; "
                f"check the {prefix}_* environment variables."
            ) from None
    return configs


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment (the CLI's one call), with explicit overrides on top."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {"providers": provider_configs_from_env(env)}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
