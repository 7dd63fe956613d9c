"""The body of a delivery: one recorded event as Standard Webhooks' ``type``/``timestamp``/``data``."""

from __future__ import annotations

import json

from identity_store.domain.values import JSON
from identity_store.events import RecordedEvent

__all__ = ["payload", "webhook_id"]


def webhook_id(subscription_id: str, sequence: int) -> str:
    """The ``webhook-id`` of an event's delivery to a subscription: the same on every retry, so a
    receiver drops a duplicate by it (Standard Webhooks, "Idempotency")."""
    return f"msg_{subscription_id}_{sequence}"


def payload(event: RecordedEvent) -> bytes:
    """The event as JSON. It carries no secret: the log never holds one."""
    body: dict[str, JSON] = {
        "type": event.event.type.value,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "tenantId": event.tenant_id,
            "sequence": event.sequence,
            "aggregateType": event.event.aggregate_type.value,
            "aggregateId": event.event.aggregate_id,
            "version": event.event.version,
            "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in event.event.changes],
            "memberIds": list(event.event.member_ids),
            "actor": {"kind": event.actor.kind, "credentialId": event.actor.credential_id},
            "correlationId": event.correlation_id,
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()
