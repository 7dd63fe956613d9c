"""Users as Relay nodes: their attributes, manager and reports, groups, and their connections.

Every user is read through the caller's tenant and its loaders (:mod:`graphql_api.types.nodes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.scalars import JSON

from graphql_api.pagination import MAX_PAGE_SIZE, PageInfo, cursor_page, decode_key, encode_key, trim_window
from graphql_api.permissions import CanReadGroups, Scope
from graphql_api.types.arguments import After, Before, First, Last
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
from graphql_api.types.extensions import SchemaExtensionValue, extension_values
from graphql_api.types.groups import GroupConnection, MembershipType, groups_of
from graphql_api.types.nodes import Info, entity_reference, load_nodes, local_id, require_scope
from identity_store import User as UserRecord
from identity_store.domain.extensions import ExtendedType
from identity_store.views.batches import ReportsPage

__all__ = ["DirectReportConnection", "User", "UserConnection", "UserEdge"]

_CURSOR = "Opaque; pass it as after (or before) to page on from this item."
_PAGE_INFO = "Whether there are more pages either way, and the cursors to reach them."
_MEMBERSHIP = strawberry.argument(
    description="DIRECT: the groups the user is in; TRANSITIVE: also the groups those are in."
)
_GROUP_IDS = strawberry.argument(
    description=f"Global ids of groups (Group.id), at most {MAX_PAGE_SIZE}; the answer has one boolean per "
    f"id, in order."
)


@strawberry.federation.type(
    keys=["id", "userName"],
    description="A user of the caller's tenant, as provisioned (by Entra ID over SCIM, or over GraphQL). "
    "A federation entity: other subgraphs reference it by id or by userName.",
)
class User(relay.Node):
    id: relay.NodeID[str]
    user_name: str = strawberry.field(
        description="The unique identifier the user signs in with (RFC 7643 §4.1); unique in the tenant."
    )
    external_id: str | None = strawberry.field(description="The identifier the provisioning client (Entra ID) uses.")
    display_name: str | None = strawberry.field(description="The name to show for the user; null when not set.")
    name: Name | None = strawberry.field(description="The components of the user's name; null when not set.")
    nick_name: str | None = strawberry.field(description="The casual name to address the user by; null when not set.")
    profile_url: str | None = strawberry.field(description="A URL of the user's online profile; null when not set.")
    title: str | None = strawberry.field(
        description="The user's job title, such as 'Vice President'; null when not set."
    )
    user_type: str | None = strawberry.field(
        description="The relationship to the organisation, such as 'Employee' or 'Contractor'; null when not set."
    )
    preferred_language: str | None = strawberry.field(
        description="The preferred written or spoken language (RFC 7231 Accept-Language form, such as "
        "'en-US'); null when not set."
    )
    locale: str | None = strawberry.field(
        description="The locale for formatting dates, numbers and currency (such as 'en-US'); null when not set."
    )
    timezone: str | None = strawberry.field(
        description="The time zone, an IANA name such as 'Europe/Paris'; null when not set."
    )
    active: bool = strawberry.field(
        description="Whether the user may sign in; false after userDeactivate or when Entra ID disables the account."
    )
    emails: list[Email] = strawberry.field(
        description="Email addresses, in the order provisioned; empty when there are none."
    )
    phone_numbers: list[PhoneNumber] = strawberry.field(
        description="Phone numbers, in the order provisioned; empty when there are none."
    )
    addresses: list[Address] = strawberry.field(
        description="Postal addresses, in the order provisioned; empty when there are none."
    )
    roles: list[Role] = strawberry.field(description="Roles, in the order provisioned; empty when there are none.")
    ims: list[AttributeValue] = strawberry.field(description="Instant messaging addresses; empty when there are none.")
    photos: list[AttributeValue] = strawberry.field(
        description="URLs of photos of the user; empty when there are none."
    )
    entitlements: list[AttributeValue] = strawberry.field(
        description="Entitlements (rights the user has); empty when there are none."
    )
    x509_certificates: list[AttributeValue] = strawberry.field(
        description="Certificates, each value a base64 DER certificate; empty when there are none."
    )
    enterprise: Enterprise | None = strawberry.field(
        description="The enterprise extension's attributes (RFC 7643 §4.3); null when the user has none."
    )
    version: int = strawberry.field(description="Grows by one per change; pass it as ifVersion to update safely.")
    created: datetime = strawberry.field(description="When the user was created (UTC).")
    last_modified: datetime = strawberry.field(description="When the user last changed (UTC).")
    raw_attributes: JSON = strawberry.field(
        description="Every provisioned attribute exactly as received (the enterprise extension under 'enterprise')."
    )
    record: strawberry.Private[UserRecord]

    @strawberry.field(
        description="The values the user holds under each of the tenant's extension schemas (custom "
        "attributes), in the order the schemas were registered; empty when none."
    )
    async def extensions(self, info: Info) -> list[SchemaExtensionValue]:
        schemas = await info.context.schemas()
        return extension_values(self.record.attributes, schemas.of_type(ExtendedType.USER))

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
        return await load_nodes(info, Scope.USERS_READ, info.context.loaders.user, node_ids, User.of)

    @classmethod
    async def resolve_reference(cls, info: Info, **key: object) -> User | None:
        """Federation's ``_entities``: the user a representation names by ``id`` or ``userName``.

        Loaded through the request's loaders, so all users of one ``_entities`` call are one
        query per key; a user of another tenant, or an id naming another type, is ``null``.
        """
        require_scope(info, Scope.USERS_READ)
        loaders = info.context.loaders
        found = await entity_reference(key, "User", by_id=loaders.user, by_name=loaders.user_by_name, name="userName")
        return User.of(found) if found is not None else None

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
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> DirectReportConnection:
        page = cursor_page(first, after, last, before)
        key = decode_key("report", page.cursor) if page.cursor is not None else None
        asked = ReportsPage(manager_id=self.id, after=key, limit=page.count + 1, backwards=page.backwards)
        reports, window = trim_window(await info.context.loaders.reports_page.load(asked), page)
        edges = [UserEdge(cursor=encode_key("report", u.id), node=User.of(u)) for u in reports]
        return connection(DirectReportConnection, edges, window, manager_id=self.id)

    @strawberry.field(
        description="The groups this user belongs to, directly or also through nested groups, ordered by id. "
        "Needs groups:read.",
        permission_classes=[CanReadGroups],
    )
    async def groups(
        self,
        info: Info,
        membership: Annotated[MembershipType, _MEMBERSHIP] = MembershipType.DIRECT,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> GroupConnection:
        return await groups_of(info, self.id, membership, cursor_page(first, after, last, before))

    @strawberry.field(
        description="For each group id, whether the user is a member, directly or through nested groups. "
        "Needs groups:read.",
        permission_classes=[CanReadGroups],
    )
    async def is_member_of(self, info: Info, group_ids: Annotated[list[relay.GlobalID], _GROUP_IDS]) -> list[bool]:
        if len(group_ids) > MAX_PAGE_SIZE:
            raise GraphQLError(f"at most {MAX_PAGE_SIZE} group ids", extensions={"code": "BAD_USER_INPUT"})
        groups = set(await info.context.loaders.transitive_groups.load(self.id))
        return [local_id(g, "Group") in groups for g in group_ids]


@strawberry.type(description="A user in a page, and its cursor.")
class UserEdge:
    cursor: str = strawberry.field(description=_CURSOR)
    node: User = strawberry.field(description="The user.")


@strawberry.type(description="A page of users (Relay cursor connection).")
class UserConnection:
    edges: list[UserEdge] = strawberry.field(description="The users of this page with their cursors, in order.")
    page_info: PageInfo = strawberry.field(description=_PAGE_INFO)
    total_count: int | None = strawberry.field(
        description="How many users match the filter; counted only when this field is selected."
    )

    @strawberry.field(description="The users of this page (the edges' nodes).")
    def nodes(self) -> list[User]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="A page of a user's direct reports, ordered by id (Relay cursor connection).")
class DirectReportConnection:
    edges: list[UserEdge] = strawberry.field(description="The reports of this page with their cursors, in order.")
    page_info: PageInfo = strawberry.field(description=_PAGE_INFO)
    manager_id: strawberry.Private[str]

    @strawberry.field(description="How many direct reports the user has (counted only when selected).")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.report_count.load(self.manager_id)

    @strawberry.field(description="The users of this page (the edges' nodes).")
    def nodes(self) -> list[User]:
        return [edge.node for edge in self.edges]
