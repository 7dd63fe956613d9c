"""Mutations: each turns its input into exactly one domain command (the same ones the SCIM facade
sends), dispatches it on the bus, and renders the result as its payload.

Expected failures come back as ``userErrors`` (:mod:`graphql_api.types.errors`), never as
top-level errors, and mean nothing was changed.

**Who masters what** is the domain's rule (:mod:`identity_store.domain.ownership`), checked by
the handlers against the state they write: an object with an ``externalId`` is Entra's, and a
key changes it only with the ``write:provisioned`` scope (a user's ``roles`` excepted), or the
mutation returns a ``ForbiddenError``. The key's scope reaches the domain as the actor's right.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeAlias, overload

import strawberry
from strawberry import relay
from strawberry.types.nodes import SelectedField
from strawberry.utils.str_converters import to_camel_case

from graphql_api import (
    deleted as deleted_resolvers,
    schema_extensions as schema_extension_resolvers,
    webhooks as webhook_resolvers,
)
from graphql_api.activity import note_result
from graphql_api.context import Context
from graphql_api.permissions import CanManageDeleted, CanManageSchemas, CanManageWebhooks, CanWrite
from graphql_api.types.arguments import GroupId, IfVersion, UserId
from graphql_api.types.errors import MutationError, mutation_error
from graphql_api.types.extensions import SchemaExtensionPayload
from graphql_api.types.groups import Group
from graphql_api.types.inputs import (
    EnterpriseUpdateInput,
    GroupCreateInput,
    GroupUpdateInput,
    UserCreateInput,
    UserUpdateInput,
    scim_name,
    to_json,
)
from graphql_api.types.nodes import local_id
from graphql_api.types.users import User
from graphql_api.types.webhooks import WebhookCreatePayload, WebhookPayload
from identity_store import (
    AddMembers,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    DomainError,
    Group as GroupRecord,
    InvalidValue,
    NotFound,
    PatchGroup,
    PatchUser,
    ReactivateUser,
    RemoveMembers,
    User as UserRecord,
)
from identity_store.bus import DeleteCommand, GroupCommand, UserCommand
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.domain.schema import ENTERPRISE
from identity_store.domain.values import JSON, Attributes

__all__ = ["Mutation"]

Info = strawberry.Info[Context, None]

_NEW_USER = strawberry.argument(description="The new user's attributes; userName is required and unique in the tenant.")
_NEW_GROUP = strawberry.argument(
    description="The new group's attributes; displayName is required and unique in the tenant."
)
_CHANGES = strawberry.argument(description="The attributes to change: absent fields stay, null removes a value.")
_MemberIds: TypeAlias = Annotated[
    list[relay.GlobalID],
    strawberry.argument(description="Global ids of users or groups (User.id, Group.id) of the same tenant."),
]

_USER_ERRORS = (
    "Why nothing was changed (switch on __typename); empty when the change was made. An unavailable "
    "database is a top-level error instead."
)


@strawberry.type(description="The user after the change, or why nothing changed.")
class UserPayload:
    user: User | None = strawberry.field(
        default=None, description="The user as it is now; null when userErrors is not empty."
    )
    user_errors: list[MutationError] = strawberry.field(default_factory=list, description=_USER_ERRORS)

    @staticmethod
    def of(result: UserRecord | MutationError) -> UserPayload:
        if isinstance(result, MutationError):
            return UserPayload(user_errors=[result])
        return UserPayload(user=User.of(result))


@strawberry.type(description="The group after the change, or why nothing changed.")
class GroupPayload:
    group: Group | None = strawberry.field(
        default=None, description="The group as it is now; null when userErrors is not empty."
    )
    user_errors: list[MutationError] = strawberry.field(default_factory=list, description=_USER_ERRORS)

    @staticmethod
    def of(result: GroupRecord | MutationError) -> GroupPayload:
        if isinstance(result, MutationError):
            return GroupPayload(user_errors=[result])
        return GroupPayload(group=Group.of(result))


@strawberry.type(description="The id of what was deleted, or why nothing was.")
class DeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None, description="The global id of the deleted object; null when userErrors is not empty."
    )
    user_errors: list[MutationError] = strawberry.field(default_factory=list, description=_USER_ERRORS)

    @staticmethod
    def of(result: MutationError | None, deleted: relay.GlobalID) -> DeletePayload:
        if isinstance(result, MutationError):
            return DeletePayload(user_errors=[result])
        return DeletePayload(deleted_id=strawberry.ID(str(deleted)))


@overload
async def _dispatch(info: Info, command: Callable[[], UserCommand]) -> UserRecord | MutationError: ...


@overload
async def _dispatch(info: Info, command: Callable[[], GroupCommand]) -> GroupRecord | MutationError: ...


@overload
async def _dispatch(info: Info, command: Callable[[], DeleteCommand]) -> MutationError | None: ...


async def _dispatch(
    info: Info, command: Callable[[], UserCommand | GroupCommand | DeleteCommand]
) -> UserRecord | GroupRecord | MutationError | None:
    """Build the command and dispatch it; a domain error, from either, is the caller's ``userErrors``.

    The command is built here, inside the ``try``, because reading the input can fail the way the
    domain does (an id of the wrong type is a ``NotFoundError``, a member id that names no user or
    group an ``InvalidValueError``).
    """
    changed = _input_names(info)
    try:
        result = await info.context.bus.dispatch(info.context.request_context, command())
    except DomainError as error:
        note_result(info.context, info.field_name, error, changed)
        return mutation_error(error)
    note_result(
        info.context, info.field_name, result if isinstance(result, UserRecord | GroupRecord) else None, changed
    )
    return result


def _input_names(info: Info) -> list[str]:
    """The fields a mutation's ``input`` gives a value, by their GraphQL names (for the activity
    log). Coerced input carries every field with a default, so a null is taken as not given: an
    update's removal by null is not named."""
    field = info.selected_fields[0] if info.selected_fields else None
    given = field.arguments.get("input") if isinstance(field, SelectedField) else None
    if dataclasses.is_dataclass(given) and not isinstance(given, type):
        given = {to_camel_case(f.name): getattr(given, f.name) for f in dataclasses.fields(given)}
    if not isinstance(given, dict):
        return []
    return [name for name, value in given.items() if value is not None and value is not strawberry.UNSET]


def _id(value: relay.GlobalID, type_name: str) -> str:
    found = local_id(value, type_name)
    if found is None:
        raise NotFound(f"{value} is not a {type_name} id")
    return found


def _member_ids(values: Iterable[relay.GlobalID]) -> tuple[str, ...]:
    for value in values:
        if value.type_name not in ("User", "Group"):
            raise InvalidValue(f"{value} is not a user or group id", attribute="memberIds")
    return tuple(value.node_id for value in values)


_ENTERPRISE_SUB_ATTRIBUTES = tuple(scim_name(f.name) for f in dataclasses.fields(EnterpriseUpdateInput))


def _user_patch(update: UserUpdateInput) -> tuple[PatchOperation, ...]:
    """PatchUser operations for an update: absent fields make none, null removes, a value replaces.

    ``name`` and ``enterprise`` are patched sub-attribute by sub-attribute, so ``{middleName: null}``
    removes only the middle name. ``enterprise: null`` removes its sub-attributes but not the
    manager, which has its own field.
    """
    operations: list[PatchOperation] = []
    for name, given in vars(update).items():
        if given is None:
            continue  # absent: not touched
        value = given.value
        path: tuple[str, ...]
        if name == "enterprise" and value is None:
            operations.extend(_remove((ENTERPRISE, sub)) for sub in _ENTERPRISE_SUB_ATTRIBUTES)
        elif name in ("name", "enterprise") and value is not None:
            parent = ENTERPRISE if name == "enterprise" else "name"
            for sub, sub_given in vars(value).items():
                if sub_given is not None:
                    path = (parent, scim_name(sub))
                    operations.append(_remove(path) if sub_given.value is None else _replace(path, sub_given.value))
        elif name == "manager":
            path = (ENTERPRISE, "manager")
            operations.append(_remove(path) if value is None else _replace(path, {"value": to_json(value)}))
        else:
            path = (scim_name(name),)
            operations.append(_remove(path) if value is None else _replace(path, to_json(value)))
    return tuple(operations)


def _remove(path: tuple[str, ...]) -> PatchOperation:
    return PatchOperation(op=PatchOp.REMOVE, path=PatchPath(attribute=path))


def _replace(path: tuple[str, ...], value: JSON) -> PatchOperation:
    return PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=path), value=value)


def _create_attributes(given: UserCreateInput) -> Attributes:
    attributes = to_json(given)
    assert isinstance(attributes, dict)
    manager = attributes.pop("manager", None)
    if manager is not None:
        enterprise = attributes.setdefault(ENTERPRISE, {})
        assert isinstance(enterprise, dict)
        enterprise["manager"] = {"value": manager}
    return attributes


def _group_patch(update: GroupUpdateInput) -> tuple[PatchOperation, ...]:
    """PatchGroup operations for an update: absent fields make none, null removes, a value replaces."""
    operations: list[PatchOperation] = []
    for name, given in (("displayName", update.display_name), ("externalId", update.external_id)):
        if given is not None:
            operations.append(_remove((name,)) if given.value is None else _replace((name,), given.value))
    return tuple(operations)


def _group_attributes(given: GroupCreateInput) -> Attributes:
    attributes: Attributes = {"displayName": given.display_name}
    if given.external_id is not None:
        attributes["externalId"] = given.external_id
    return attributes


def _write_mutation(does: str) -> Any:  # strawberry types a resolver-less decorator as Any
    """A mutation that needs the write scope, its description saying so after what it ``does``."""
    return strawberry.mutation(description=f"{does} Needs the write scope.", permission_classes=[CanWrite])


@strawberry.type(
    description="Changes to users, groups and memberships, which need the write scope (setting externalId or "
    "what Entra ID provisions also needs write:provisioned), and to webhook subscriptions, which need "
    "webhooks:manage, and restores of deleted objects, which need deleted:manage. Each runs as one command: "
    "all or nothing."
)
class Mutation:
    @_write_mutation("Create a user (CreateUser).")
    async def user_create(self, info: Info, input: Annotated[UserCreateInput, _NEW_USER]) -> UserPayload:
        return UserPayload.of(await _dispatch(info, lambda: CreateUser(attributes=_create_attributes(input))))

    @_write_mutation("Change some attributes of a user (PatchUser): absent fields stay, null removes.")
    async def user_update(
        self, info: Info, id: UserId, input: Annotated[UserUpdateInput, _CHANGES], if_version: IfVersion = None
    ) -> UserPayload:
        def command() -> PatchUser:
            return PatchUser(user_id=_id(id, "User"), operations=_user_patch(input), expected_version=if_version)

        return UserPayload.of(await _dispatch(info, command))

    @_write_mutation("Deactivate a user (DeactivateUser).")
    async def user_deactivate(self, info: Info, id: UserId, if_version: IfVersion = None) -> UserPayload:
        def command() -> DeactivateUser:
            return DeactivateUser(user_id=_id(id, "User"), expected_version=if_version)

        return UserPayload.of(await _dispatch(info, command))

    @_write_mutation("Reactivate a user (ReactivateUser).")
    async def user_reactivate(self, info: Info, id: UserId, if_version: IfVersion = None) -> UserPayload:
        def command() -> ReactivateUser:
            return ReactivateUser(user_id=_id(id, "User"), expected_version=if_version)

        return UserPayload.of(await _dispatch(info, command))

    @_write_mutation("Delete a user, its memberships and manager references (DeleteUser).")
    async def user_delete(self, info: Info, id: UserId, if_version: IfVersion = None) -> DeletePayload:
        def command() -> DeleteUser:
            return DeleteUser(user_id=_id(id, "User"), expected_version=if_version)

        return DeletePayload.of(await _dispatch(info, command), id)

    @_write_mutation("Create a group, optionally with members (CreateGroup).")
    async def group_create(self, info: Info, input: Annotated[GroupCreateInput, _NEW_GROUP]) -> GroupPayload:
        def command() -> CreateGroup:
            return CreateGroup(attributes=_group_attributes(input), member_ids=_member_ids(input.member_ids or []))

        return GroupPayload.of(await _dispatch(info, command))

    @_write_mutation("Change a group's attributes (PatchGroup): absent fields stay, null removes.")
    async def group_update(
        self, info: Info, id: GroupId, input: Annotated[GroupUpdateInput, _CHANGES], if_version: IfVersion = None
    ) -> GroupPayload:
        def command() -> PatchGroup:
            return PatchGroup(group_id=_id(id, "Group"), operations=_group_patch(input), expected_version=if_version)

        return GroupPayload.of(await _dispatch(info, command))

    @_write_mutation("Delete a group and every membership in it or of it (DeleteGroup).")
    async def group_delete(self, info: Info, id: GroupId, if_version: IfVersion = None) -> DeletePayload:
        def command() -> DeleteGroup:
            return DeleteGroup(group_id=_id(id, "Group"), expected_version=if_version)

        return DeletePayload.of(await _dispatch(info, command), id)

    @_write_mutation("Add users or groups to a group (AddMembers); members already in it are left as they are.")
    async def group_members_add(
        self, info: Info, id: GroupId, member_ids: _MemberIds, if_version: IfVersion = None
    ) -> GroupPayload:
        def command() -> AddMembers:
            return AddMembers(
                group_id=_id(id, "Group"), member_ids=_member_ids(member_ids), expected_version=if_version
            )

        return GroupPayload.of(await _dispatch(info, command))

    @_write_mutation("Remove users or groups from a group (RemoveMembers); non-members are ignored.")
    async def group_members_remove(
        self, info: Info, id: GroupId, member_ids: _MemberIds, if_version: IfVersion = None
    ) -> GroupPayload:
        def command() -> RemoveMembers:
            group_id = _id(id, "Group")
            return RemoveMembers(group_id=group_id, member_ids=_member_ids(member_ids), expected_version=if_version)

        return GroupPayload.of(await _dispatch(info, command))

    # Deleted users and groups (graphql_api.deleted), under their own scope.
    user_restore: deleted_resolvers.UserRestorePayload = strawberry.mutation(
        resolver=deleted_resolvers.user_restore,
        description="Restore a deleted user (RestoreUser): same id and attributes, its groups that still exist, its "
        "manager and its reports' references. A userName a live user took is a UniquenessError; an id that is "
        "not deleted a NotFoundError. Needs deleted:manage.",
        permission_classes=[CanManageDeleted],
    )
    group_restore: deleted_resolvers.GroupRestorePayload = strawberry.mutation(
        resolver=deleted_resolvers.group_restore,
        description="Restore a deleted group (RestoreGroup) with its live members and its parent groups that still "
        "exist. A displayName a live group took is a UniquenessError. Needs deleted:manage.",
        permission_classes=[CanManageDeleted],
    )
    restore_deleted_since: deleted_resolvers.RestoreDeletedPayload = strawberry.mutation(
        resolver=deleted_resolvers.restore_deleted_since,
        description="Undo a mass deprovisioning: restore every group, then every user, deleted since a time (by one "
        "credential, when given); send it again to go on after an interruption. Needs deleted:manage.",
        permission_classes=[CanManageDeleted],
    )

    # Webhook subscriptions (graphql_api.webhooks), under their own scope.
    webhook_create: WebhookCreatePayload = strawberry.mutation(
        resolver=webhook_resolvers.webhook_create,
        description="Subscribe a URL to the tenant's events from now on (CreateWebhookSubscription); the payload "
        "holds the signing secret, this once. A URL that is not https or names a non-public address is an "
        "InvalidValueError. Needs webhooks:manage.",
        permission_classes=[CanManageWebhooks],
    )
    webhook_disable: WebhookPayload = strawberry.mutation(
        resolver=webhook_resolvers.webhook_disable,
        description="Stop delivering to a subscription (DisableWebhookSubscription); disabling it again changes "
        "nothing. Needs webhooks:manage.",
        permission_classes=[CanManageWebhooks],
    )

    # Extension schemas (graphql_api.schema_extensions), under their own scope.
    schema_extension_add: SchemaExtensionPayload = strawberry.mutation(
        resolver=schema_extension_resolvers.schema_extension_add,
        description="Register an extension schema for the tenant's users or groups (AddSchemaExtension); its "
        "attributes are accepted over SCIM and GraphQL from then on. A malformed schema is an InvalidValueError, "
        "a URN already registered a UniquenessError. Needs schemas:manage.",
        permission_classes=[CanManageSchemas],
    )
    schema_extension_remove: SchemaExtensionPayload = strawberry.mutation(
        resolver=schema_extension_resolvers.schema_extension_remove,
        description="Remove an extension schema (RemoveSchemaExtension): its attributes are no longer accepted or "
        "returned; the values stay stored and come back if the URN is registered again. Needs schemas:manage.",
        permission_classes=[CanManageSchemas],
    )
