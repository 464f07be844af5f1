"""Configuration, built once at the edge (CLI) and passed down. Nothing reads the environment
at import; tests build `Settings(...)` directly.

Platform settings (`{NAME}_*`) are read by `providers.config.provider_configs_from_env`, which
knows the platform list; this module does not (the CLI passes its result in as `providers`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from call_logs_mcp.providers.config import ProviderConfig


class Settings(BaseSettings):
    """Server settings. `CALL_LOGS_*` variables; providers via `provider_configs_from_env`."""

    # An empty variable is an unset one (a host fills every variable of its config, empty ones too).
    model_config = SettingsConfigDict(
        env_prefix="CALL_LOGS_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    db: Path | None = None  # CALL_LOGS_DB; None: the user data dir
    # CALL_LOGS_DATABASE_URL: postgresql://… selects a PostgreSQL index shared by replicas (then
    # CALL_LOGS_DB is unused). It holds a password: never logged, shown or quoted in an error.
    database_url: SecretStr | None = None
    max_output_chars: int = Field(default=24_000, ge=2_000, le=1_000_000)
    freshness_seconds: float = Field(default=300.0, ge=0)
    # Longest a tool answer waits for the sync of a stale scope before it answers from what is
    # indexed (saying so): syncs run in the background and go on after the answer.
    wait_seconds: float = Field(default=3.0, ge=0, le=600)
    # CALL_LOGS_CAMPAIGNS: a TOML file naming campaigns per platform (see core.directory).
    campaigns: Path | None = None
    redact: bool = True
    demo: bool = False
    http_token: SecretStr | None = None
    log_level: str = "INFO"
    # Tool calls per client per minute on the HTTP transport (0 disables the limit).
    tool_calls_per_minute: int = Field(default=120, ge=0)
    # HTTP transport limits, per client (peer address, or X-Forwarded-For from a trusted proxy).
    requests_per_minute: int = Field(default=600, ge=0)  # every request kind; 0 disables
    connections: int = Field(default=1_000, ge=1)  # total; kept below the fd limit
    connections_per_client: int = Field(default=64, ge=1)
    read_timeout: float = Field(default=30.0, gt=0, le=3_600)  # seconds for a request's headers + body
    sessions: int = Field(default=1_000, ge=1)  # open MCP sessions in total
    sessions_per_client: int = Field(default=32, ge=1)
    session_idle_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    heavy_queries_per_client: int = Field(default=2, ge=1)  # searches and summaries at a time
    # Comma-separated addresses of reverse proxies whose X-Forwarded-For names the client.
    trusted_proxies: str = ""

    def secret_values(self) -> list[str]:
        """Every configured secret (platform API keys, the HTTP token), for masking: a platform
        may reflect one back into call data."""
        values = [config.api_key.get_secret_value() for config in self.providers.values()]
        if self.http_token is not None:
            values.append(self.http_token.get_secret_value())
        if self.database_url is not None:
            values.append(self.database_url.get_secret_value())
            password = database_password(self.database_url)
            if password:
                values.append(password)
        return values

    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    def db_path(self) -> Path:
        if self.db is not None:
            return self.db
        import platformdirs

        return Path(platformdirs.user_data_dir("call-logs-mcp")) / "calls.db"


def database_password(url: SecretStr) -> str | None:
    """The password inside a database URL, for masking (None when it holds none or does not parse)."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url.get_secret_value()).password or None
    except ValueError:
        return None
