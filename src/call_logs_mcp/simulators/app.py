"""Plumbing shared by the simulator apps: app construction, auth, JSON errors, date parsing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from call_logs_mcp.simulators.dataset import SimDataset
from call_logs_mcp.simulators.faults import (
    FaultMiddleware,
    Faults,
    SimRequest,
    credentials_ok,
    new_counts,
    presented_credentials,
    should_echo,
)


class SimJSONResponse(JSONResponse):
    """JSON that keeps non-ASCII text as UTF-8 (like most real APIs)."""

    def render(self, content: Any) -> bytes:
        import json

        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate has no UTF-8 form; a real API sends it as a "\ud800" escape, which
            # is valid JSON and decodes to the same lone surrogate on the client.
            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def build_app(
    *,
    routes: Sequence[BaseRoute],
    dataset: SimDataset,
    api_key: str,
    auth_header: str,
    expected_credentials: str,
    faults: Faults | None,
    echo_key_in_errors: bool,
    log_requests: bool,
    error_body: Callable[[int, str], dict[str, Any]],
) -> Starlette:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return SimJSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code)

    app = Starlette(
        routes=list(routes),
        middleware=[Middleware(FaultMiddleware)],
        exception_handlers={HTTPException: http_error},
    )
    app.state.dataset = dataset
    app.state.faults = faults or Faults()
    app.state.api_key = api_key
    app.state.auth_header = auth_header
    app.state.expected_credentials = expected_credentials
    app.state.echo_key_in_errors = echo_key_in_errors
    app.state.requests = [] if log_requests else None
    app.state.fault_counts = new_counts()
    app.state.error_body = error_body
    return app


def requests_of(app: Starlette) -> list[SimRequest]:
    requests: list[SimRequest] = app.state.requests
    return requests


def dataset_of(request: Request) -> SimDataset:
    dataset: SimDataset = request.app.state.dataset
    return dataset


def error(request: Request, status: int, message: str) -> Response:
    body = request.app.state.error_body(status, message)
    return SimJSONResponse(body, status_code=status)


def unauthorized(request: Request) -> Response | None:
    """None when the request carries the right credentials, else the 401 response."""
    state = request.app.state
    presented = presented_credentials(request.scope, state.auth_header)
    if credentials_ok(presented, state.expected_credentials):
        return None
    if presented is None:
        message = "Missing API key"
    elif should_echo(state):
        message = f"Invalid API key: {presented}"
    else:
        message = "Invalid API key"
    return error(request, 401, message)


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str, *, end_of_day: bool) -> datetime:
    """An ISO 8601 date or date-time as UTC. A bare date means the start of that day, or its last
    second when `end_of_day` (so `to_date=2026-03-01` includes the whole day). Raises ValueError."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        moment = datetime.combine(day, time(0, 0), tzinfo=UTC)
        return moment + timedelta(days=1, microseconds=-1) if end_of_day else moment
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
