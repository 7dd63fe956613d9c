"""``identity-store activity``: what a tenant's clients asked and how it ended, newest first.

The admin's first question when an Entra job fails is "what did Entra send, and why did we
refuse it?": ``--failed`` lists only the refusals, each with its status, ``scimType`` and
detail; ``--summary`` shows the hours instead, with a warning when the failures come close to
what makes Entra quarantine the job.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from identity_service.cli.context import Admin, load_settings, run_admin
from identity_service.cli.output import json_option, show, show_rows, when
from identity_store.activity import ActivityFilter, ActivityRecord, HourSummary, quarantine_warning
from identity_store.domain.values import JSON
from identity_store.mongo.activity import MongoActivityLog

__all__ = ["activity"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGE = re.compile(r"^\s*(\d{1,6})\s*([smhd])\s*$")


class _Age(click.ParamType[timedelta, object]):
    """How far back: ``90s``, ``30m``, ``1h`` or ``7d``."""

    name = "AGE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        found = _AGE.match(str(value))
        if found is None:
            self.fail(f"{value!r} is not an age such as 90s, 30m, 1h or 7d", param, ctx)
        return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def _record(record: ActivityRecord) -> dict[str, JSON]:
    return {
        "id": record.id,
        "at": when(record.at),
        "frontEnd": record.front_end.value,
        "requestId": record.request_id,
        "traceId": record.trace_id,
        "credentialId": record.credential_id,
        "credentialName": record.credential_name,
        "clientAddress": record.client_address,
        "method": record.method,
        "path": record.path,
        "operation": record.operation,
        "resourceType": record.resource_type,
        "resourceId": record.resource_id,
        "resourceName": record.resource_name,
        "status": record.status,
        "outcome": record.outcome.value,
        "scimType": record.scim_type,
        "detail": record.detail,
        "durationMs": record.duration_ms,
        "databaseCommands": record.database_commands,
        "changed": list[JSON](record.changed),
        "ignored": list[JSON](record.ignored),
    }


def _hour(hour: HourSummary) -> dict[str, JSON]:
    return {
        "hour": when(hour.hour),
        "requests": hour.requests,
        "failures": hour.failures,
        "failuresByScimType": dict[str, JSON](hour.failures_by_scim_type),
        "p95DurationMs": hour.p95_duration_ms,
        "lastSuccessAt": when(hour.last_ok),
    }


def _line(record: ActivityRecord) -> list[JSON]:
    ignored = f"ignored: {', '.join(record.ignored)}" if record.ignored else None
    return [
        when(record.at),
        record.status,
        record.method,
        record.path,
        record.scim_type,
        record.detail,
        record.resource_name or record.resource_id,
        record.credential_name or record.credential_id,
        ignored,
    ]


@click.command()
@click.option("--tenant", "tenant_name", required=True, help="the tenant whose requests are shown")
@click.option("--failed", is_flag=True, help="only requests that did not succeed")
@click.option("--since", type=_Age(), default="24h", show_default=True, help="how far back (90s, 30m, 1h, 7d)")
@click.option("--resource", "resource_id", metavar="ID", help="only requests about this SCIM id")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--summary", is_flag=True, help="hour by hour instead, with Entra's quarantine warning")
@json_option
def activity(
    tenant_name: str,
    failed: bool,
    since: timedelta,
    resource_id: str | None,
    limit: int,
    summary: bool,
    as_json: bool,
) -> None:
    """The tenant's SCIM requests and GraphQL mutations, newest first: time, status, method, path,
    scimType, detail, resource, credential, and what the service ignored."""
    settings = load_settings()

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(tenant_name)
        log = MongoActivityLog(admin.store.database, retention=timedelta(days=settings.activity_retention_days))
        start = datetime.now(UTC) - since
        if summary:
            hours = await log.summary(found.id, start, datetime.now(UTC))
            warning = quarantine_warning(hours)
            if as_json:
                show(True, {"hours": [_hour(h) for h in hours], "quarantineWarning": warning}, [])
                return
            for hour in hours:
                kinds = ", ".join(f"{k or 'none'}={v}" for k, v in sorted(hour.failures_by_scim_type.items()))
                show(
                    False, {}, [when(hour.hour), hour.requests, hour.failures, f"p95 {hour.p95_duration_ms:g}ms", kinds]
                )
            if warning is not None:
                click.echo(f"warning: {warning}", err=True)
            return
        page = await log.find(
            found.id, ActivityFilter(failed=failed, resource_id=resource_id, since=start), first=limit
        )
        show_rows(as_json, ((_record(r), _line(r)) for r in page.records))

    run_admin(work)
