"""The scopes an API key may hold (``identity-store apikey create --scope ...``); see :mod:`permissions`."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Scope"]


class Scope(StrEnum):
    USERS_READ = "users:read"
    GROUPS_READ = "groups:read"
    WRITE = "write"
    WRITE_PROVISIONED = "write:provisioned"
    EVENTS_SUBSCRIBE = "events:subscribe"
    ACTIVITY_READ = "activity:read"
    # Webhook subscriptions: create, disable, list them and read their deliveries.
    WEBHOOKS_MANAGE = "webhooks:manage"
    # The tenant's extension schemas (custom attributes): register, remove and list them.
    SCHEMAS_MANAGE = "schemas:manage"
    # Deleted users and groups: list them, restore them (one, or all deleted since a time).
    DELETED_MANAGE = "deleted:manage"
