"""Groups: a search over displayName, and one group's detail (its attributes, members and history)."""

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
from identity_store.domain.schema import GROUP_SCHEMA
from identity_store.queries import IndexPage, Projection, Query, Sort
from identity_store.views.groups import group, member_names

__all__ = ["group_detail", "groups"]

#: Members shown on a group's page; a larger group says how many more it has.
_MEMBERS_SHOWN = 200


def search_filter(text: str) -> Filter | None:
    """Groups whose displayName contains ``text``, or whose id or externalId is ``text``."""
    if not text:
        return None
    return resolve_filter(
        GROUP_SCHEMA,
        Or(
            (
                Compare(path=("displayName",), op=Operator.CO, value=text),
                Compare(path=("id",), op=Operator.EQ, value=text),
                Compare(path=("externalId",), op=Operator.EQ, value=text),
            )
        ),
    )


@admin_page
async def groups(request: Request, signed_in: SignedIn) -> Response:
    shown = listing(request)
    tenant = signed_in.tenant
    query = Query(
        filter=search_filter(shown.search),
        sort=Sort(path=("displayName",)),
        page=IndexPage(start_index=shown.start, count=PAGE_SIZE),
        projection=Projection(members=False),
    )
    page = await tenant.groups.find(query)
    counts = await tenant.memberships.count_members([g.id for g in page.items]) if page.items else {}
    context = {
        "listing": shown,
        "page": page,
        "counts": counts,
        "previous": shown.previous(),
        "next": shown.next(page.total, len(page.items)),
    }
    return render(request, signed_in, "groups.html", context)


@admin_page
async def group_detail(request: Request, signed_in: SignedIn) -> Response:
    tenant = signed_in.tenant
    found = await group(tenant, request.path_params["group_id"], Projection(members=False))
    members = await tenant.memberships.members_page(found.id, limit=_MEMBERS_SHOWN)
    names = await member_names(tenant, members)
    count = (await tenant.memberships.count_members([found.id])).get(found.id, 0)
    context = {
        "group": found,
        "attributes": json.dumps(found.attributes, indent=2, ensure_ascii=False, default=str),
        "members": [(m, names.get(m.member_id, m.member_id)) for m in members],
        "member_count": count,
        "history": await history(tenant, found.id, after=after_sequence(request)),
    }
    return render(request, signed_in, "group.html", context)
