"""The command bus: the one way into the domain's write side.

:meth:`CommandBus.dispatch` opens the tenant's store for the caller's :class:`RequestContext`,
builds the command's unit of work and runs its one handler. The tenant comes from the context,
which the front ends build from the authenticated credential, so a command can only ever touch
the caller's tenant. One bus is built per store, by :func:`identity_store.bootstrap.bootstrap`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never, overload

from identity_store import handlers
from identity_store.commands import (
    AddMembers,
    AddSchemaExtension,
    AddSsfSubject,
    Command,
    CreateGroup,
    CreateOAuthClient,
    CreateSsfStream,
    CreateTenant,
    CreateUser,
    CreateWebhookSubscription,
    DeactivateUser,
    DeleteGroup,
    DeleteSsfStream,
    DeleteUser,
    DisableOAuthClient,
    DisableWebhookSubscription,
    FederateOAuthClient,
    IssueCredential,
    LinkEntraTenant,
    OAuthClientCommand,
    PatchGroup,
    PatchUser,
    PurgeDeleted,
    ReactivateUser,
    RemoveMembers,
    RemoveSchemaExtension,
    RemoveSsfSubject,
    RenameGroup,
    ReplaceGroup,
    ReplaceMembers,
    ReplaceUser,
    RestoreGroup,
    RestoreUser,
    RestoreUsers,
    RevokeCredential,
    SchemaCommand,
    SetDeletedRetention,
    SetSsfStreamStatus,
    SetStrictRfc,
    SsfStreamCommand,
    TenantCommand,
    UnlinkEntraTenant,
    UpdateSsfStream,
    WebhookCommand,
)
from identity_store.domain.credentials import Credential, IssuedSecret
from identity_store.domain.extensions import CORE_ONLY, SchemaExtension, TenantSchemas
from identity_store.domain.groups import Group
from identity_store.domain.oauth import OAuthClient
from identity_store.domain.patch import PatchPolicy
from identity_store.domain.tenants import Tenant
from identity_store.domain.users import User
from identity_store.domain.webhook_urls import WebhookUrlRules
from identity_store.events import Actor
from identity_store.handlers import Purged, UnitOfWork
from identity_store.ports import Store
from identity_store.ssf_streams import SsfStream
from identity_store.tenant_schemas import TenantSchemaCache
from identity_store.webhooks import WebhookSubscription

__all__ = ["CommandBus", "RequestContext"]

UserCommand = CreateUser | ReplaceUser | PatchUser | DeactivateUser | ReactivateUser
GroupCommand = CreateGroup | ReplaceGroup | RenameGroup | PatchGroup | AddMembers | RemoveMembers | ReplaceMembers
DeleteCommand = DeleteUser | DeleteGroup | DeleteSsfStream
_WRITES_ATTRIBUTES = (
    CreateUser,
    ReplaceUser,
    PatchUser,
    DeactivateUser,
    ReactivateUser,
    DeleteUser,  # its reports lose their manager
    CreateGroup,
    ReplaceGroup,
    RenameGroup,
    PatchGroup,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    """Who is asking, for which tenant, under which correlation id and PATCH policy."""

    tenant_id: str
    actor: Actor
    correlation_id: str | None = None
    #: The tenant's reading of Entra's PATCH habits (strict RFC 7644 or lenient).
    patch_policy: PatchPolicy = field(default_factory=PatchPolicy)
    #: The tenant's schemas as the front end read them for this request (from the bus's
    #: :attr:`CommandBus.schemas`); the bus reads them itself when not given.
    schemas: TenantSchemas | None = None


class CommandBus:
    """``webhook_urls``: which URLs a webhook subscription may have (the service's settings; by
    default https to public addresses only). ``schema_cache_seconds``: how long a tenant's
    extension schemas are kept in :attr:`schemas` (see :mod:`identity_store.tenant_schemas`)."""

    def __init__(
        self, store: Store, *, webhook_urls: WebhookUrlRules | None = None, schema_cache_seconds: float = 0.0
    ) -> None:
        self._store = store
        self._webhook_urls = webhook_urls or WebhookUrlRules()
        #: Each tenant's schemas, shared with the front ends so a request reads them once.
        self.schemas = TenantSchemaCache(store, seconds=schema_cache_seconds)

    @overload
    async def dispatch(self, context: RequestContext, command: UserCommand) -> User: ...

    @overload
    async def dispatch(self, context: RequestContext, command: GroupCommand) -> Group: ...

    @overload
    async def dispatch(self, context: RequestContext, command: RestoreUser) -> User: ...
    @overload
    async def dispatch(self, context: RequestContext, command: RestoreUsers) -> list[User]: ...
    @overload
    async def dispatch(self, context: RequestContext, command: RestoreGroup) -> Group: ...
    @overload
    async def dispatch(self, context: RequestContext, command: PurgeDeleted) -> Purged: ...
    @overload
    async def dispatch(self, context: RequestContext, command: DeleteCommand) -> None: ...

    @overload
    async def dispatch(self, context: RequestContext, command: TenantCommand) -> Tenant: ...

    @overload
    async def dispatch(self, context: RequestContext, command: IssueCredential) -> IssuedSecret: ...

    @overload
    async def dispatch(self, context: RequestContext, command: RevokeCredential) -> Credential: ...

    @overload
    async def dispatch(self, context: RequestContext, command: OAuthClientCommand) -> OAuthClient: ...

    @overload
    async def dispatch(self, context: RequestContext, command: WebhookCommand) -> WebhookSubscription: ...

    @overload
    async def dispatch(self, context: RequestContext, command: SsfStreamCommand) -> SsfStream: ...

    @overload
    async def dispatch(self, context: RequestContext, command: SchemaCommand) -> SchemaExtension: ...

    async def dispatch(
        self, context: RequestContext, command: Command
    ) -> (
        User
        | list[User]
        | Group
        | Tenant
        | IssuedSecret
        | Credential
        | OAuthClient
        | WebhookSubscription
        | SsfStream
        | SchemaExtension
        | Purged
        | None
    ):
        schemas = context.schemas
        if schemas is None and isinstance(command, _WRITES_ATTRIBUTES):
            # Only writes of a user's or group's attributes validate values against the tenant's
            # extensions and rewrite the search mirror, whose folding the extensions decide.
            schemas = await self.schemas.of(context.tenant_id)
        uow = UnitOfWork(
            store=self._store.tenant(context.tenant_id, schemas),
            actor=context.actor,
            correlation_id=context.correlation_id,
            policy=context.patch_policy,
            schemas=schemas or CORE_ONLY,
        )
        # One branch per command, each checked by the type checker: no handler table to drift.
        match command:
            case CreateUser():
                return await handlers.create_user(command, uow)
            case ReplaceUser():
                return await handlers.replace_user(command, uow)
            case PatchUser():
                return await handlers.patch_user(command, uow)
            case DeactivateUser():
                return await handlers.deactivate_user(command, uow)
            case ReactivateUser():
                return await handlers.reactivate_user(command, uow)
            case DeleteUser():
                await handlers.delete_user(command, uow)
                return None
            case CreateGroup():
                return await handlers.create_group(command, uow)
            case ReplaceGroup():
                return await handlers.replace_group(command, uow)
            case RenameGroup():
                return await handlers.rename_group(command, uow)
            case PatchGroup():
                return await handlers.patch_group(command, uow)
            case AddMembers():
                return await handlers.add_members(command, uow)
            case RemoveMembers():
                return await handlers.remove_members(command, uow)
            case ReplaceMembers():
                return await handlers.replace_members(command, uow)
            case DeleteGroup():
                await handlers.delete_group(command, uow)
                return None
            case RestoreUser():
                return await handlers.restore_user(command, uow)
            case RestoreUsers():
                return await handlers.restore_users(command, uow)
            case RestoreGroup():
                return await handlers.restore_group(command, uow)
            case PurgeDeleted():
                return await handlers.purge_deleted(command, uow)
            case CreateTenant():
                return await handlers.create_tenant(command, uow)
            case SetStrictRfc() | LinkEntraTenant() | UnlinkEntraTenant() | SetDeletedRetention():
                return await handlers.change_tenant_settings(command, uow)
            case IssueCredential():
                return await handlers.issue_credential(command, uow)
            case RevokeCredential():
                return await handlers.revoke_credential(command, uow)
            case CreateOAuthClient():
                return await handlers.create_oauth_client(command, uow)
            case DisableOAuthClient():
                return await handlers.disable_oauth_client(command, uow)
            case FederateOAuthClient():
                return await handlers.federate_oauth_client(command, uow)
            # --- Webhook subscriptions
            case CreateWebhookSubscription():
                return await handlers.create_webhook_subscription(command, uow, self._webhook_urls)
            case DisableWebhookSubscription():
                return await handlers.disable_webhook_subscription(command, uow)
            # --- end of webhook subscriptions
            case AddSchemaExtension():
                return await handlers.add_schema_extension(command, uow, self.schemas)
            case RemoveSchemaExtension():
                return await handlers.remove_schema_extension(command, uow, self.schemas)
            case CreateSsfStream():
                return await handlers.create_ssf_stream(command, uow)
            case UpdateSsfStream():
                return await handlers.update_ssf_stream(command, uow)
            case DeleteSsfStream():
                await handlers.delete_ssf_stream(command, uow)
                return None
            case SetSsfStreamStatus():
                return await handlers.set_ssf_stream_status(command, uow)
            case AddSsfSubject():
                return await handlers.add_ssf_subject(command, uow)
            case RemoveSsfSubject():
                return await handlers.remove_ssf_subject(command, uow)
            case _:
                assert_never(command)
