"""How far a running sync got, as answers say it ("bland is still syncing in the background (…)").

Asked on `--demo`: a campaign's summary, while the account's first sync ran, said "Coverage: 47
calls indexed of 47 the platform reports" and, two lines below, "vapi is still syncing in the
background (10 of 47 calls indexed so far)". The second count is the campaign sync's own
progress (the calls it went through), not what the index holds: the words must say so."""

from datetime import UTC, datetime

from call_logs_mcp.core.freshness import SyncJob, SyncReport


def test_a_running_syncs_progress_counts_what_it_checked_never_what_is_indexed() -> None:
    campaign = SyncJob(provider="vapi", campaign_id="march", since=None, until=None, calls_done=10, total=47)
    account = SyncJob(provider="bland", campaign_id=None, since=datetime(2026, 1, 1, tzinfo=UTC), until=None)
    account.calls_done = 1_200
    report = SyncReport(running={"vapi": campaign, "bland": account})
    assert report.syncing == {
        "vapi": "this sync has checked 10 of 47 calls so far",
        "bland": "this sync has checked 1,200 calls so far",
    }
    assert not any("indexed" in words for words in report.syncing.values())
