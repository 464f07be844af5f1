"""Bland AI (https://www.bland.ai): the platform descriptor.

The folder: `adapter` (paging, filters, campaigns and batches), `wire` (the JSON as sent),
`mapping` (wire → domain models), `simulator` (the API over generated data). Modules in this folder
import each other relatively, so the folder can be copied as a new platform. Importing this module
stays light: the adapter and simulator load only when used.
"""

from __future__ import annotations

from call_logs_mcp.providers.base import Capabilities, Platform, ProviderInfo, SimulatorDefaults

PLATFORM = Platform(
    info=ProviderInfo(
        name="bland",
        display_name="Bland AI",
        default_base_url="https://api.bland.ai",
        privacy_policy="https://www.bland.ai/privacy",
        # Bland's default page is 1,000 calls and no maximum is documented; we always ask for less.
        max_page_size=100,
        # Campaigns (`GET /v1/campaigns`) and batches (`GET /v2/batches/list`) are listed. Call
        # records name their batch but not their campaign, so records_name_campaign stays False.
        capabilities=Capabilities(campaign_listing=True),
    ),
    adapter=f"{__name__}.adapter:BlandProvider",
    simulator=f"{__name__}.simulator:create_app",
    sim=SimulatorDefaults(api_key="sk-bland-sim", port=8106, id_style="uuid"),
)
