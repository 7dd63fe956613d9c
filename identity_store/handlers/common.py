"""What every handler shares: the unit of work it runs in, and how events and checks are made."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from identity_store.domain.errors import DomainError, InvalidValue, VersionConflict
from identity_store.domain.extensions import CORE_ONLY, TenantSchemas, extension_urn, is_extension_key
from identity_store.domain.patch import PatchPolicy
from identity_store.domain.schema import Mutability, ResourceSchema
from identity_store.domain.values import Attributes
from identity_store.events import Actor
from identity_store.handlers import fan_outs
from identity_store.handlers.event_builders import (
    EVENT_MEMBERS,
    changes,
    group_event,
    group_events,
    members_removed,
    user_event,
)
from identity_store.ports import TenantStore, Transaction

__all__ = [
    "EVENT_MEMBERS",
    "UnitOfWork",
    "changes",
    "check_immutable",
    "check_version",
    "group_event",
    "group_events",
    "members_removed",
    "require",
    "split_password",
    "user_event",
]

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOfWork:
    """One command's unit of work: the tenant's store, who acts, and under which rules.

    :meth:`run` is the transaction. It owns the session, the tenant's write ordering and the one
    retry policy with its deadline (:mod:`identity_store.mongo.retries`); the handler's work is a
    function of the transaction rather than the body of an ``async with`` block because the
    policy may run it again on newer state, and because a commit whose answer was lost must
    still be able to hand back what that attempt returned.
    """

    store: TenantStore
    actor: Actor
    correlation_id: str | None
    #: How Entra's habits in a PATCH are taken (the tenant's setting; see PatchPolicy).
    policy: PatchPolicy
    #: The tenant's schemas with its registered extensions, which values are validated against.
    schemas: TenantSchemas = CORE_ONLY

    async def run(self, work: Callable[[Transaction], Awaitable[T]], *, expected_version: int | None) -> T:
        """``work`` in one transaction; run again on newer state unless the writer named its version.

        Then, when the tenant has fan-outs left to finish (this change left one, or an earlier
        one was interrupted), their batches run before the command returns
        (:mod:`identity_store.handlers.fan_outs`).
        """
        result = await self.store.transact(
            work, actor=self.actor, correlation_id=self.correlation_id, retry_conflicts=expected_version is None
        )
        if self.store.has_pending_work:
            try:
                await fan_outs.finish(self.store)
            except DomainError as error:
                # This command's change is committed and must be answered as such; the work left
                # stays noted, and the tenant's next write (or start-up) finishes it.
                log.warning("fan-out left for later: %s", error.message)
        return result


def check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and current != expected:
        raise VersionConflict(f"{what} is at version {current}, not {expected}", current_version=current)


def split_password(attributes: Attributes) -> tuple[Attributes, str | None]:
    password = attributes.pop("password", None)
    if password is not None and not isinstance(password, str):
        raise InvalidValue("password must be a string", attribute="password")
    return attributes, password


def require(schema: ResourceSchema, attributes: Attributes) -> None:
    for attribute in schema.attributes:
        if attribute.required and not attributes.get(attribute.name):
            raise InvalidValue(f"{attribute.name} is required", attribute=attribute.name)


def check_immutable(schema: ResourceSchema, before: Attributes, after: Attributes) -> None:
    """An immutable attribute, once set, keeps its value (RFC 7643 §2.2); so does an immutable
    attribute of a tenant's extension schema."""
    for attribute in schema.attributes:
        old, new = before.get(attribute.name), after.get(attribute.name)
        if attribute.mutability is Mutability.IMMUTABLE and old is not None and new != old:
            raise InvalidValue(f"{attribute.name} is immutable", attribute=attribute.name, mutability=True)
        if is_extension_key(attribute.name) and isinstance(old, dict):
            for sub in attribute.sub_attributes:
                was, now = old.get(sub.name), new.get(sub.name) if isinstance(new, dict) else None
                if sub.mutability is Mutability.IMMUTABLE and was is not None and now != was:
                    urn = extension_urn(attribute.name)
                    raise InvalidValue(f"{urn}:{sub.name} is immutable", attribute=sub.name, mutability=True)
