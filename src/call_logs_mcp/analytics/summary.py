"""The `CampaignSummary` the tools render, from `CampaignFacts`: rates, percentiles, the QA
distribution, extracted-data fields by type, and the coverage statement (definitions in the
package docstring and in the field descriptions, which the model reading the output sees).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from call_logs_mcp.analytics.facts import (
    DURATION_EDGES,
    FREE_TEXT_TOP,
    LOW_CARDINALITY,
    MAX_FIELDS,
    QA_BINS,
    CampaignFacts,
    FieldFacts,
    FieldKind,
    ValueStats,
    gather_facts,
    qa_scale,
)
from call_logs_mcp.models import Call, CallStatus, PlatformTotals, call_uri


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Source = Literal["index", "platform"]


class Totals(_Out):
    """Headline totals. `*_source` says whether a figure is the platform's exact total for
    the scope or computed from the calls in the local index."""

    calls: int
    calls_source: Source
    duration_seconds: float | None = Field(
        description="null when no call has a duration (from the index: over duration.calls_with_duration)"
    )
    duration_source: Source
    cost: float | None = Field(
        description="null when no call has a cost or costs are in several currencies (see cost.by_currency)"
    )
    currency: str | None
    cost_source: Source


class DurationBucket(_Out):
    low_seconds: float
    high_seconds: float | None = Field(description="exclusive; null for the last, open bucket")
    calls: int


class DurationStats(_Out):
    calls_with_duration: int
    total_seconds: float
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None = Field(
        description="90th percentile, linear interpolation between closest ranks"
    )
    max_seconds: float | None
    histogram: list[DurationBucket] = Field(
        default_factory=list, description="calls per duration bucket (empty when no call has a duration)"
    )


class CostStats(_Out):
    calls_with_cost: int
    total: float | None = Field(description="null when no call is priced or prices are in several currencies")
    currency: str | None
    by_currency: dict[str, float] = Field(description='totals per currency ("" = currency not reported)')


class QaBucket(_Out):
    low: float
    high: float
    calls: int


class QaStats(_Out):
    scored_calls: int
    mean: float | None
    min: float | None
    max: float | None
    scale_max: float | None = Field(description="assumed top of the QA scale (1, 5, 10 or 100)")
    distribution: list[QaBucket]


class FieldSummary(_Out):
    name: str
    kind: Literal["boolean", "number", "text", "list"]
    calls: int = Field(description="calls whose extracted data has a value of this kind")
    true_count: int | None = None
    true_rate: float | None = None
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    distinct_values: int | None = None
    values: dict[str, int] | None = Field(
        default=None, description="value counts, most frequent first (top repeated ones for free text)"
    )
    free_text: bool = False
    withheld: bool = Field(
        default=False,
        description="true when the field's name or values hold personal data (phone, card, account "
        "numbers, e-mails, ...): its values and mean/min/max are not shown",
    )


class NotableCall(_Out):
    provider: str
    call_id: str
    uri: str
    why: Literal["longest", "lowest_qa", "failed"]
    value: float | None = None
    started_at: datetime | None = None


class Coverage(_Out):
    indexed_calls: int
    calls_with_transcript: int
    platform_calls: int | None = Field(description="calls the platform reports for this scope, if it does")
    last_synced_at: datetime | None
    complete: bool | None = Field(description="the index holds every call the platform reports")
    note: str


class CampaignSummary(_Out):
    provider: str
    campaign_id: str | None
    campaign_name: str | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None
    totals: Totals
    by_status: dict[str, int]
    platform_by_status: dict[str, int] | None = None
    by_ended_reason: dict[str, int] = Field(
        description="calls per ended reason the platform reported (those without: ended_reason_unreported)"
    )
    ended_reason_unreported: int = Field(description="calls for which the platform reported no ended reason")
    final_calls: int = Field(description="indexed calls no longer in progress: the base of every rate")
    answered_calls: int = Field(
        description="final calls a person answered: the customer spoke (a customer turn), not voicemail"
    )
    connect_rate: float | None = Field(
        description="answered_calls / final_calls: a person answered (voicemail is not a connect)"
    )
    voicemail_rate: float | None = Field(description="calls that ended in voicemail / final_calls")
    completion_rate: float | None = Field(description="completed / final_calls")
    duration: DurationStats
    cost: CostStats
    qa: QaStats
    extracted_fields: list[FieldSummary]
    calls_per_day: dict[str, int]
    failed_per_day: dict[str, int] = Field(
        default_factory=dict, description="failed calls per day they started (days with none left out)"
    )
    first_call_at: datetime | None
    last_call_at: datetime | None
    notable_calls: list[NotableCall]
    coverage: Coverage


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def qa_stats(scores: ValueStats) -> QaStats:
    if not scores.count or scores.max is None:
        return QaStats(scored_calls=0, mean=None, min=None, max=None, scale_max=None, distribution=[])
    scale = qa_scale(scores.max)
    width = scale / QA_BINS
    buckets = [
        QaBucket(low=round(i * width, 6), high=round((i + 1) * width, 6), calls=count)
        for i, count in enumerate(scores.bins)
    ]
    return QaStats(
        scored_calls=scores.count,
        mean=_round(scores.total / scores.count),
        min=scores.min,
        max=scores.max,
        scale_max=scale,
        distribution=buckets,
    )


def duration_histogram(counts: list[int]) -> list[DurationBucket]:
    """The buckets of `DURATION_EDGES` with their counts (none when nothing was measured)."""
    if not any(counts):
        return []
    lows = (0.0, *DURATION_EDGES)
    highs: tuple[float | None, ...] = (*DURATION_EDGES, None)
    return [
        DurationBucket(low_seconds=low, high_seconds=high, calls=count)
        for low, high, count in zip(lows, highs, counts, strict=True)
    ]


def field_summary(facts: FieldFacts) -> FieldSummary:
    base: dict[str, Any] = {"name": facts.key, "kind": facts.kind.label, "calls": facts.calls}
    if facts.kind is FieldKind.BOOLEAN:
        base["true_count"] = facts.true_count
        base["true_rate"] = _round(facts.true_count / facts.calls) if facts.calls else None
    elif facts.kind is FieldKind.NUMBER:
        base["mean"] = _round(facts.num_sum / facts.calls) if facts.calls else None
        base["min"] = facts.num_min
        base["max"] = facts.num_max
    elif facts.kind is FieldKind.TEXT:
        base["distinct_values"] = facts.distinct
        if facts.distinct <= LOW_CARDINALITY:
            base["values"] = dict(facts.top[:LOW_CARDINALITY])
        else:
            base["free_text"] = True
            repeated = [(value, count) for value, count in facts.top if count >= 2]
            base["values"] = dict(repeated[:FREE_TEXT_TOP])
    return FieldSummary(**base)


def _calls(count: int) -> str:
    return f"{count:,} call{'' if count == 1 else 's'}"


def _coverage(facts: CampaignFacts, platform_calls: int | None, last_synced_at: datetime | None) -> Coverage:
    complete = None if platform_calls is None else facts.calls >= platform_calls
    if not facts.calls:
        # Nothing was computed: say so rather than "computed from 0 calls".
        if platform_calls is None:
            note = "No calls in the local index for this scope; the platform reports no total."
        elif not platform_calls:
            note = "The platform reports no calls for this scope."
        else:
            note = (
                f"None of the {_calls(platform_calls)} the platform reports is in the local index yet; "
                "run a sync to cover them."
            )
    elif platform_calls is None:
        note = f"Computed from {_calls(facts.calls)} in the local index; the platform reports no total."
    elif complete:
        note = f"Computed from {'all ' if facts.calls > 1 else ''}{_calls(facts.calls)} the platform reports."
    else:
        note = (
            f"Computed from {facts.calls:,} of the {_calls(platform_calls)} the platform reports; "
            "run a sync to cover the rest."
        )
    if last_synced_at is None:
        note += " This scope has not been synced; figures cover calls indexed by other syncs."
    return Coverage(
        indexed_calls=facts.calls,
        calls_with_transcript=facts.calls_with_transcript,
        platform_calls=platform_calls,
        last_synced_at=last_synced_at,
        complete=complete,
        note=note,
    )


def summarize(
    facts: CampaignFacts,
    *,
    provider: str,
    campaign_id: str | None,
    campaign_name: str | None = None,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    platform: PlatformTotals | None = None,
    platform_by_status: Mapping[str, int] | None = None,
    last_synced_at: datetime | None = None,
) -> CampaignSummary:
    """The summary of `facts`. `platform` totals, when given, must be for exactly this scope;
    they become the headline totals (marked `platform`)."""
    final = facts.calls - facts.by_status.get(CallStatus.IN_PROGRESS.value, 0)
    completed = facts.by_status.get(CallStatus.COMPLETED.value, 0)
    voicemail = facts.by_status.get(CallStatus.VOICEMAIL.value, 0)
    durations = facts.durations
    # No call with a duration is no measured total (not 0 seconds).
    duration_total = durations.total if durations.count else None
    currencies = {k: round(v, 6) for k, v in sorted(facts.cost_by_currency.items())}
    single_currency = next(iter(currencies)) if len(currencies) == 1 else None
    cost_total = currencies[single_currency] if single_currency is not None else None

    platform_calls = platform.calls if platform else None
    totals = Totals(
        calls=platform_calls if platform_calls is not None else facts.calls,
        calls_source="platform" if platform_calls is not None else "index",
        duration_seconds=(
            platform.duration_seconds
            if platform and platform.duration_seconds is not None
            else _round(duration_total)
        ),
        duration_source="platform" if platform and platform.duration_seconds is not None else "index",
        cost=platform.cost if platform and platform.cost is not None else cost_total,
        currency=(platform.currency if platform and platform.cost is not None else single_currency) or None,
        cost_source="platform" if platform and platform.cost is not None else "index",
    )
    notable = [
        *(("longest", c) for c in facts.longest),
        *(("lowest_qa", c) for c in facts.lowest_qa),
        *(("failed", c) for c in facts.recent_failed),
    ]
    return CampaignSummary(
        provider=provider,
        campaign_id=campaign_id,
        campaign_name=campaign_name,
        from_date=from_date,
        to_date=to_date,
        totals=totals,
        by_status=dict(sorted(facts.by_status.items(), key=lambda kv: (-kv[1], kv[0]))),
        platform_by_status=dict(platform_by_status) if platform_by_status else None,
        by_ended_reason=dict(sorted(facts.by_ended_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        ended_reason_unreported=facts.ended_reason_unreported,
        final_calls=final,
        answered_calls=facts.answered,
        connect_rate=_round(facts.answered / final) if final else None,
        voicemail_rate=_round(voicemail / final) if final else None,
        completion_rate=_round(completed / final) if final else None,
        duration=DurationStats(
            calls_with_duration=durations.count,
            total_seconds=round(durations.total, 3),
            mean_seconds=_round(durations.total / durations.count) if durations.count else None,
            median_seconds=_round(durations.median),
            p90_seconds=_round(durations.p90),
            max_seconds=durations.max,
            histogram=duration_histogram(durations.histogram),
        ),
        cost=CostStats(
            calls_with_cost=facts.calls_with_cost,
            total=cost_total,
            currency=single_currency or None,
            by_currency=currencies,
        ),
        qa=qa_stats(facts.qa_scores),
        extracted_fields=[
            field_summary(f)
            for f in sorted(facts.fields, key=lambda f: (-f.calls, f.key, f.kind))[:MAX_FIELDS]
        ],
        calls_per_day=dict(sorted(facts.per_day.items())),
        failed_per_day=dict(sorted(facts.failed_per_day.items())),
        first_call_at=facts.first_call_at,
        last_call_at=facts.last_call_at,
        notable_calls=[
            NotableCall(
                provider=provider,
                call_id=c.call_id,
                uri=call_uri(provider, c.call_id),
                why=why,  # type: ignore[arg-type]
                value=c.value,
                started_at=c.started_at,
            )
            for why, c in notable
        ],
        coverage=_coverage(facts, platform_calls, last_synced_at),
    )


def summarize_calls(
    calls: Iterable[Call], *, provider: str, campaign_id: str | None, **context: Any
) -> CampaignSummary:
    """`summarize(gather_facts(calls), ...)`: the whole summary of a list of calls."""
    return summarize(gather_facts(calls), provider=provider, campaign_id=campaign_id, **context)
