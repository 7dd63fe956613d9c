"""Deleted users and groups through GraphQL, under the ``deleted:manage`` scope.

``deletedUsers`` and ``deletedGroups`` list what is deleted and still restorable (a deleted
object is absent from every other field); ``userRestore`` and ``groupRestore`` bring one back
(the ``RestoreUser``/``RestoreGroup`` commands the command line sends), ``restoreDeletedSince``
undoes a mass deprovisioning as ``identity-store restore --since`` does, and can be sent again to
go on after an interruption (:mod:`identity_store.mass_restore`). A name taken by a live object is
a ``UniquenessError``; an id that is not deleted (live, purged or unknown) a ``NotFoundError``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, overload

import strawberry
from strawberry import relay

from graphql_api.activity import note_result
from graphql_api.context import Context
from graphql_api.errors import BadUserInput
from graphql_api.pagination import MAX_PAGE_SIZE
from graphql_api.types.errors import MutationError, mutation_error
from graphql_api.types.groups import Group
from graphql_api.types.nodes import global_id, local_id
from graphql_api.types.users import User
from identity_store import DomainError, NotFound
from identity_store.commands import RestoreGroup, RestoreUser
from identity_store.domain.deletions import DeletedGroup as DeletedGroupRecord, DeletedUser as DeletedUserRecord
from identity_store.domain.groups import Group as GroupRecord
from identity_store.domain.users import User as UserRecord
from identity_store.events import AggregateType
from identity_store.mass_restore import restore_deleted

__all__ = [
    "DeletedGroup",
    "DeletedUser",
    "GroupRestorePayload",
    "RestoreDeletedPayload",
    "UserRestorePayload",
    "deleted_groups",
    "deleted_users",
    "group_restore",
    "restore_deleted_since",
    "user_restore",
]

Info = strawberry.Info[Context, None]

_SINCE = strawberry.argument(description="Only what was deleted at or after this time.")
_BY = strawberry.argument(description="Only what this credential deleted (its id; deletedBy).")
_FIRST = strawberry.argument(description=f"At most this many, in id order: 1 to {MAX_PAGE_SIZE}, default 100.")
_USER_ID = strawberry.argument(description="The deleted user's global id (DeletedUser.id).")
_GROUP_ID = strawberry.argument(description="The deleted group's global id (DeletedGroup.id).")
_USER_ERRORS = "Why nothing was restored (switch on __typename); empty when it was."
_AFTER = strawberry.argument(
    description="Start after this id (the last id of the previous page); null: from the start."
)


@strawberry.type(description="A deleted user, restorable until it is purged.")
class DeletedUser:
    id: strawberry.ID = strawberry.field(description="The user's global id (User.id), for userRestore.")
    user_name: str = strawberry.field(description="Its userName (free for a live user while it is deleted).")
    display_name: str | None = strawberry.field(description="Its displayName, if it had one.")
    external_id: str | None = strawberry.field(description="Its externalId (Entra's id for it), if it had one.")
    deleted_at: datetime = strawberry.field(description="When it was deleted.")
    deleted_by: str | None = strawberry.field(description="The credential that deleted it; null: the command line.")

    @staticmethod
    def of(record: DeletedUserRecord) -> DeletedUser:
        user = record.user
        display = user.attributes.get("displayName")
        return DeletedUser(
            id=strawberry.ID(global_id("User", user.id)),
            user_name=user.user_name,
            display_name=display if isinstance(display, str) else None,
            external_id=user.external_id,
            deleted_at=record.deleted,
            deleted_by=record.deleted_by,
        )


@strawberry.type(description="A deleted group, restorable until it is purged.")
class DeletedGroup:
    id: strawberry.ID = strawberry.field(description="The group's global id (Group.id), for groupRestore.")
    display_name: str = strawberry.field(description="Its displayName (free for a live group while it is deleted).")
    external_id: str | None = strawberry.field(description="Its externalId (Entra's id for it), if it had one.")
    deleted_at: datetime = strawberry.field(description="When it was deleted.")
    deleted_by: str | None = strawberry.field(description="The credential that deleted it; null: the command line.")

    @staticmethod
    def of(record: DeletedGroupRecord) -> DeletedGroup:
        group = record.group
        return DeletedGroup(
            id=strawberry.ID(global_id("Group", group.id)),
            display_name=group.display_name,
            external_id=group.external_id,
            deleted_at=record.deleted,
            deleted_by=record.deleted_by,
        )


@strawberry.type(description="The restored user, or why it was not restored.")
class UserRestorePayload:
    user: User | None = strawberry.field(default=None, description="The user as it is now; null on userErrors.")
    user_errors: list[MutationError] = strawberry.field(default_factory=list, description=_USER_ERRORS)


@strawberry.type(description="The restored group, or why it was not restored.")
class GroupRestorePayload:
    group: Group | None = strawberry.field(default=None, description="The group as it is now; null on userErrors.")
    user_errors: list[MutationError] = strawberry.field(default_factory=list, description=_USER_ERRORS)


@strawberry.type(description="An object that stayed deleted, and why.")
class NotRestored:
    id: strawberry.ID = strawberry.field(description="Its global id (User.id or Group.id).")
    name: str = strawberry.field(description="Its userName or displayName.")
    message: str = strawberry.field(description="Why it stayed deleted (e.g. its name is taken by a live object).")


@strawberry.type(description="What a restoreDeletedSince restored (or, in a dry run, would restore).")
class RestoreDeletedPayload:
    dry_run: bool = strawberry.field(description="Whether nothing was changed (a dry run).")
    groups: int = strawberry.field(description="Groups restored (or to be restored).")
    users: int = strawberry.field(description="Users restored (or to be restored).")
    not_restored: list[NotRestored] = strawberry.field(description="Each object that stayed deleted, and why.")


def _page(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE_SIZE}")
    return first


def _after(after: str | None, type_name: str) -> str | None:
    if not after:
        return None
    try:
        found = local_id(relay.GlobalID.from_id(after), type_name)
    except ValueError:
        found = None
    if found is None:
        raise BadUserInput(f"after must be a {type_name} id (the id of the last one seen)")
    return found


async def deleted_users(
    info: Info,
    since: Annotated[datetime | None, _SINCE] = None,
    deleted_by: Annotated[str | None, _BY] = None,
    first: Annotated[int, _FIRST] = 100,
    after: Annotated[str | None, _AFTER] = None,
) -> list[DeletedUser]:
    found = await info.context.tenant.deleted.users(
        since=since, deleted_by=deleted_by, after=_after(after, "User"), limit=_page(first)
    )
    return [DeletedUser.of(d) for d in found]


async def deleted_groups(
    info: Info,
    since: Annotated[datetime | None, _SINCE] = None,
    deleted_by: Annotated[str | None, _BY] = None,
    first: Annotated[int, _FIRST] = 100,
    after: Annotated[str | None, _AFTER] = None,
) -> list[DeletedGroup]:
    found = await info.context.tenant.deleted.groups(
        since=since, deleted_by=deleted_by, after=_after(after, "Group"), limit=_page(first)
    )
    return [DeletedGroup.of(d) for d in found]


async def user_restore(info: Info, id: Annotated[relay.GlobalID, _USER_ID]) -> UserRestorePayload:
    restored = await _restore(info, id, "User", lambda user_id: RestoreUser(user_id=user_id))
    if isinstance(restored, MutationError):
        return UserRestorePayload(user_errors=[restored])
    return UserRestorePayload(user=User.of(restored))


async def group_restore(info: Info, id: Annotated[relay.GlobalID, _GROUP_ID]) -> GroupRestorePayload:
    restored = await _restore(info, id, "Group", lambda group_id: RestoreGroup(group_id=group_id))
    if isinstance(restored, MutationError):
        return GroupRestorePayload(user_errors=[restored])
    return GroupRestorePayload(group=Group.of(restored))


@overload
async def _restore(
    info: Info, id: relay.GlobalID, type_name: str, command: Callable[[str], RestoreUser]
) -> UserRecord | MutationError: ...


@overload
async def _restore(
    info: Info, id: relay.GlobalID, type_name: str, command: Callable[[str], RestoreGroup]
) -> GroupRecord | MutationError: ...


async def _restore(
    info: Info, id: relay.GlobalID, type_name: str, command: Callable[[str], RestoreUser | RestoreGroup]
) -> UserRecord | GroupRecord | MutationError:
    """Dispatch the restore of the object ``id`` names; a domain error (an id of another type, an
    object that is not deleted, a name now taken) is the caller's ``userErrors``."""
    context = info.context
    try:
        object_id = local_id(id, type_name)
        if object_id is None:
            raise NotFound(f"{id} is not a {type_name} id")
        restored = await context.bus.dispatch(context.request_context, command(object_id))
    except DomainError as error:
        note_result(context, info.field_name, error)
        return mutation_error(error)
    note_result(context, info.field_name, restored)
    return restored


async def restore_deleted_since(
    info: Info,
    since: Annotated[datetime, _SINCE],
    deleted_by: Annotated[str | None, _BY] = None,
    dry_run: Annotated[bool, strawberry.argument(description="List what would come back; change nothing.")] = False,
) -> RestoreDeletedPayload:
    context = info.context
    report = await restore_deleted(
        context.store, context.bus, context.request_context, since=since, deleted_by=deleted_by, dry_run=dry_run
    )
    note_result(context, info.field_name, None)
    return RestoreDeletedPayload(
        dry_run=dry_run,
        groups=report.groups,
        users=report.users,
        not_restored=[
            NotRestored(
                id=strawberry.ID(global_id("Group" if p.kind is AggregateType.GROUP else "User", p.id)),
                name=p.name,
                message=p.problem or "",
            )
            for p in report.problems
        ],
    )
