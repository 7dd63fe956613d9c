"""Groups as Relay nodes, their connection, and the groups a member belongs to.

Every group is read through the caller's tenant and its loaders (:mod:`graphql_api.types.nodes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from graphql_api.pagination import PageInfo, cursor_page, decode_key, encode_key, sorted_window
from graphql_api.permissions import CanReadUsers, Scope
from graphql_api.types.arguments import After, Before, First, Last
from graphql_api.types.connections import connection
from graphql_api.types.enums import describe_values
from graphql_api.types.extensions import SchemaExtensionValue, extension_values
from graphql_api.types.nodes import Info, entity_reference, load_nodes, require_scope
from identity_store import Group as GroupRecord
from identity_store.domain.extensions import ExtendedType
from identity_store.queries import CursorPage

if TYPE_CHECKING:
    from graphql_api.types.members import GroupMemberConnection

__all__ = ["Group", "GroupConnection", "GroupEdge", "MembershipType", "groups_of"]


@strawberry.enum(description="Direct memberships only, or also those inherited through nested groups.")
class MembershipType(Enum):
    DIRECT = "direct"
    TRANSITIVE = "transitive"


describe_values(
    MembershipType,
    {
        "DIRECT": "Only the groups the member was added to itself.",
        "TRANSITIVE": "Also the groups those groups are members of, however deeply nested.",
    },
)


@strawberry.federation.type(
    keys=["id", "displayName"],
    description="A group of the caller's tenant. Members are users or, nested, other groups. "
    "A federation entity: other subgraphs reference it by id or by displayName.",
)
class Group(relay.Node):
    id: relay.NodeID[str]
    display_name: str = strawberry.field(description="The group's name, unique in the tenant.")
    external_id: str | None = strawberry.field(description="The identifier the provisioning client (Entra ID) uses.")
    version: int = strawberry.field(description="Grows by one per change; pass it as ifVersion to update safely.")
    created: datetime = strawberry.field(description="When the group was created (UTC).")
    last_modified: datetime = strawberry.field(description="When the group last changed (UTC).")
    raw_attributes: JSON = strawberry.field(description="Every provisioned attribute exactly as received.")
    record: strawberry.Private[GroupRecord]

    @strawberry.field(
        description="The values the group holds under each of the tenant's extension schemas (custom "
        "attributes), in the order the schemas were registered; empty when none."
    )
    async def extensions(self, info: Info) -> list[SchemaExtensionValue]:
        schemas = await info.context.schemas()
        return extension_values(self.record.attributes, schemas.of_type(ExtendedType.GROUP))

    @staticmethod
    def of(group: GroupRecord) -> Group:
        return Group(
            id=group.id,
            display_name=group.display_name,
            external_id=group.external_id,
            version=group.version,
            created=group.meta.created,
            last_modified=group.meta.last_modified,
            raw_attributes=JSON(dict(group.attributes)),
            record=group,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # one implementation serves strawberry's overloads
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Group | None]:
        return await load_nodes(info, Scope.GROUPS_READ, info.context.loaders.group, node_ids, Group.of)

    @classmethod
    async def resolve_reference(cls, info: Info, **key: object) -> Group | None:
        """Federation's ``_entities``: the group a representation names by ``id`` or ``displayName``.

        Loaded through the request's loaders, so all groups of one ``_entities`` call are one
        query per key; a group of another tenant, or an id naming another type, is ``null``.
        """
        require_scope(info, Scope.GROUPS_READ)
        loaders = info.context.loaders
        found = await entity_reference(
            key, "Group", by_id=loaders.group, by_name=loaders.group_by_name, name="displayName"
        )
        return Group.of(found) if found is not None else None

    @strawberry.field(description="How many direct members the group has.")
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.member_count.load(self.id)

    @strawberry.field(description="The groups this group is a direct member of, ordered by id.")
    async def parents(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> GroupConnection:
        return await groups_of(info, self.id, MembershipType.DIRECT, cursor_page(first, after, last, before))

    @strawberry.field(
        description="Direct members ordered by id; listing them needs users:read as well as groups:read.",
        permission_classes=[CanReadUsers],
    )
    async def members(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Annotated[GroupMemberConnection, strawberry.lazy("graphql_api.types.members")]:
        # Imported here: a group's members are users and groups, so that module imports this one.
        from graphql_api.types.members import member_connection

        return await member_connection(info, self.id, cursor_page(first, after, last, before))


@strawberry.type(description="A group in a page, and its cursor.")
class GroupEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as after (or before) to page on from this item.")
    node: Group = strawberry.field(description="The group.")


@strawberry.type(description="A page of groups (Relay cursor connection).")
class GroupConnection:
    edges: list[GroupEdge] = strawberry.field(description="The groups of this page with their cursors, in order.")
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages either way, and the cursors to reach them."
    )
    total_count: int | None = strawberry.field(
        description="How many groups the connection holds in all (for the groups query: how many match the "
        "filter, counted only when this field is selected)."
    )

    @strawberry.field(description="The groups of this page (the edges' nodes).")
    def nodes(self) -> list[Group]:
        return [edge.node for edge in self.edges]


async def groups_of(info: Info, member_id: str, membership: MembershipType, page: CursorPage) -> GroupConnection:
    """A page of a member's groups. The loaders read the ids of all of them (from the memberships
    index alone, batched across the parents on the page; a transitive walk needs them all anyway),
    and only the page's groups are read, so the answer stays bounded however many groups there are.
    """
    loaders = info.context.loaders
    loader = loaders.transitive_groups if membership is MembershipType.TRANSITIVE else loaders.direct_groups
    ids = await loader.load(member_id)  # sorted by id
    key = decode_key("group", page.cursor) if page.cursor is not None else None
    chosen, window = sorted_window(ids, page, key)
    groups = await loaders.group.load_many(list(chosen))
    edges = [GroupEdge(cursor=encode_key("group", g.id), node=Group.of(g)) for g in groups if g is not None]
    return connection(GroupConnection, edges, window, total_count=len(ids))
