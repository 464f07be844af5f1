"""Vapi (https://vapi.ai): the platform descriptor.

The folder: `adapter` (keyset paging of `GET /call`, client-side filters, campaigns), `wire` (the
JSON as sent), `mapping` (wire → domain models), `simulator` (the API over generated data).
Modules in this folder import each other relatively, so the folder can be copied as a new
platform. Importing this module stays light: the adapter and simulator load only when used.
"""

from __future__ import annotations

from call_logs_mcp.providers.base import Capabilities, Platform, ProviderInfo, SimulatorDefaults

PLATFORM = Platform(
    info=ProviderInfo(
        name="vapi",
        display_name="Vapi",
        default_base_url="https://api.vapi.ai",
        privacy_policy="https://vapi.ai/privacy",
        # `GET /call` takes `limit` up to 1000 and defaults to 100; its items are whole calls
        # (transcript, analysis, costs), so pages stay at the default (bench/bench_sync.py
        # --provider vapi --page-sizes measures the choice).
        max_page_size=100,
        # Calls name the assistant that ran them (`assistantId`).
        agent_word="assistant",
        capabilities=Capabilities(
            # `GET /campaign` lists campaigns with their names.
            campaign_listing=True,
            # List items are full `Call` objects: sync stores them without a detail request.
            list_includes_details=True,
            # Every call of a campaign carries its `campaignId`.
            records_name_campaign=True,
        ),
    ),
    adapter=f"{__name__}.adapter:VapiProvider",
    simulator=f"{__name__}.simulator:create_app",
    sim=SimulatorDefaults(api_key="sim-vapi-private-key", port=8104, id_style="uuid"),
)
