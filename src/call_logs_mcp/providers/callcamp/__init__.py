"""CallCamp (https://callcamp.ai): the platform descriptor.

The folder: `adapter` (filters, totals), `wire` (the JSON as sent), `mapping` (wire → domain
models), `simulator` (the API over generated data). Modules in this folder import each other
relatively, so the folder can be copied as a new platform. Importing this module stays light: the
adapter and simulator load only when used.
"""

from __future__ import annotations

from call_logs_mcp.providers.base import Platform, ProviderInfo, SimulatorDefaults

PLATFORM = Platform(
    info=ProviderInfo(
        name="callcamp",
        display_name="CallCamp",
        default_base_url="https://callcamp.ai",
        max_page_size=100,
    ),
    adapter=f"{__name__}.adapter:CallCampProvider",
    simulator=f"{__name__}.simulator:create_app",
    sim=SimulatorDefaults(api_key="cc_tok_sim", port=8102, id_style="callcamp"),
)
