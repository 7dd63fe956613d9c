"""Users as Relay nodes: their attributes, manager and reports, groups, and their connections.

Every user is read through the caller's tenant and its loaders (:mod:`graphql_api.types.nodes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.scalars import JSON

from graphql_api.pagination import MAX_PAGE_SIZE, PageInfo, cursor_page, decode_key, encode_key, trim_window
from graphql_api.permissions import CanReadGroups, Scope
from graphql_api.types.attributes import (
    Address,
    AttributeValue,
    Email,
    Enterprise,
    Name,
    PhoneNumber,
    Role,
    multi_values,
    text,
)
from graphql_api.types.connections import connection
from graphql_api.types.groups import GroupConnection, MembershipType, groups_of
from graphql_api.types.nodes import Info, local_id, require_scope
from identity_store import User as UserRecord
from identity_store.views.batches import ReportsPage

__all__ = ["DirectReportConnection", "User", "UserConnection", "UserEdge"]


@strawberry.type(description="A user of the caller's tenant, as provisioned (by Entra ID over SCIM, or over GraphQL).")
class User(relay.Node):
    id: relay.NodeID[str]
    user_name: str
    external_id: str | None = strawberry.field(description="The identifier the provisioning client (Entra ID) uses.")
    display_name: str | None
    name: Name | None
    nick_name: str | None
    profile_url: str | None
    title: str | None
    user_type: str | None
    preferred_language: str | None
    locale: str | None
    timezone: str | None
    active: bool
    emails: list[Email]
    phone_numbers: list[PhoneNumber]
    addresses: list[Address]
    roles: list[Role]
    ims: list[AttributeValue]
    photos: list[AttributeValue]
    entitlements: list[AttributeValue]
    x509_certificates: list[AttributeValue]
    enterprise: Enterprise | None
    version: int = strawberry.field(description="Grows by one per change; pass it as ifVersion to update safely.")
    created: datetime
    last_modified: datetime
    raw_attributes: JSON = strawberry.field(
        description="Every provisioned attribute exactly as received (the enterprise extension under 'enterprise')."
    )
    record: strawberry.Private[UserRecord]

    @staticmethod
    def of(user: UserRecord) -> User:
        attributes = user.attributes
        return User(
            id=user.id,
            user_name=user.user_name,
            external_id=user.external_id,
            display_name=text(attributes, "displayName"),
            name=Name.of(attributes),
            nick_name=text(attributes, "nickName"),
            profile_url=text(attributes, "profileUrl"),
            title=text(attributes, "title"),
            user_type=text(attributes, "userType"),
            preferred_language=text(attributes, "preferredLanguage"),
            locale=text(attributes, "locale"),
            timezone=text(attributes, "timezone"),
            active=user.active,
            emails=multi_values(Email, attributes, "emails"),
            phone_numbers=multi_values(PhoneNumber, attributes, "phoneNumbers"),
            addresses=Address.all_of(attributes),
            roles=multi_values(Role, attributes, "roles"),
            ims=multi_values(AttributeValue, attributes, "ims"),
            photos=multi_values(AttributeValue, attributes, "photos"),
            entitlements=multi_values(AttributeValue, attributes, "entitlements"),
            x509_certificates=multi_values(AttributeValue, attributes, "x509Certificates"),
            enterprise=Enterprise.of(user.enterprise),
            version=user.version,
            created=user.meta.created,
            last_modified=user.meta.last_modified,
            raw_attributes=JSON(dict(attributes)),
            record=user,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # one implementation serves strawberry's overloads
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        require_scope(info, Scope.USERS_READ)
        users = await info.context.loaders.user.load_many(list(node_ids))
        return [User.of(u) if u is not None else None for u in users]

    @strawberry.field(description="The user's manager (enterprise extension), when set and still a user.")
    async def manager(self, info: Info) -> User | None:
        manager_id = self.record.manager_id
        if manager_id is None:
            return None
        manager = await info.context.loaders.user.load(manager_id)
        return User.of(manager) if manager is not None else None

    @strawberry.field(
        description="Users whose manager this user is, ordered by id. The first pages of many users' reports "
        "are read together in one query."
    )
    async def direct_reports(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> DirectReportConnection:
        page = cursor_page(first, after, last, before)
        key = decode_key("report", page.cursor) if page.cursor is not None else None
        asked = ReportsPage(manager_id=self.id, after=key, limit=page.count + 1, backwards=page.backwards)
        reports, window = trim_window(await info.context.loaders.reports_page.load(asked), page)
        edges = [UserEdge(cursor=encode_key("report", u.id), node=User.of(u)) for u in reports]
        return connection(DirectReportConnection, edges, window, manager_id=self.id)

    @strawberry.field(
        description="The groups this user belongs to, directly or also through nested groups, ordered by id.",
        permission_classes=[CanReadGroups],
    )
    async def groups(
        self,
        info: Info,
        membership: MembershipType = MembershipType.DIRECT,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> GroupConnection:
        return await groups_of(info, self.id, membership, cursor_page(first, after, last, before))

    @strawberry.field(
        description="For each group id, whether the user is a member, directly or through nested groups.",
        permission_classes=[CanReadGroups],
    )
    async def is_member_of(self, info: Info, group_ids: list[relay.GlobalID]) -> list[bool]:
        if len(group_ids) > MAX_PAGE_SIZE:
            raise GraphQLError(f"at most {MAX_PAGE_SIZE} group ids", extensions={"code": "BAD_USER_INPUT"})
        groups = set(await info.context.loaders.transitive_groups.load(self.id))
        return [local_id(g, "Group") in groups for g in group_ids]


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type(description="A page of users (Relay cursor connection).")
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="How many users match the filter; counted only when this field is selected."
    )

    @strawberry.field(description="The users of this page (the edges' nodes).")
    def nodes(self) -> list[User]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="A page of a user's direct reports, ordered by id (Relay cursor connection).")
class DirectReportConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    manager_id: strawberry.Private[str]

    @strawberry.field(description="How many direct reports the user has (counted only when selected).")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.report_count.load(self.manager_id)

    @strawberry.field(description="The users of this page (the edges' nodes).")
    def nodes(self) -> list[User]:
        return [edge.node for edge in self.edges]
