"""The server over real stdio: `python -m call_logs_mcp --demo` as a subprocess."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream, Process
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import JSONRPCMessage
from pydantic import TypeAdapter

MESSAGE = TypeAdapter(JSONRPCMessage)


def server_env(**extra: str) -> dict[str, str]:
    """The current environment minus anything that would configure real platforms."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CALL_LOGS_") and not k.endswith(("_API_KEY", "_BASE_URL"))
    }
    env.update(extra)
    return env


async def test_the_sdk_stdio_client_lists_and_reads_calls_from_the_demo_server() -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "call_logs_mcp", "--demo"], env=server_env()
    )
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            listed = await client.call_tool("list_calls", {"limit": 5, "provider": "callcamp"})
            rows = (listed.structured_content or {}).get("calls", [])
            detail = await client.call_tool(
                "get_call", {"call_id": rows[0]["call_id"], "provider": "callcamp"}
            )
    assert {"list_calls", "get_call"} <= tools
    assert not listed.is_error
    assert len(rows) == 5
    assert all(row["provider"] == "callcamp" for row in rows)
    assert not detail.is_error
    assert (detail.structured_content or {}).get("call_id") == rows[0]["call_id"]


async def test_without_keys_the_server_starts_and_its_tools_say_what_to_configure(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "call_logs_mcp"],
        env=server_env(CALL_LOGS_DB=str(tmp_path / "calls.db")),
    )
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            result = await client.call_tool("list_calls", {})
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error
    assert "PROSPER_API_KEY" in text
    assert "CALLCAMP_API_KEY" in text
    assert "--demo" in text


class LineReader:
    """Splits a byte stream into lines, keeping every byte it saw."""

    def __init__(self, stream: ByteReceiveStream) -> None:
        self._stream = stream
        self._buffer = b""
        self.lines: list[bytes] = []

    async def next_line(self) -> bytes | None:
        while b"\n" not in self._buffer:
            try:
                chunk = await self._stream.receive()
            except anyio.EndOfStream:
                if self._buffer:
                    line, self._buffer = self._buffer, b""
                    self.lines.append(line)
                    return line
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self.lines.append(line)
        return line


async def drain(stream: ByteReceiveStream, sink: bytearray) -> None:
    try:
        async for chunk in stream:
            sink.extend(chunk)
    except anyio.EndOfStream:
        pass


def request(id_: int, method: str, params: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        body["params"] = params
    return json.dumps(body).encode() + b"\n"


def tool(id_: int, name: str, arguments: dict[str, Any]) -> bytes:
    return request(id_, "tools/call", {"name": name, "arguments": arguments})


async def exchange(process: Process, reader: LineReader, payload: bytes, id_: int) -> dict[str, Any]:
    """Send one message and read lines until the response with `id_` arrives."""
    assert process.stdin is not None
    await process.stdin.send(payload)
    while True:
        line = await reader.next_line()
        assert line is not None, "the server closed stdout before answering"
        message = json.loads(line)
        if message.get("id") == id_:
            return dict(message)


async def test_every_stdout_line_is_one_json_rpc_message_with_debug_logging_and_error_paths() -> None:
    command = [sys.executable, "-m", "call_logs_mcp", "--demo", "--log-level", "DEBUG"]
    stderr = bytearray()
    with anyio.fail_after(90):
        async with (
            await anyio.open_process(command, env=server_env()) as process,
            anyio.create_task_group() as tg,
        ):
            assert process.stdout is not None and process.stderr is not None and process.stdin is not None
            tg.start_soon(drain, process.stderr, stderr)
            reader = LineReader(process.stdout)
            init = await exchange(
                process,
                reader,
                request(
                    1,
                    "initialize",
                    {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "stdio-test", "version": "0"},
                    },
                ),
                1,
            )
            await process.stdin.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
            listed = await exchange(process, reader, tool(2, "list_calls", {"limit": 3}), 2)
            first = listed["result"]["structuredContent"]["calls"][0]
            detail = await exchange(
                process,
                reader,
                tool(3, "get_call", {"call_id": first["call_id"], "provider": first["provider"]}),
                3,
            )
            error_paths = {
                4: tool(4, "get_call", {"call_id": "../../etc/passwd", "provider": "prosper"}),
                5: tool(5, "get_call", {"call_id": "999999999", "provider": "prosper"}),
                6: tool(6, "list_calls", {"limit": 1000}),
                7: tool(7, "list_calls", {"from_date": "yesterday-ish"}),
                8: tool(8, "list_calls", {"provider": "nonesuch"}),
                9: tool(9, "no_such_tool", {}),
                10: request(10, "resources/read", {"uri": "calls://prosper/000"}),
                11: request(11, "no/such/method"),
                12: tool(12, "get_call", {"call_id": "x" * 5000}),
            }
            answers = {
                id_: await exchange(process, reader, payload, id_) for id_, payload in error_paths.items()
            }
            await process.stdin.send(b"this is not json\n")
            resources = await exchange(process, reader, request(13, "resources/list"), 13)
            await process.stdin.aclose()
            while await reader.next_line() is not None:
                pass
            await process.wait()
            tg.cancel_scope.cancel()

    # Every line the server wrote to stdout is exactly one JSON-RPC message.
    assert reader.lines
    for line in reader.lines:
        MESSAGE.validate_json(line)
    assert init["result"]["serverInfo"]["name"] == "call-logs-mcp"
    assert "demo" in init["result"]["instructions"].lower()
    assert "result" in resources
    assert not detail["result"].get("isError")
    for id_, answer in answers.items():
        failed = answer.get("error") is not None or answer["result"].get("isError") is True
        assert failed, f"request {id_} should have failed: {answer}"
    # Logs went to stderr (DEBUG was on), and they carry no transcript text.
    log = stderr.decode(errors="replace")
    assert "DEMO MODE" in log
    transcript_text = detail["result"]["structuredContent"].get("transcript") or []
    spoken = [turn.get("text", "") for turn in transcript_text if isinstance(turn, dict)]
    assert spoken, "the demo call should have a transcript to check the logs against"
    assert [text for text in spoken if len(text) > 20 and text in log] == []


async def test_sigterm_stops_the_stdio_demo_server_and_removes_its_temporary_index() -> None:
    command = [sys.executable, "-m", "call_logs_mcp", "--demo"]
    seen = bytearray()
    with anyio.fail_after(60):
        process = await anyio.open_process(command, env=server_env())
        async with process:
            assert process.stderr is not None and process.stdin is not None
            pattern = re.compile(rb"index: (\S+calls\.db)")
            while not pattern.search(seen):
                seen.extend(await process.stderr.receive())
            match = pattern.search(seen)
            assert match is not None
            index = Path(match.group(1).decode())
            existed = index.parent.exists()
            process.terminate()  # stdin stays open, as when a client kills its server
            code = await process.wait()
    assert existed
    assert not index.parent.exists()
    assert code != 0
