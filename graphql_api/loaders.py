"""Per-request DataLoaders: every batch of sibling fields costs one database query, not one per parent.

A query for 100 users with their manager, their groups and each group's member count therefore
runs a fixed handful of queries (users page, managers, memberships, groups, counts), whatever the
number of users. The batched reads themselves are the store's read model
(:mod:`identity_store.views.batches`); loaders live in the request's context, so nothing is
cached across requests.

The ``by_name`` loaders answer federation's entity references by a unique name (a user's
``userName``, a group's ``displayName``, both unique in a tenant and compared case-insensitively,
RFC 7643 §4.1.1): all names of one batch are one filtered query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from identity_store import Group, TenantStore, User
from identity_store.domain.filters import Compare, Operator, Or
from identity_store.ports import CredentialRepository
from identity_store.queries import IndexPage, Query
from identity_store.views import batches
from identity_store.views.batches import ReportsPage

__all__ = ["Loaders", "ReportsPage"]


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
    user_by_name: DataLoader[str, User | None] = field(init=False)
    group_by_name: DataLoader[str, Group | None] = field(init=False)

    def __post_init__(self) -> None:
        store = self.store
        self.user = DataLoader(load_fn=lambda ids: batches.users_by_id(store, ids))
        self.group = DataLoader(load_fn=lambda ids: batches.groups_by_id(store, ids))
        self.direct_groups = DataLoader(load_fn=lambda ids: batches.groups_of_members(store, ids))
        self.transitive_groups = DataLoader(load_fn=lambda ids: batches.groups_of_members(store, ids, transitive=True))
        self.member_count = DataLoader(load_fn=lambda ids: batches.member_counts(store, ids))
        self.reports_page = DataLoader(load_fn=self._reports_pages)
        self.report_count = DataLoader(load_fn=lambda ids: batches.report_counts(store, ids))
        self.credential_kind = DataLoader(load_fn=lambda ids: batches.credential_kinds(store, self.credentials, ids))
        self.user_by_name = DataLoader(load_fn=self._users_by_name, cache_key_fn=str.casefold)
        self.group_by_name = DataLoader(load_fn=self._groups_by_name, cache_key_fn=str.casefold)

    def prime_users(self, users: Sequence[User]) -> None:
        for user in users:
            self.user.prime(user.id, user)

    def prime_groups(self, groups: Sequence[Group]) -> None:
        for group in groups:
            self.group.prime(group.id, group)

    async def _reports_pages(self, pages: list[ReportsPage]) -> list[list[User]]:
        """The pages, each report primed in the user loader (a later load of it costs nothing)."""
        found = await batches.reports_pages(self.store, pages)
        for users in found:
            self.prime_users(users)
        return found

    async def _users_by_name(self, names: list[str]) -> list[User | None]:
        """The tenant's users of ``names`` (userName), in one query; each found one primed by id."""
        page = await self.store.users.find(_named("userName", names))
        found = {u.user_name.casefold(): u for u in page.items}
        self.prime_users(page.items)
        return [found.get(n.casefold()) for n in names]

    async def _groups_by_name(self, names: list[str]) -> list[Group | None]:
        """The tenant's groups of ``names`` (displayName), in one query; each found one primed by id."""
        page = await self.store.groups.find(_named("displayName", names))
        found = {g.display_name.casefold(): g for g in page.items}
        self.prime_groups(page.items)
        return [found.get(n.casefold()) for n in names]


def _named(attribute: str, names: list[str]) -> Query:
    """Every resource whose unique ``attribute`` is one of ``names``: at most one each, so one page."""
    matches = tuple(Compare(path=(attribute,), op=Operator.EQ, value=n) for n in names)
    return Query(filter=Or(matches), page=IndexPage(count=len(names)), count_total=False)
