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

__all__ = ["Loaders", "ReportsPage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportsPage:
    """A keyset page of one manager's direct reports, in report-id order."""

    manager_id: str
    after: str | None
    limit: int
    backwards: bool


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
    reports_page: DataLoader[ReportsPage, list[User]] = field(init=False)
    report_count: DataLoader[str, int] = field(init=False)
    credential_kind: DataLoader[str, str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.user = DataLoader(load_fn=self._users)
        self.group = DataLoader(load_fn=self._groups)
        self.direct_groups = DataLoader(load_fn=self._direct_groups)
        self.transitive_groups = DataLoader(load_fn=self._transitive_groups)
        self.member_count = DataLoader(load_fn=self._member_counts)
        self.reports_page = DataLoader(load_fn=self._reports_pages)
        self.report_count = DataLoader(load_fn=self._report_counts)
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

    async def _reports_pages(self, pages: list[ReportsPage]) -> list[list[User]]:
        """One query per distinct page shape: the first pages of 100 managers' reports are one query."""
        shapes: dict[tuple[str | None, int, bool], list[str]] = {}
        for page in pages:
            shapes.setdefault((page.after, page.limit, page.backwards), []).append(page.manager_id)
        found: dict[ReportsPage, list[User]] = {}
        for (after, limit, backwards), manager_ids in shapes.items():
            reports = await self.store.users.reports_pages(manager_ids, after=after, limit=limit, backwards=backwards)
            for manager_id, users in reports.items():
                found[ReportsPage(manager_id=manager_id, after=after, limit=limit, backwards=backwards)] = users
                self.prime_users(users)
        return [found.get(page, []) for page in pages]

    async def _report_counts(self, manager_ids: list[str]) -> list[int]:
        counts = await self.store.users.count_reports(manager_ids)
        return [counts.get(m, 0) for m in manager_ids]

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
