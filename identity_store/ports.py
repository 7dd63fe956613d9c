"""The ports: what the domain needs from storage, as typed protocols.

:class:`Store` opens a :class:`TenantStore` for one tenant; everything reachable from it is scoped
to that tenant by construction, so no query or command can forget the tenant. Writes happen in
:meth:`TenantStore.transact`: the work and the events it returns are committed together, or
neither is. ``identity_store.mongo`` implements these on MongoDB.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from identity_store.domain.credentials import Credential
from identity_store.domain.deletions import DeletedGroup, DeletedUser, KeptManagerRef, KeptMembership
from identity_store.domain.extensions import SchemaExtension, TenantSchemas
from identity_store.domain.fan_outs import FanOut
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.oauth import Federation, OAuthClient
from identity_store.domain.tenants import Tenant, TenantSettings
from identity_store.domain.users import User
from identity_store.events import Actor, DomainEvent, EventType, RecordedEvent
from identity_store.queries import Page, Projection, Query, UserView
from identity_store.ssf_streams import TenantSsfStreams
from identity_store.webhooks import TenantWebhooks

__all__ = [
    "CredentialRepository",
    "DeletedRepository",
    "EventLog",
    "FanOutRepository",
    "GroupRepository",
    "KeptRelations",
    "MembershipRepository",
    "OAuthClientRepository",
    "SchemaExtensionRepository",
    "Store",
    "TenantCredentials",
    "TenantOAuthClients",
    "TenantRecord",
    "TenantRepositories",
    "TenantRepository",
    "TenantStore",
    "Transaction",
    "UserRepository",
]

T = TypeVar("T")


class UserRepository(Protocol):
    async def get(self, user_id: str, projection: Projection | None = None) -> User:
        """The user; :class:`NotFound` when the tenant has none with that id."""

    async def get_many(self, user_ids: Sequence[str]) -> list[User]: ...

    async def display_names(self, user_ids: Sequence[str]) -> dict[str, str]:
        """Each found user's displayName, or its userName when it has none."""

    async def find(self, query: Query) -> Page[User]: ...

    async def get_view(self, user_id: str, projection: Projection | None = None, *, groups: bool) -> UserView:
        """The user with its manager's name and, when ``groups``, its direct groups."""

    async def find_views(self, query: Query, *, groups: bool) -> Page[UserView]:
        """:meth:`find`, each user with its manager's name and, when ``groups``, its direct groups."""

    async def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    async def held_ids(self, ids: Sequence[str]) -> set[str]:
        """:meth:`existing_ids`, each held against a concurrent delete until the transaction ends."""

    async def add(self, user: User) -> None:
        """Insert; :class:`Uniqueness` when the userName is taken."""

    async def update(self, user: User, *, previous_version: int) -> None:
        """Replace the stored state if it still has ``previous_version``, else :class:`VersionConflict`."""

    async def delete(self, user_id: str, *, previous_version: int, at: datetime, by: str | None) -> None:
        """Move the user, if it still has ``previous_version``, to the deleted users (deleted ``at``,
        by the credential ``by``), else :class:`VersionConflict`; its relations go with the fan-out."""

    async def release_reports(self, manager_id: str, at: datetime, *, limit: int) -> list[User]:
        """Up to ``limit`` of the users ``manager_id`` manages no longer have a manager (it is being
        deleted), the references kept aside for its restore; those users as they are now. Fewer
        than ``limit`` means none is left."""

    async def reports_pages(
        self, manager_ids: Sequence[str], *, after: str | None = None, limit: int = 100, backwards: bool = False
    ) -> dict[str, list[User]]:
        """For each manager, up to ``limit`` of its reports in id order, strictly after (or,
        backwards, before) the report id ``after``.

        A keyset page: its cost follows ``limit``, not how many reports a manager has.
        """

    async def count_reports(self, manager_ids: Sequence[str]) -> dict[str, int]:
        """How many users each manager manages."""

    async def regain_manager(self, refs: Sequence[tuple[str, str]], at: datetime) -> list[User]:
        """Give each (user, manager) pair's user that manager back (the manager is restored),
        unless the user has a manager now; the users changed, as they are now."""


class GroupRepository(Protocol):
    async def get(self, group_id: str, projection: Projection | None = None) -> Group: ...

    async def get_many(self, group_ids: Sequence[str]) -> list[Group]: ...

    async def display_names(self, group_ids: Sequence[str]) -> dict[str, str]:
        """Each found group's displayName."""

    async def find(self, query: Query) -> Page[Group]: ...

    async def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    async def held_ids(self, ids: Sequence[str]) -> set[str]:
        """:meth:`existing_ids`, each held against a concurrent delete until the transaction ends."""

    async def add(self, group: Group, *, member_count: int = 0) -> None:
        """Insert, with the number of direct members already written for it."""

    async def update(self, group: Group, *, previous_version: int, member_count_change: int = 0) -> None:
        """Store the group's new state if it still has ``previous_version``, else :class:`VersionConflict`;
        its member count moves by ``member_count_change`` (members added minus members removed)."""

    async def members_changed(
        self, group_id: str, at: datetime, *, expected_version: int | None, member_count_change: int
    ) -> Group:
        """The group's members changed (its attributes did not): advance its version, if it is
        still at ``expected_version`` when one is named, and move its member count by
        ``member_count_change``; the group as it is now. :class:`NotFound` for no such group."""

    async def member_left(self, group_ids: Sequence[str], at: datetime) -> list[Group]:
        """A member (being deleted) left each of these groups: advance each one's version and
        lower its member count by one; the groups that still exist, as they are now."""

    async def members_back(self, counts: Mapping[str, int], at: datetime) -> list[Group]:
        """Members (being restored) are back in these groups, ``counts`` of them in each: advance
        each one's version and raise its member count by its number; the groups, as they are now."""

    async def delete(self, group_id: str, *, previous_version: int, at: datetime, by: str | None) -> None:
        """Move the group, if it still has ``previous_version``, to the deleted groups (deleted
        ``at``, by the credential ``by``), else :class:`VersionConflict`."""


class MembershipRepository(Protocol):
    async def add(self, memberships: Sequence[Membership]) -> list[str]:
        """Add the memberships that do not exist yet; the member ids actually added."""

    async def put_back(self, memberships: Sequence[Membership]) -> list[Membership]:
        """Add the memberships that do not exist yet, as they were (a restore); those added."""

    async def remove(self, group_id: str, member_ids: Sequence[str]) -> list[Membership]:
        """Remove those members; the memberships that existed, in the order of ``member_ids``."""

    async def remove_except(
        self, group_id: str, keep: Collection[str], *, added_before: datetime, after: str | None, limit: int
    ) -> tuple[list[Membership], str | None]:
        """Look at up to ``limit`` of the group's members in member-id order, strictly after
        ``after``, and remove those not in ``keep`` that were added by ``added_before``: the
        memberships removed, and the last member looked at when more may follow (``None`` when
        the walk reached the end)."""

    async def remove_some(self, group_id: str, *, limit: int) -> list[Membership]:
        """Remove up to ``limit`` of the group's members (the group is being deleted), kept aside
        for its restore; fewer than ``limit`` means none is left."""

    async def leave_groups(self, member_id: str, *, limit: int) -> list[str]:
        """Remove the member (being deleted) from up to ``limit`` of its groups, the memberships
        kept aside for its restore; the ids of those groups. Fewer than ``limit`` means it belongs
        to none any more."""

    async def members(self, group_id: str) -> list[Membership]: ...

    def member_batches(self, group_id: str) -> AsyncIterator[list[Membership]]:
        """The group's members in member-id order, a bounded batch at a time (one read whose
        records are fetched batch by batch): memory follows the batch, not the group."""
        ...

    async def members_of(self, group_ids: Sequence[str]) -> dict[str, list[Membership]]: ...

    async def members_page(
        self, group_id: str, *, after: str | None = None, limit: int = 100, backwards: bool = False
    ) -> list[Membership]:
        """Up to ``limit`` members in member-id order, strictly after (or, backwards, before) ``after``.

        A keyset page: its cost follows ``limit``, not the size of the group.
        """

    async def count_members(self, group_ids: Sequence[str]) -> dict[str, int]:
        """How many direct members each group has (the count the group keeps: its cost follows
        the number of groups asked for, not their size)."""

    async def groups_of(self, member_ids: Sequence[str], *, transitive: bool = False) -> dict[str, list[str]]:
        """For each member, the ids of the groups it belongs to (directly, or also through groups)."""

    async def with_member_of_type(self, group_ids: Sequence[str], member_type: MemberType) -> set[str]:
        """Which of ``group_ids`` have at least one direct member of ``member_type``; its cost
        follows the number of groups asked for, not their size."""


class DeletedRepository(Protocol):
    """The tenant's deleted users and groups (see :mod:`identity_store.domain.deletions`)."""

    async def user(self, user_id: str) -> DeletedUser:
        """The deleted user; :class:`NotFound` when the tenant has no deleted user with that id."""

    async def group(self, group_id: str) -> DeletedGroup: ...

    async def deleted_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are deleted users or groups (not purged)."""

    async def restore_user(self, user: User) -> None:
        """Move the deleted user back to the live ones, every field it had kept, its attributes
        and meta those of ``user``; :class:`NotFound` if it is not deleted, :class:`Uniqueness`
        when a live user has its userName."""

    async def restore_users(self, users: Sequence[User]) -> None:
        """:meth:`restore_user` for many users in a few commands; :class:`Uniqueness` if any name is taken."""

    async def users_of(self, user_ids: Sequence[str]) -> list[DeletedUser]:
        """Those of ``user_ids`` that are deleted users (the others are left out)."""

    async def restore_group(self, group: Group) -> None:
        """As :meth:`restore_user`; the group comes back with no members (they follow)."""

    async def users(
        self,
        *,
        since: datetime | None = None,
        before: datetime | None = None,
        deleted_by: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[DeletedUser]:
        """Deleted users in id order after ``after``: deleted at or after ``since``, strictly
        before ``before``, by ``deleted_by``, when given."""

    async def groups(
        self,
        *,
        since: datetime | None = None,
        before: datetime | None = None,
        deleted_by: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[DeletedGroup]: ...

    async def purge(self, user_ids: Sequence[str], group_ids: Sequence[str]) -> None:
        """Remove these deleted users and groups, and every relation kept for them, for good."""


class KeptRelations(Protocol):
    """The relations deletions kept aside, each for the deleted object whose restore brings it back."""

    async def memberships(self, kept_for: Sequence[str], *, limit: int) -> list[KeptMembership]:
        """Up to ``limit`` of the memberships kept for any of ``kept_for``."""

    async def manager_refs(self, kept_for: Sequence[str], *, limit: int) -> list[KeptManagerRef]: ...

    async def own_manager_refs(self, user_ids: Sequence[str]) -> list[KeptManagerRef]:
        """The manager references of these users kept for one of them (their own, or one whose
        manager is among them)."""

    async def keep_manager_ref(self, user_id: str, manager_id: str) -> None:
        """Keep ``user_id``'s reference to its deleted manager, for that manager's restore."""

    async def hand_on(self, memberships: Sequence[KeptMembership], refs: Sequence[KeptManagerRef]) -> None:
        """Keep these relations for their other end instead (it is deleted too)."""

    async def forget(self, memberships: Sequence[KeptMembership], refs: Sequence[KeptManagerRef]) -> None:
        """These relations are back, or cannot come back: they are kept no longer."""


class TenantRecord(Protocol):
    """The transaction's tenant itself: its name and settings."""

    async def create(self, name: str, at: datetime) -> Tenant:
        """Create the tenant with the transaction's tenant id; :class:`Uniqueness` when the name is taken."""

    async def get(self) -> Tenant:
        """The tenant; :class:`NotFound` when it does not exist."""

    async def update_settings(self, settings: TenantSettings) -> Tenant:
        """:class:`Uniqueness` when the Entra tenant is already linked to another tenant."""


class TenantCredentials(Protocol):
    """The transaction's tenant's credentials: another tenant's are not found."""

    async def add(self, credential: Credential) -> None: ...

    async def get(self, credential_id: str) -> Credential:
        """The credential; :class:`NotFound` when the tenant has none with that id."""

    async def revoke(self, credential_id: str, at: datetime) -> Credential:
        """Set the revocation time; a second revocation keeps the first time."""


class TenantOAuthClients(Protocol):
    """The transaction's tenant's OAuth clients: another tenant's are not found."""

    async def add(self, client: OAuthClient) -> None: ...

    async def get(self, client_id: str) -> OAuthClient:
        """The client; :class:`NotFound` when the tenant has none with that id."""

    async def federate(self, client_id: str, federation: Federation | None) -> OAuthClient: ...

    async def disable(self, client_id: str, at: datetime) -> OAuthClient:
        """Set the disabling time; a second call keeps the first time."""


class FanOutRepository(Protocol):
    """The notes of fan-outs a change left to finish (see :mod:`identity_store.domain.fan_outs`)."""

    async def note(self, fan_out: FanOut) -> None:
        """Keep the note with the change that leaves the work (in its transaction)."""

    async def get(self, fan_out_id: str) -> FanOut | None: ...

    async def advance(self, fan_out_id: str, position: str) -> None:
        """Record how far a walk in member order has come."""

    async def finish(self, fan_out_id: str) -> None:
        """The work is done: the note goes (a second finish changes nothing)."""

    async def pending(self) -> list[FanOut]:
        """The tenant's unfinished fan-outs, oldest first."""


class SchemaExtensionRepository(Protocol):
    """One tenant's registered extension schemas (see :mod:`identity_store.domain.extensions`)."""

    async def all(self) -> list[SchemaExtension]:
        """The tenant's extensions, in the order they were registered."""

    async def add(self, extension: SchemaExtension) -> None:
        """:class:`Uniqueness` when the tenant already has that URN (case-insensitively)."""

    async def remove(self, urn: str) -> SchemaExtension:
        """The extension removed; :class:`NotFound` when the tenant has none with that URN."""

    async def ensure_indexes(self, extension: SchemaExtension) -> None:
        """Create the filter indexes ``extension.indexed`` asks for (idempotent; outside a transaction)."""


class TenantRepositories(Protocol):
    """The repositories of one tenant, in a transaction or outside one."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def groups(self) -> GroupRepository: ...

    @property
    def memberships(self) -> MembershipRepository: ...

    @property
    def fan_outs(self) -> FanOutRepository: ...

    @property
    def webhooks(self) -> TenantWebhooks: ...

    @property
    def schema_extensions(self) -> SchemaExtensionRepository: ...

    @property
    def deleted(self) -> DeletedRepository: ...

    @property
    def kept(self) -> KeptRelations: ...


class Transaction(TenantRepositories, Protocol):
    """Repositories bound to one transaction, and the events it appends when it commits.

    Beside the directory's repositories it reaches the tenant's own record, credentials and OAuth
    clients, so that administration changes commit with their events too."""

    @property
    def tenant(self) -> TenantRecord: ...

    @property
    def credentials(self) -> TenantCredentials: ...

    @property
    def oauth_clients(self) -> TenantOAuthClients: ...

    @property
    def ssf_streams(self) -> TenantSsfStreams: ...

    def record(self, *events: DomainEvent) -> None:
        """Append these events to the tenant's log in the same commit as the changes."""

    async def last_sequence(self) -> int:
        """The sequence of the tenant's last event as this transaction sees it: the events it
        records get the next ones, in order (a writer committing in between makes it run again)."""


class EventLog(Protocol):
    async def read(
        self,
        *,
        after: int | None = None,
        limit: int = 100,
        types: Sequence[EventType] | None = None,
        aggregate_ids: Sequence[str] | None = None,
    ) -> list[RecordedEvent]: ...

    async def last_sequence(self) -> int: ...


class TenantStore(TenantRepositories, Protocol):
    """Everything of one tenant. Reads outside a transaction; writes through :meth:`transact`."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def has_pending_work(self) -> bool:
        """Whether the tenant had fan-outs left unfinished when its last write here committed."""

    async def transact(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        actor: Actor,
        correlation_id: str | None,
        retry_conflicts: bool = True,
    ) -> T:
        """Run ``work`` in a transaction and append the events it records, atomically; its result.

        ``work`` may run more than once (a write conflict, or with ``retry_conflicts`` a
        :class:`VersionConflict`, runs it again on the newer state within the write's deadline),
        so it must read what it decides on through the transaction and keep no state between runs.
        """


class TenantRepository(Protocol):
    async def create(self, name: str, settings: TenantSettings | None = None) -> Tenant: ...

    async def get(self, tenant_id: str) -> Tenant: ...

    async def by_name(self, name: str) -> Tenant: ...

    async def list(self) -> list[Tenant]: ...

    async def update_settings(self, tenant_id: str, settings: TenantSettings) -> Tenant:
        """:class:`Uniqueness` when the Entra tenant is already linked to another tenant."""

    async def by_entra_tenant(self, entra_tenant_id: str) -> Tenant:
        """The tenant linked to that Entra tenant; :class:`NotFound` when none is."""


class CredentialRepository(Protocol):
    async def add(self, credential: Credential) -> None: ...

    async def get(self, credential_id: str) -> Credential: ...

    async def list(self, tenant_id: str, kind: str | None = None, client_id: str | None = None) -> list[Credential]:
        """The tenant's credentials, oldest first; only those of ``kind`` or of ``client_id`` when given."""

    async def revoke(self, credential_id: str, at: datetime) -> Credential: ...


class OAuthClientRepository(Protocol):
    async def add(self, client: OAuthClient) -> None: ...

    async def get(self, client_id: str) -> OAuthClient:
        """The client; :class:`NotFound` when there is none with that id."""

    async def list(self, tenant_id: str) -> list[OAuthClient]: ...

    async def federate(self, client_id: str, federation: Federation | None) -> OAuthClient:
        """Set (or, with ``None``, remove) the client's federated identity; :class:`NotFound` when unknown."""

    async def disable(self, client_id: str, at: datetime) -> OAuthClient:
        """Disable the client (a second call keeps the first time); :class:`NotFound` when unknown."""


class Store(Protocol):
    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def credentials(self) -> CredentialRepository: ...

    @property
    def oauth_clients(self) -> OAuthClientRepository: ...

    def tenant(self, tenant_id: str, schemas: TenantSchemas | None = None) -> TenantStore:
        """The tenant's store; ``schemas``: its extensions, which filters and the search mirror
        read (the core schemas only when not given)."""

    async def tenants_with_pending_work(self) -> list[str]:
        """The tenants with fan-outs left unfinished (a process stopped midway)."""

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers now."""
