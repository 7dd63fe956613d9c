"""Per-request DataLoaders: every batch of sibling fields costs one database query, not one per parent.

A query for 100 users with their manager, their groups and each group's member count therefore
runs a fixed handful of queries (users page, managers, memberships, groups, counts), whatever the
number of users. Loaders live in the request's context, so nothing is cached across requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from identity_store import Group, NotFound, TenantStore, User
from identity_store.ports import CredentialRepository

__all__ = ["Loaders"]


@dataclass(slots=True)
class Loaders:
    """The loaders of one request, all bound to the caller's tenant."""

    store: TenantStore
    credentials: CredentialRepository
    user: DataLoader[str, User | None] = field(init=False)
    group: DataLoader[str, Group | None] = field(init=False)
    direct_groups: DataLoader[str, list[str]] = field(init=False)
    transitive_groups: DataLoader[str, list[str]] = field(init=False)
    member_count: DataLoader[str, int] = field(init=False)
    direct_reports: DataLoader[str, list[User]] = field(init=False)
    credential_kind: DataLoader[str, str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.user = DataLoader(load_fn=self._users)
        self.group = DataLoader(load_fn=self._groups)
        self.direct_groups = DataLoader(load_fn=self._direct_groups)
        self.transitive_groups = DataLoader(load_fn=self._transitive_groups)
        self.member_count = DataLoader(load_fn=self._member_counts)
        self.direct_reports = DataLoader(load_fn=self._direct_reports)
        self.credential_kind = DataLoader(load_fn=self._credential_kinds)

    def prime_users(self, users: Sequence[User]) -> None:
        for user in users:
            self.user.prime(user.id, user)

    def prime_groups(self, groups: Sequence[Group]) -> None:
        for group in groups:
            self.group.prime(group.id, group)

    async def _users(self, ids: list[str]) -> list[User | None]:
        found = {u.id: u for u in await self.store.users.get_many(ids)}
        return [found.get(i) for i in ids]

    async def _groups(self, ids: list[str]) -> list[Group | None]:
        found = {g.id: g for g in await self.store.groups.get_many(ids)}
        return [found.get(i) for i in ids]

    async def _direct_groups(self, member_ids: list[str]) -> list[list[str]]:
        groups = await self.store.memberships.groups_of(member_ids)
        return [groups.get(m, []) for m in member_ids]

    async def _transitive_groups(self, member_ids: list[str]) -> list[list[str]]:
        groups = await self.store.memberships.groups_of(member_ids, transitive=True)
        return [groups.get(m, []) for m in member_ids]

    async def _member_counts(self, group_ids: list[str]) -> list[int]:
        counts = await self.store.memberships.count_members(group_ids)
        return [counts.get(g, 0) for g in group_ids]

    async def _direct_reports(self, manager_ids: list[str]) -> list[list[User]]:
        reports = await self.store.users.direct_reports(manager_ids)
        self.prime_users([u for us in reports.values() for u in us])
        return [reports.get(m, []) for m in manager_ids]

    async def _credential_kinds(self, credential_ids: list[str]) -> list[str | None]:
        """The kind of each credential of this tenant (``None``: unknown here, or deleted)."""

        async def kind(credential_id: str) -> str | None:
            try:
                credential = await self.credentials.get(credential_id)
            except NotFound:
                return None
            return credential.kind.value if credential.tenant_id == self.store.tenant_id else None

        # A page of members names few distinct credentials (the SCIM client, a service or two).
        return list(await asyncio.gather(*(kind(c) for c in credential_ids)))
