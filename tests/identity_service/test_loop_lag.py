"""The event-loop lag monitor notices a callback that holds the loop, and says so once."""

from __future__ import annotations

import asyncio
import time

import pytest

from identity_service.loop_lag import LoopLag


async def test_a_callback_holding_the_loop_is_measured_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A 300 ms block of the loop shows as a lag of at least that, reported and logged at WARNING."""
    lag = LoopLag(interval=0.02, warn_seconds=0.1)
    watching = asyncio.create_task(lag.watch())
    try:
        await asyncio.sleep(0.1)  # the monitor is running
        with caplog.at_level("WARNING", logger="identity_service.loop"):
            # Blocking on purpose: a request computing on the loop, as a quadratic PATCH did.
            time.sleep(0.3)  # noqa: ASYNC251
            await asyncio.sleep(0.1)
    finally:
        watching.cancel()
    assert lag.max_seconds >= 0.25
    assert lag.report()["maxMs"] >= 250
    assert [r.levelname for r in caplog.records if r.name == "identity_service.loop"] == ["WARNING"]
