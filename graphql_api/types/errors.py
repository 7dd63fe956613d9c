"""Business failures of mutations, returned as data: ``userErrors: [MutationError!]!`` on every payload.

Each domain error (:mod:`identity_store.domain.errors`) has one GraphQL type here; a client
switches on ``__typename``. An unavailable database is not a business failure: it stays a
top-level error.
"""

from __future__ import annotations

import strawberry

from identity_store import DomainError, Forbidden, InvalidValue, NotFound, StoreUnavailable, Uniqueness, VersionConflict

__all__ = [
    "ForbiddenError",
    "InvalidValueError",
    "MutationError",
    "NotFoundError",
    "UniquenessError",
    "VersionConflictError",
    "mutation_error",
]


@strawberry.interface(description="A failure the caller can act on; nothing was changed.")
class MutationError:
    message: str = strawberry.field(
        description="What went wrong, in English, for a person to read; switch on __typename in code."
    )
    field: list[str] | None = strawberry.field(
        default=None, description="Path of the input field at fault, when one is."
    )


@strawberry.type(description="No user, group or webhook subscription with that id in the caller's tenant.")
class NotFoundError(MutationError):
    pass


@strawberry.type(description="A value that must be unique in the tenant (userName, displayName) is taken.")
class UniquenessError(MutationError):
    attribute: str | None = strawberry.field(description="The attribute whose value is taken (such as 'userName').")


@strawberry.type(description="The object changed since the version given in ifVersion.")
class VersionConflictError(MutationError):
    current_version: int | None = strawberry.field(
        description="The object's version now: read it again, then retry with this ifVersion."
    )


@strawberry.type(description="A value is missing, malformed, or may not change (immutable, read-only).")
class InvalidValueError(MutationError):
    attribute: str | None = strawberry.field(
        description="The attribute at fault, when one is (SCIM name, such as 'emails')."
    )


@strawberry.type(
    description="The API key may not make this change (for example an attribute Microsoft Entra ID provisions)."
)
class ForbiddenError(MutationError):
    pass


def mutation_error(error: DomainError) -> MutationError:
    """The GraphQL rendering of a domain error (an unavailable store is re-raised, not rendered)."""
    if isinstance(error, StoreUnavailable):
        raise error
    if isinstance(error, NotFound):
        return NotFoundError(message=error.message)
    if isinstance(error, Uniqueness):
        return UniquenessError(message=error.message, field=["input", error.attribute], attribute=error.attribute)
    if isinstance(error, VersionConflict):
        return VersionConflictError(message=error.message, field=["ifVersion"], current_version=error.current_version)
    if isinstance(error, InvalidValue):
        field = ["input", error.attribute] if error.attribute else None
        return InvalidValueError(message=error.message, field=field, attribute=error.attribute)
    if isinstance(error, Forbidden):
        return ForbiddenError(message=error.message)
    raise error
