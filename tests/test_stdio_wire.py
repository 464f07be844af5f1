"""stdout is the wire: a real `python -m call_logs_mcp --demo --log-level DEBUG` subprocess, driven
with raw JSON-RPC lines through every tool, resource and prompt, every error path we can think of
and a series of malformed lines, writes nothing to stdout but complete, valid JSON-RPC 2.0
messages, one per line, from start-up to exit; its logs go to stderr.

(tests/test_stdio.py covers the SDK client and a first set of error paths; this file exercises
everything, including progress notifications, malformed input and a 1 MB line.)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import Process
from mcp.types import JSONRPCMessage
from pydantic import TypeAdapter

MESSAGE = TypeAdapter(JSONRPCMessage)
COMMAND = [sys.executable, "-m", "call_logs_mcp", "--demo", "--log-level", "DEBUG"]
PROTOCOL = "2025-11-25"


def server_env() -> dict[str, str]:
    """The current environment minus anything that would configure real platforms."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CALL_LOGS_") and not k.endswith(("_API_KEY", "_BASE_URL"))
    }


def key(id_: Any) -> str:
    return json.dumps(id_, sort_keys=True)


@dataclass
class Wire:
    """Speaks JSON-RPC lines to the server and keeps every byte it writes to stdout and stderr."""

    process: Process
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    sent_ids: list[Any] = field(default_factory=list)
    _waiting: dict[str, anyio.Event] = field(default_factory=dict)
    _next_id: int = 1000

    async def pump_stdout(self) -> None:
        assert self.process.stdout is not None
        pending = b""
        async for chunk in self.process.stdout:
            self.stdout.extend(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._dispatch(line)

    async def pump_stderr(self) -> None:
        assert self.process.stderr is not None
        async for chunk in self.process.stderr:
            self.stderr.extend(chunk)

    def _dispatch(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return  # judged at the end, with every other line
        if not isinstance(message, dict):
            return
        if "id" in message and ("result" in message or "error" in message):
            k = key(message["id"])
            self.responses.setdefault(k, []).append(message)
            if k in self._waiting:
                self._waiting[k].set()
        else:
            self.notifications.append(message)

    async def send_line(self, raw: bytes) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(raw)

    async def send(self, body: dict[str, Any]) -> None:
        await self.send_line(json.dumps(body).encode() + b"\n")

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, line_end: bytes = b"\n"
    ) -> dict[str, Any]:
        """Send a request and wait for its response."""
        id_ = self.new_id()
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            body["params"] = params
        self.sent_ids.append(id_)
        event = self._waiting.setdefault(key(id_), anyio.Event())
        await self.send_line(json.dumps(body).encode() + line_end)
        with anyio.fail_after(60):
            await event.wait()
        return self.responses[key(id_)][0]

    async def tool(self, name: str, arguments: Any, *, progress: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        if progress is not None:
            params["_meta"] = {"progressToken": progress}
        return await self.request("tools/call", params)

    async def still_answers(self) -> None:
        answer = await self.request("ping")
        assert answer.get("result") == {}, answer


@asynccontextmanager
async def running_server() -> AsyncIterator[Wire]:
    """The demo server over stdio, initialised. On exit stdin is closed and the server must stop."""
    async with await anyio.open_process(COMMAND, env=server_env()) as process:
        wire = Wire(process)
        async with anyio.create_task_group() as tg:
            tg.start_soon(wire.pump_stdout)
            tg.start_soon(wire.pump_stderr)
            init = await wire.request(
                "initialize",
                {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "stdio-wire-test", "version": "0"},
                },
            )
            assert init["result"]["serverInfo"]["name"] == "call-logs-mcp"
            await wire.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            yield wire
            assert process.stdin is not None
            await process.stdin.aclose()
            with anyio.fail_after(60):
                code = await process.wait()
            assert code == 0, wire.stderr.decode(errors="replace")[-2000:]


def failed(answer: dict[str, Any]) -> bool:
    return answer.get("error") is not None or answer.get("result", {}).get("isError") is True


def message_of(answer: dict[str, Any]) -> str:
    if answer.get("error") is not None:
        return str(answer["error"].get("message", ""))
    return " ".join(block.get("text", "") for block in answer["result"].get("content", []))


def assert_pure(wire: Wire) -> list[dict[str, Any]]:
    """Every byte on stdout belongs to exactly one complete JSON-RPC 2.0 message on its own line."""
    raw = bytes(wire.stdout)
    assert raw, "the server wrote nothing"
    assert raw.endswith(b"\n"), f"stdout ends inside a line: {raw[-200:]!r}"
    messages = []
    for number, line in enumerate(raw[:-1].split(b"\n")):
        assert line, f"empty line {number} on stdout"
        text = line.decode("utf-8")  # strict: no stray bytes
        assert text.strip() == text and "\r" not in text, f"line {number} has stray whitespace"
        MESSAGE.validate_json(line)
        message = json.loads(text)
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", line[:200]
        messages.append(message)
    return messages


def assert_answered_once(wire: Wire) -> None:
    """Every request we sent got exactly one response, and nothing answers a request never sent."""
    sent = {key(i) for i in wire.sent_ids}
    for id_ in wire.sent_ids:
        assert len(wire.responses.get(key(id_), [])) == 1, (
            f"request {id_} answered {wire.responses.get(key(id_))}"
        )
    assert set(wire.responses) <= sent, f"responses to unknown ids: {set(wire.responses) - sent}"


# --- the tests ---------------------------------------------------------------------------------


async def test_every_tool_resource_and_prompt_over_stdio_writes_only_json_rpc_lines() -> None:
    with anyio.fail_after(180):
        async with running_server() as wire:
            tools = await wire.request("tools/list")
            names = {t["name"] for t in tools["result"]["tools"]}
            assert names == {
                "list_calls",
                "get_call",
                "search_transcripts",
                "find_calls",
                "summarize_campaign",
                "list_campaigns",
                "show_campaign_dashboard",
                "dashboard_failed_calls",
                "dashboard_call_transcript",
            }
            for method in ("prompts/list", "resources/templates/list"):
                assert "result" in await wire.request(method)
            first_page = await wire.request("resources/list")
            assert "result" in first_page
            if first_page["result"].get("nextCursor"):
                assert "result" in await wire.request(
                    "resources/list", {"cursor": first_page["result"]["nextCursor"]}
                )

            listed = (await wire.tool("list_calls", {"limit": 4, "provider": "prosper"}))["result"]
            assert not listed.get("isError")
            rows = listed["structuredContent"]["calls"]
            more = await wire.tool(
                "list_calls",
                {"limit": 4, "provider": "prosper", "cursor": listed["structuredContent"]["next_cursor"]},
            )
            assert not failed(more)
            merged = await wire.tool(
                "list_calls", {"limit": 5, "status": "completed", "from_date": "2026-01-01"}
            )
            assert not failed(merged)
            row = next(r for r in rows if r.get("campaign_id"))
            detail = await wire.tool(
                "get_call", {"call_id": row["call_id"], "provider": "prosper", "include_recording": True}
            )
            assert not failed(detail)
            assert not failed(await wire.tool("get_call", {"call_id": row["uri"], "transcript_offset": 1}))

            found = await wire.tool("search_transcripts", {"query": "thank", "limit": 3}, progress="sync-1")
            assert not failed(found)
            hits = found["result"]["structuredContent"]
            if hits["next_cursor"]:
                assert not failed(
                    await wire.tool(
                        "search_transcripts", {"query": "thank", "limit": 3, "cursor": hits["next_cursor"]}
                    )
                )
            campaign = await wire.tool(
                "summarize_campaign",
                {"campaign_id": row["campaign_id"], "provider": "prosper"},
                progress="sync-2",
            )
            assert not failed(campaign)
            assert not failed(await wire.tool("list_campaigns", {}, progress="sync-3"))
            dashboard = await wire.tool(
                "show_campaign_dashboard", {"campaign_id": row["campaign_id"], "provider": "prosper"}
            )
            assert not failed(dashboard)
            transcript = {"call_id": row["call_id"], "provider": "prosper"}
            assert not failed(await wire.tool("dashboard_call_transcript", transcript))
            app = await wire.request("resources/read", {"uri": "ui://call-logs/campaign-dashboard.html"})
            assert app["result"]["contents"][0]["mimeType"] == "text/html;profile=mcp-app"

            for uri in (row["uri"], row["uri"] + "/transcript"):
                read = await wire.request("resources/read", {"uri": uri})
                assert read["result"]["contents"], read
            for prompt, args in (
                ("review_call", {"call_id": row["call_id"]}),
                ("campaign_report", {"campaign_id": "x"}),
            ):
                assert "result" in await wire.request("prompts/get", {"name": prompt, "arguments": args})
            completion = await wire.request(
                "completion/complete",
                {
                    "ref": {"type": "ref/resource", "uri": "calls://{provider}/{call_id}"},
                    "argument": {"name": "call_id", "value": row["call_id"][:2]},
                    "context": {"arguments": {"provider": "prosper"}},
                },
            )
            assert "result" in completion
            await wire.still_answers()

    messages = assert_pure(wire)
    assert_answered_once(wire)
    # Progress notifications went over the same wire, each a message of its own.
    progress = [m for m in messages if m.get("method") == "notifications/progress"]
    assert progress, "syncing the index should have reported progress"
    assert {m["params"]["progressToken"] for m in progress} <= {"sync-1", "sync-2", "sync-3"}
    # The logs went to stderr, at DEBUG, and they carry no transcript text.
    log = wire.stderr.decode("utf-8", errors="replace")
    assert " DEBUG " in log
    turns = detail["result"]["structuredContent"]["transcript"]
    spoken = [t["text"] for t in turns if len(t["text"]) > 20]
    assert spoken
    assert [s for s in spoken if s in log] == []


async def test_every_error_path_over_stdio_is_answered_with_an_error_on_a_line_of_its_own() -> None:
    bad_tool_calls: list[tuple[str, Any]] = [
        ("list_calls", {"limit": "abc"}),
        ("list_calls", {"limit": 0}),
        ("list_calls", {"limit": 10**30}),
        ("list_calls", {"provider": "nonesuch"}),
        ("list_calls", {"status": "finished"}),
        ("list_calls", {"from_date": "2026-02-30"}),
        ("list_calls", {"from_date": "tomorrow"}),
        ("list_calls", {"from_date": "2026-03-01", "to_date": "2026-01-01"}),
        ("list_calls", {"cursor": "garbage"}),
        ("list_calls", {"search": "x" * 1_000_000}),  # a 1 MB line
        ("list_calls", {"campaign_id": "a\u0000b\u202e"}),
        ("get_call", {}),
        ("get_call", {"call_id": 12345}),
        ("get_call", {"call_id": "999999999", "provider": "prosper"}),
        ("get_call", {"call_id": "call_doesnotexist", "provider": "callcamp"}),
        ("get_call", {"call_id": "../../etc/passwd"}),
        ("get_call", {"call_id": "%2e%2e%2fadmin", "provider": "prosper"}),
        ("get_call", {"call_id": "calls://nowhere/1"}),
        ("get_call", {"call_id": "x" * 5000}),
        ("get_call", {"call_id": [[[[["deep"]]]]]}),
        ("search_transcripts", {}),
        ("search_transcripts", {"query": ""}),
        ("search_transcripts", {"query": "refund", "speaker": "robot"}),
        ("search_transcripts", {"query": "refund", "cursor": "eyJ2IjoxfQ"}),
        ("search_transcripts", {"query": "q" * 5000}),
        ("find_calls", {"where": ["no_such_field"]}),
        ("find_calls", {"where": ["amount>lots"], "min_qa_score": -1}),
        ("find_calls", {"cursor": "eyJ2IjoxfQ"}),
        ("summarize_campaign", {}),
        ("summarize_campaign", {"campaign_id": "no-such-campaign"}),
        ("summarize_campaign", {"campaign_id": {"a": 1}}),
        ("list_campaigns", {"provider": 7}),
        ("list_campaigns", {"provider": "nonesuch"}),
        ("no_such_tool", {}),
    ]
    other_requests: list[tuple[str, dict[str, Any] | None]] = [
        ("resources/read", {"uri": "calls://prosper/999999999"}),
        ("resources/read", {"uri": "calls://prosper/999999999/transcript"}),
        ("resources/read", {"uri": "calls://nowhere/1"}),
        ("resources/read", {"uri": "file:///etc/passwd"}),
        ("resources/read", {"uri": "not a uri"}),
        ("resources/list", {"cursor": "garbage"}),
        ("prompts/get", {"name": "no_such_prompt"}),
        ("prompts/get", {"name": "review_call"}),
        ("tools/call", {"name": "list_calls", "arguments": "not an object"}),
        ("tools/call", None),
        ("logging/setLevel", {"level": "debug"}),
        ("no/such/method", None),
    ]
    with anyio.fail_after(180):
        async with running_server() as wire:
            calls_cursor = (await wire.tool("list_calls", {"limit": 2}))["result"]["structuredContent"][
                "next_cursor"
            ]
            answers: list[tuple[str, dict[str, Any]]] = []
            for name, arguments in bad_tool_calls:
                answers.append((f"{name} {str(arguments)[:60]}", await wire.tool(name, arguments)))
            # A cursor of one listing passed to another.
            answers.append(
                (
                    "cross cursor",
                    await wire.tool("search_transcripts", {"query": "refund", "cursor": calls_cursor}),
                )
            )
            answers.append(
                (
                    "other filters",
                    await wire.tool("list_calls", {"limit": 2, "status": "failed", "cursor": calls_cursor}),
                )
            )
            for method, params in other_requests:
                answers.append((method, await wire.request(method, params)))
            await wire.still_answers()

    assert_pure(wire)
    assert_answered_once(wire)
    for what, answer in answers:
        assert failed(answer), f"{what} should have failed: {answer}"
        message = message_of(answer)
        assert message.strip(), f"{what}: an error without a message"
        assert "internal error" not in message.lower(), f"{what}: {message}"
        assert "Traceback" not in message, f"{what}: {message[:300]}"


async def test_malformed_lines_leave_stdout_pure_and_the_server_answering() -> None:
    deep = "[" * 10_000 + "]" * 10_000
    malformed: list[bytes] = [
        b"this is not json\n",
        b"\n",
        b"   \n",
        b"[]\n",
        b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]\n',
        b"42\n",
        b'"a string"\n',
        b"null\n",
        b'{"jsonrpc": "2.0", "id": 2, "method": "ping"\n',
        b'{"id": 3, "method": "ping"}\n',
        b'{"jsonrpc": "1.0", "id": 4, "method": "ping"}\n',
        b'{"jsonrpc": "2.0", "id": {"an": "object"}, "method": "ping"}\n',
        b'{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "get_call", '
        b'"arguments": {"call_id": "\\ud800x"}}}\n',
        b'{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "get_call", '
        b'"arguments": {"call_id": ' + deep.encode() + b"}}}\n",
        b'\xff\xfe{"not": "utf-8 \xc3\x28"}\n',
        b'{"jsonrpc": "2.0", "id": 7, "result": {}}\n',  # a response to nothing
        b'{"jsonrpc": "2.0", "method": "no/such/notification"}\n',
        b'{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 424242}}\n',
        b'{"jsonrpc": "2.0", "id": 8, "method": "ping"}{"jsonrpc": "2.0", "id": 9, "method": "ping"}\n',
        b"\x00\x01\x02\x1b[31m\n",
    ]
    with anyio.fail_after(180):
        async with running_server() as wire:
            for line in malformed:
                await wire.send_line(line)
                await wire.still_answers()
            # A request ended with CRLF is still one request.
            assert (await wire.request("ping", line_end=b"\r\n")).get("result") == {}
            listed = await wire.tool("list_calls", {"limit": 2})
            assert not failed(listed)

    assert_pure(wire)
    # Our own requests were each answered once; whatever the malformed lines got back (if anything)
    # was a proper message on its own line, checked above.
    for id_ in wire.sent_ids:
        assert len(wire.responses.get(key(id_), [])) == 1, id_
