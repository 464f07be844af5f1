"""A canary API key per platform runs through the whole stack, including the error paths where the
simulated platform quotes the key back in 401 and 5xx bodies, with DEBUG logging on. The canary
(raw, percent-encoded, base64 in any alignment, and base64 of "Bearer <key>") must appear 0 times
in stdout, stderr, logs, tool results, resource contents, prompts, exception text and the SQLite
files (db, -wal, -shm).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import socket
import sys
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import httpx2
import pytest
from anyio.abc import ByteReceiveStream, Process
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from call_logs_mcp.__main__ import main
from call_logs_mcp.cli.config import load_settings
from call_logs_mcp.models import CallQuery
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
    simulator_base_url,
)
from call_logs_mcp.server.app import build_server
from call_logs_mcp.server.http import bind_socket, serve_http
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimDataset
from call_logs_mcp.simulators.faults import Faults
from conftest import PLATFORM_NAMES, key_env

# Keys with characters that percent-encoding and base64 both change, so every form is distinct.
CANARIES = {name: f"key_CANARY/{name}+{i}f2c=" + "=" * (i % 2) for i, name in enumerate(PLATFORM_NAMES)}
HTTP_TOKEN_CANARY = "mcp_http_CANARY/token+77aa="
ALL_CANARIES = (*CANARIES.values(), HTTP_TOKEN_CANARY)
UNAUTHORIZED = range(401, 402)
SERVER_ERRORS = range(500, 600)
NOISY_LOGGERS = ("call_logs_mcp", "httpx2", "httpcore2", "httpcore", "mcp", "uvicorn", "uvicorn.error")


# --- finding a secret in any form -------------------------------------------------------------


def _base64_forms(data: bytes) -> set[str]:
    """Base64 (standard and URL-safe) of `data` wherever it sits in a longer encoded string: the
    whole encoding, and the core that is the same at each of the three byte alignments."""
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode()
        forms |= {whole, whole.rstrip("=")}
        for pad in (0, 1, 2):
            shifted = encode(b"\0" * pad + data).decode()
            core = shifted[4 if pad else 0 : -4]
            if len(core) >= 16:
                forms.add(core)
    return forms


def secret_forms(secret: str) -> dict[str, str]:
    forms = {
        "raw": secret,
        "percent-encoded": quote(secret, safe=""),
        "percent-encoded (path)": quote(secret),
        "form-encoded": quote_plus(secret),
        "json": json.dumps(secret)[1:-1],
    }
    for label, value in (("base64", secret), ("base64 of the header", f"Bearer {secret}")):
        for n, form in enumerate(sorted(_base64_forms(value.encode()))):
            forms[f"{label} #{n}"] = form
    return forms


SECRET_FORMS = {secret: secret_forms(secret) for secret in ALL_CANARIES}


def leaks(where: str, data: str | bytes) -> list[str]:
    """Which canary forms occur in `data` (the raw key also case-insensitively)."""
    haystack = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    lowered = haystack.lower()
    found = []
    for secret, forms in SECRET_FORMS.items():
        for label, form in forms.items():
            needle = form.encode()
            if needle in haystack or (label == "raw" and needle.lower() in lowered):
                found.append(f"{where}: {label} of {secret[:12]}…")
    return found


def assert_no_canary(where: str, *chunks: str | bytes) -> None:
    found = [hit for chunk in chunks for hit in leaks(where, chunk)]
    assert found == [], found


def exception_texts(exc: BaseException) -> list[str]:
    """Everything an exception shows: str, repr, attributes, the printed traceback, and the same
    for every exception chained to it (even a suppressed context a debugger would still show)."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        texts.append("".join(traceback.format_exception(current)))
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            todo += list(current.exceptions)
    return texts


def db_files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.db*")) if path.is_file()}


def test_the_leak_finder_sees_every_form_of_a_canary_inside_other_text() -> None:
    for secret in ALL_CANARIES:
        for label, form in secret_forms(secret).items():
            assert leaks("probe", f"…{form}…"), label
        for prefix in ("", "u", "us", "user:"):  # base64 of a longer value, any alignment
            encoded = base64.b64encode(f"{prefix}{secret}!".encode()).decode()
            assert leaks("probe", f"Basic {encoded}"), prefix
        assert leaks("probe", secret.upper().encode())
    assert leaks("probe", "pk_live_CANARY") == []  # a prefix alone is not the key


# --- fakes: the network only -------------------------------------------------------------------


@dataclass
class Exchange:
    request: httpx2.Request
    status: int
    body: bytes


@dataclass
class BodyRecorder(httpx2.AsyncBaseTransport):
    """Remembers each request and the full response body the platform sent."""

    inner: httpx2.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append(Exchange(request, response.status_code, body))
        return httpx2.Response(response.status_code, headers=response.headers, content=body, request=request)

    def echoed(self, secret: str, statuses: range) -> int:
        """How many responses with a status in `statuses` quoted `secret` back."""
        return sum(1 for e in self.exchanges if e.status in statuses and secret.encode() in e.body)


class BodyTap:
    """ASGI wrapper recording the response bodies an app sends (for the real-socket simulators)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tap(message: Message) -> None:
            if message["type"] == "http.response.body":
                self.bodies.append(bytes(message.get("body", b"")))
            await send(message)

        await self.app(scope, receive, tap)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every log record of every logger at DEBUG, formatted with tracebacks, into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    saved = (root.level, {name: logging.getLogger(name).level for name in NOISY_LOGGERS})
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI configures process-wide logging; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CALL_LOGS_") or name.endswith(("_API_KEY", "_BASE_URL", "_AUTH_HEADER")):
            monkeypatch.delenv(name)


# --- settings ----------------------------------------------------------------------------------


def test_settings_and_provider_configs_never_show_a_key_or_the_http_token() -> None:
    settings = Settings(
        providers={name: simulated_provider_config(name, api_key=CANARIES[name]) for name in PLATFORM_NAMES},
        http_token=SecretStr(HTTP_TOKEN_CANARY),
    )
    from_env = load_settings(
        {key_env(name): CANARIES[name] for name in PLATFORM_NAMES}, http_token=SecretStr(HTTP_TOKEN_CANARY)
    )
    for shown in (settings, from_env):
        assert_no_canary(
            "settings",
            repr(shown),
            str(shown),
            f"{shown!r} {shown}",
            shown.model_dump_json(),
            repr(shown.model_dump()),
            *(repr(config) for config in shown.providers.values()),
            *(config.model_dump_json() for config in shown.providers.values()),
        )
    # The keys are there, only hidden.
    assert {n: c.api_key.get_secret_value() for n, c in from_env.providers.items()} == CANARIES


# --- provider errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", PLATFORM_NAMES)
@pytest.mark.parametrize("trouble", ["wrong key", "server error"])
async def test_provider_errors_never_carry_the_key_even_when_the_platform_quotes_it(
    name: str, trouble: str, debug_log: io.StringIO
) -> None:
    canary = CANARIES[name]
    dataset = simulated_dataset(name, calls=5)
    if trouble == "wrong key":
        app = simulated_app(
            name, dataset, api_key="the-platform-expects-another-key", echo_key_in_errors=True
        )
    else:
        app = simulated_app(
            name, dataset, api_key=canary, faults=Faults(error_rate=1.0, echo_key_in_errors=True)
        )
    recorder = BodyRecorder(simulated_transport(name, app))
    provider = create_provider(
        simulated_provider_config(name, api_key=canary, max_retries=1), transport=recorder
    )
    errors: list[BaseException] = []
    with anyio.fail_after(30):
        try:
            for attempt in (
                partial(provider.list_calls, CallQuery(), limit=5),
                partial(provider.get_call, dataset.calls[0].id),
                partial(provider.get_call, dataset.calls[-1].id),
            ):
                try:
                    await attempt()
                except Exception as exc:
                    errors.append(exc)
        finally:
            await provider.aclose()
    assert len(errors) == 3
    # The trap was live: the key went out in a header (each platform has its own scheme), and
    # came back in the error bodies.
    assert all(
        canary in e.request.headers.values() or f"Bearer {canary}" in e.request.headers.values()
        for e in recorder.exchanges
    )
    assert recorder.echoed(canary, UNAUTHORIZED if trouble == "wrong key" else SERVER_ERRORS) >= 3
    for n, error in enumerate(errors):
        assert_no_canary(f"error {n} ({type(error).__name__})", *exception_texts(error))
    assert "DEBUG call_logs_mcp" in debug_log.getvalue()
    assert_no_canary("log", debug_log.getvalue())


# --- the whole server, in process --------------------------------------------------------------


@dataclass
class Stack:
    client: Client
    apps: dict[str, Starlette]
    recorders: dict[str, BodyRecorder]
    datasets: dict[str, SimDataset]
    outputs: list[str] = field(default_factory=list)


@asynccontextmanager
async def canary_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    datasets = {name: simulated_dataset(name, calls=16, long_calls=0) for name in PLATFORM_NAMES}
    apps = {
        name: simulated_app(name, datasets[name], api_key=CANARIES[name], echo_key_in_errors=True)
        for name in PLATFORM_NAMES
    }
    recorders = {name: BodyRecorder(simulated_transport(name, apps[name])) for name in PLATFORM_NAMES}
    settings = Settings(
        providers={
            name: simulated_provider_config(name, api_key=CANARIES[name], max_retries=1)
            for name in PLATFORM_NAMES
        },
        db=tmp_path / "index" / "calls.db",
        freshness_seconds=0,  # every index-backed tool syncs, so every phase reaches the platforms
        http_token=SecretStr(HTTP_TOKEN_CANARY),
    )
    server = build_server(settings, transports=dict(recorders))
    async with Client(server, raise_exceptions=True) as client:
        stack = Stack(client=client, apps=apps, recorders=recorders, datasets=datasets)
        stack.outputs += [repr(client.server_info), client.instructions or ""]
        yield stack


async def exercise_everything(stack: Stack) -> None:
    """Every tool, resource path, completion and prompt, successes and failures alike; every
    answer (text, structured content, error message) goes to `stack.outputs`."""
    client, out = stack.client, stack.outputs

    async def tool(name: str, args: dict[str, Any]) -> None:
        result = await client.call_tool(name, args)
        out.append(repr(result))
        out.append(json.dumps(result.structured_content or {}, ensure_ascii=False))
        out.extend(getattr(block, "text", "") for block in result.content)

    async def read(uri: str) -> None:
        try:
            result = await client.read_resource(uri)
        except MCPError as err:
            out.append(repr(err.error))
            return
        out.extend(getattr(content, "text", "") for content in result.contents)

    await tool("list_calls", {"limit": 10})
    for name, dataset in stack.datasets.items():
        newest, finished = dataset.calls[0], dataset.calls[-1]
        await tool("list_calls", {"provider": name, "limit": 5, "search": newest.to_number[-4:]})
        await tool("get_call", {"call_id": finished.id, "provider": name, "include_recording": True})
        await tool("get_call", {"call_id": f"calls://{name}/{newest.id}"})
        await tool("get_call", {"call_id": "4242", "provider": name})
        await tool("summarize_campaign", {"campaign_id": finished.campaign_id, "provider": name})
        await read(f"calls://{name}/{finished.id}")
        await read(f"calls://{name}/{finished.id}/transcript")
        await read(f"calls://{name}/{newest.id}/transcript")  # in progress: always fetched live
        ref = ResourceTemplateReference(type="ref/resource", uri="calls://{provider}/{call_id}")
        completion = await client.complete(
            ref, argument={"name": "call_id", "value": ""}, context_arguments={"provider": name}
        )
        out.append(repr(completion))
    await tool("get_call", {"call_id": stack.datasets[PLATFORM_NAMES[0]].calls[1].id})
    await tool("search_transcripts", {"query": "refund OR appointment", "limit": 20})
    await tool("list_campaigns", {})
    listed = await client.list_resources()
    out.append(repr(listed))
    prompts = await client.list_prompts()
    out.append(repr(prompts))
    for prompt, args in (("campaign_report", {"campaign_id": "x"}), ("review_call", {"call_id": "4242"})):
        out.append(repr(await client.get_prompt(prompt, args)))
    completion = await client.complete(
        PromptReference(type="ref/prompt", name="campaign_report"),
        argument={"name": "campaign_id", "value": ""},
    )
    out.append(repr(completion))


async def test_every_tool_resource_and_prompt_keeps_the_canary_out_of_answers_logs_and_the_index(
    tmp_path: Path, debug_log: io.StringIO
) -> None:
    index_dir = tmp_path / "index"
    with anyio.fail_after(120):
        async with canary_stack(tmp_path) as stack:
            await exercise_everything(stack)  # healthy platforms
            for app in stack.apps.values():
                app.state.faults = Faults(error_rate=1.0, echo_key_in_errors=True)
            await exercise_everything(stack)  # 5xx bodies quoting the key
            for app in stack.apps.values():
                app.state.faults = Faults()
                app.state.expected_credentials = "Bearer a-key-the-server-does-not-have"
            await exercise_everything(stack)  # 401 bodies quoting the key
            for name, app in stack.apps.items():
                app.state.faults = Faults(script=("reset", "malformed", 429) * 3, retry_after_value="0")
                app.state.expected_credentials = f"Bearer {CANARIES[name]}"
            await exercise_everything(stack)  # resets, truncated JSON, rate limits
            live_files = db_files(index_dir)
        closed_files = db_files(index_dir)

    # The trap was live: both platforms saw the key and quoted it back in 401 and 5xx bodies.
    for name, recorder in stack.recorders.items():
        assert recorder.echoed(CANARIES[name], SERVER_ERRORS) > 0
        assert recorder.echoed(CANARIES[name], UNAUTHORIZED) > 0
    assert {"calls.db", "calls.db-wal", "calls.db-shm"} <= set(live_files)  # all three were scanned
    assert live_files["calls.db-wal"] and closed_files["calls.db"]
    log = debug_log.getvalue()
    assert "DEBUG call_logs_mcp" in log

    assert_no_canary("answers", *stack.outputs)
    assert_no_canary("log", log)
    for name, data in live_files.items():
        assert_no_canary(f"{name} (server running)", data)
    for name, data in closed_files.items():
        assert_no_canary(f"{name} (server stopped)", data)


# --- the CLI -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trouble", ["none", "wrong key", "server errors, then a wrong key"])
@pytest.mark.usefixtures("clean_environment", "restore_logging")
def test_cli_check_and_sync_at_debug_level_never_print_the_key(
    trouble: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in PLATFORM_NAMES:
        monkeypatch.setenv(key_env(name), CANARIES[name])
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", simulator_base_url(name))
    monkeypatch.setenv("CALL_LOGS_DB", str(tmp_path / "index" / "calls.db"))
    monkeypatch.setenv("CALL_LOGS_HTTP_TOKEN", HTTP_TOKEN_CANARY)
    recorders: dict[str, BodyRecorder] = {}
    for name in PLATFORM_NAMES:
        expected = CANARIES[name] if trouble == "none" else "the-platform-expects-another-key"
        faults = Faults(script=(500, 502), echo_key_in_errors=True) if trouble.startswith("server") else None
        app = simulated_app(
            name,
            simulated_dataset(name, calls=12, long_calls=0),
            api_key=expected,
            faults=faults,
            echo_key_in_errors=True,
        )
        recorders[name] = BodyRecorder(simulated_transport(name, app))

    codes = [
        main(["check", "--log-level", "DEBUG"], transports=dict(recorders)),
        main(["sync", "--log-level", "DEBUG"], transports=dict(recorders)),
    ]
    out = capsys.readouterr()

    assert codes == ([0, 0] if trouble == "none" else [1, 1]), out
    assert " DEBUG " in out.err  # DEBUG logging really was on
    for name, recorder in recorders.items():
        if trouble != "none":
            assert recorder.echoed(CANARIES[name], UNAUTHORIZED) > 0
        if trouble.startswith("server"):
            assert recorder.echoed(CANARIES[name], SERVER_ERRORS) > 0
    files = db_files(tmp_path / "index")
    if trouble == "none":
        assert files.get("calls.db"), "sync should have written the index"
    assert_no_canary("stdout", out.out)
    assert_no_canary("stderr", out.err)
    for file_name, data in files.items():
        assert_no_canary(file_name, data)


# --- a real stdio server, as a client launches it ---------------------------------------------


def server_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CALL_LOGS_") and not k.endswith(("_API_KEY", "_BASE_URL", "_AUTH_HEADER"))
    }
    env.update(extra)
    return env


class Wire:
    """JSON-RPC over a subprocess's stdin/stdout, keeping every byte the server wrote."""

    def __init__(self, process: Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.raw = bytearray()
        self._pending = b""
        self._next_id = 0

    async def _line(self) -> bytes | None:
        assert self.process.stdout is not None
        while b"\n" not in self._pending:
            try:
                chunk = await self.process.stdout.receive()
            except anyio.EndOfStream:
                return None
            self.raw.extend(chunk)
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    async def notify(self, method: str) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.process.stdin is not None
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        await self.process.stdin.send(json.dumps(message).encode() + b"\n")
        while True:
            line = await self._line()
            assert line is not None, "the server closed stdout before answering"
            answer = json.loads(line)
            if answer.get("id") == self._next_id:
                return dict(answer)

    async def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments})

    async def finish(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.aclose()
        while await self._line() is not None:
            pass
        await self.process.wait()


async def drain(stream: ByteReceiveStream, sink: bytearray) -> None:
    try:
        async for chunk in stream:
            sink.extend(chunk)
    except anyio.EndOfStream:
        pass


def port_of(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


async def test_a_stdio_server_at_debug_level_never_writes_the_canary_to_stdout_stderr_or_its_index(
    tmp_path: Path,
) -> None:
    datasets = {name: simulated_dataset(name, calls=12, long_calls=0) for name in PLATFORM_NAMES}
    # The first platform accepts its canary (and later fails with 5xx, then 401); the others expect
    # another key from the start. All quote the presented credentials in their error bodies.
    first, second = PLATFORM_NAMES[0], PLATFORM_NAMES[1]
    apps = {
        name: simulated_app(
            name,
            datasets[name],
            api_key=CANARIES[name] if name == first else "the-platform-expects-another-key",
            echo_key_in_errors=True,
        )
        for name in PLATFORM_NAMES
    }
    taps = {name: BodyTap(app) for name, app in apps.items()}
    socks = {name: bind_socket("127.0.0.1", 0) for name in PLATFORM_NAMES}
    index_dir = tmp_path / "index"
    platform_env: dict[str, str] = {}
    for name in PLATFORM_NAMES:
        platform_env[key_env(name)] = CANARIES[name]
        platform_env[f"{name.upper()}_BASE_URL"] = f"http://127.0.0.1:{port_of(socks[name])}"
    env = server_env(
        **platform_env,
        CALL_LOGS_DB=str(index_dir / "calls.db"),
        CALL_LOGS_FRESHNESS_SECONDS="0",
        CALL_LOGS_HTTP_TOKEN=HTTP_TOKEN_CANARY,
    )
    command = [sys.executable, "-m", "call_logs_mcp", "--log-level", "DEBUG"]
    first_call, second_call = datasets[first].calls[-1], datasets[second].calls[-1]
    answers: list[dict[str, Any]] = []
    stderr = bytearray()
    stop = anyio.Event()
    with anyio.fail_after(90):
        async with anyio.create_task_group() as servers:
            for name in PLATFORM_NAMES:
                servers.start_soon(partial(serve_http, taps[name], socks[name], stop=stop))
            try:
                async with await anyio.open_process(command, env=env) as process:
                    assert process.stderr is not None
                    servers.start_soon(drain, process.stderr, stderr)
                    wire = Wire(process)
                    answers.append(
                        await wire.request(
                            "initialize",
                            {
                                "protocolVersion": "2025-11-25",
                                "capabilities": {},
                                "clientInfo": {"name": "canary-test", "version": "0"},
                            },
                        )
                    )
                    await wire.notify("notifications/initialized")
                    answers += [
                        await wire.tool("list_calls", {"limit": 5}),
                        await wire.tool("get_call", {"call_id": first_call.id, "provider": first}),
                        await wire.tool("get_call", {"call_id": second_call.id, "provider": second}),
                        await wire.tool("search_transcripts", {"query": "refund OR appointment"}),
                        await wire.tool("list_campaigns", {}),
                        await wire.tool(
                            "summarize_campaign",
                            {"campaign_id": first_call.campaign_id, "provider": first},
                        ),
                        await wire.request("resources/list"),
                        await wire.request("resources/read", {"uri": f"calls://{first}/{first_call.id}"}),
                        await wire.request(
                            "resources/read", {"uri": f"calls://{second}/{second_call.id}/transcript"}
                        ),
                    ]
                    apps[first].state.faults = Faults(script=(500, 503), echo_key_in_errors=True)
                    apps[first].state.expected_credentials = "Bearer the-platform-expects-another-key"
                    answers += [
                        await wire.tool("get_call", {"call_id": datasets[first].calls[1].id}),
                        await wire.tool("list_calls", {"provider": first}),
                        await wire.tool("list_campaigns", {}),
                    ]
                    await wire.finish()
            finally:
                stop.set()

    # The run did what it should: answers, some failures, DEBUG logs, and bodies quoting the key.
    assert answers[0]["result"]["serverInfo"]["name"] == "call-logs-mcp"
    assert not answers[2]["result"].get("isError"), answers[2]
    assert answers[3]["result"].get("isError"), answers[3]
    assert answers[-3]["result"].get("isError"), answers[-3]
    assert b" DEBUG " in stderr
    for name, secret in CANARIES.items():
        assert any(secret.encode() in body for body in taps[name].bodies), f"{name} never quoted the key"
    files = db_files(index_dir)
    assert files.get("calls.db")

    assert_no_canary("stdout", bytes(wire.raw))
    assert_no_canary("stderr", bytes(stderr))
    for file_name, data in files.items():
        assert_no_canary(file_name, data)
