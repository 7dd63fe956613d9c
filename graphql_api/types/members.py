"""A group's members: the member union, the facts of each membership, and their connection.

A member is a user or, nested, a group; each edge says when and by which credential it was
added, so a reader can tell what Entra ID provisioned over SCIM from what came over GraphQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from graphql_api.pagination import PageInfo, decode_key, encode_key, trim_window
from graphql_api.types.connections import connection
from graphql_api.types.enums import describe_values
from graphql_api.types.groups import Group
from graphql_api.types.nodes import Info
from graphql_api.types.users import User
from identity_store import Membership, MemberType
from identity_store.queries import CursorPage
from identity_store.views.batches import members_page

__all__ = ["GroupMember", "GroupMemberConnection", "GroupMemberEdge", "MembershipSource", "member_connection"]

GroupMember = Annotated[User | Group, strawberry.union("GroupMember", description="A member of a group.")]


@strawberry.enum(description="Through which front end a member was added.")
class MembershipSource(Enum):
    SCIM = "scim-token"
    GRAPHQL = "api-key"
    SYSTEM = "system"
    UNKNOWN = "unknown"


describe_values(
    MembershipSource,
    {
        "SCIM": "Added by Microsoft Entra ID (a SCIM token) over SCIM.",
        "GRAPHQL": "Added over GraphQL, with an API key.",
        "SYSTEM": "Added by the service itself, not by a credential.",
        "UNKNOWN": "Added by a credential that no longer exists or of another kind.",
    },
)


@strawberry.type(description="A member and the facts of its membership.")
class GroupMemberEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as after (or before) to page on from this item.")
    node: GroupMember = strawberry.field(description="The member: a User or, nested, a Group.")
    added_at: datetime = strawberry.field(description="When the member was added.")
    added_by: str | None = strawberry.field(
        description="Who added it: the id of the credential (SCIM token or API key), or 'system'."
    )

    @strawberry.field(description="Whether the member came from Entra ID over SCIM, over GraphQL, or the system.")
    async def source(self, info: Info) -> MembershipSource:
        if self.added_by is None or self.added_by == MembershipSource.SYSTEM.value:
            return MembershipSource.SYSTEM
        kind = await info.context.loaders.credential_kind.load(self.added_by)
        try:
            return MembershipSource(kind)
        except ValueError:
            return MembershipSource.UNKNOWN


@strawberry.type(description="A page of a group's direct members, ordered by member id.")
class GroupMemberConnection:
    edges: list[GroupMemberEdge] = strawberry.field(
        description="The members of this page with their cursors and membership facts, in order."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages either way, and the cursors to reach them."
    )
    group_id: strawberry.Private[str]

    @strawberry.field(description="How many direct members the group has (counted only when selected).")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.member_count.load(self.group_id)

    @strawberry.field(description="The members of this page (the edges' nodes).")
    def nodes(self) -> list[GroupMember]:
        return [edge.node for edge in self.edges]


async def member_connection(info: Info, group_id: str, page: CursorPage) -> GroupMemberConnection:
    """A keyset page of the group's direct members, each read through the loaders."""
    key = decode_key("member", page.cursor) if page.cursor is not None else None
    memberships = await members_page(
        info.context.tenant, group_id, after=key, limit=page.count + 1, backwards=page.backwards
    )
    chosen, window = trim_window(memberships, page)
    return connection(GroupMemberConnection, await _member_edges(info, chosen), window, group_id=group_id)


async def _member_edges(info: Info, memberships: Sequence[Membership]) -> list[GroupMemberEdge]:
    """The edges of members still there (a member deleted meanwhile has no edge)."""
    loaders = info.context.loaders
    user_ids = [m.member_id for m in memberships if m.member_type is MemberType.USER]
    group_ids = [m.member_id for m in memberships if m.member_type is MemberType.GROUP]
    users = {u.id: u for u in await loaders.user.load_many(user_ids) if u is not None}
    groups = {g.id: g for g in await loaders.group.load_many(group_ids) if g is not None}
    edges: list[GroupMemberEdge] = []
    for m in memberships:
        node: User | Group
        if m.member_id in users:
            node = User.of(users[m.member_id])
        elif m.member_id in groups:
            node = Group.of(groups[m.member_id])
        else:
            continue
        edges.append(
            GroupMemberEdge(
                cursor=encode_key("member", m.member_id), node=node, added_at=m.added_at, added_by=m.added_by
            )
        )
    return edges
