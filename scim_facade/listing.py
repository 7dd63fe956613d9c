"""Listing and searching (RFC 7644 §3.4): ``GET /Users``, ``GET /Groups``, ``POST .search`` on
each, and ``POST /.search`` over both; paged by index (§3.4.2.4) or by cursor (RFC 9865).

The filter is compiled to the neutral filter (:mod:`scim_facade.filters`) and run, sorted and
paged in the database; only the attributes asked for are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from starlette.responses import Response

from identity_store.domain.filters import Filter
from identity_store.queries import CursorPage, IndexPage, MemberOf, Page, Query, Sort
from identity_store.views import groups as group_views, users as user_views
from scim_facade.calls import Call
from scim_facade.cursors import CursorSeal
from scim_facade.errors import ScimError
from scim_facade.filters import compile_lenient
from scim_facade.groups import shows_member_names
from scim_facade.membership_filters import compile_scoped
from scim_facade.parameters import ListParameters, list_parameters, sort_path, sortable
from scim_facade.resources import ResourceKind, Selection, render_group, user_kind
from scim_facade.responses import list_response
from scim_facade.users import render_view, shows_groups

__all__ = ["list_groups", "list_users", "search_groups", "search_root", "search_users"]


async def list_users(call: Call) -> Response:
    """GET /Users (RFC 7644 §3.4.2)."""
    return await _list(call, call.user_kind, None)


async def list_groups(call: Call) -> Response:
    """GET /Groups (RFC 7644 §3.4.2)."""
    return await _list(call, call.group_kind, None)


async def search_users(call: Call) -> Response:
    """POST /Users/.search (RFC 7644 §3.4.3)."""
    return await _list(call, call.user_kind, await call.body())


async def search_groups(call: Call) -> Response:
    """POST /Groups/.search (RFC 7644 §3.4.3)."""
    return await _list(call, call.group_kind, await call.body())


def _parameters(call: Call, kind: ResourceKind | None, body: Mapping[str, Any] | None) -> ListParameters:
    return list_parameters(call.request.query_params, body, kind, max_results=call.settings.max_results)


async def _find(
    call: Call,
    kind: ResourceKind,
    params: ListParameters,
    page: IndexPage | CursorPage,
    compiled: Filter | None = None,
    walker: str | None = None,
) -> tuple[list[dict[str, Any]], Page[Any]]:
    """One page of ``kind``, rendered; and the page (for its total and cursors)."""
    member_of: MemberOf | None = None
    if compiled is None and params.filter:
        scoped = await compile_scoped(
            call.tenant, params.filter, kind.schema, lenient_booleans=call.policy.lenient_values
        )
        compiled = scoped.filter
        if scoped.member_of is not None:
            member_of = MemberOf(group_id=scoped.member_of)
            page = _walk_page(params, page)
    # Without sortBy, creation order: an unfiltered list then pages at the same cost at any
    # startIndex, and the caller's walk by index returns each resource once (see the README).
    sort = Sort(path=sort_path(kind, params.sort_by), descending=params.descending, creation=params.sort_by is None)
    query = Query(
        filter=compiled,
        member_of=member_of,
        sort=sort,
        page=page,
        projection=params.chosen.projection(kind.schema),
        walker=walker,
    )
    if kind.name == user_kind.name:
        users = await user_views.page_of_users(call.tenant, query, groups=shows_groups(params.chosen))
        return [render_view(call, v, params.chosen) for v in users.items], users
    groups = await group_views.page_of_groups(call.tenant, query, names=shows_member_names(params.chosen))
    rendered = [
        render_group(v.group, v.members, call.base_url, params.chosen, v.member_names, kind.schema)
        for v in groups.items
    ]
    return rendered, groups


def _walk_page(params: ListParameters, page: IndexPage | CursorPage) -> CursorPage:
    """A group's members are walked in id order from a cursor, so a page deep in a large group
    costs what the first one does: ``startIndex`` serves the first page only."""
    if params.sort_by is not None:
        raise ScimError(400, "a list filtered by groups.value is in id order: drop sortBy", scim_type="invalidValue")
    if isinstance(page, CursorPage):
        return page
    if page.start_index > 1:
        raise ScimError(
            400,
            "a list filtered by groups.value pages by cursor (RFC 9865): ask cursor= for the first page",
            scim_type="invalidValue",
        )
    return CursorPage(count=page.count)


async def _list(call: Call, kind: ResourceKind, body: Mapping[str, Any] | None) -> Response:
    params = _parameters(call, kind, body)
    count = call.settings.max_results if params.count is None else params.count
    if params.cursor is not None:
        return await _list_by_cursor(call, kind, params)
    page_of = IndexPage(start_index=params.start_index, count=count)
    items, page = await _find(call, kind, params, page_of, walker=call.auth.credential_id)
    return list_response(items, page.total or 0, start_index=params.start_index)


async def _list_by_cursor(call: Call, kind: ResourceKind, params: ListParameters) -> Response:
    """RFC 9865 §2: an empty ``cursor`` asks for the first page; later ones come from
    ``nextCursor``/``previousCursor``, with the same ``count``."""
    maximum = call.settings.max_results
    if params.raw_count is not None and not 0 <= params.raw_count <= maximum:
        raise ScimError(400, f"count must be between 0 and {maximum}", scim_type="invalidCount")
    count = maximum if params.count is None else params.count
    bound = CursorSeal.fingerprint(
        call.auth.tenant.id, kind.name, params.filter, params.sort_by, str(params.descending)
    )
    page: CursorPage
    if params.cursor:
        opened = call.cursors.open(params.cursor, query=bound, count=count)
        page = CursorPage(cursor=opened.position, count=count, backwards=opened.backwards)
    else:
        page = CursorPage(count=count)
    items, found = await _find(call, kind, params, page)
    seal = call.cursors.seal
    return list_response(
        items,
        found.total or 0,
        next_cursor=None
        if found.next_cursor is None
        else seal(found.next_cursor, backwards=False, query=bound, count=count),
        previous_cursor=None
        if found.previous_cursor is None
        else seal(found.previous_cursor, backwards=True, query=bound, count=count),
    )


async def search_root(call: Call) -> Response:
    """POST /.search (RFC 7644 §3.4.3): users first, then groups, paged as one list.

    A filter attribute only one resource type has evaluates to false on the other
    (§3.4.2.1); one that neither has is ``invalidFilter``.
    """
    body = await call.body()
    params = _parameters(call, None, body)
    count = call.settings.max_results if params.count is None else params.count
    kinds = (call.user_kind, call.group_kind)
    compiled: dict[str, Filter | None] = {}
    missing: list[frozenset[str]] = []
    for kind in kinds:
        if params.filter:
            node, unknown = compile_lenient(params.filter, kind.schema)
            compiled[kind.name] = node
            missing.append(unknown)
        else:
            compiled[kind.name] = None
    if missing and (missing[0] & missing[1]):
        raise ScimError(400, f"no resource type has {sorted(missing[0] & missing[1])[0]!r}", scim_type="invalidFilter")
    results: list[dict[str, Any]] = []
    total = 0
    offset = params.start_index - 1
    for kind in kinds:
        wanted = max(count - len(results), 0)
        start = max(offset - total, 0) + 1
        try:
            picked = _parameters(call, kind, body).chosen
        except ScimError:
            picked = Selection()  # the attributes asked for belong to the other resource type
        sort_by = params.sort_by if sortable(kind, params.sort_by) else None
        kind_params = replace(params, sort_by=sort_by, chosen=picked)
        page = IndexPage(start_index=start, count=wanted)
        items, found = await _find(call, kind, kind_params, page, compiled[kind.name])
        results.extend(items)
        total += found.total or 0
    return list_response(results, total, start_index=params.start_index)
