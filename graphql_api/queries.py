"""The root ``Query``: nodes, the viewer, lookups, filtered connections, and the event feed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry
from strawberry import relay

from graphql_api import (
    deleted as deleted_resolvers,
    schema_extensions as schema_extension_resolvers,
    webhooks as webhook_resolvers,
)
from graphql_api.activity import activity_page, activity_summary
from graphql_api.context import Context
from graphql_api.errors import BadUserInput
from graphql_api.pagination import MAX_PAGE_SIZE, Window, cursor_page, selects, store_window
from graphql_api.permissions import (
    CanManageDeleted,
    CanManageSchemas,
    CanManageWebhooks,
    CanReadActivity,
    CanReadEvents,
    CanReadGroups,
    CanReadUsers,
)
from graphql_api.scim_filters import compile_scim_filter
from graphql_api.types.activity import (
    ProvisioningActivityConnection,
    ProvisioningActivityFilter,
    ProvisioningSummary,
)
from graphql_api.types.arguments import PAGE_LIMITS, After, Before, First, Last
from graphql_api.types.connections import connection
from graphql_api.types.events import (
    IdentityEvent,
    IdentityEventConnection,
    IdentityEventEdge,
    IdentityEventType,
    event_sequence,
)
from graphql_api.types.extensions import ExtensionMatch, SchemaExtension
from graphql_api.types.groups import Group, GroupConnection, GroupEdge, MembershipType
from graphql_api.types.inputs import (
    GroupFilter,
    GroupLookup,
    GroupOrder,
    GroupOrderField,
    OrderDirection,
    UserFilter,
    UserLookup,
    UserOrder,
    UserOrderField,
)
from graphql_api.types.nodes import local_id
from graphql_api.types.users import User, UserConnection, UserEdge
from graphql_api.types.viewer import Tenant, Viewer
from graphql_api.types.webhooks import WebhookDelivery, WebhookSubscription
from identity_store import EventType, InvalidValue
from identity_store.domain.extensions import extension_urn, is_extension_key
from identity_store.domain.filters import And, Compare, Filter, Operator, resolve_filter
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA, ResourceSchema
from identity_store.queries import CursorPage, IndexPage, MemberOf, Page, Query as StoreQuery, Sort
from identity_store.views.events import events_after

__all__ = ["Query"]

Info = strawberry.Info[Context, None]

_N = TypeVar("_N", User, Group)
_R = TypeVar("_R")

_USER_SORT: dict[UserOrderField, tuple[str, ...] | None] = {
    UserOrderField.ID: None,
    UserOrderField.USER_NAME: ("userName",),
    UserOrderField.CREATED: ("meta", "created"),
    UserOrderField.LAST_MODIFIED: ("meta", "lastModified"),
    UserOrderField.CREATION: None,
}
_GROUP_SORT = {
    GroupOrderField.DISPLAY_NAME: ("displayName",),
    GroupOrderField.CREATED: ("meta", "created"),
    GroupOrderField.LAST_MODIFIED: ("meta", "lastModified"),
}
_ABOUT = strawberry.argument(
    description="Only the events about this user or group, including memberships it gained or lost "
    "(as the subscription's argument of the same name)."
)
_ACTIVITY_FILTER = strawberry.argument(description="Which requests; null: every one.")
_ACTIVITY_FIRST = strawberry.argument(description=f"How many records, 1 to {MAX_PAGE_SIZE}.")
_ACTIVITY_AFTER = strawberry.argument(description="Resume after this cursor (pageInfo.endCursor).")
_SUMMARY_SINCE = strawberry.argument(description="The first hour; null: 24 hours before until.")
_SUMMARY_UNTIL = strawberry.argument(description="Up to this time; null: now. At most 31 days after since.")
_NODE_TYPES: dict[str, type[User] | type[Group]] = {"User": User, "Group": Group}
_NODE_ID = strawberry.argument(description="The ID of the object.")
_NODE_IDS = strawberry.argument(
    description=f"Global ids of users or groups, at most {MAX_PAGE_SIZE}; each counts one node."
)
_USER_LOOKUP = strawberry.argument(description="Exactly one of id, userName or externalId.")
_GROUP_LOOKUP = strawberry.argument(description="Exactly one of id, displayName or externalId.")
_USER_FILTER = strawberry.argument(description="Conditions every user returned meets; null: every user.")
_GROUP_FILTER = strawberry.argument(description="Conditions every group returned meets; null: every group.")
_USER_ORDER = strawberry.argument(
    description="The order of the pages; null: by userName ascending (by id with memberOf)."
)
_GROUP_ORDER = strawberry.argument(description="The order of the pages; null: by displayName ascending.")
_EVENTS_AFTER = strawberry.argument(
    description="Resume after this event's cursor (IdentityEvent.cursor or pageInfo.endCursor); null: from the oldest."
)
_EVENTS_FIRST = strawberry.argument(description=f"At most this many events: {PAGE_LIMITS}")
_EVENT_TYPES = strawberry.argument(description="Only events of these types; null or empty: every type.")
_SCIM_FILTER = strawberry.argument(
    description="A SCIM filter (RFC 7644 §3.4.2.2), read exactly as the SCIM API reads it; combined with filter by AND."
)


def _eq(path: tuple[str, ...], value: str | bool) -> Compare:
    return Compare(path=path, op=Operator.EQ, value=value)


def _all(conditions: Sequence[Filter]) -> Filter | None:
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else And(tuple(conditions))


def _member_of(given: UserFilter | None) -> MemberOf | None:
    if given is None or given.member_of is None:
        return None
    group_id = local_id(given.member_of, "Group")
    if group_id is None:
        raise BadUserInput("memberOf takes the id of a Group")
    return MemberOf(group_id=group_id, transitive=given.membership is MembershipType.TRANSITIVE)


def _user_order(order_by: UserOrder | None, member_of: MemberOf | None) -> UserOrder:
    """The order asked for; members of a group come in id order (their memberships' order)."""
    if member_of is None:
        return order_by or UserOrder()
    if order_by is not None and order_by.field is not UserOrderField.ID:
        # Another order would need every member of the group sorted first: a scan of the group.
        raise BadUserInput("users filtered by memberOf are ordered by id: leave orderBy out or use {field: ID}")
    return order_by or UserOrder(field=UserOrderField.ID)


def _extension_match(given: ExtensionMatch | None, schema: ResourceSchema) -> list[Filter]:
    """``urn:attribute eq value`` on one of the tenant's extensions; BAD_USER_INPUT for a URN or
    attribute it does not have, or a value that is not a string, number or boolean."""
    if given is None:
        return []
    value: object = given.value
    if not isinstance(value, str | bool | int | float):
        raise BadUserInput("extension.value must be a string, number or boolean", argument="filter")
    extension = next(
        (
            a
            for a in schema.attributes
            if is_extension_key(a.name) and extension_urn(a.name).casefold() == given.urn.casefold()
        ),
        None,
    )
    if extension is None:
        raise BadUserInput(f"the tenant has no {schema.name} extension schema {given.urn}", argument="filter")
    if extension.sub_attribute(given.attribute) is None:
        raise BadUserInput(f"{given.urn} has no attribute {given.attribute!r}", argument="filter")
    return [Compare(path=(extension.name, given.attribute), op=Operator.EQ, value=value)]


def _names_extensions(scim_filter: str | None, given: UserFilter | GroupFilter | None) -> bool:
    """Whether a filter may name an extension attribute, so the tenant's schemas are worth reading
    (a SCIM filter names one only by its URN)."""
    return (given is not None and given.extension is not None) or (
        scim_filter is not None and "urn:" in scim_filter.casefold()
    )


def _user_filter(given: UserFilter | None, schema: ResourceSchema = USER_SCHEMA) -> Filter | None:
    if given is None:
        return None
    conditions: list[Filter] = _extension_match(given.extension, schema)
    if given.user_name is not None:
        conditions.append(_eq(("userName",), given.user_name))
    if given.user_name_starts_with is not None:
        conditions.append(Compare(path=("userName",), op=Operator.SW, value=given.user_name_starts_with))
    if given.external_id is not None:
        conditions.append(_eq(("externalId",), given.external_id))
    if given.email is not None:
        conditions.append(_eq(("emails", "value"), given.email))
    if given.active is not None:
        # A user without "active" is active (see identity_store.domain.users.User.active).
        conditions.append(
            Compare(path=("active",), op=Operator.NE, value=False) if given.active else _eq(("active",), False)
        )
    if given.department is not None:
        conditions.append(_eq(("enterprise", "department"), given.department))
    combined = _all(conditions)
    return resolve_filter(schema, combined) if combined is not None else None


def _group_filter(given: GroupFilter | None, schema: ResourceSchema = GROUP_SCHEMA) -> Filter | None:
    if given is None:
        return None
    conditions: list[Filter] = _extension_match(given.extension, schema)
    if given.display_name is not None:
        conditions.append(_eq(("displayName",), given.display_name))
    if given.display_name_starts_with is not None:
        conditions.append(Compare(path=("displayName",), op=Operator.SW, value=given.display_name_starts_with))
    if given.external_id is not None:
        conditions.append(_eq(("externalId",), given.external_id))
    combined = _all(conditions)
    return resolve_filter(schema, combined) if combined is not None else None


def _scim_filter(info: Info, text: str | None, schema: ResourceSchema) -> Filter | None:
    return compile_scim_filter(info.context.scim_filter, text, schema) if text is not None else None


def _global_id(value: str, argument: str) -> relay.GlobalID:
    """The global id ``value`` encodes; BAD_USER_INPUT for text that is none (not base64, no type)."""
    try:
        return relay.GlobalID.from_id(value)
    except (relay.GlobalIDValueError, ValueError, TypeError):
        raise BadUserInput("not a global id this service issued", argument=argument) from None


async def _nodes(info: Info, ids: Sequence[str], argument: str) -> list[relay.Node | None]:
    """The users and groups of ``ids``: null for an unknown id, and for the global id of any other
    type (a forged one names no User or Group, so none is found)."""
    global_ids = [_global_id(value, argument) for value in ids]

    async def one(global_id: relay.GlobalID) -> relay.Node | None:
        node_type = _NODE_TYPES.get(global_id.type_name)
        if node_type is None:
            return None
        [found] = await node_type.resolve_nodes(info=info, node_ids=[global_id.node_id])
        return found

    # Concurrently, so the loaders batch all ids of one type into one query.
    return list(await asyncio.gather(*(one(i) for i in global_ids)))


async def _node(info: Info, node_type: type[_N], value: relay.GlobalID) -> _N | None:
    """The user or group a global id names, through the node's own resolver (its scope check and
    batched loader); null when the id names another type or nothing in the tenant."""
    node_id = local_id(value, node_type.__name__)
    if node_id is None:
        return None
    [found] = await node_type.resolve_nodes(info=info, node_ids=[node_id])
    return found


def _lookup_key(name: tuple[str, strawberry.Maybe[str]], external_id: strawberry.Maybe[str]) -> tuple[str, str]:
    """The unique key a lookup other than by id gave: its name attribute, else ``externalId``
    (the input is ``@oneOf``, so exactly one is set)."""
    key, given = name
    if given is not None:
        return key, given.value
    return "externalId", external_id.value if external_id is not None else ""


def _page_query(
    info: Info,
    conditions: Sequence[Filter | None],
    page: CursorPage,
    sort_path: tuple[str, ...] | None,
    direction: OrderDirection,
    *,
    member_of: MemberOf | None = None,
    creation: bool = False,
) -> StoreQuery:
    """A connection's page of the resources meeting all ``conditions`` given, in the order asked;
    the total is counted only when ``totalCount`` is selected."""
    return StoreQuery(
        filter=_all([c for c in conditions if c is not None]),
        member_of=member_of,
        sort=Sort(path=sort_path, descending=direction is OrderDirection.DESC, creation=creation),
        page=page,
        count_total=selects(info, "totalCount"),
    )


async def _found(find: Callable[[StoreQuery], Awaitable[Page[_R]]], query: StoreQuery) -> Page[_R]:
    """The page ``find`` reads; a query the store refuses (``InvalidValue``) is BAD_USER_INPUT."""
    try:
        return await find(query)
    except InvalidValue as error:
        raise BadUserInput(error.message) from None


def _one(schema: ResourceSchema, key: str, value: str) -> StoreQuery:
    """At most one resource whose unique ``key`` equals ``value``."""
    return StoreQuery(filter=resolve_filter(schema, _eq((key,), value)), page=IndexPage(count=1), count_total=False)


@strawberry.type(
    description="What a caller may read, always within the tenant of its API key; each field names the scope it needs."
)
class Query:
    @strawberry.field(
        description="Any user or group of the caller's tenant, by global id; null when there is none. A User needs "
        "users:read, a Group groups:read."
    )
    async def node(self, info: Info, id: Annotated[strawberry.ID, _NODE_ID]) -> relay.Node | None:
        [found] = await _nodes(info, [id], "id")
        return found

    @strawberry.field(description=f"Users or groups by global id (at most {MAX_PAGE_SIZE}); null for unknown ids.")
    async def nodes(self, info: Info, ids: Annotated[list[strawberry.ID], _NODE_IDS]) -> list[relay.Node | None]:
        if len(ids) > MAX_PAGE_SIZE:
            raise BadUserInput(f"at most {MAX_PAGE_SIZE} ids")
        return await _nodes(info, ids, "ids")

    @strawberry.field(description="The API key making this request, and its tenant (needs no scope).")
    async def viewer(self, info: Info) -> Viewer:
        caller = info.context.caller
        tenant = await info.context.store.tenants.get(caller.tenant_id)
        return Viewer(
            credential_id=strawberry.ID(caller.credential_id),
            name=caller.name,
            scopes=sorted(caller.scopes),
            tenant=Tenant(id=strawberry.ID(tenant.id), name=tenant.name),
        )

    @strawberry.field(
        description="One user by id, userName or externalId; null when none matches. Needs users:read.",
        permission_classes=[CanReadUsers],
    )
    async def user(self, info: Info, lookup: Annotated[UserLookup, _USER_LOOKUP]) -> User | None:
        if lookup.id is not None:
            return await _node(info, User, lookup.id.value)
        key, value = _lookup_key(("userName", lookup.user_name), lookup.external_id)
        page = await info.context.tenant.users.find(_one(USER_SCHEMA, key, value))
        return User.of(page.items[0]) if page.items else None

    @strawberry.field(
        description="One group by id, displayName or externalId; null when none matches. Needs groups:read.",
        permission_classes=[CanReadGroups],
    )
    async def group(self, info: Info, lookup: Annotated[GroupLookup, _GROUP_LOOKUP]) -> Group | None:
        if lookup.id is not None:
            return await _node(info, Group, lookup.id.value)
        key, value = _lookup_key(("displayName", lookup.display_name), lookup.external_id)
        page = await info.context.tenant.groups.find(_one(GROUP_SCHEMA, key, value))
        return Group.of(page.items[0]) if page.items else None

    @strawberry.field(
        description="Users of the tenant, filtered and ordered, a page at a time. Needs users:read.",
        permission_classes=[CanReadUsers],
    )
    async def users(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[UserFilter | None, _USER_FILTER] = None,
        order_by: Annotated[UserOrder | None, _USER_ORDER] = None,
        scim_filter: Annotated[str | None, _SCIM_FILTER] = None,
    ) -> UserConnection:
        page = cursor_page(first, after, last, before)
        member_of = _member_of(filter)
        order = _user_order(order_by, member_of)
        schema = (await info.context.schemas()).user if _names_extensions(scim_filter, filter) else USER_SCHEMA
        conditions = (_scim_filter(info, scim_filter, schema), _user_filter(filter, schema))
        query = _page_query(
            info,
            conditions,
            page,
            _USER_SORT[order.field],
            order.direction,
            member_of=member_of,
            creation=order.field is UserOrderField.CREATION,
        )
        found = await _found(info.context.tenant.users.find, query)
        info.context.loaders.prime_users(found.items)
        edges = [UserEdge(cursor=c, node=User.of(u)) for u, c in zip(found.items, found.cursors, strict=True)]
        return connection(UserConnection, edges, store_window(found, page), total_count=found.total)

    @strawberry.field(
        description="Groups of the tenant, filtered and ordered, a page at a time. Needs groups:read.",
        permission_classes=[CanReadGroups],
    )
    async def groups(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[GroupFilter | None, _GROUP_FILTER] = None,
        order_by: Annotated[GroupOrder | None, _GROUP_ORDER] = None,
        scim_filter: Annotated[str | None, _SCIM_FILTER] = None,
    ) -> GroupConnection:
        page = cursor_page(first, after, last, before)
        order = order_by or GroupOrder()
        schema = (await info.context.schemas()).group if _names_extensions(scim_filter, filter) else GROUP_SCHEMA
        conditions = (_scim_filter(info, scim_filter, schema), _group_filter(filter, schema))
        query = _page_query(info, conditions, page, _GROUP_SORT[order.field], order.direction)
        found = await _found(info.context.tenant.groups.find, query)
        info.context.loaders.prime_groups(found.items)
        edges = [GroupEdge(cursor=c, node=Group.of(g)) for g, c in zip(found.items, found.cursors, strict=True)]
        return connection(GroupConnection, edges, store_window(found, page), total_count=found.total)

    @strawberry.field(
        description="What the tenant's clients asked over SCIM (Entra's provisioning calls, refused ones "
        "included) and through GraphQL mutations, newest first, with why each failed. Needs activity:read.",
        permission_classes=[CanReadActivity],
    )
    async def provisioning_activity(
        self,
        info: Info,
        filter: Annotated[ProvisioningActivityFilter | None, _ACTIVITY_FILTER] = None,
        first: Annotated[int, _ACTIVITY_FIRST] = 50,
        after: Annotated[str | None, _ACTIVITY_AFTER] = None,
    ) -> ProvisioningActivityConnection:
        return await activity_page(info.context, filter, first, after)

    @strawberry.field(
        description="The tenant's requests hour by hour (requests, failures by scimType, p95 duration) and a "
        "warning when failures approach what makes Entra quarantine a provisioning job. Needs activity:read.",
        permission_classes=[CanReadActivity],
    )
    async def provisioning_summary(
        self,
        info: Info,
        since: Annotated[datetime | None, _SUMMARY_SINCE] = None,
        until: Annotated[datetime | None, _SUMMARY_UNTIL] = None,
    ) -> ProvisioningSummary:
        return await activity_summary(info.context, since, until)

    @strawberry.field(
        description="The tenant's event log, oldest first; resume with after: the last cursor you saw. Needs "
        "events:subscribe.",
        permission_classes=[CanReadEvents],
    )
    async def identity_events(
        self,
        info: Info,
        after: Annotated[str | None, _EVENTS_AFTER] = None,
        first: Annotated[int | None, _EVENTS_FIRST] = None,
        types: Annotated[list[IdentityEventType] | None, _EVENT_TYPES] = None,
        user_id: Annotated[relay.GlobalID | None, _ABOUT] = None,
        group_id: Annotated[relay.GlobalID | None, _ABOUT] = None,
    ) -> IdentityEventConnection:
        count = first if first is not None else 20
        if not 1 <= count <= MAX_PAGE_SIZE:
            raise BadUserInput(f"first must be between 1 and {MAX_PAGE_SIZE}")
        start = event_sequence(after) if after is not None else None
        about = [g.node_id for g in (user_id, group_id) if g is not None]
        recorded = await events_after(
            info.context.tenant,
            after=start,
            limit=count + 1,
            types=[EventType(t) for t in types] if types else None,
            about=about or None,
        )
        edges = [IdentityEventEdge(cursor=e.cursor, node=e) for e in map(IdentityEvent.of, recorded[:count])]
        window = Window(
            has_next=len(recorded) > count,
            has_previous=start is not None and start > 0,
            end_cursor=None if edges else after,  # an empty page resumes where it was asked
        )
        return connection(IdentityEventConnection, edges, window)

    # Deleted users and groups (graphql_api.deleted), under their own scope.
    deleted_users: list[deleted_resolvers.DeletedUser] = strawberry.field(
        resolver=deleted_resolvers.deleted_users,
        description="The tenant's deleted users, still restorable, in id order. Needs deleted:manage.",
        permission_classes=[CanManageDeleted],
    )
    deleted_groups: list[deleted_resolvers.DeletedGroup] = strawberry.field(
        resolver=deleted_resolvers.deleted_groups,
        description="The tenant's deleted groups, still restorable, in id order. Needs deleted:manage.",
        permission_classes=[CanManageDeleted],
    )

    # Webhook subscriptions (graphql_api.webhooks), under their own scope.
    webhooks: list[WebhookSubscription] = strawberry.field(
        resolver=webhook_resolvers.webhooks,
        description="The tenant's webhook subscriptions, oldest first, never their secrets. Needs webhooks:manage.",
        permission_classes=[CanManageWebhooks],
    )
    webhook_deliveries: list[WebhookDelivery] | None = strawberry.field(
        resolver=webhook_resolvers.webhook_deliveries,
        description="The latest delivery attempts of one of the tenant's subscriptions, newest first; null when "
        "the tenant has no such subscription. Needs webhooks:manage.",
        permission_classes=[CanManageWebhooks],
    )

    # Extension schemas (graphql_api.schema_extensions), under their own scope.
    schema_extensions: list[SchemaExtension] = strawberry.field(
        resolver=schema_extension_resolvers.schema_extensions,
        description="The tenant's extension schemas, in the order they were registered. Needs schemas:manage.",
        permission_classes=[CanManageSchemas],
    )
