"""`Shaper`: the facade the server calls. One method per renderer; the renderers are plain functions
in `calls`, `search`, `campaigns` and `resources`, given the budget and scrubber held here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from call_logs_mcp.analytics import CampaignSummary
from call_logs_mcp.models import Call, CallSummary
from call_logs_mcp.output import calls, campaigns, outcomes, resources, search
from call_logs_mcp.output.budget import Shaped
from call_logs_mcp.output.calls import CallPage
from call_logs_mcp.output.outcomes import FindFound
from call_logs_mcp.output.scrub import Scrubber
from call_logs_mcp.output.search import SearchFound
from call_logs_mcp.output.secrets import SecretMask

if TYPE_CHECKING:
    # Types only: importing the index package at start-up would load all of it.
    from call_logs_mcp.index import AgentListing, CampaignListing


class Shaper:
    """Renders domain results into budgeted (text, structured) answers."""

    def __init__(self, *, max_chars: int, redact: bool = True, secrets: SecretMask | None = None) -> None:
        self.budget = max_chars
        self.secrets = secrets or SecretMask()
        self.scrub = Scrubber(redact=redact, secrets=self.secrets)

    def final(self, shaped: Shaped) -> Shaped:
        """`shaped` with our secrets masked once more over everything, ids included (a platform
        could reflect a key into a call id, which is printed as it is to stay addressable)."""
        if not self.secrets:
            return shaped
        return Shaped(text=self.secrets.text(shaped.text), structured=self.secrets.value(shaped.structured))

    def call_list(self, page: CallPage) -> tuple[int, Shaped]:
        """A list_calls answer with as many rows as fit; returns (rows shown, answer)."""
        shown, shaped = calls.call_list(page, scrub=self.scrub, budget=self.budget)
        return shown, self.final(shaped)

    def call_detail(
        self,
        call: Call,
        *,
        transcript_offset: int = 0,
        transcript_char_offset: int = 0,
        include_recording: bool = False,
        recording_note: str | None = None,
    ) -> Shaped:
        """A get_call answer: metadata plus the transcript from the given position, budgeted.
        `recording_note` (the platform's, when it serves no recording URL) is shown when
        `include_recording` asks for the recording.

        Raises InvalidArgumentError when the offsets are past the end of the transcript.
        """
        return self.final(
            calls.call_detail(
                call,
                scrub=self.scrub,
                budget=self.budget,
                transcript_offset=transcript_offset,
                transcript_char_offset=transcript_char_offset,
                include_recording=include_recording,
                recording_note=recording_note,
            )
        )

    def search_answer(self, found: SearchFound) -> tuple[int, Shaped]:
        """A search_transcripts answer with as many hits as fit; (hits shown, answer).

        When fewer hits than `found.result` holds are shown, its `next_cursor` is not theirs:
        re-run the search for that many hits and render again.
        """
        shown, shaped = search.search_answer(found, scrub=self.scrub, budget=self.budget)
        return shown, self.final(shaped)

    def found_calls(self, found: FindFound) -> tuple[int, Shaped]:
        """A find_calls answer with as many calls as fit; (calls shown, answer)."""
        shown, shaped = outcomes.found_calls(found, scrub=self.scrub, budget=self.budget)
        return shown, self.final(shaped)

    def campaign_report(
        self,
        summary: CampaignSummary,
        *,
        sync_errors: Mapping[str, str],
        syncing: Mapping[str, str],
        notes: Sequence[str] = (),
    ) -> Shaped:
        """A summarize_campaign answer: every platform string scrubbed, big parts cut to fit."""
        return self.final(
            campaigns.campaign_report(
                summary,
                sync_errors=sync_errors,
                syncing=syncing,
                notes=notes,
                scrub=self.scrub,
                budget=self.budget,
            )
        )

    def campaign_list(
        self,
        listings: Sequence[CampaignListing],
        *,
        agents: Sequence[AgentListing] = (),
        sync_errors: Mapping[str, str],
        syncing: Mapping[str, str],
    ) -> Shaped:
        """A list_campaigns answer: as many campaigns and agents as fit, the rest counted."""
        return self.final(
            campaigns.campaign_list(
                listings,
                agents=agents,
                sync_errors=sync_errors,
                syncing=syncing,
                scrub=self.scrub,
                budget=self.budget,
            )
        )

    def call_json(self, call: Call) -> str:
        """The `calls://{provider}/{call_id}` resource: the call without transcript, as JSON."""
        return self.secrets.text(resources.call_json(call, self.scrub))

    def transcript_text(self, call: Call) -> str:
        """The `.../transcript` resource: every turn, one line each, inside an untrusted block."""
        return self.secrets.text(resources.transcript_text(call, self.scrub))

    def resource_title(self, call: CallSummary) -> str:
        """A short human title for resources/list."""
        return self.secrets.text(resources.resource_title(call, self.scrub))
