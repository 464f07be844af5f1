"""Prosper (https://voice.getprosperapp.com): the platform descriptor.

The folder: `adapter` (filters, the two API shapes), `wire` (the JSON as sent), `mapping` (wire →
domain models), `simulator` (the API over generated data). Modules in this folder import each
other relatively, so the folder can be copied as a new platform. Importing this module stays
light: the adapter and simulator load only when used.
"""

from __future__ import annotations

from call_logs_mcp.providers.base import Capabilities, Platform, ProviderInfo, SimulatorDefaults

PLATFORM = Platform(
    info=ProviderInfo(
        name="prosper",
        display_name="Prosper",
        default_base_url="https://voice.getprosperapp.com",
        # The guide's page maximum; also used for the OpenAPI shape (its items are heavy).
        max_page_size=100,
        # The guide's call logs name their campaign (the OpenAPI shape's do not: see the adapter).
        capabilities=Capabilities(records_name_campaign=True),
    ),
    adapter=f"{__name__}.adapter:ProsperProvider",
    simulator=f"{__name__}.simulator:create_app",
    sim=SimulatorDefaults(api_key="sim-prosper-key", port=8101, id_style="numeric"),
)
