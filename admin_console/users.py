"""Users: a search over userName, displayName and e-mail addresses, and one user's detail (its
attributes, groups, manager and history)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from admin_console.access import admin_page
from admin_console.history import history
from admin_console.listing import PAGE_SIZE, after_sequence, listing
from admin_console.rendering import render
from admin_console.signed_in import SignedIn
from identity_store.domain.filters import Compare, Filter, Operator, Or, resolve_filter
from identity_store.domain.schema import USER_SCHEMA
from identity_store.queries import IndexPage, Query, Sort
from identity_store.views.users import page_of_users, user

__all__ = ["user_detail", "users"]


def search_filter(text: str) -> Filter | None:
    """Users whose userName, displayName or an e-mail contains ``text`` (case-insensitively, as
    the schema compares those attributes), or whose id or externalId is ``text``."""
    if not text:
        return None
    contains = [Compare(path=path, op=Operator.CO, value=text) for path in (("userName",), ("displayName",))]
    contains.append(Compare(path=("emails", "value"), op=Operator.CO, value=text))
    exact = [Compare(path=path, op=Operator.EQ, value=text) for path in (("id",), ("externalId",))]
    return resolve_filter(USER_SCHEMA, Or((*contains, *exact)))


@admin_page
async def users(request: Request, signed_in: SignedIn) -> Response:
    shown = listing(request)
    query = Query(
        filter=search_filter(shown.search),
        sort=Sort(path=("userName",)),
        page=IndexPage(start_index=shown.start, count=PAGE_SIZE),
    )
    page = await page_of_users(signed_in.tenant, query, groups=False)
    context = {
        "listing": shown,
        "page": page,
        "previous": shown.previous(),
        "next": shown.next(page.total, len(page.items)),
    }
    return render(request, signed_in, "users.html", context)


@admin_page
async def user_detail(request: Request, signed_in: SignedIn) -> Response:
    tenant = signed_in.tenant
    view = await user(tenant, request.path_params["user_id"], groups=True)
    group_names = await tenant.groups.display_names(list(view.group_ids)) if view.group_ids else {}
    context = {
        "view": view,
        "attributes": json.dumps(view.user.attributes, indent=2, ensure_ascii=False, default=str),
        "groups": sorted(((gid, group_names.get(gid, gid)) for gid in view.group_ids), key=lambda g: g[1].casefold()),
        "history": await history(tenant, view.user.id, after=after_sequence(request)),
    }
    return render(request, signed_in, "user.html", context)
