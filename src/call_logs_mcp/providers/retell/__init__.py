"""Retell AI (https://www.retellai.com): the platform descriptor.

The folder: `adapter` (the v3 listing's typed filters, paging, totals), `wire` (the JSON as sent),
`mapping` (wire → domain models), `simulator` (the API over generated data). Modules in this folder
import each other relatively, so the folder can be copied as a new platform. Importing this module
stays light: the adapter and simulator load only when used.
"""

from __future__ import annotations

from call_logs_mcp.providers.base import Platform, ProviderInfo, SimulatorDefaults

PLATFORM = Platform(
    info=ProviderInfo(
        name="retell",
        display_name="Retell AI",
        default_base_url="https://api.retellai.com",
        privacy_policy="https://www.retellai.com/privacy",
        # The v3 listing takes `limit` up to 1000, but its items are heavy and the SDK gives a
        # listing a 300 s timeout: 100, as for the other platforms, keeps a page well inside our
        # per-request deadline.
        max_page_size=100,
        notes=(
            "Retell AI: a campaign is a Retell batch call (campaign_id = its batch_call_id); Retell "
            "cannot list batches, so use the batch ids the user names or list_campaigns shows. "
            "Retell recording URLs of agents with signed URLs expire 24 h after the call."
        ),
        # No batch listing, list items carry no transcript, and calls never name their batch
        # (`batch_call_id` is a list filter only): the defaults.
    ),
    adapter=f"{__name__}.adapter:RetellProvider",
    simulator=f"{__name__}.simulator:create_app",
    sim=SimulatorDefaults(
        api_key="key_sim_retell",
        port=8103,
        id_style="callcamp",
        # Retell's `disconnection_reason` words for the generated reasons.
        ended_reasons=(
            ("customer-ended-call", "user_hangup"),
            ("assistant-ended-call", "agent_hangup"),
            ("silence-timed-out", "inactivity"),
            ("voicemail", "voicemail_reached"),
            ("error", "dial_failed"),
            ("pipeline-error", "error_llm_websocket_runtime"),
            ("customer-busy", "dial_busy"),
            ("no-answer", "dial_no_answer"),
        ),
    ),
)
