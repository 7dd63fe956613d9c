"""Groups as they are shown: with their members and, when asked, the members' display names.

Member names are read in batches of ids, per member type (users, nested groups), never one
query per member (RFC 7643 §4.2 ``members.display``). A large group's members can be taken a
batch at a time (:func:`member_batches`), each batch with its names, so a reader that sends
them on as they come holds one batch, never the whole group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.ports import TenantStore
from identity_store.queries import Page, Projection, Query

__all__ = [
    "GroupView",
    "MemberBatch",
    "group",
    "group_with_members",
    "groups_of_member",
    "member_batches",
    "member_names",
    "members_of_type",
    "page_of_groups",
    "with_member_of_type",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupView:
    """A group, its memberships (``None``: not read) and the display names of its members by id."""

    group: Group
    members: Sequence[Membership] | None = None
    member_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberBatch:
    """Some of a group's memberships, in member-id order, and the display names of those members."""

    members: Sequence[Membership]
    member_names: Mapping[str, str] = field(default_factory=dict)


async def group(tenant: TenantStore, group_id: str, projection: Projection | None = None) -> Group:
    """One group without its members (so a conditional GET can answer 304 before reading them)."""
    return await tenant.groups.get(group_id, projection)


async def group_with_members(tenant: TenantStore, found: Group, *, members: bool, names: bool) -> GroupView:
    """``found`` with its members when ``members``, and their display names when ``names``."""
    if not members:
        return GroupView(group=found)
    memberships: list[Membership] = []
    shown: dict[str, str] = {}
    async for batch in member_batches(tenant, found.id, names=names):
        memberships.extend(batch.members)
        shown.update(batch.member_names)
    return GroupView(group=found, members=memberships, member_names=shown)


async def member_batches(tenant: TenantStore, group_id: str, *, names: bool) -> AsyncIterator[MemberBatch]:
    """The group's members a bounded batch at a time, each with its names when ``names``."""
    async for batch in tenant.memberships.member_batches(group_id):
        yield MemberBatch(members=batch, member_names=await member_names(tenant, batch) if names else {})


async def page_of_groups(tenant: TenantStore, query: Query, *, names: bool) -> Page[GroupView]:
    """A page of groups; their members in one read (fetched in batches) when the projection asks
    for members, and the members' names in batches of ids per member type when ``names``."""
    groups = await tenant.groups.find(query)
    members = (
        await tenant.memberships.members_of([g.id for g in groups.items])
        if query.projection.members and groups.items
        else {}
    )
    shown = await member_names(tenant, [m for ms in members.values() for m in ms]) if names else {}
    items = [GroupView(group=g, members=members.get(g.id, []), member_names=shown) for g in groups.items]
    return Page(
        items=items,
        total=groups.total,
        next_cursor=groups.next_cursor,
        previous_cursor=groups.previous_cursor,
        cursors=groups.cursors,
    )


async def groups_of_member(tenant: TenantStore, member_id: str) -> list[str]:
    """The ids of the groups ``member_id`` is a direct member of."""
    return (await tenant.memberships.groups_of([member_id])).get(member_id, [])


async def members_of_type(tenant: TenantStore, member_ids: Sequence[str], member_type: MemberType) -> set[str]:
    """Which of ``member_ids`` are users (or groups): the type their memberships carry."""
    if member_type is MemberType.USER:
        return await tenant.users.existing_ids(member_ids)
    return await tenant.groups.existing_ids(member_ids)


async def with_member_of_type(tenant: TenantStore, group_ids: Sequence[str], member_type: MemberType) -> set[str]:
    """Which of ``group_ids`` have a direct member of ``member_type`` (one membership read each)."""
    return await tenant.memberships.with_member_of_type(group_ids, member_type)


async def member_names(tenant: TenantStore, memberships: Sequence[Membership]) -> dict[str, str]:
    """The display names of the members named in ``memberships``, by member id."""
    # In the order given (a group's members come in member-id order), each id once: no sort.
    user_ids = list(dict.fromkeys(m.member_id for m in memberships if m.member_type is MemberType.USER))
    group_ids = list(dict.fromkeys(m.member_id for m in memberships if m.member_type is not MemberType.USER))
    names = await tenant.users.display_names(user_ids) if user_ids else {}
    if group_ids:
        names.update(await tenant.groups.display_names(group_ids))
    return names
