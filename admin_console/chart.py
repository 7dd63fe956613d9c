"""The health page's chart: requests and failures per hour as bars, laid out here as numbers for
an inline SVG the template draws (no script: the page's policy runs none).

Each hour of the window gets a slot, hours without requests included, so gaps show as gaps. A
bar's failed part is drawn from the baseline up and its successful part on top of it, so the
red height reads as the failures and the whole bar as the requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity_store.activity import HourSummary

__all__ = ["Bar", "Chart", "hourly_chart"]

WIDTH = 960
HEIGHT = 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 8, 12, 28


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    hour: datetime
    requests: int
    failures: int
    x: float
    width: float
    #: The failed part, from the baseline up.
    failed_y: float
    failed_height: float
    #: The successful part, on top of the failed one.
    ok_y: float
    ok_height: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    right: float
    bars: list[Bar]
    #: Horizontal guides: (y, the request count it stands for).
    y_ticks: list[tuple[float, int]]
    #: Hour labels under the bars: (x, text).
    x_labels: list[tuple[float, str]]


def hourly_chart(hours: Sequence[HourSummary], *, since: datetime, slots: int) -> Chart:
    by_hour = {h.hour: h for h in hours}
    top = _nice_ceiling(max((h.requests for h in hours), default=0))
    plot_width = WIDTH - _LEFT - _RIGHT
    plot_height = HEIGHT - _TOP - _BOTTOM
    baseline = float(HEIGHT - _BOTTOM)
    slot = plot_width / slots
    bars = []
    labels = []
    label_every = max(slots // 8, 1)
    for index in range(slots):
        hour = since + timedelta(hours=index)
        summary = by_hour.get(hour)
        requests = summary.requests if summary is not None else 0
        failures = summary.failures if summary is not None else 0
        x = _LEFT + index * slot
        failed_height = plot_height * failures / top
        ok_height = plot_height * (requests - failures) / top
        bars.append(
            Bar(
                hour=hour,
                requests=requests,
                failures=failures,
                x=round(x + slot * 0.1, 2),
                width=round(slot * 0.8, 2),
                failed_y=round(baseline - failed_height, 2),
                failed_height=round(failed_height, 2),
                ok_y=round(baseline - failed_height - ok_height, 2),
                ok_height=round(ok_height, 2),
            )
        )
        if index % label_every == 0:
            labels.append((round(x + slot / 2, 2), hour.strftime("%H:00" if slots <= 48 else "%m-%d")))
    ticks = [(round(baseline - plot_height * n / 4, 2), top * n // 4) for n in range(5)]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=_LEFT,
        baseline=baseline,
        right=float(WIDTH - _RIGHT),
        bars=bars,
        y_ticks=ticks,
        x_labels=labels,
    )


def _nice_ceiling(value: int) -> int:
    """The least four times 1, 2 or 5 times a power of ten at or above ``value`` (4, 8, 20, 40,
    80, 200, ...): the guides at its quarters are round numbers."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if 4 * step * scale >= value:
                return 4 * step * scale
        scale *= 10
