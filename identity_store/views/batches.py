"""Batched reads by many ids at once: what a request's DataLoaders ask the store for.

Each function takes the ids gathered from one batch of sibling fields and answers them in one
database command (or, for pages, one per distinct page shape), in the order asked: the answer
for ``ids[i]`` is at position ``i``, a missing id answering ``None``, ``[]`` or ``0``. That is
the contract a DataLoader's batch function keeps, so a page of 100 users with their managers,
groups and member counts costs what a page of 10 does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from identity_store.domain.errors import NotFound
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership
from identity_store.domain.users import User
from identity_store.ports import CredentialRepository, TenantStore

__all__ = [
    "ReportsPage",
    "credential_kinds",
    "groups_by_id",
    "groups_of_members",
    "member_counts",
    "members_page",
    "report_counts",
    "reports_pages",
    "users_by_id",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportsPage:
    """A keyset page of one manager's direct reports, in report-id order."""

    manager_id: str
    after: str | None
    limit: int
    backwards: bool


async def users_by_id(store: TenantStore, user_ids: Sequence[str]) -> list[User | None]:
    """The tenant's users of ``user_ids`` (``None`` for an id it has no user for)."""
    found = {u.id: u for u in await store.users.get_many(user_ids)}
    return [found.get(i) for i in user_ids]


async def groups_by_id(store: TenantStore, group_ids: Sequence[str]) -> list[Group | None]:
    """The tenant's groups of ``group_ids`` (``None`` for an id it has no group for)."""
    found = {g.id: g for g in await store.groups.get_many(group_ids)}
    return [found.get(i) for i in group_ids]


async def groups_of_members(
    store: TenantStore, member_ids: Sequence[str], *, transitive: bool = False
) -> list[list[str]]:
    """For each member, the ids of its groups, sorted: its direct groups, or (``transitive``)
    also the groups those groups are in, however deep."""
    groups = await store.memberships.groups_of(member_ids, transitive=transitive)
    return [groups.get(m, []) for m in member_ids]


async def member_counts(store: TenantStore, group_ids: Sequence[str]) -> list[int]:
    """How many direct members each group has (0 for an unknown group)."""
    counts = await store.memberships.count_members(group_ids)
    return [counts.get(g, 0) for g in group_ids]


async def members_page(
    store: TenantStore, group_id: str, *, after: str | None, limit: int, backwards: bool
) -> list[Membership]:
    """Up to ``limit`` direct members of one group in member-id order, strictly after (or,
    backwards, before) the member id ``after``: a keyset page whose cost follows ``limit``."""
    return await store.memberships.members_page(group_id, after=after, limit=limit, backwards=backwards)


async def reports_pages(store: TenantStore, pages: Sequence[ReportsPage]) -> list[list[User]]:
    """The reports of each page asked for: one query per distinct page shape (cursor, size,
    direction), so the first pages of 100 managers' reports are one query."""
    shapes: dict[tuple[str | None, int, bool], list[str]] = {}
    for page in pages:
        shapes.setdefault((page.after, page.limit, page.backwards), []).append(page.manager_id)
    found: dict[ReportsPage, list[User]] = {}
    for (after, limit, backwards), manager_ids in shapes.items():
        reports = await store.users.reports_pages(manager_ids, after=after, limit=limit, backwards=backwards)
        for manager_id, users in reports.items():
            found[ReportsPage(manager_id=manager_id, after=after, limit=limit, backwards=backwards)] = users
    return [found.get(page, []) for page in pages]


async def report_counts(store: TenantStore, manager_ids: Sequence[str]) -> list[int]:
    """How many users each manager manages."""
    counts = await store.users.count_reports(manager_ids)
    return [counts.get(m, 0) for m in manager_ids]


async def credential_kinds(
    store: TenantStore, credentials: CredentialRepository, credential_ids: Sequence[str]
) -> list[str | None]:
    """The kind of each credential of this tenant (``None``: unknown here, or deleted).

    A credential of another tenant answers ``None`` too, exactly like one that never existed.
    """

    async def kind(credential_id: str) -> str | None:
        try:
            credential = await credentials.get(credential_id)
        except NotFound:
            return None
        return credential.kind.value if credential.tenant_id == store.tenant_id else None

    # A page of members names few distinct credentials (the SCIM client, a service or two).
    return list(await asyncio.gather(*(kind(c) for c in credential_ids)))
