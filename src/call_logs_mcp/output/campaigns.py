"""summarize_campaign and list_campaigns answers: every platform string scrubbed, a summary's big
parts cut level by level until it fits, campaign rows shrunk by rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from call_logs_mcp.analytics import CampaignSummary
from call_logs_mcp.output.budget import Shaped, checked, fit_rows, within
from call_logs_mcp.output.sanitize import untrusted_block
from call_logs_mcp.output.schemas import AgentRow, CampaignList, CampaignReport, CampaignRow
from call_logs_mcp.output.scrub import Scrubber
from call_logs_mcp.output.text import (
    clip,
    fmt_count,
    fmt_duration,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_synced,
    fmt_time,
)

if TYPE_CHECKING:
    # Types only: importing the index package at start-up would load all of it.
    from call_logs_mcp.index import AgentListing, CampaignListing


def campaign_report(
    summary: CampaignSummary,
    *,
    sync_errors: Mapping[str, str],
    syncing: Mapping[str, str],
    notes: Sequence[str] = (),
    scrub: Scrubber,
    budget: int,
) -> Shaped:
    """A summarize_campaign answer: every platform string scrubbed, big parts cut to fit."""
    data = summary.model_dump(mode="json")
    scrubbed = _scrub_summary(data, scrub)
    for level in range(len(_SUMMARY_LEVELS)):
        shrunk, cut = _shrink_summary(scrubbed, level)
        validated = CampaignSummary.model_validate(shrunk)
        model = CampaignReport(
            summary=validated,
            shortened=cut,
            sync_errors=dict(sync_errors),
            syncing=dict(syncing),
            notes=[scrub.line(note, 400) for note in notes],
        )
        structured = model.model_dump(mode="json")
        text = _summary_text(structured)
        if within(text, structured, budget):
            break
    else:  # pragma: no cover - the last level keeps only small, bounded parts
        raise AssertionError("campaign summary does not fit the budget")
    return checked(text, structured, budget)


def _scrub_summary(data: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    s = scrub
    out = dict(data)
    out["campaign_id"] = s.ident(data.get("campaign_id"))
    out["campaign_name"] = s.line(data["campaign_name"], 200) if data.get("campaign_name") else None
    out["by_ended_reason"] = {s.line(k, 120): v for k, v in data["by_ended_reason"].items()}
    fields = []
    for item in data.get("extracted_fields", []):
        item = dict(item)
        item["withheld"] = _holds_personal_data(item, s)
        item["name"] = s.line(item["name"], 120)
        if item["withheld"]:
            # Neither a phone number's mean nor the top values of a field of e-mail addresses.
            item["mean"] = item["min"] = item["max"] = None
            item["values"] = None
        elif item.get("values") is not None:
            merged: dict[str, int] = {}
            for key, count in item["values"].items():
                shown = s.line(key, 160)
                merged[shown] = merged.get(shown, 0) + int(count)
            item["values"] = merged
        fields.append(item)
    out["extracted_fields"] = fields
    coverage = dict(data["coverage"])
    coverage["note"] = s.line(coverage.get("note", ""), 600)
    out["coverage"] = coverage
    totals = dict(data["totals"])
    totals["currency"] = s.currency(totals.get("currency"))
    out["totals"] = totals
    cost = dict(data["cost"])
    cost["currency"] = s.currency(cost.get("currency"))
    # "" stays "": the currency was not reported (as the field description says).
    cost["by_currency"] = {s.currency(k) or "": v for k, v in cost.get("by_currency", {}).items()}
    out["cost"] = cost
    out["notable_calls"] = [
        {**n, "call_id": s.ident(n["call_id"]), "uri": clip(n["uri"], 300)} for n in data["notable_calls"]
    ]
    return out


def _holds_personal_data(field: Mapping[str, Any], scrub: Scrubber) -> bool:
    """Whether an extracted field's name or shown values hold personal data (with redaction on)."""
    redactor = scrub.redactor
    if not redactor.enabled:
        return False
    if redactor.contains(field["name"]):
        return True  # a phone number used as a key
    if field["kind"] in ("number", "text") and redactor.sensitive_key(field["name"]):
        return True
    bounds = [field.get(k) for k in ("min", "max") if field.get(k) is not None]
    if any(redactor.value(bound) != bound for bound in bounds):
        return True
    return any(redactor.contains(str(key)) for key in (field.get("values") or {}))


# (top values per extracted field, extracted fields / list entries kept, days of calls_per_day and
# failed_per_day kept)
_SUMMARY_LEVELS = (
    (None, None, None),
    (20, 40, 60),
    (8, 20, 31),
    (3, 10, 14),
    (1, 5, 7),
    (0, 2, 3),
    (0, 0, 0),
)


def _top(values: Mapping[str, int], n: int) -> dict[str, int]:
    ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return dict(ranked)


def _shrink_summary(data: dict[str, Any], level: int) -> tuple[dict[str, Any], list[str]]:
    """The summary with big parts cut to the given level; (data, names of what was cut)."""
    top_values, max_fields, max_days = _SUMMARY_LEVELS[level]
    if top_values is None or max_fields is None or max_days is None:
        return data, []
    out = dict(data)
    cut: list[str] = []
    fields = []
    for item in data.get("extracted_fields", [])[:max_fields]:
        item = dict(item)
        values = item.get("values")
        if values and len(values) > top_values:
            item["values"] = _top(values, top_values)
            if "extracted_fields.values" not in cut:
                cut.append("extracted_fields.values")
        fields.append(item)
    if len(data.get("extracted_fields", [])) > max_fields:
        cut.append("extracted_fields")
    out["extracted_fields"] = fields
    days = data.get("calls_per_day", {})
    if len(days) > max_days:
        out["calls_per_day"] = dict(sorted(days.items())[-max_days:])
        cut.append("calls_per_day (latest days kept)")
    failed_days = data.get("failed_per_day", {})
    if len(failed_days) > max_days:
        out["failed_per_day"] = dict(sorted(failed_days.items())[-max_days:])
        cut.append("failed_per_day (latest days kept)")
    reasons = data.get("by_ended_reason", {})
    if len(reasons) > max_fields:
        out["by_ended_reason"] = _top(reasons, max_fields)
        cut.append("by_ended_reason")
    for key in ("by_status", "platform_by_status"):
        values = data.get(key)
        if values and len(values) > max(3, max_fields):
            out[key] = _top(values, max(3, max_fields))
            cut.append(key)
    notable = data.get("notable_calls", [])
    if len(notable) > max_fields:
        out["notable_calls"] = notable[:max_fields]
        cut.append("notable_calls")
    if level == len(_SUMMARY_LEVELS) - 1:
        # The smallest form: headline figures only.
        qa = dict(data["qa"])
        if qa.get("distribution"):
            qa["distribution"] = []
            cut.append("qa.distribution")
        out["qa"] = qa
        duration = dict(data["duration"])
        if duration.get("histogram"):
            duration["histogram"] = []
            cut.append("duration.histogram")
        out["duration"] = duration
        cost = dict(data["cost"])
        if len(cost.get("by_currency", {})) > 3:
            cost["by_currency"] = _top(cost["by_currency"], 3)
            cut.append("cost.by_currency")
        out["cost"] = cost
        coverage = dict(data["coverage"])
        coverage["note"] = clip(coverage.get("note") or "", 160)
        out["coverage"] = coverage
        if out.get("campaign_name"):
            out["campaign_name"] = clip(out["campaign_name"], 60)
    return out, cut


def _agent_rows(agents: Sequence[AgentListing], scrub: Scrubber) -> list[AgentRow]:
    s = scrub
    return [
        AgentRow(
            provider=a.provider,
            word=a.word,
            agent_id=s.ident(a.agent_id) or "",
            name=s.line(a.name, 160) if a.name else None,
            indexed_calls=a.indexed_calls,
            by_status={s.line(k, 40): v for k, v in a.by_status.items()},
            campaigns={(s.ident(k) or ""): v for k, v in a.campaigns.items()},
            calls_without_campaign=a.calls_without_campaign,
            first_call_at=fmt_time(a.first_call_at),
            last_call_at=fmt_time(a.last_call_at),
        )
        for a in agents
    ]


_AGENT_CAMPAIGNS = 5  # campaigns named per agent in the text (the structured row has them all)


def _agent_line(r: AgentRow) -> str:
    name = f' "{r.name}"' if r.name else ""
    span = ""
    if r.first_call_at or r.last_call_at:
        span = f", {(r.first_call_at or '?')[:10]} → {(r.last_call_at or '?')[:10]}"
    statuses = ", ".join(f"{k} {v}" for k, v in r.by_status.items())
    where = [f"{k} {fmt_int(v)}" for k, v in list(r.campaigns.items())[:_AGENT_CAMPAIGNS]]
    if len(r.campaigns) > _AGENT_CAMPAIGNS:
        where.append(f"{len(r.campaigns) - _AGENT_CAMPAIGNS} more campaigns")
    if r.calls_without_campaign:
        where.append(f"no known campaign {fmt_int(r.calls_without_campaign)}")
    return (
        f"- {r.word} {r.agent_id}{name} ({r.provider}): {fmt_count(r.indexed_calls, 'call')} indexed{span}"
        + (f"; {statuses}" if statuses else "")
        + (f"; by campaign: {', '.join(where)}" if where else "")
    )


def _agents_heading(rows: Sequence[AgentRow]) -> str:
    label = " and ".join(f"{word}s" for word in sorted({r.word for r in rows}))
    return (
        f"{label.capitalize()} of the platforms ({fmt_int(len(rows))}): who made the indexed calls, a "
        "second grouping of the same calls, not campaigns (never pass one of these ids as campaign_id):"
    )


def campaign_list(
    listings: Sequence[CampaignListing],
    *,
    agents: Sequence[AgentListing] = (),
    sync_errors: Mapping[str, str],
    syncing: Mapping[str, str],
    scrub: Scrubber,
    budget: int,
) -> Shaped:
    """A list_campaigns answer: as many campaigns, and as many agents, as fit, the rest counted."""
    s = scrub
    agent_rows = _agent_rows(agents, scrub)
    rows = [
        CampaignRow(
            provider=c.provider,
            campaign_id=s.ident(c.campaign_id),
            name=s.line(c.name, 160) if c.name else None,
            indexed_calls=c.indexed_calls,
            platform_calls=c.platform_calls,
            first_call_at=fmt_time(c.first_call_at),
            last_call_at=fmt_time(c.last_call_at),
            last_synced_at=fmt_time(c.last_synced_at),
            by_status={s.line(k, 40): v for k, v in c.by_status.items()},
            opening_line=s.line(c.opening_line, 120) if c.opening_line else None,
        )
        for c in listings
    ]
    rows.sort(key=lambda r: (r.last_call_at or "", r.provider), reverse=True)

    def line(r: CampaignRow) -> str:
        ident = r.campaign_id or "(calls whose platform record names no campaign)"
        name = f' "{r.name}"' if r.name else ""
        counts = f"{fmt_count(r.indexed_calls, 'call')} indexed"
        if r.platform_calls is not None:
            counts += f" (platform reports {fmt_int(r.platform_calls)})"
        span = ""
        if r.first_call_at or r.last_call_at:
            span = f", {(r.first_call_at or '?')[:10]} → {(r.last_call_at or '?')[:10]}"
        statuses = ", ".join(f"{k} {v}" for k, v in r.by_status.items())
        return f"- {ident}{name} ({r.provider}): {counts}{span}" + (f"; {statuses}" if statuses else "")

    def build(k: int) -> tuple[str, dict[str, Any]]:
        shown = agent_rows[:k]
        model = CampaignList(
            campaigns=rows[:k],
            omitted=max(0, len(rows) - k),
            agents=shown,
            agents_omitted=len(agent_rows) - len(shown),
            sync_errors=dict(sync_errors),
            syncing=dict(syncing),
        )
        out = [f"{fmt_count(len(rows), 'campaign')} in the local index, most recent first:"]
        for name, error in sync_errors.items():
            out.append(f"Syncing {name} did not complete just now, the list may be stale: {error}")
        for name, how_far in syncing.items():
            out.append(f"{name} is still syncing in the background ({how_far}): more calls may appear.")
        out.extend(line(r) for r in rows[:k])
        openings = [
            f"- {r.campaign_id or '(no campaign)'} ({r.provider}): {r.opening_line}"
            for r in rows[:k]
            if r.opening_line
        ]
        if openings:
            out.append(
                untrusted_block("the usual opening line of each campaign (agent speech)", "\n".join(openings))
            )
        if k < len(rows):
            out.append(f"{len(rows) - k} more omitted to fit the output budget; pass provider to narrow.")
        out.append("Pass a campaign_id to summarize_campaign, list_calls or search_transcripts.")
        if agent_rows:
            out.append(_agents_heading(agent_rows))
            out.extend(_agent_line(r) for r in shown)
            if len(shown) < len(agent_rows):
                out.append(
                    f"{len(agent_rows) - len(shown)} more agents omitted to fit the output budget; "
                    "pass provider to narrow."
                )
            out.append(
                "No tool filters by agent: an agent's calls are reached through the campaigns listed "
                "with it (campaign_id), and search_transcripts finds what its calls said."
            )
        if any(r.campaign_id is None for r in rows[:k]):
            out.append(
                "Calls under no campaign come from platforms whose call records do not name their "
                "campaign: a campaign appears here once it is named in the campaigns file "
                "(CALL_LOGS_CAMPAIGNS) or asked for by id (from the platform's dashboard) with provider."
            )
        return "\n".join(out), model.model_dump(mode="json")

    _, shaped = fit_rows(budget, max(len(rows), len(agent_rows)), build)
    return shaped


def _summary_text(report: Mapping[str, Any]) -> str:
    """Terse lines for a model; every string in `report` is already scrubbed."""
    sm = report["summary"]
    t = sm["totals"]
    title = f"Campaign {sm.get('campaign_id') or '(all calls)'}"
    if sm.get("campaign_name"):
        title += f' "{sm["campaign_name"]}"'
    title += f" on {sm['provider']}"
    if sm.get("from_date") or sm.get("to_date"):
        title += f", {(sm.get('from_date') or '…')[:10]} to {(sm.get('to_date') or '…')[:10]}"
    lines = [title, *report.get("notes", [])]
    # Figures computed from the index are over the indexed calls (the headline may be the
    # platform's count); each says over how many of them when not all had the value.
    indexed: int = sm["coverage"]["indexed_calls"]
    if not t["calls"]:
        # Nothing to measure: no "0s" or "0.00 USD" that reads as a measurement.
        lines.append(f"No calls ({t['calls_source']}).")
    else:
        head = [f"{fmt_count(t['calls'], 'call')} ({t['calls_source']})"]
        head += [part for part in (_rates(sm, t["calls"]), _total_duration(sm, indexed)) if part]
        head += [part for part in (_total_cost(sm, indexed),) if part]
        lines.append(" · ".join(head))
    if sm.get("first_call_at"):
        lines.append(f"Calls from {sm['first_call_at']} to {sm.get('last_call_at')}")
    d = sm["duration"]
    if d.get("calls_with_duration"):
        lines.append(
            f"Duration per call{_of(d['calls_with_duration'], indexed, 'timed')}: "
            + ", ".join(
                f"{label} {fmt_duration(d.get(key))}"
                for label, key in (
                    ("mean", "mean_seconds"),
                    ("median", "median_seconds"),
                    ("p90", "p90_seconds"),
                    ("max", "max_seconds"),
                )
                if d.get(key) is not None
            )
        )
    if indexed:
        lines.append("By status: " + ", ".join(f"{k} {v}" for k, v in sm["by_status"].items()))
    if sm.get("platform_by_status"):
        lines.append(
            "Platform's status counts: " + ", ".join(f"{k} {v}" for k, v in sm["platform_by_status"].items())
        )
    reason_line = _ended_reasons(sm, indexed)
    if reason_line:
        lines.append(reason_line)
    qa = sm["qa"]
    if qa.get("scored_calls"):
        dist = ", ".join(
            f"{fmt_num(b['low'])}–{fmt_num(b['high'])}: {b['calls']}" for b in qa.get("distribution", [])
        )
        lines.append(
            f"QA: {fmt_int(qa['scored_calls'])} of {fmt_count(indexed, 'call')} scored, "
            f"mean {fmt_num(qa.get('mean'))}, min {fmt_num(qa.get('min'))}, "
            f"max {fmt_num(qa.get('max'))}" + (f"; distribution {dist}" if dist else "")
        )
    elif indexed:
        lines.append("QA: no scores reported for these calls.")
    if sm["extracted_fields"]:
        lines.append(f"Extracted data ({_filter_hint(sm['extracted_fields'])}):")
        for f in sm["extracted_fields"]:
            bits = [f"{f['kind']}, {fmt_int(f['calls'])} of {fmt_count(indexed, 'call')}"]
            if f.get("true_rate") is not None:
                bits.append(f"true {fmt_pct(f['true_rate'])}")
            if f.get("mean") is not None:
                bits.append(
                    f"mean {fmt_num(f['mean'])}, min {fmt_num(f.get('min'))}, max {fmt_num(f.get('max'))}"
                )
            if f.get("values"):
                bits.append(", ".join(f"{k}: {v}" for k, v in f["values"].items()))
            if f.get("withheld"):
                bits.append("values withheld: personal data")
            lines.append(f"- {f['name']} ({'; '.join(bits)})")
    if sm["calls_per_day"]:
        line = _calls_over_time(sm["calls_per_day"])
        undated = indexed - sum(sm["calls_per_day"].values())
        if undated > 0 and not any(cut.startswith("calls_per_day") for cut in report.get("shortened", [])):
            line += f"; {fmt_count(undated, 'call')} without a start time"
        lines.append(line)
    if sm["notable_calls"]:
        lines.append("Notable calls (get_call with call_id and provider):")
        for n in sm["notable_calls"]:
            value = ""
            if n.get("value") is not None:
                shown = fmt_duration(n["value"]) if n["why"] == "longest" else fmt_num(n["value"])
                value = f" ({shown})"
            lines.append(f"- {n['why']}{value}: {n['call_id']} ({n['provider']})")
    cov = sm["coverage"]
    lines.append(
        f"Coverage: {fmt_count(indexed, 'call') if indexed else 'no calls'} indexed"
        + (f" of {fmt_int(cov['platform_calls'])} the platform reports" if cov.get("platform_calls") else "")
        + f", last synced {fmt_synced(cov.get('last_synced_at'))}. {cov.get('note') or ''}".rstrip()
    )
    for name, error in report.get("sync_errors", {}).items():
        lines.append(f"Syncing {name} did not complete just now, figures may be stale: {error}")
    for name, how_far in report.get("syncing", {}).items():
        lines.append(
            f"{name} is still syncing in the background ({how_far}): the figures cover what is "
            "indexed so far; ask again in a minute for more."
        )
    if report.get("shortened"):
        lines.append("Shortened to fit the output budget: " + ", ".join(report["shortened"]) + ".")
    return "\n".join(lines)


def _of(count: int, indexed: int, what: str) -> str:
    """` (15 of 18 calls timed)` when not every indexed call had the value, else nothing."""
    return f" ({fmt_int(count)} of {fmt_count(indexed, 'call')} {what})" if count < indexed else ""


def _rates(sm: Mapping[str, Any], calls: int) -> str | None:
    """The rates, each saying once what it counts; over how many calls when that is not `calls`."""
    if sm.get("connect_rate") is None:
        return None
    rates = (
        f"connect rate {fmt_pct(sm['connect_rate'])} (a person answered), "
        f"voicemail {fmt_pct(sm.get('voicemail_rate'))}, "
        f"completion rate {fmt_pct(sm.get('completion_rate'))} (completed)"
    )
    final = sm["final_calls"]
    if final != calls:
        rates += f", of {fmt_count(final, 'finished call')}"
    return rates


def _total_duration(sm: Mapping[str, Any], indexed: int) -> str | None:
    t, d = sm["totals"], sm["duration"]
    if t["duration_source"] == "platform" and t.get("duration_seconds") is not None:
        return f"total duration {fmt_duration(t['duration_seconds'])} (platform)"
    if not indexed:
        return None
    if t.get("duration_seconds") is None:
        return "no duration reported"
    timed = _of(d["calls_with_duration"], indexed, "timed").strip(" ()")
    return f"total duration {fmt_duration(t['duration_seconds'])} (index{', ' + timed if timed else ''})"


def _total_cost(sm: Mapping[str, Any], indexed: int) -> str | None:
    t, c = sm["totals"], sm["cost"]
    if t["cost_source"] == "platform" and t.get("cost") is not None:
        return f"cost {fmt_money(t['cost'], t.get('currency'))} (platform)"
    if not indexed:
        return None
    if t.get("cost") is not None:
        money = fmt_money(t["cost"], t.get("currency"))
    elif c.get("by_currency"):
        # Several currencies: each total apart (adding them up would be meaningless).
        money = " + ".join(fmt_money(amount, code or None) or "" for code, amount in c["by_currency"].items())
    else:
        return "no cost reported"
    priced = _of(c["calls_with_cost"], indexed, "priced").strip(" ()")
    return f"cost {money} (index{', ' + priced if priced else ''})"


def _ended_reasons(sm: Mapping[str, Any], indexed: int) -> str | None:
    """Reasons as the platform reported them; calls without one are named as such."""
    unreported = sm.get("ended_reason_unreported", 0)
    if not indexed:
        return None
    if unreported >= indexed:
        return "Ended reason: not reported by the platform for these calls."
    parts = [f"{k} {v}" for k, v in sm["by_ended_reason"].items()]
    if unreported:
        parts.append(f"not reported {unreported}")
    return "By ended reason: " + ", ".join(parts) if parts else None


def _filter_hint(fields: list[dict[str, Any]]) -> str:
    """How to find the calls behind these figures: find_calls conditions on two of the fields."""
    examples: list[str] = []
    for f in fields:
        if f["kind"] == "boolean" and not any("=true" in e for e in examples):
            examples.append(f"{f['name']}=true")
        elif f["kind"] == "number" and f.get("mean") is not None and not any(">" in e for e in examples):
            examples.append(f"{f['name']}>{round(float(f['mean']), 2):g}")
    shown = ", ".join(f'"{e}"' for e in examples[:2])
    return "find_calls filters calls on these with where=" + (
        f"[{shown}]" if shown else '["<field>=<value>"]'
    )


def _calls_over_time(per_day: dict[str, int]) -> str:
    """Calls per day, or per ISO week (keyed by its Monday) when the span is over 31 days: every
    day (week) from the first to the last, those without calls as 0, so none is skipped unseen."""
    counts: dict[date, int] = {}
    for day, count in per_day.items():
        d = date.fromisoformat(day[:10])
        counts[d] = counts.get(d, 0) + count
    first, last = min(counts), max(counts)
    if (last - first).days < 31:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return "Calls per day: " + ", ".join(f"{d.isoformat()} {counts.get(d, 0)}" for d in days)
    weeks: dict[date, int] = {}
    for d, count in counts.items():
        monday = d - timedelta(days=d.weekday())
        weeks[monday] = weeks.get(monday, 0) + count
    start = min(weeks)
    mondays = [start + timedelta(weeks=i) for i in range((max(weeks) - start).days // 7 + 1)]
    return "Calls per week (week of Monday): " + ", ".join(
        f"{m.isoformat()} {weeks.get(m, 0)}" for m in mondays
    )
