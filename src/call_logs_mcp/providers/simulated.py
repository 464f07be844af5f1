"""Every platform's simulated API by name, for tests, `--demo`, `simulate` and benchmarks.

    from call_logs_mcp.providers.simulated import (
        simulated_app, simulated_provider_config, simulated_transport,
    )

    app = simulated_app("prosper", variant="openapi")        # a Starlette app over generated data
    config = simulated_provider_config("prosper")            # key + base URL the app expects
    provider = create_provider(config, transport=simulated_transport("prosper", app))

Each platform's app is `simulator.py` in its folder (`providers/<name>/`, documenting its wire
shapes); its descriptor (`PLATFORM.sim`) gives the defaults used here: key, port, id style. The
platform-neutral plumbing (generator, app, faults) is `call_logs_mcp.simulators`, which knows no
platform; this module is where the platform list meets it. Imports here are lazy so that
importing the module costs nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    import httpx2
    from starlette.applications import Starlette

    from call_logs_mcp.providers.base import SimulatorDefaults
    from call_logs_mcp.providers.config import ProviderConfig
    from call_logs_mcp.simulators.dataset import SimDataset

logger = logging.getLogger(__name__)


def simulator_base_url(name: str) -> str:
    """The base URL an in-process simulator answers on (any host works through ASGITransport)."""
    _check_name(name)
    return f"http://{name}.simulator.localhost"


def simulator_defaults(name: str) -> SimulatorDefaults:
    """The named platform's simulator defaults (key, port, id style), from its descriptor.

    Raises ValueError for a name not in `providers.PLATFORMS`.
    """
    from call_logs_mcp.providers import platform

    _check_name(name)
    return platform(name).sim


def _check_name(name: str) -> None:
    from call_logs_mcp.providers import PLATFORMS

    if name not in PLATFORMS:
        known = ", ".join(sorted(PLATFORMS))
        raise ValueError(f"No simulator named {name!r}; known simulators: {known}.")


def simulated_dataset(name: str, **kwargs: Any) -> SimDataset:
    """`generate_dataset(**kwargs)` with the id style the named platform uses."""
    from call_logs_mcp.simulators.generate import generate_dataset

    kwargs.setdefault("id_style", simulator_defaults(name).id_style)
    return generate_dataset(**kwargs)


def simulated_app(name: str, dataset: SimDataset | None = None, **knobs: Any) -> Starlette:
    """The named platform's simulator app (its descriptor's `simulator`). `knobs` go to its
    `create_app` (api_key, faults, variant, transcript_style, ...)."""
    from call_logs_mcp.providers import load, platform

    _check_name(name)
    if dataset is None:
        dataset = simulated_dataset(name)
    app: Starlette = load(platform(name).simulator)(dataset, **knobs)
    return app


def simulated_transport(name: str, app: Any) -> httpx2.ASGITransport:
    """An httpx2 transport that delivers requests to `app` in-process (no sockets)."""
    import httpx2

    _check_name(name)
    return httpx2.ASGITransport(app=app)


def simulated_provider_config(name: str, *, api_key: str | None = None, **overrides: Any) -> ProviderConfig:
    """A `ProviderConfig` matching the named simulator's defaults (key, base URL); `overrides`
    set any other `ProviderConfig` field (auth_header, max_retries, requests_per_second, ...)."""
    from pydantic import SecretStr

    from call_logs_mcp.providers.config import ProviderConfig

    values: dict[str, Any] = {
        "name": name,
        "api_key": SecretStr(api_key if api_key is not None else simulator_defaults(name).api_key),
        "base_url": simulator_base_url(name),
    }
    values.update(overrides)
    return ProviderConfig(**values)


def serve(
    name: str,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    calls: int = 2_000,
    seed: int = 7,
    end: datetime | None = None,
    on_ready: Callable[[str], None] | None = None,
    **knobs: Any,
) -> None:
    """Serve one simulator over `calls` generated calls (ending just before `end` when given)
    with uvicorn until interrupted (blocking); `serve_app` says how. `knobs` go to the app's
    `create_app` (api_key, faults, variant...).

    Raises ValueError for an unknown simulator, a non-loopback host or a bad count, and
    ConfigurationError when the port cannot be bound.
    """
    check_loopback(name, host)  # before generating thousands of calls
    app = simulated_app(name, simulated_dataset(name, calls=calls, seed=seed, end=end), **knobs)
    key_hint = "the api_key you passed" if "api_key" in knobs else f"the default simulator key for {name}"
    serve_app(name, app, host, port, on_ready=on_ready, key_hint=key_hint)


def serve_app(
    name: str,
    app: Starlette,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
    key_hint: str | None = None,
) -> None:
    """Serve `app`, the named platform's simulator, with uvicorn until interrupted (blocking).

    Loopback hosts only: the simulator's key is public. `port` defaults to the platform's own
    (`PLATFORM.sim.port`); 0 picks a free one. `on_ready(base_url)` runs once the socket listens
    and before requests are served, with the URL the simulator answers on (the real port).
    Raises ValueError for an unknown simulator or a non-loopback host, ConfigurationError when
    the port cannot be bound.
    """
    import uvicorn

    check_loopback(name, host)
    if port is None:
        port = simulator_defaults(name).port
    from call_logs_mcp.listen import listening_socket

    sock = listening_socket(host, port)
    try:
        base_url = _url_of(sock)
        hint = key_hint or f"the default simulator key for {name}"
        logger.warning("Serving the %s simulator on %s (auth: %s)", name, base_url, hint)
        if on_ready is not None:
            on_ready(base_url)
        logging.getLogger("uvicorn.error").addFilter(_drop_simulated_resets)
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def check_loopback(name: str, host: str) -> None:
    """Refuse to serve a simulator beyond this machine (its key is public).

    Raises ValueError for an unknown simulator or a host that is not a loopback address.
    """
    _check_name(name)
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"Refusing to serve the {name} simulator on {host!r}: use a loopback address.")


def simulator_environment(name: str, base_url: str, *, api_key: str | None = None) -> dict[str, str]:
    """The environment that points the server at the named simulator answering on `base_url`:
    `{NAME}_API_KEY` (the simulator's default key unless `api_key`) and `{NAME}_BASE_URL`.

    Raises ValueError for an unknown simulator.
    """
    from call_logs_mcp.providers import platform

    _check_name(name)
    info = platform(name).info
    return {
        info.key_env_var: api_key if api_key is not None else simulator_defaults(name).api_key,
        info.base_url_env_var: base_url,
    }


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _drop_simulated_resets(record: logging.LogRecord) -> bool:
    """uvicorn logs every app exception with a traceback; injected resets are not news."""
    from call_logs_mcp.simulators.faults import SimulatedReset

    return not (record.exc_info and isinstance(record.exc_info[1], SimulatedReset))


__all__ = [
    "check_loopback",
    "serve",
    "serve_app",
    "simulated_app",
    "simulated_dataset",
    "simulated_provider_config",
    "simulated_transport",
    "simulator_base_url",
    "simulator_defaults",
    "simulator_environment",
]
