"""Domain events: what a committed command changed, as the audit trail and the change feed.

A handler returns its events; the unit of work appends them to the event log in the same
transaction as the state change, each with a per-tenant sequence number (the cursor), the
acting credential and the request's correlation id (:class:`RecordedEvent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from identity_store.domain.values import JSON

__all__ = ["Actor", "AggregateType", "Change", "DomainEvent", "EventType", "RecordedEvent"]


class AggregateType(StrEnum):
    USER = "User"
    GROUP = "Group"
    TENANT = "Tenant"
    CREDENTIAL = "Credential"
    OAUTH_CLIENT = "OAuthClient"
    # --- Webhook subscriptions (identity_store.webhooks)
    WEBHOOK_SUBSCRIPTION = "WebhookSubscription"
    # --- end of webhook subscriptions
    SCHEMA_EXTENSION = "SchemaExtension"
    SSF_STREAM = "SsfStream"


class EventType(StrEnum):
    USER_CREATED = "UserCreated"
    USER_UPDATED = "UserUpdated"
    USER_DEACTIVATED = "UserDeactivated"
    USER_REACTIVATED = "UserReactivated"
    USER_DELETED = "UserDeleted"
    # Soft deletion (identity_store.domain.deletions): a deleted user or group brought back, or
    # removed for good with what was kept for it.
    USER_RESTORED = "UserRestored"
    USER_PURGED = "UserPurged"
    GROUP_RESTORED = "GroupRestored"
    GROUP_PURGED = "GroupPurged"
    GROUP_CREATED = "GroupCreated"
    GROUP_UPDATED = "GroupUpdated"
    GROUP_RENAMED = "GroupRenamed"
    GROUP_DELETED = "GroupDeleted"
    MEMBERS_ADDED = "MembersAdded"
    MEMBERS_REMOVED = "MembersRemoved"
    # The tenant's administration. A credential's events never carry its secret or digest.
    TENANT_CREATED = "TenantCreated"
    TENANT_SETTINGS_CHANGED = "TenantSettingsChanged"
    CREDENTIAL_ISSUED = "CredentialIssued"
    CREDENTIAL_REVOKED = "CredentialRevoked"
    OAUTH_CLIENT_CREATED = "OAuthClientCreated"
    OAUTH_CLIENT_DISABLED = "OAuthClientDisabled"
    OAUTH_CLIENT_FEDERATED = "OAuthClientFederated"
    # --- Webhook subscriptions: made and disabled. Their events name the URL and the event types,
    # never the signing secret.
    WEBHOOK_SUBSCRIBED = "WebhookSubscribed"
    WEBHOOK_DISABLED = "WebhookDisabled"
    # --- end of webhook subscriptions
    # A tenant's extension schema registered or removed; the event carries the schema's URN,
    # the resource type it extends and its attribute names.
    SCHEMA_EXTENSION_ADDED = "SchemaExtensionAdded"
    SCHEMA_EXTENSION_REMOVED = "SchemaExtensionRemoved"
    # --- Shared Signals streams (SSF 1.0 §8): a receiver's stream configured, its status or
    # subjects changed. Never the receiver's authorization header: only that it was set.
    SSF_STREAM_CREATED = "SsfStreamCreated"
    SSF_STREAM_UPDATED = "SsfStreamUpdated"
    SSF_STREAM_DELETED = "SsfStreamDeleted"
    SSF_STREAM_STATUS_CHANGED = "SsfStreamStatusChanged"
    SSF_STREAM_SUBJECT_ADDED = "SsfStreamSubjectAdded"
    SSF_STREAM_SUBJECT_REMOVED = "SsfStreamSubjectRemoved"
    # --- end of Shared Signals streams


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One top-level attribute's value before and after (``None`` where it had or has none)."""

    field: str
    before: JSON
    after: JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    type: EventType
    aggregate_type: AggregateType
    aggregate_id: str
    version: int | None
    changes: tuple[Change, ...] = ()
    member_ids: tuple[str, ...] = ()
    #: Which of ``member_ids`` are groups (nested); the others are users. Recorded with the event
    #: because a member may be deleted later, and then its kind could no longer be looked up.
    group_member_ids: tuple[str, ...] = ()
    #: An update that replaced the whole resource (SCIM PUT), not a partial change (PATCH, or a
    #: GraphQL update): receivers of RFC 9967 events are told which.
    replaced: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """Who made a change: the credential (or the CLI/system) and how it authenticated.

    ``may_change_provisioned``: whether it may change what Microsoft Entra ID provisions (see
    :mod:`identity_store.domain.ownership`); Entra itself and the system may, an internal
    service only with the right granted. It is a right of the request, not recorded with events.
    """

    credential_id: str | None
    kind: str
    may_change_provisioned: bool = True

    @staticmethod
    def system() -> Actor:
        return Actor(credential_id=None, kind="system")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedEvent:
    """An event as the log keeps it. ``sequence`` orders a tenant's events by commit."""

    sequence: int
    tenant_id: str
    event: DomainEvent
    actor: Actor
    correlation_id: str | None
    occurred_at: datetime
