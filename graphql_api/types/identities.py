"""Users and groups as Relay nodes, their connections, and the member union.

Every object is read through the caller's tenant (``info.context.tenant`` and its loaders), so a
global id of another tenant's object resolves to ``null``, exactly like an id that never existed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.scalars import JSON

from graphql_api.context import Context
from graphql_api.loaders import ReportsPage
from graphql_api.pagination import (
    MAX_PAGE_SIZE,
    PageInfo,
    cursor_page,
    decode_key,
    encode_key,
    page_info,
    trim_window,
)
from graphql_api.permissions import CanReadGroups, CanReadUsers, Scope
from identity_store import Group as GroupRecord, Membership, MemberType, User as UserRecord
from identity_store.domain.values import JSON as JSONValue
from identity_store.queries import CursorPage

__all__ = [
    "Address",
    "AttributeValue",
    "DirectReportConnection",
    "Email",
    "Enterprise",
    "Group",
    "GroupConnection",
    "GroupEdge",
    "GroupMember",
    "GroupMemberConnection",
    "GroupMemberEdge",
    "MembershipSource",
    "MembershipType",
    "Name",
    "PhoneNumber",
    "Role",
    "User",
    "UserConnection",
    "UserEdge",
    "global_id",
    "group_connection",
    "local_id",
    "user_connection",
]

Info = strawberry.Info[Context, None]


def global_id(type_name: str, node_id: str) -> str:
    """The opaque global id of a node (what ``id`` returns and ``node(id:)`` accepts)."""
    return str(relay.GlobalID(type_name=type_name, node_id=node_id))


def local_id(value: relay.GlobalID, type_name: str) -> str | None:
    """The store id inside a global id, or ``None`` when it names another type."""
    return value.node_id if value.type_name == type_name else None


def _require_scope(info: Info, scope: Scope) -> None:
    principal = info.context.principal
    if principal is None or scope.value not in principal.scopes:
        raise GraphQLError(f"this API key lacks the {scope.value} scope", extensions={"code": "FORBIDDEN"})


def _str(attributes: Mapping[str, JSONValue], name: str) -> str | None:
    value = attributes.get(name)
    return value if isinstance(value, str) else None


def _bool(attributes: Mapping[str, JSONValue], name: str) -> bool | None:
    value = attributes.get(name)
    return value if isinstance(value, bool) else None


def _objects(attributes: Mapping[str, JSONValue], name: str) -> list[Mapping[str, JSONValue]]:
    value = attributes.get(name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# --- attribute value types ------------------------------------------------------------------


@strawberry.type(description="The components of a user's name (RFC 7643 §4.1.1).")
class Name:
    formatted: str | None
    family_name: str | None
    given_name: str | None
    middle_name: str | None
    honorific_prefix: str | None
    honorific_suffix: str | None

    @staticmethod
    def of(attributes: Mapping[str, JSONValue]) -> Name | None:
        name = attributes.get("name")
        if not isinstance(name, dict):
            return None
        return Name(
            formatted=_str(name, "formatted"),
            family_name=_str(name, "familyName"),
            given_name=_str(name, "givenName"),
            middle_name=_str(name, "middleName"),
            honorific_prefix=_str(name, "honorificPrefix"),
            honorific_suffix=_str(name, "honorificSuffix"),
        )


@strawberry.type(description="An email address; type is work, home or other.")
class Email:
    value: str | None
    type: str | None
    primary: bool | None
    display: str | None


@strawberry.type(description="A phone number; type is work, home, mobile, fax, pager or other.")
class PhoneNumber:
    value: str | None
    type: str | None
    primary: bool | None
    display: str | None


@strawberry.type(description="A role of the user (RFC 7643 §4.1.2).")
class Role:
    value: str | None
    type: str | None
    primary: bool | None
    display: str | None


@strawberry.type(
    description="A value of a multi-valued attribute: an instant messaging address, a photo URL, an entitlement "
    "or a certificate (base64 DER)."
)
class AttributeValue:
    value: str | None
    type: str | None
    primary: bool | None
    display: str | None


@strawberry.type(description="A postal address; type is work, home or other.")
class Address:
    formatted: str | None
    street_address: str | None
    locality: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    type: str | None
    primary: bool | None


@strawberry.type(description="Enterprise attributes (RFC 7643 §4.3); the manager is User.manager.")
class Enterprise:
    employee_number: str | None
    cost_center: str | None
    organization: str | None
    division: str | None
    department: str | None


def _multi(
    cls: type[Email] | type[PhoneNumber] | type[Role] | type[AttributeValue], items: list[Mapping[str, JSONValue]]
) -> list[Any]:
    return [
        cls(value=_str(i, "value"), type=_str(i, "type"), primary=_bool(i, "primary"), display=_str(i, "display"))
        for i in items
    ]


@strawberry.enum(description="Direct memberships only, or also those inherited through nested groups.")
class MembershipType(Enum):
    DIRECT = "direct"
    TRANSITIVE = "transitive"


# --- users ----------------------------------------------------------------------------------


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
        enterprise = user.enterprise
        return User(
            id=user.id,
            user_name=user.user_name,
            external_id=user.external_id,
            display_name=_str(attributes, "displayName"),
            name=Name.of(attributes),
            nick_name=_str(attributes, "nickName"),
            profile_url=_str(attributes, "profileUrl"),
            title=_str(attributes, "title"),
            user_type=_str(attributes, "userType"),
            preferred_language=_str(attributes, "preferredLanguage"),
            locale=_str(attributes, "locale"),
            timezone=_str(attributes, "timezone"),
            active=user.active,
            emails=_multi(Email, _objects(attributes, "emails")),
            phone_numbers=_multi(PhoneNumber, _objects(attributes, "phoneNumbers")),
            addresses=[
                Address(
                    formatted=_str(a, "formatted"),
                    street_address=_str(a, "streetAddress"),
                    locality=_str(a, "locality"),
                    region=_str(a, "region"),
                    postal_code=_str(a, "postalCode"),
                    country=_str(a, "country"),
                    type=_str(a, "type"),
                    primary=_bool(a, "primary"),
                )
                for a in _objects(attributes, "addresses")
            ],
            roles=_multi(Role, _objects(attributes, "roles")),
            ims=_multi(AttributeValue, _objects(attributes, "ims")),
            photos=_multi(AttributeValue, _objects(attributes, "photos")),
            entitlements=_multi(AttributeValue, _objects(attributes, "entitlements")),
            x509_certificates=_multi(AttributeValue, _objects(attributes, "x509Certificates")),
            enterprise=Enterprise(
                employee_number=_str(enterprise, "employeeNumber"),
                cost_center=_str(enterprise, "costCenter"),
                organization=_str(enterprise, "organization"),
                division=_str(enterprise, "division"),
                department=_str(enterprise, "department"),
            )
            if enterprise
            else None,
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
        _require_scope(info, Scope.USERS_READ)
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
        reports, has_next, has_previous = trim_window(await info.context.loaders.reports_page.load(asked), page)
        edges = [UserEdge(cursor=encode_key("report", u.id), node=User.of(u)) for u in reports]
        return DirectReportConnection(
            edges=edges,
            page_info=page_info([e.cursor for e in edges], has_next=has_next, has_previous=has_previous),
            manager_id=self.id,
        )

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
        return await _groups_of(info, self.id, membership, cursor_page(first, after, last, before))

    @strawberry.field(
        description="For each group id, whether the user is a member, directly or through nested groups.",
        permission_classes=[CanReadGroups],
    )
    async def is_member_of(self, info: Info, group_ids: list[relay.GlobalID]) -> list[bool]:
        if len(group_ids) > MAX_PAGE_SIZE:
            raise GraphQLError(f"at most {MAX_PAGE_SIZE} group ids", extensions={"code": "BAD_USER_INPUT"})
        groups = set(await info.context.loaders.transitive_groups.load(self.id))
        return [local_id(g, "Group") in groups for g in group_ids]


# --- groups ---------------------------------------------------------------------------------


@strawberry.type(description="A group of the caller's tenant. Members are users or, nested, other groups.")
class Group(relay.Node):
    id: relay.NodeID[str]
    display_name: str
    external_id: str | None = strawberry.field(description="The identifier the provisioning client (Entra ID) uses.")
    version: int = strawberry.field(description="Grows by one per change; pass it as ifVersion to update safely.")
    created: datetime
    last_modified: datetime
    raw_attributes: JSON = strawberry.field(description="Every provisioned attribute exactly as received.")
    record: strawberry.Private[GroupRecord]

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
        _require_scope(info, Scope.GROUPS_READ)
        groups = await info.context.loaders.group.load_many(list(node_ids))
        return [Group.of(g) if g is not None else None for g in groups]

    @strawberry.field(description="How many direct members the group has.")
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.member_count.load(self.id)

    @strawberry.field(description="The groups this group is a direct member of, ordered by id.")
    async def parents(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> GroupConnection:
        return await _groups_of(info, self.id, MembershipType.DIRECT, cursor_page(first, after, last, before))

    @strawberry.field(
        description="Direct members ordered by id; listing them needs users:read as well as groups:read.",
        permission_classes=[CanReadUsers],
    )
    async def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> GroupMemberConnection:
        page = cursor_page(first, after, last, before)
        key = decode_key("member", page.cursor) if page.cursor is not None else None
        memberships = await info.context.tenant.memberships.members_page(
            self.id, after=key, limit=page.count + 1, backwards=page.backwards
        )
        chosen, has_next, has_previous = trim_window(memberships, page)
        edges = await _member_edges(info, chosen)
        return GroupMemberConnection(
            edges=edges,
            page_info=page_info([e.cursor for e in edges], has_next=has_next, has_previous=has_previous),
            group_id=self.id,
        )


async def _groups_of(info: Info, member_id: str, membership: MembershipType, page: CursorPage) -> GroupConnection:
    """A page of a member's groups. The loaders read the ids of all of them (from the memberships
    index alone, batched across the parents on the page; a transitive walk needs them all anyway),
    and only the page's groups are read, so the answer stays bounded however many groups there are.
    """
    loaders = info.context.loaders
    loader = loaders.transitive_groups if membership is MembershipType.TRANSITIVE else loaders.direct_groups
    ids = await loader.load(member_id)  # sorted by id
    key = decode_key("group", page.cursor) if page.cursor is not None else None
    if page.backwards:
        end = bisect.bisect_left(ids, key) if key is not None else len(ids)
        start = max(0, end - page.count)
        has_previous, has_next = start > 0, key is not None
    else:
        start = bisect.bisect_right(ids, key) if key is not None else 0
        end = start + page.count
        has_previous, has_next = key is not None, end < len(ids)
    groups = await loaders.group.load_many(ids[start:end])
    edges = [GroupEdge(cursor=encode_key("group", g.id), node=Group.of(g)) for g in groups if g is not None]
    cursors = [e.cursor for e in edges]
    return GroupConnection(
        edges=edges, page_info=page_info(cursors, has_next=has_next, has_previous=has_previous), total_count=len(ids)
    )


async def _member_edges(info: Info, memberships: Sequence[Membership]) -> list[GroupMemberEdge]:
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


GroupMember = Annotated[User | Group, strawberry.union("GroupMember", description="A member of a group.")]


# --- connections ----------------------------------------------------------------------------


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


@strawberry.type
class GroupEdge:
    cursor: str
    node: Group


@strawberry.type(description="A page of groups (Relay cursor connection).")
class GroupConnection:
    edges: list[GroupEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="How many groups the connection holds in all (for the groups query: how many match the "
        "filter, counted only when this field is selected)."
    )

    @strawberry.field(description="The groups of this page (the edges' nodes).")
    def nodes(self) -> list[Group]:
        return [edge.node for edge in self.edges]


@strawberry.enum(description="Through which front end a member was added.")
class MembershipSource(Enum):
    SCIM = "scim-token"
    GRAPHQL = "api-key"
    SYSTEM = "system"
    UNKNOWN = "unknown"


@strawberry.type(description="A member and the facts of its membership.")
class GroupMemberEdge:
    cursor: str
    node: GroupMember
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
    edges: list[GroupMemberEdge]
    page_info: PageInfo
    group_id: strawberry.Private[str]

    @strawberry.field(description="How many direct members the group has (counted only when selected).")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.member_count.load(self.group_id)

    @strawberry.field(description="The members of this page (the edges' nodes).")
    def nodes(self) -> list[GroupMember]:
        return [edge.node for edge in self.edges]


def user_connection(
    items: Sequence[UserRecord], cursors: Sequence[str], info: PageInfo, total: int | None
) -> UserConnection:
    edges = [UserEdge(cursor=c, node=User.of(u)) for u, c in zip(items, cursors, strict=True)]
    return UserConnection(edges=edges, page_info=info, total_count=total)


def group_connection(
    items: Sequence[GroupRecord], cursors: Sequence[str], info: PageInfo, total: int | None
) -> GroupConnection:
    edges = [GroupEdge(cursor=c, node=Group.of(g)) for g, c in zip(items, cursors, strict=True)]
    return GroupConnection(edges=edges, page_info=info, total_count=total)
