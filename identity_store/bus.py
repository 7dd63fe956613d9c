"""The command bus: the one way into the domain's write side.

:meth:`CommandBus.dispatch` opens the tenant's store for the caller's :class:`RequestContext` and
runs the command's handler. The tenant comes from the context, which the front ends build from
the authenticated credential, so a command can only ever touch the caller's tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, overload

from identity_store.commands import (
    AddMembers,
    Command,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    PatchGroup,
    PatchUser,
    ReactivateUser,
    RemoveMembers,
    RenameGroup,
    ReplaceGroup,
    ReplaceMembers,
    ReplaceUser,
)
from identity_store.domain.groups import Group
from identity_store.domain.users import User
from identity_store.events import Actor
from identity_store.handlers import HandlerContext, handle
from identity_store.ports import Store

__all__ = ["CommandBus", "RequestContext"]

T = TypeVar("T")

UserCommand = CreateUser | ReplaceUser | PatchUser | DeactivateUser | ReactivateUser
GroupCommand = CreateGroup | ReplaceGroup | RenameGroup | PatchGroup | AddMembers | RemoveMembers | ReplaceMembers
DeleteCommand = DeleteUser | DeleteGroup


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    """Who is asking, for which tenant, under which correlation id."""

    tenant_id: str
    actor: Actor
    correlation_id: str | None = None


class CommandBus:
    def __init__(self, store: Store) -> None:
        self._store = store

    @overload
    async def dispatch(self, context: RequestContext, command: UserCommand) -> User: ...

    @overload
    async def dispatch(self, context: RequestContext, command: GroupCommand) -> Group: ...

    @overload
    async def dispatch(self, context: RequestContext, command: DeleteCommand) -> None: ...

    async def dispatch(self, context: RequestContext, command: Command) -> User | Group | None:
        handler_context = HandlerContext(
            store=self._store.tenant(context.tenant_id),
            actor=context.actor,
            correlation_id=context.correlation_id,
        )
        result = await handle(command, handler_context)
        assert result is None or isinstance(result, User | Group)
        return result
