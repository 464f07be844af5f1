"""The local index as the core uses it: the store (or why there is none) and the account of each
configured provider, which scopes every read and write to the accounts this server serves."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from call_logs_mcp.errors import StoreError
from call_logs_mcp.models import Call

if TYPE_CHECKING:
    from call_logs_mcp.index import IndexStoreProtocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalIndex:
    """`store` is None for a server without an index; `error` then says why (else a default)."""

    store: IndexStoreProtocol | None
    accounts: Mapping[str, str]
    error: str | None = None

    def require(self) -> IndexStoreProtocol:
        """The store. Raises StoreError saying how to get one when there is none."""
        if self.store is None:
            raise StoreError(
                self.error
                or "The local call index is not available; set CALL_LOGS_DB to a "
                "writable path and restart the server."
            )
        return self.store

    def scope(self, names: Sequence[str]) -> dict[str, str]:
        """The account scope of the providers `names` (those with an account)."""
        return {name: self.accounts[name] for name in names if name in self.accounts}

    async def get_call(self, provider: str, call_id: str) -> Call | None:
        """The stored call, if the index has it; None when there is no usable index."""
        if self.store is None:
            return None
        try:
            return await self.store.get_call(self.accounts, provider, call_id)
        except StoreError:
            logger.warning("the index could not be read; asking the platforms instead")
            return None

    async def fully_synced(self, provider: str) -> bool:
        """Whether a sync of the provider's whole account has ever completed (its calls are all
        indexed, as of then); False without a usable index."""
        if self.store is None or provider not in self.accounts:
            return False
        try:
            last = await self.store.last_synced(
                self.accounts, provider, campaign_id=None, since=None, until=None
            )
        except StoreError:
            return False
        return last is not None

    async def holds_campaign(self, provider: str, campaign_id: str) -> bool:
        """Whether the index holds calls of the provider's campaign; False without a usable index."""
        if self.store is None or provider not in self.accounts:
            return False
        try:
            return await self.store.indexed_calls(self.accounts, provider, campaign_id=campaign_id) > 0
        except StoreError:
            return False

    async def remember(self, call: Call) -> None:
        """Store a fetched call in the index; a failing index never fails the answer."""
        if self.store is None or call.provider not in self.accounts:
            return
        from call_logs_mcp.index import CallRecord

        try:
            await self.store.upsert(self.accounts[call.provider], call.provider, [CallRecord(call=call)])
        except StoreError:
            logger.warning("could not store a fetched call in the index")
