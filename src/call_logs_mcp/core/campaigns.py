"""What a platform itself says about a campaign, asked live: one listing request filtered by the
campaign (one row). It tells a campaign that exists from a mistyped id, names the platform that
holds it when several are configured, and carries the platform's exact totals where it reports
them (CallCamp: calls, duration and price of the whole filtered set)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio

from call_logs_mcp.errors import CallLogsError
from call_logs_mcp.models import CallQuery, PlatformTotals
from call_logs_mcp.providers import join_names
from call_logs_mcp.providers.base import CallProvider


@dataclass(frozen=True)
class CampaignProbe:
    """`has_calls` is None when the platform could not tell (it failed, or cannot filter by
    campaign); `totals` are the platform's own figures for the campaign, when it reports them."""

    has_calls: bool | None
    totals: PlatformTotals | None = None


async def probe_campaign(
    providers: Mapping[str, CallProvider], names: Sequence[str], campaign: str
) -> dict[str, CampaignProbe]:
    """Each named platform's answer for `campaign`, asked side by side. Never raises for a
    platform's failure: that platform's probe says it could not tell."""
    found: dict[str, CampaignProbe] = {}

    async def ask(name: str) -> None:
        try:
            page = await providers[name].list_calls(CallQuery(campaign_id=campaign), limit=1)
        except CallLogsError:
            found[name] = CampaignProbe(has_calls=None)
            return
        if "campaign_id" in page.unsupported_filters:
            found[name] = CampaignProbe(has_calls=None)
            return
        counted = page.totals.calls if page.totals is not None else None
        has_calls = bool(page.calls) or bool(counted)
        found[name] = CampaignProbe(has_calls=has_calls, totals=page.totals)

    async with anyio.create_task_group() as group:
        for name in names:
            group.start_soon(ask, name)
    return {name: found[name] for name in names}


def no_calls_message(display_names: Sequence[str], campaign: str, hint: str | None = None) -> str:
    """The one sentence for a campaign id that no addressed platform knows, and the `hint` of a
    name nothing answered to (`directory.Resolved.hint`)."""
    who = f"{join_names(display_names, 'and')} {'reports' if len(display_names) == 1 else 'report'}"
    said = (
        f"{who} no calls in campaign {campaign}: the id may be wrong (list_campaigns shows known "
        "ids) or the campaign has not called anyone yet."
    )
    return f"{said} {hint}" if hint else said


async def campaign_absent_note(
    providers: Mapping[str, CallProvider], names: Sequence[str], campaign: str, hint: str | None = None
) -> str | None:
    """The `no_calls_message` for the platforms among `names` that report no calls in
    `campaign`, or None when every platform holds it or could not tell."""
    probes = await probe_campaign(providers, names, campaign)
    absent = [providers[n].info.display_name for n in names if probes[n].has_calls is False]
    return no_calls_message(absent, campaign, hint) if absent else None
