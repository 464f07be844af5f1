"""The campaign dashboard, an MCP App (the `io.modelcontextprotocol/ui` extension, SDK `mcp.server.apps`).

`show_campaign_dashboard` answers exactly what `summarize_campaign` answers (the same core, the same
shaper: its text stays complete for hosts that render no apps) and links, through `_meta.ui`, to
one self-contained HTML document (`dashboard.html`, served as `text/html;profile=mcp-app`) that
draws the summary's structured content as inline-SVG charts. Two app-only tools (visibility
`["app"]`: hosts keep them from the model) serve its drill-downs: the failed calls of a day, and a
call's transcript. The page inserts every platform string as text only; the shaper has already
scrubbed and redacted them.
"""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.apps import Apps, ResourceCsp
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from call_logs_mcp.core.outcomes import outcome_filters
from call_logs_mcp.output.schemas import CallDetail, CampaignReport, FoundCalls
from call_logs_mcp.server.tools import (
    READ_ONLY,
    CampaignIdArg,
    FromDateArg,
    ProviderArg,
    ToDateArg,
    call_detail,
    campaign_report,
    progress_of,
    result_of,
    tool_errors,
)

if TYPE_CHECKING:
    from call_logs_mcp.server.runtime import Runtime

DASHBOARD_URI = "ui://call-logs/campaign-dashboard.html"
FAILED_CALLS_PAGE = 50


def dashboard_html() -> str:
    """The dashboard document, as packaged."""
    return files("call_logs_mcp.server").joinpath("dashboard.html").read_text(encoding="utf-8")


def dashboard_apps(runtime: Runtime) -> Apps:
    """The MCP Apps extension holding the dashboard's tools and its `ui://` resource."""
    apps = Apps()

    @apps.tool(
        resource_uri=DASHBOARD_URI,
        name="show_campaign_dashboard",
        title="Show a campaign dashboard",
        annotations=READ_ONLY,
        description=(
            "The summarize_campaign answer for one campaign, shown by hosts that render MCP Apps as "
            "a dashboard: outcomes by status, calls and failed calls per day, durations, QA scores "
            "and the top extracted values, with the failed calls of a day and each call's transcript "
            "a click away. Its text is the same complete summary for hosts that do not. Use it "
            "when the user wants to see a campaign; summarize_campaign when you need its figures."
        ),
    )
    async def show_campaign_dashboard(
        campaign_id: CampaignIdArg,
        ctx: Context[Any, Any],
        provider: ProviderArg = None,
        from_date: FromDateArg = None,
        to_date: ToDateArg = None,
    ) -> Annotated[CallToolResult, CampaignReport]:
        with tool_errors("show_campaign_dashboard"):
            return await campaign_report(
                runtime, ctx, campaign_id, provider=provider, from_date=from_date, to_date=to_date
            )

    @apps.tool(
        resource_uri=DASHBOARD_URI,
        visibility=["app"],
        name="dashboard_failed_calls",
        title="Failed calls of a day (dashboard)",
        annotations=READ_ONLY,
        description=(
            "For the campaign dashboard: the failed calls of one campaign that started on one day "
            "(UTC), newest first, with the exact number."
        ),
    )
    async def dashboard_failed_calls(
        campaign_id: Annotated[str, Field(description="Campaign id (or its unambiguous name).")],
        day: Annotated[str, Field(description="The day, YYYY-MM-DD (UTC).", max_length=10)],
        ctx: Context[Any, Any],
        provider: ProviderArg = None,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous answer.")] = None,
    ) -> Annotated[CallToolResult, FoundCalls]:
        with tool_errors("dashboard_failed_calls"):
            wanted = outcome_filters(
                campaign_id=campaign_id,
                status="failed",
                from_date=day,
                to_date=day,
                min_duration=None,
                max_duration=None,
                min_qa_score=None,
                max_qa_score=None,
                ended_reason=None,
                where=None,
            )
            shaped = await runtime.service.find_calls(
                wanted,
                provider=provider,
                limit=FAILED_CALLS_PAGE,
                cursor=cursor,
                progress=progress_of(ctx),
                fit=runtime.shaper.found_calls,
            )
            return result_of(shaped)

    @apps.tool(
        resource_uri=DASHBOARD_URI,
        visibility=["app"],
        name="dashboard_call_transcript",
        title="A call's transcript (dashboard)",
        annotations=READ_ONLY,
        description="For the campaign dashboard: one call with its transcript from a turn on.",
    )
    async def dashboard_call_transcript(
        call_id: Annotated[str, Field(description="The call id.")],
        provider: ProviderArg = None,
        transcript_offset: Annotated[int, Field(ge=0, description="First turn to show (from 0).")] = 0,
    ) -> Annotated[CallToolResult, CallDetail]:
        with tool_errors("dashboard_call_transcript"):
            return await call_detail(runtime, call_id, provider=provider, transcript_offset=transcript_offset)

    apps.add_html_resource(
        DASHBOARD_URI,
        dashboard_html(),
        name="campaign_dashboard",
        title="Campaign dashboard",
        description="Charts of a campaign summary (show_campaign_dashboard); no external requests.",
        csp=ResourceCsp(),  # nothing beyond the restrictive default: no connect, resource or frame domains
        prefers_border=True,
    )
    _ = (show_campaign_dashboard, dashboard_failed_calls, dashboard_call_transcript)
    return apps
