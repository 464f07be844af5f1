"""Settings as the command line builds them: the environment, then the flags on top."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from call_logs_mcp.cli import Transports

if TYPE_CHECKING:
    from call_logs_mcp.settings import Settings


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment (the CLI's one call), with explicit overrides on top.

    Raises ConfigurationError naming the variable when a platform setting is not a number, and
    pydantic's ValidationError for an invalid `CALL_LOGS_*` value or override.
    """
    import os

    from call_logs_mcp.providers.config import provider_configs_from_env
    from call_logs_mcp.settings import Settings

    env = os.environ if environ is None else environ
    values: dict[str, object] = {"providers": provider_configs_from_env(env)}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.demo:
        overrides["demo"] = True
    if args.log_level:
        overrides["log_level"] = args.log_level
    try:
        settings = load_settings(None, **overrides)
    except Exception as exc:  # pydantic ValidationError: name the fields, never the values
        from pydantic import ValidationError

        from call_logs_mcp.errors import ConfigurationError

        if isinstance(exc, ValidationError):
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            names = ", ".join(f"CALL_LOGS_{f.upper()}" for f in fields)
            raise ConfigurationError(f"Invalid setting: {names}.") from None
        raise
    if settings.campaigns is not None:  # a bad campaigns file stops the start, saying why
        from call_logs_mcp.core.directory import load_directory
        from call_logs_mcp.providers import PLATFORMS

        load_directory(settings.campaigns, PLATFORMS)
    return settings


def run(coro: Any) -> int:
    import anyio

    async def runner() -> int:
        result: int = await coro
        return result

    return anyio.run(runner)


def with_demo(settings: Settings, transports: Transports | None, body: Any) -> int:
    """Run `body(settings, transports)`, inside a demo environment when settings.demo."""
    if not settings.demo:
        result: int = body(settings, transports)
        return result
    from call_logs_mcp.demo import demo_environment

    with demo_environment(settings) as demo:
        result = body(demo.settings, demo.transports)
        return result


def no_provider_hint() -> str:
    from call_logs_mcp.providers import PLATFORMS, platform

    names = " and/or ".join(platform(name).info.key_env_var for name in PLATFORMS)
    return f"set {names}, or run with --demo to try simulated platforms."


def mask_secrets_in_logs(settings: Settings) -> None:
    """Mask our configured secrets (API keys, the HTTP token) in every log line, on every handler
    of the root logger: a platform may reflect a key into a string we log."""
    import logging

    from call_logs_mcp.output.secrets import SecretLogFilter, SecretMask

    mask = SecretMask(settings.secret_values())
    if not mask:
        return
    for handler in logging.getLogger().handlers:
        handler.addFilter(SecretLogFilter(mask))
