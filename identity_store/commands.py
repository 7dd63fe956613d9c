"""Every state change of the identity domain is one of these commands.

A front end builds a command and hands it to the :class:`~identity_store.bus.CommandBus`, which
runs its one handler. A command says what to change; how Entra's habits are read (the tenant's
PATCH policy) and who may change what (the actor's rights) come with the request's context.

``expected_version`` makes a write conditional (optimistic concurrency):
with it, a stale writer gets :class:`~identity_store.domain.errors.VersionConflict`; without it,
the handler still writes conditionally and re-applies the change on the newer state, so two
concurrent writers never lose each other's changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from identity_store.domain.credentials import CredentialKind
from identity_store.domain.oauth import Federation
from identity_store.domain.patch import PatchOperation
from identity_store.domain.values import JSON, Attributes

__all__ = [
    "AddMembers",
    "AddSchemaExtension",
    "AddSsfSubject",
    "Command",
    "CreateGroup",
    "CreateOAuthClient",
    "CreateSsfStream",
    "CreateTenant",
    "CreateUser",
    "CreateWebhookSubscription",
    "DeactivateUser",
    "DeleteGroup",
    "DeleteSsfStream",
    "DeleteUser",
    "DisableOAuthClient",
    "DisableWebhookSubscription",
    "FederateOAuthClient",
    "IssueCredential",
    "LinkEntraTenant",
    "PatchGroup",
    "PatchUser",
    "PurgeDeleted",
    "ReactivateUser",
    "RemoveMembers",
    "RemoveSchemaExtension",
    "RemoveSsfSubject",
    "RenameGroup",
    "ReplaceGroup",
    "ReplaceMembers",
    "ReplaceUser",
    "RestoreCommand",
    "RestoreGroup",
    "RestoreUser",
    "RestoreUsers",
    "RevokeCredential",
    "SchemaCommand",
    "SetDeletedRetention",
    "SetSsfStreamStatus",
    "SetStrictRfc",
    "SsfDelivery",
    "UnlinkEntraTenant",
    "UpdateSsfStream",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateUser:
    attributes: Attributes
    password: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceUser:
    """Replace every writable attribute (PUT); immutable ones may not change once set."""

    user_id: str
    attributes: Attributes
    password: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchUser:
    """Apply add/replace/remove operations, all or nothing."""

    user_id: str
    operations: tuple[PatchOperation, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeactivateUser:
    """Set ``active`` to false; the user and its memberships stay."""

    user_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactivateUser:
    user_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUser:
    """Delete the user, its memberships, and every manager reference to it."""

    user_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreUser:
    """Bring a deleted user back: the same id and attributes, its memberships in groups that
    still exist, its manager and its reports' references (see identity_store.domain.deletions)."""

    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreUsers:
    """Restore those of these users still deleted, together (a mass restore's batch): as
    :class:`RestoreUser` for each, in one transaction."""

    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateGroup:
    attributes: Attributes
    member_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceGroup:
    """Replace the group's attributes and its whole member list (PUT)."""

    group_id: str
    attributes: Attributes
    member_ids: tuple[str, ...] = ()
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameGroup:
    group_id: str
    display_name: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchGroup:
    """Attribute operations and member changes of one request, applied together or not at all.

    Member changes cost O(changed members): ``add_member_ids`` and ``remove_member_ids`` touch
    only those memberships. ``remove_all_members`` (a PATCH ``remove`` of ``members``) clears
    the group before the additions are applied.
    """

    group_id: str
    operations: tuple[PatchOperation, ...] = ()
    add_member_ids: tuple[str, ...] = ()
    remove_member_ids: tuple[str, ...] = ()
    remove_all_members: bool = False
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddMembers:
    group_id: str
    member_ids: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveMembers:
    group_id: str
    member_ids: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceMembers:
    group_id: str
    member_ids: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteGroup:
    """Delete the group and every membership in it or of it."""

    group_id: str
    expected_version: int | None = None


# The tenant's own administration (the command line sends these; the tenant is the context's).


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTenant:
    """Create the context's tenant: its id is chosen by the caller, its name unique (case-insensitive)."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStrictRfc:
    """Turn the tenant's strict RFC 7644 behaviour on, or off (Entra ID's habits accepted)."""

    strict_rfc: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDeletedRetention:
    """How many days the tenant's deleted users and groups stay restorable (``None``: the service's default)."""

    days: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkEntraTenant:
    """Accept the JWTs Entra ID issues for this Entra tenant (linked to at most one tenant here)."""

    entra_tenant_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlinkEntraTenant:
    """Stop accepting Entra-issued JWTs for the tenant."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueCredential:
    """Issue a SCIM token, GraphQL API key or OAuth client secret; its secret is returned once.

    ``lifetime``: how long from now it may be used (``None``: until revoked). A client secret
    names its ``client_id``, which must be a client of the tenant.
    """

    kind: CredentialKind
    name: str
    scopes: frozenset[str]
    lifetime: timedelta | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeCredential:
    """Revoke a credential of the tenant (a second revocation keeps the first time).

    ``kind``, when given, is the only kind that may be revoked this way: another is not found.
    """

    credential_id: str
    kind: CredentialKind | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateOAuthClient:
    """Create an OAuth client (RFC 6749 §2) whose access tokens live ``token_lifetime``."""

    name: str
    token_lifetime: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class DisableOAuthClient:
    """Disable the client: its access tokens stop working (a second call keeps the first time)."""

    client_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FederateOAuthClient:
    """Let the client authenticate with JWT assertions (RFC 7523 §2.2) of this identity, or, with
    ``None``, no longer."""

    client_id: str
    federation: Federation | None


# --- Webhook subscriptions of the tenant (identity_store.webhooks); the command line and GraphQL send these.


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateWebhookSubscription:
    """Subscribe ``url`` to the tenant's events committed from now on; its signing secret is returned once.

    ``event_types``: the names of the event types delivered (empty: every type). The URL must be
    one the service may send to (:mod:`identity_store.domain.webhook_urls`).
    """

    url: str
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DisableWebhookSubscription:
    """Stop delivering to a subscription of the tenant (disabling it again changes nothing)."""

    subscription_id: str


WebhookCommand = CreateWebhookSubscription | DisableWebhookSubscription

# --- end of webhook subscriptions
# --- Schema extensions of the tenant (identity_store.domain.extensions); the command line and GraphQL send these.


@dataclass(frozen=True, slots=True, kw_only=True)
class AddSchemaExtension:
    """Register an extension schema, given as a RFC 7643 §7 schema resource (parsed JSON).

    ``extends``: ``"User"`` or ``"Group"``; ``None`` reads it from the URN's last segment.
    ``indexed``: attributes of the schema to keep a filter index for.
    """

    document: JSON
    extends: str | None = None
    indexed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveSchemaExtension:
    """Unregister the extension ``urn``; the values stored under it stay, unreturned (README)."""

    urn: str


SchemaCommand = AddSchemaExtension | RemoveSchemaExtension

# --- end of schema extensions
# --- Shared Signals streams (SSF 1.0 §8.1) ----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SsfDelivery:
    """How a stream's SETs reach the receiver (SSF 1.0 §8.1.1 ``delivery``): push with its
    endpoint and the ``Authorization`` header to send, or poll."""

    method: str
    endpoint_url: str | None = None
    authorization_header: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateSsfStream:
    """Create a stream for a receiver (``audience``); it starts at the end of the tenant's log."""

    audience: str
    delivery: SsfDelivery
    events_requested: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateSsfStream:
    """Change a stream's configuration; a field left ``None`` is kept (``clear_description``
    removes the description, as a PUT without one does)."""

    stream_id: str
    delivery: SsfDelivery | None = None
    events_requested: tuple[str, ...] | None = None
    description: str | None = None
    clear_description: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteSsfStream:
    stream_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetSsfStreamStatus:
    """``enabled``, ``paused`` or ``disabled`` (SSF 1.0 §8.1.2), with an optional ``reason``."""

    stream_id: str
    status: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddSsfSubject:
    """Add the user, as the RFC 9493 ``subject`` given, to the stream's subjects (SSF 1.0 §8.1.3.2)."""

    stream_id: str
    user_id: str
    subject: JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveSsfSubject:
    stream_id: str
    user_id: str


SsfStreamCommand = CreateSsfStream | UpdateSsfStream | SetSsfStreamStatus | AddSsfSubject | RemoveSsfSubject

# --- end of Shared Signals streams -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreGroup:
    """Bring a deleted group back: the same id and attributes, its members that are live and its
    memberships in parent groups that still exist."""

    group_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeDeleted:
    """Remove for good the users and groups deleted before ``deleted_before``, and what was kept for them."""

    deleted_before: datetime


RestoreCommand = RestoreUser | RestoreUsers | RestoreGroup

TenantCommand = CreateTenant | SetStrictRfc | LinkEntraTenant | UnlinkEntraTenant | SetDeletedRetention
CredentialCommand = IssueCredential | RevokeCredential
OAuthClientCommand = CreateOAuthClient | DisableOAuthClient | FederateOAuthClient

Command = (
    CreateUser
    | ReplaceUser
    | PatchUser
    | DeactivateUser
    | ReactivateUser
    | DeleteUser
    | CreateGroup
    | ReplaceGroup
    | RenameGroup
    | PatchGroup
    | AddMembers
    | RemoveMembers
    | ReplaceMembers
    | DeleteGroup
    | TenantCommand
    | CredentialCommand
    | OAuthClientCommand
    | WebhookCommand
    | SchemaCommand
    | SsfStreamCommand
    | DeleteSsfStream
    | RestoreCommand
    | PurgeDeleted
)
