"""The one exception tree of the identity domain.

Every failure a command or query can report is one of these. The front ends render them
(a SCIM Error with its ``scimType``; a typed GraphQL result); the domain never knows how.

    DomainError
    ├── NotFound            the tenant has no such user, group or credential
    ├── Uniqueness          a userName / displayName / tenant name is already taken
    ├── VersionConflict     the aggregate changed since the version the writer read
    ├── InvalidValue        a value breaks the schema (type, required, mutability, ...)
    │   ├── InvalidPath     an attribute path names nothing the schema knows
    │   └── NoTarget        a path filter matched no value where one is required
    ├── Forbidden           the actor may not make this change
    └── StoreUnavailable    the database cannot be reached; retry later
        └── StoreTimeout    it is reachable, but the operation ran past its deadline
"""

from __future__ import annotations

__all__ = [
    "DomainError",
    "Forbidden",
    "InvalidPath",
    "InvalidValue",
    "NoTarget",
    "NotFound",
    "StoreTimeout",
    "StoreUnavailable",
    "Uniqueness",
    "VersionConflict",
]


class DomainError(Exception):
    """Base of every error the identity domain reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The tenant holds nothing with that id (or it belongs to another tenant)."""


class Uniqueness(DomainError):
    """A value that must be unique within the tenant is already taken."""

    def __init__(self, message: str, *, attribute: str) -> None:
        super().__init__(message)
        self.attribute = attribute


class VersionConflict(DomainError):
    """The aggregate's version is not the one the writer expected."""

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class InvalidValue(DomainError):
    """A value breaks the attribute schema: wrong type, missing, or not mutable."""

    def __init__(self, message: str, *, attribute: str | None = None, mutability: bool = False) -> None:
        super().__init__(message)
        self.attribute = attribute
        self.mutability = mutability


class InvalidPath(InvalidValue):
    """An attribute path names no attribute of the schema, or cannot be used where it stands."""


class NoTarget(InvalidValue):
    """A path's filter matched no value in an operation that requires one."""


class Forbidden(DomainError):
    """The acting credential lacks the right to make this change."""


class StoreUnavailable(DomainError):
    """The database did not answer in time; the operation did not happen and may be retried."""

    def __init__(self, message: str = "the identity store is unavailable", *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreTimeout(StoreUnavailable):
    """The database answered, but the operation did not finish within its deadline.

    Distinct from an outage so a front end can say "this took too long" (a query too costly, a
    database under load) rather than "the store is down"; both may be retried.
    """

    def __init__(self, message: str = "the identity store did not finish in time", *, retry_after: int = 1) -> None:
        super().__init__(message, retry_after=retry_after)
