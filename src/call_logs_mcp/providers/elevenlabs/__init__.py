"""ElevenLabs Agents (Conversational AI, https://elevenlabs.io/agents): the platform descriptor.

The folder: `adapter` (paging, filters, batch calls as campaigns), `wire` (the JSON as sent),
`mapping` (wire → domain models), `simulator` (the API over generated data). Modules in this
folder import each other relatively. Importing this module stays light: the adapter and simulator
load only when used.
"""

from __future__ import annotations

from call_logs_mcp.providers.base import Capabilities, Platform, ProviderInfo, SimulatorDefaults

PLATFORM = Platform(
    info=ProviderInfo(
        name="elevenlabs",
        display_name="ElevenLabs Agents",
        default_base_url="https://api.elevenlabs.io",
        privacy_policy="https://elevenlabs.io/privacy-policy",
        # `page_size` "Can not exceed 100, defaults to 30" (GET /v1/convai/conversations).
        max_page_size=100,
        recording_note=(
            "ElevenLabs serves no recording URL; the audio is streamed by "
            "GET /v1/convai/conversations/{conversation_id}/audio with the account's API key."
        ),
        capabilities=Capabilities(
            # Batch calls are the campaigns, listed by GET /v1/convai/batch-calling/workspace.
            campaign_listing=True,
            # A conversation's detail names its batch (`metadata.batch_call.batch_call_id`), and
            # the sync fetches every detail (list items carry no transcript).
            records_name_campaign=True,
        ),
    ),
    adapter=f"{__name__}.adapter:ElevenLabsProvider",
    simulator=f"{__name__}.simulator:create_app",
    sim=SimulatorDefaults(api_key="sk_sim_elevenlabs", port=8113, id_style="callcamp"),
)
