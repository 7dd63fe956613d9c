"""How late the event loop runs what it should run now: the measure of a request that hogs it.

Every request of every tenant shares one event loop per process, so a computation that holds it
(a quadratic loop over a large body, a slow regex) stalls them all. The monitor asks the loop to
wake it every ``interval`` seconds and notes how late it woke: that lateness is the time some
callback held the loop. Above ``warn_seconds`` it logs one WARNING line; the largest seen is
reported by ``/healthz``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

__all__ = ["LoopLag"]

log = logging.getLogger("identity_service.loop")


@dataclass(slots=True, kw_only=True)
class LoopLag:
    interval: float = 0.05
    warn_seconds: float = 0.1
    last_seconds: float = 0.0
    max_seconds: float = 0.0

    async def watch(self) -> None:
        """Measure until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval)
            lag = max(loop.time() - started - self.interval, 0.0)
            self.last_seconds = lag
            self.max_seconds = max(self.max_seconds, lag)
            if lag > self.warn_seconds:
                log.warning("the event loop was held for %.0f ms", lag * 1000)

    def report(self) -> dict[str, float]:
        return {"lastMs": round(self.last_seconds * 1000, 1), "maxMs": round(self.max_seconds * 1000, 1)}
