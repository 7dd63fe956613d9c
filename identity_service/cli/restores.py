"""``identity-store restore`` and ``identity-store purge``: deleted users and groups back, or gone for good.

``restore --since TIME`` undoes a mass deprovisioning (every user and group deleted since TIME,
``--credential`` only those that credential deleted); it can be run again after an interruption
and goes on with what is still deleted (:mod:`identity_store.mass_restore`). ``--dry-run`` lists
what it would restore and changes nothing. Each object that cannot come back is one line on
stderr; the summary is the last line on stdout; the exit status is 1 when any could not.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from identity_service.cli.context import Admin, as_tenant, load_settings, run_admin
from identity_service.cli.output import json_option, show, when
from identity_store.commands import PurgeDeleted, RestoreGroup, RestoreUser
from identity_store.domain.resources import now
from identity_store.domain.values import JSON
from identity_store.events import AggregateType
from identity_store.mass_restore import Outcome, restore_deleted
from identity_store.purge_job import retention_of

__all__ = ["purge", "restore"]

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta | None:
    found = _DURATION.match(text.strip())
    if found is None:
        return timedelta(0) if text.strip() == "0" else None
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def _time(context: click.Context, parameter: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 time (UTC unless it says otherwise), or a duration ago (``90m``, ``2h``, ``1d``)."""
    if value is None:
        return None
    ago = _duration(value)
    if ago is not None:
        return now() - ago
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a time: {value!r} (an ISO 8601 time, or a duration ago: 90m, 2h, 1d)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _age(context: click.Context, parameter: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    age = _duration(value)
    if age is None:
        raise click.BadParameter(f"not a duration: {value!r} (e.g. 0, 12h, 30d)")
    return age


@click.command("restore")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name")
@click.option("--since", callback=_time, metavar="TIME", help="restore everything deleted since TIME (ISO 8601, or 2h)")
@click.option("--credential", metavar="ID", help="with --since: only what this credential deleted")
@click.option("--dry-run", is_flag=True, help="with --since: list what would be restored, change nothing")
@click.option("--user", "user_id", metavar="ID", help="restore this one user")
@click.option("--group", "group_id", metavar="ID", help="restore this one group")
@json_option
def restore(
    tenant_name: str,
    since: datetime | None,
    credential: str | None,
    dry_run: bool,
    user_id: str | None,
    group_id: str | None,
    as_json: bool,
) -> None:
    """Restore deleted users and groups: one (--user, --group), or all deleted since a time (--since)."""
    if sum(x is not None for x in (since, user_id, group_id)) != 1:
        raise click.UsageError("give one of --since, --user or --group")
    if since is None and (credential is not None or dry_run):
        raise click.UsageError("--credential and --dry-run go with --since")

    async def work(admin: Admin) -> None:
        tenant = await admin.store.tenants.by_name(tenant_name)
        context = as_tenant(tenant.id)
        if user_id is not None:
            user = await admin.bus.dispatch(context, RestoreUser(user_id=user_id))
            restored: dict[str, JSON] = {"restored": "user", "id": user.id, "name": user.user_name}
            show(as_json, restored, ["restored", "user", user.id])
            return
        if group_id is not None:
            group = await admin.bus.dispatch(context, RestoreGroup(group_id=group_id))
            record: dict[str, JSON] = {"restored": "group", "id": group.id, "name": group.display_name}
            show(as_json, record, ["restored", "group", group.id])
            return
        assert since is not None

        def heard(outcome: Outcome) -> None:
            kind = "group" if outcome.kind is AggregateType.GROUP else "user"
            if outcome.problem is not None:
                click.echo(
                    f"identity-store: {kind} {outcome.id} ({outcome.name}) not restored: {outcome.problem}", err=True
                )
            elif dry_run and not as_json:
                click.echo("\t".join(["would restore", kind, outcome.id, outcome.name, when(outcome.deleted) or ""]))

        report = await restore_deleted(
            admin.store, admin.bus, context, since=since, deleted_by=credential, dry_run=dry_run, on_outcome=heard
        )
        verb = "would restore" if dry_run else "restored"
        problems = len(report.problems)
        summary = f"{verb} {report.groups} groups, {report.users} users; {problems} not restored"
        counts: dict[str, JSON] = {
            "dryRun": dry_run,
            "groups": report.groups,
            "users": report.users,
            "notRestored": problems,
        }
        show(as_json, counts, [summary])
        if problems:
            raise click.exceptions.Exit(1)

    run_admin(work, bulk=True)


@click.command("purge")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name")
@click.option(
    "--older-than",
    callback=_age,
    metavar="AGE",
    help="purge what was deleted longer ago than AGE (0, 12h, 30d); default: the tenant's retention",
)
@json_option
def purge(tenant_name: str, older_than: timedelta | None, as_json: bool) -> None:
    """Remove deleted users and groups for good (they can no longer be restored)."""
    settings = load_settings()

    async def work(admin: Admin) -> None:
        tenant = await admin.store.tenants.by_name(tenant_name)
        age = (
            older_than
            if older_than is not None
            else retention_of(tenant, timedelta(days=settings.deleted_retention_days))
        )
        purged = await admin.bus.dispatch(as_tenant(tenant.id), PurgeDeleted(deleted_before=now() - age))
        record: dict[str, JSON] = {"groups": purged.groups, "users": purged.users}
        show(as_json, record, [f"purged {purged.groups} groups, {purged.users} users"])

    run_admin(work, bulk=True)
