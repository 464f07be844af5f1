"""The campaign dashboard in a real browser (Debian's Chromium, driven by Playwright).

Not collected by pytest (the README's test command needs no browser): `.ci/run` runs it after the
test suite, with the `browser` extra installed and Chromium installed when missing:

    .venv/bin/python tests/browser_dashboard.py [--docs]

The real server answers on demo data (every platform simulated, the demo's calls ending at a fixed
time so the picture is the same on every run). A minimal host page plays the host's side of MCP
Apps (JSON-RPC over postMessage): it answers `ui/initialize` with a dark theme and style
variables, sends the tool input and the real `show_campaign_dashboard` result, sizes the frame
from `ui/notifications/size-changed`, and forwards the app's `tools/call` requests to the real
server, recording them. Checked: the handshake, every chart's numbers in the DOM against the
structured content the server computed, the drill-downs' `tools/call` requests and what they show,
the theme applied, that the page made no request at all, and that markup planted in every string
the page shows (generated: payload x filler x place) stays text. A screenshot goes to
build/dashboard.png (and docs/dashboard.png with --docs).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import json
import random
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp import Client
from playwright.async_api import Browser, Frame, Page, async_playwright

from call_logs_mcp.demo import demo_environment
from call_logs_mcp.server.app import build_server
from call_logs_mcp.server.dashboard import DASHBOARD_URI
from call_logs_mcp.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# The flags the machine notes give for a headless Chromium on a closed network.
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
PROVIDER = "vapi"
HOST_CONTEXT = {
    "theme": "dark",
    "displayMode": "inline",
    "containerDimensions": {"width": 980, "maxHeight": 4000},
    "styles": {
        "variables": {
            "--color-background-primary": "#0f1115",
            "--color-text-primary": "#e8e6e3",
            "--color-text-info": "#4aa3ff",
            "--font-sans": "DejaVu Sans, sans-serif",
        }
    },
}

HOST_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
body { margin: 0; background: #0b0c0f; }
iframe { display: block; width: 980px; height: 200px; border: 0; }
</style></head><body>
<iframe id="app" sandbox="allow-scripts"></iframe>
<script>
window.received = [];   // every message from the app, in order
window.toolCalls = [];  // the app's tools/call requests
const frame = document.getElementById("app");
let setup = null;
function send(message) { frame.contentWindow.postMessage(Object.assign({jsonrpc: "2.0"}, message), "*"); }
window.startApp = (s) => { setup = s; frame.srcdoc = s.html; };
window.sendToApp = send;
window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) return;
  const m = event.data;
  window.received.push(m);
  if (m.method === "ui/initialize") {
    send({id: m.id, result: {
      protocolVersion: "2026-01-26",
      hostInfo: {name: "call-logs-test-host", version: "1.0.0"},
      hostCapabilities: {serverTools: {}},
      hostContext: setup.hostContext,
    }});
  } else if (m.method === "ui/notifications/initialized") {
    send({method: "ui/notifications/tool-input", params: {arguments: setup.toolInput}});
    send({method: "ui/notifications/tool-result", params: setup.toolResult});
  } else if (m.method === "ui/notifications/size-changed") {
    frame.style.height = m.params.height + "px";
  } else if (m.method === "tools/call") {
    window.toolCalls.push(m.params);
    const result = await window.callServerTool(m.params.name, m.params.arguments);
    send({id: m.id, result: result});
  }
});
</script></body></html>"""

# What the page shows, read from its DOM.
READ_CHARTS = """() => {
  const out = {};
  for (const fig of document.querySelectorAll("figure[data-chart]")) {
    const blocks = fig.querySelectorAll("[data-field]");
    const read = (root) => [...root.querySelectorAll("g.bar")].map((g) => ({
      key: g.getAttribute("data-key"),
      value: Number(g.getAttribute("data-value")),
      failed: g.hasAttribute("data-failed") ? Number(g.getAttribute("data-failed")) : null,
      shown: g.querySelector("text.v") ? g.querySelector("text.v").textContent : null,
      size: (() => {
        const r = g.querySelector("rect.b").getBBox();
        return r.width > 0 && r.height > 0;
      })(),
    }));
    out[fig.getAttribute("data-chart")] = blocks.length
      ? Object.fromEntries([...blocks].map((b) => [b.getAttribute("data-field"), read(b)]))
      : read(fig);
  }
  return out;
}"""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def expected_values(field: dict[str, Any]) -> list[tuple[str, int]]:
    """The rows the page draws for an extracted field (at most 5; none when withheld)."""
    if field["withheld"]:
        return []
    if field["kind"] == "boolean" and field.get("true_count") is not None:
        return [("true", field["true_count"]), ("false", field["calls"] - field["true_count"])]
    values = field.get("values") or {}
    return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:5]


def check_charts(drawn: dict[str, Any], sm: dict[str, Any]) -> None:
    def pairs(chart: list[dict[str, Any]]) -> list[tuple[str, int]]:
        for bar in chart:
            check(bar["size"] == (bar["value"] > 0), f"bar {bar} drawn with the wrong size")
            if bar["shown"] is not None:
                check(bar["shown"] == str(bar["value"]), f"bar {bar} shows another number")
        return [(bar["key"], bar["value"]) for bar in chart]

    check(pairs(drawn["status"]) == list(sm["by_status"].items()), "outcomes by status differ")
    check(
        pairs(drawn["days"]) == sorted(sm["calls_per_day"].items()),
        "calls per day differ from the structured content",
    )
    failed = {bar["key"]: bar["failed"] for bar in drawn["days"]}
    check(
        {day: n for day, n in failed.items() if n} == sm["failed_per_day"],
        "failed calls per day differ from the structured content",
    )
    check(
        [(float(k), v) for k, v in pairs(drawn["duration"])]
        == [(b["low_seconds"], b["calls"]) for b in sm["duration"]["histogram"]],
        "the duration histogram differs",
    )
    check(
        [(float(k), v) for k, v in pairs(drawn["qa"])]
        == [(b["low"], b["calls"]) for b in sm["qa"]["distribution"]],
        "the QA distribution differs",
    )
    fields = [f for f in sm["extracted_fields"] if expected_values(f)][:4]
    check(bool(fields), "the demo campaign has no extracted values to draw")
    check(
        {name: pairs(rows) for name, rows in drawn["values"].items()}
        == {f["name"]: expected_values(f) for f in fields},
        "the top extracted values differ",
    )


# Markup a platform string could carry: each would run script or add elements if it were parsed.
MARKUP = (
    '<img src=x onerror="window.pwned=1">',
    "<script>window.pwned=1</script>",
    '</text><foreignObject><iframe srcdoc="x"></iframe></foreignObject>',
    '"><svg onload="window.pwned=1">',
    "<style>*{display:none}</style>",
)
FILLERS = ("Spring reminders", "c4mp-7781", "Réunion α", "x")


def hostile_strings(seed: int) -> Iterator[str]:
    """Endless markup payloads, each placed before, inside or after an ordinary filler."""
    rng = random.Random(seed)
    for i in itertools.count():
        payload, filler = MARKUP[i % len(MARKUP)], rng.choice(FILLERS)
        cut = rng.choice((0, len(filler), rng.randint(0, len(filler))))
        yield f"{filler[:cut]}{payload}{filler[cut:]}#{i}"


def hostile_report(report: dict[str, Any], seed: int) -> dict[str, Any]:
    """The report with every string the page shows replaced by markup (numbers kept)."""
    strings = hostile_strings(seed)
    out = copy.deepcopy(report)
    sm = out["summary"]
    sm["campaign_name"] = next(strings)
    sm["by_status"] = {next(strings): n for n in sm["by_status"].values()}
    for field in sm["extracted_fields"]:
        field["name"] = next(strings)
        if field.get("values"):
            field["values"] = {next(strings): n for n in field["values"].values()}
    for call in sm["notable_calls"]:
        call["call_id"] = next(strings)
    sm["coverage"]["note"] = next(strings)
    return out


async def check_hostile_strings_stay_text(browser: Browser, html: str, report: dict[str, Any]) -> None:
    """Markup in every string the page shows stays text: no element, no script, shown verbatim."""
    hostile = hostile_report(report, seed=17)
    page = await browser.new_page(viewport={"width": 980, "height": 900})
    await page.set_content(HOST_PAGE)
    await page.evaluate(
        "(s) => window.startApp(s)",
        {
            "html": html,
            "hostContext": HOST_CONTEXT,
            "toolInput": {},
            "toolResult": {"content": [{"type": "text", "text": "-"}], "structuredContent": hostile},
        },
    )
    frame = await first_frame(page)
    await frame.wait_for_selector("figure[data-chart='values']")
    found = await frame.evaluate(
        "() => [window.pwned === undefined,"
        " document.querySelectorAll('img, iframe, foreignObject, style, svg svg').length,"
        " document.scripts.length, document.getElementById('title').textContent,"
        " [...document.querySelectorAll(\"figure[data-chart='status'] g.bar\")].map(g => g.dataset.key),"
        " [...document.querySelectorAll('[data-field]')].map(b => b.dataset.field),"
        " document.getElementById('coverage').textContent]"
    )
    sm = hostile["summary"]
    shown_fields = [f["name"] for f in sm["extracted_fields"] if expected_values(f)][:4]
    check(found[0], "a hostile string ran script")
    check(found[1] == 1, f"hostile strings added elements ({found[1] - 1} beyond the page's own style)")
    check(found[2] == 1, "a hostile string added a script element")
    check(found[3] == sm["campaign_name"], f"the title is not the name as text: {found[3]!r}")
    check(found[4] == list(sm["by_status"]), "status keys changed on the way into the page")
    check(found[5] == shown_fields, "field names changed on the way into the page")
    check(found[6] == sm["coverage"]["note"], "the coverage note is not shown as text")
    await page.close()


async def synced_campaigns(client: Client) -> list[dict[str, Any]]:
    """The demo platform's campaigns once its start-up sync has indexed every call."""
    for _ in range(120):
        answer = (await client.call_tool("list_campaigns", {"provider": PROVIDER})).structured_content or {}
        rows: list[dict[str, Any]] = answer["campaigns"]
        if not answer.get("syncing") and all(
            r["platform_calls"] is None or r["indexed_calls"] >= r["platform_calls"] for r in rows
        ):
            return rows
        await asyncio.sleep(1)
    raise AssertionError("the demo's start-up sync did not finish in 2 minutes")


async def first_frame(page: Page) -> Frame:
    handle = await page.wait_for_selector("#app")
    frame = await handle.content_frame()
    check(frame is not None, "the app's frame did not load")
    assert frame is not None
    return frame


async def run(docs: bool) -> None:
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    with demo_environment(Settings(), now=DEMO_NOW) as env:
        server = build_server(env.settings, transports=env.transports)
        async with Client(server, raise_exceptions=True) as client:
            rows = await synced_campaigns(client)
            campaign = max(
                (r for r in rows if r["campaign_id"]),
                key=lambda r: (r["by_status"].get("failed", 0), r["campaign_id"]),
            )
            arguments = {"campaign_id": campaign["campaign_id"], "provider": PROVIDER}
            result = await client.call_tool("show_campaign_dashboard", arguments)
            check(not result.is_error, "show_campaign_dashboard failed")
            report = result.structured_content or {}
            sm = report["summary"]
            check(
                bool(sm["coverage"]["complete"]), f"the demo campaign is not fully indexed: {sm['coverage']}"
            )
            check(bool(sm["failed_per_day"]), "the demo campaign has no failed calls to drill into")
            resource = await client.read_resource(DASHBOARD_URI)
            html = resource.contents[0].text  # type: ignore[union-attr]

            async def call_server_tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
                answer = await client.call_tool(name, args)
                return answer.model_dump(mode="json", by_alias=True, exclude_none=True)

            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                page = await browser.new_page(viewport={"width": 980, "height": 900})
                requests: list[str] = []
                page.on("request", lambda r: requests.append(r.url))
                await page.expose_function("callServerTool", call_server_tool)
                await page.set_content(HOST_PAGE)
                await page.evaluate(
                    "(s) => window.startApp(s)",
                    {
                        "html": html,
                        "hostContext": HOST_CONTEXT,
                        "toolInput": arguments,
                        "toolResult": result.model_dump(mode="json", by_alias=True, exclude_none=True),
                    },
                )
                frame = await first_frame(page)
                await frame.wait_for_selector("figure[data-chart='values']")

                # The handshake, in order, then the size it reports.
                await page.wait_for_function(
                    "window.received.some(m => m.method === 'ui/notifications/size-changed')"
                )
                received = await page.evaluate("window.received")
                methods = [m.get("method") for m in received]
                check(
                    methods[:2] == ["ui/initialize", "ui/notifications/initialized"], f"handshake: {methods}"
                )
                check(received[0]["params"]["protocolVersion"] == "2026-01-26", "protocol version")
                sizes = [m["params"] for m in received if m.get("method") == "ui/notifications/size-changed"]
                check(all(s["height"] > 300 and s["width"] > 0 for s in sizes[-1:]), f"sizes: {sizes}")

                # The host's theme and variables are the page's.
                theme = await frame.evaluate(
                    "() => [document.documentElement.dataset.theme,"
                    " getComputedStyle(document.documentElement)"
                    ".getPropertyValue('--color-text-info').trim(),"
                    " getComputedStyle(document.body).backgroundColor]"
                )
                check(theme == ["dark", "#4aa3ff", "rgb(15, 17, 21)"], f"theme not applied: {theme}")

                check_charts(await frame.evaluate(READ_CHARTS), sm)
                title = await frame.text_content("#title")
                check(title == (sm["campaign_name"] or sm["campaign_id"]), f"title {title!r}")
                # The frame grows to the height the app reports (its last size-changed).
                await page.wait_for_function(
                    "() => { const sizes = window.received"
                    ".filter(m => m.method === 'ui/notifications/size-changed');"
                    " const f = document.getElementById('app');"
                    " return sizes.length && f.contentDocument === null"
                    " && f.style.height === sizes[sizes.length - 1].params.height + 'px'; }"
                )
                height = await frame.evaluate("document.documentElement.scrollHeight")
                frame_height = await page.evaluate(
                    "document.getElementById('app').getBoundingClientRect().height"
                )
                check(frame_height == height, f"the frame is {frame_height}px high, the app {height}px")
                # (Chromium paints a frame's content beyond the viewport lazily: show it whole.)
                await page.set_viewport_size({"width": 980, "height": int(height)})
                await page.wait_for_timeout(300)
                await page.screenshot(path=str(build / "dashboard.png"))

                # Drill-down 1: the failed calls of the first day that had any.
                day = min(sm["failed_per_day"])
                await frame.click(f"figure[data-chart='days'] g.click[data-key='{day}'] rect.f")
                await frame.wait_for_function(
                    "document.getElementById('drill-status').textContent !== 'Loading…'"
                )
                status = await frame.text_content("#drill-status")
                check(
                    await frame.query_selector("#drill-body li") is not None,
                    f"no failed calls shown: {status}",
                )
                calls = await page.evaluate("window.toolCalls")
                wanted = {"campaign_id": campaign["campaign_id"], "day": day, "provider": PROVIDER}
                check(
                    calls == [{"name": "dashboard_failed_calls", "arguments": wanted}], f"tools/call: {calls}"
                )
                truth = await client.call_tool("dashboard_failed_calls", wanted)
                truth_ids = [c["call_id"] for c in (truth.structured_content or {})["calls"]]
                shown = await frame.eval_on_selector_all(
                    "#drill-body li", "els => els.map(e => e.dataset.call)"
                )
                check(shown == truth_ids and len(shown) == sm["failed_per_day"][day], f"failed calls {shown}")

                # Drill-down 2: that call's transcript.
                await frame.click(f"#drill-body li[data-call='{truth_ids[0]}'] button")
                await page.wait_for_function("window.toolCalls.length === 2")
                calls = await page.evaluate("window.toolCalls")
                wanted_call = {"call_id": truth_ids[0], "provider": PROVIDER}
                check(
                    calls[1] == {"name": "dashboard_call_transcript", "arguments": wanted_call}, f"{calls[1]}"
                )
                detail = await client.call_tool("dashboard_call_transcript", wanted_call)
                turns = (detail.structured_content or {})["transcript"]
                await frame.wait_for_function(
                    "document.getElementById('drill-status').textContent !== 'Loading…'"
                )
                drawn_turns = await frame.eval_on_selector_all(
                    "#drill-body p[data-turn]", "els => els.length"
                )
                check(drawn_turns == len(turns), f"{drawn_turns} turns drawn of {len(turns)}")

                check(
                    all(url.startswith(("about:", "data:")) for url in requests),
                    f"the page made requests: {requests}",
                )
                # The host switches to a light theme: the page follows.
                await page.evaluate(
                    "() => window.sendToApp({method: 'ui/notifications/host-context-changed', params: {"
                    " theme: 'light', styles: {variables: {'--color-background-primary': '#fdfcfa'}}}})"
                )
                await frame.wait_for_function("document.documentElement.dataset.theme === 'light'")
                background = await frame.evaluate("getComputedStyle(document.body).backgroundColor")
                check(background == "rgb(253, 252, 250)", f"the new theme is not applied: {background}")
                await check_hostile_strings_stay_text(browser, html, report)
                await browser.close()
    if docs:
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(build / "dashboard.png", ROOT / "docs" / "dashboard.png")
    print(
        json.dumps(
            {
                "campaign": campaign["campaign_id"],
                "calls": sm["totals"]["calls"],
                "days": len(sm["calls_per_day"]),
                "html_bytes": len(html.encode()),
                "screenshot": "build/dashboard.png",
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="also copy the screenshot to docs/dashboard.png")
    asyncio.run(run(parser.parse_args().docs))


if __name__ == "__main__":
    sys.exit(main())
