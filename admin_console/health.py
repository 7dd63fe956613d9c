"""Provisioning health: a tenant's requests and failures per hour, its top errors, and the last
request from Entra ID that succeeded, from the activity log.

The chart and totals come from the log's hourly summary (a day is 24 small documents whatever
the traffic); the top errors by detail are counted over the latest failures only, which is what
an admin acts on.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from admin_console.access import admin_page
from admin_console.chart import hourly_chart
from admin_console.rendering import render
from admin_console.signed_in import SignedIn
from identity_store.activity import (
    ActivityFilter,
    ActivityLog,
    ActivityRecord,
    FrontEnd,
    Outcome,
    quarantine_warning,
)

__all__ = ["health"]

#: The windows the page offers, in hours.
WINDOWS = (24, 168)
#: How many of the latest failures the top errors by detail are counted over.
_RECENT_FAILURES = 200
#: How many of the latest successes are searched for one from Entra (SCIM).
_RECENT_SUCCESSES = 50


@admin_page
async def health(request: Request, signed_in: SignedIn) -> Response:
    activity = signed_in.console.activity()
    if activity is None:
        return render(request, signed_in, "health.html", {"off": True})
    try:
        hours = int(request.query_params.get("hours", WINDOWS[0]))
    except ValueError:
        hours = WINDOWS[0]
    hours = hours if hours in WINDOWS else WINDOWS[0]
    tenant_id = signed_in.session.tenant_id
    now = datetime.now(UTC)
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    summary = await activity.summary(tenant_id, since, now)
    requests = sum(h.requests for h in summary)
    failures = sum(h.failures for h in summary)
    by_scim_type: Counter[str] = Counter()
    for hour in summary:
        by_scim_type.update(hour.failures_by_scim_type)
    context = {
        "off": False,
        "hours": hours,
        "windows": WINDOWS,
        "since": since,
        "chart": hourly_chart(summary, since=since, slots=hours),
        "requests": requests,
        "failures": failures,
        "failure_rate": failures / requests if requests else 0.0,
        "p95": max((h.p95_duration_ms for h in summary), default=0.0),
        "warning": quarantine_warning(summary),
        "by_scim_type": by_scim_type.most_common(10),
        "by_detail": await _top_details(activity, tenant_id, since),
        "last_entra": await _last_entra_success(activity, tenant_id),
    }
    return render(request, signed_in, "health.html", context)


async def _top_details(
    activity: ActivityLog, tenant_id: str, since: datetime
) -> list[tuple[tuple[int, str, str], int]]:
    """The commonest (status, scimType, detail) among the latest failures of the window."""
    page = await activity.find(tenant_id, ActivityFilter(failed=True, since=since), first=_RECENT_FAILURES)
    counted = Counter((r.status, r.scim_type or "", r.detail or "") for r in page.records)
    return counted.most_common(10)


async def _last_entra_success(activity: ActivityLog, tenant_id: str) -> ActivityRecord | None:
    page = await activity.find(tenant_id, ActivityFilter(outcome=Outcome.OK), first=_RECENT_SUCCESSES)
    return next((r for r in page.records if r.front_end is FrontEnd.SCIM), None)
