"""``identity-store webhook ...``: a tenant's webhook subscriptions and their delivery attempts.

Creating and disabling are commands on the bus (``CreateWebhookSubscription``,
``DisableWebhookSubscription``), recorded in the tenant's event log as the command line's.
"""

from __future__ import annotations

import click

from identity_service.cli.context import Admin, as_tenant, run_admin
from identity_service.cli.output import json_option, show, show_rows, when
from identity_store.commands import CreateWebhookSubscription, DisableWebhookSubscription
from identity_store.domain.values import JSON
from identity_store.mongo.webhooks import MongoWebhooks
from identity_store.webhooks import DeliveryAttempt, WebhookSubscription

__all__ = ["webhook"]


def _record(subscription: WebhookSubscription) -> dict[str, JSON]:
    """A subscription as shown: never its secret (printed once, by ``create``)."""
    return {
        "id": subscription.id,
        "tenantId": subscription.tenant_id,
        "url": subscription.url,
        "events": list(subscription.event_types),
        "state": subscription.state.value,
        "cursor": subscription.cursor,
        "failures": subscription.failures,
        "created": when(subscription.created),
    }


def _attempt(attempt: DeliveryAttempt) -> dict[str, JSON]:
    return {
        "at": when(attempt.at),
        "webhookId": attempt.webhook_id,
        "sequence": attempt.sequence,
        "outcome": attempt.outcome,
        "statusCode": attempt.status_code,
        "latencyMs": round(attempt.latency_ms, 1),
        "error": attempt.error,
    }


@click.group()
def webhook() -> None:
    """Manage webhook subscriptions (Standard Webhooks, signed with a whsec_ secret)."""


@webhook.command("create")
@click.option("--tenant", "tenant_name", required=True, help="the tenant whose events are delivered")
@click.option("--url", required=True, help="where deliveries are POSTed (https)")
@click.option("--event", "events", multiple=True, metavar="TYPE", help="an event type to deliver (default: all)")
@json_option
def create(tenant_name: str, url: str, events: tuple[str, ...], as_json: bool) -> None:
    """Subscribe URL to the tenant's events from now on; prints the id and the signing secret, once."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(tenant_name)
        created = await admin.bus.dispatch(as_tenant(found.id), CreateWebhookSubscription(url=url, event_types=events))
        show(as_json, {**_record(created), "secret": created.secret}, [created.id, created.secret])

    run_admin(work)


@webhook.command("list")
@click.option("--tenant", "tenant_name", required=True)
@json_option
def list_(tenant_name: str, as_json: bool) -> None:
    """List the tenant's subscriptions: id, url, state, cursor, events."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(tenant_name)
        subscriptions = await admin.store.tenant(found.id).webhooks.all()
        show_rows(
            as_json,
            (
                (_record(s), [s.id, s.url, s.state.value, s.cursor, ",".join(s.event_types) or "*"])
                for s in subscriptions
            ),
        )

    run_admin(work)


@webhook.command("disable")
@click.argument("subscription_id", metavar="ID")
@json_option
def disable(subscription_id: str, as_json: bool) -> None:
    """Stop delivering to a subscription."""

    async def work(admin: Admin) -> None:
        # The command runs in the subscription's tenant, which its id alone names here.
        subscription = await MongoWebhooks(admin.store.database).get(subscription_id)
        disabled = await admin.bus.dispatch(
            as_tenant(subscription.tenant_id), DisableWebhookSubscription(subscription_id=subscription_id)
        )
        show(as_json, _record(disabled), [disabled.id, disabled.state.value])

    run_admin(work)


@webhook.command("deliveries")
@click.argument("subscription_id", metavar="ID")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
def deliveries(subscription_id: str, limit: int, as_json: bool) -> None:
    """The latest delivery attempts, newest first: time, webhook-id, outcome, status, latency, error."""

    async def work(admin: Admin) -> None:
        webhooks = MongoWebhooks(admin.store.database)
        await webhooks.get(subscription_id)
        attempts = await webhooks.attempts(subscription_id, limit=limit)
        show_rows(
            as_json,
            (
                (
                    _attempt(a),
                    [when(a.at), a.webhook_id, a.outcome, a.status_code, f"{a.latency_ms:.1f}ms", a.error],
                )
                for a in attempts
            ),
        )

    run_admin(work)
