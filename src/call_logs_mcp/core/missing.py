"""Ids a platform said it does not have, remembered for a while: reading an unknown id again
(a model retrying, a client polling `calls://…`, someone probing ids) spends no platform quota."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from call_logs_mcp.errors import NotFoundError
from call_logs_mcp.models import Call, CallPage, CallQuery, Campaign
from call_logs_mcp.providers.base import CallProvider, ProviderInfo

# Short: a call placed a moment ago may not be visible in detail yet.
MISSING_TTL_SECONDS = 60.0
MISSING_CAPACITY = 4_096


class RemembersMissing:
    """A `CallProvider` whose `get_call` answers NotFoundError from memory for `ttl` seconds
    after the platform answered it for the same id (at most `capacity` ids, oldest forgotten
    first). Everything else is the wrapped adapter's."""

    def __init__(
        self,
        inner: CallProvider,
        *,
        ttl: float = MISSING_TTL_SECONDS,
        capacity: int = MISSING_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.info: ProviderInfo = inner.info
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._missing: OrderedDict[str, tuple[float, NotFoundError]] = OrderedDict()

    async def list_calls(self, query: CallQuery, *, limit: int = 50, cursor: str | None = None) -> CallPage:
        return await self.inner.list_calls(query, limit=limit, cursor=cursor)

    async def get_call(self, call_id: str) -> Call:
        """The wrapped adapter's answer; raises NotFoundError (remembered or fresh) and whatever
        the adapter raises."""
        now = self._clock()
        remembered = self._missing.get(call_id)
        if remembered is not None:
            since, error = remembered
            if now - since < self._ttl:
                raise NotFoundError(error.provider, error.what)
            del self._missing[call_id]
        try:
            return await self.inner.get_call(call_id)
        except NotFoundError as error:
            self._missing[call_id] = (now, error)
            self._missing.move_to_end(call_id)
            while len(self._missing) > self._capacity:
                self._missing.popitem(last=False)
            raise

    async def list_campaigns(self) -> list[Campaign]:
        return await self.inner.list_campaigns()

    async def aclose(self) -> None:
        await self.inner.aclose()
