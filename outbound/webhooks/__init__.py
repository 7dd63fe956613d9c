"""Signed webhooks (Standard Webhooks) of each tenant's event log: subscriptions and delivery."""

from __future__ import annotations

from outbound.webhooks.addresses import AddressPolicy, RefusedAddress
from outbound.webhooks.backoff import Backoff
from outbound.webhooks.worker import DeliverySettings, WebhookWorker

__all__ = [
    "AddressPolicy",
    "Backoff",
    "DeliverySettings",
    "RefusedAddress",
    "WebhookWorker",
]
