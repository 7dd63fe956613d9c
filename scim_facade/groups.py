"""The ``/Groups`` resource endpoints (RFC 7644 §3.3 create, §3.4.1 retrieve, §3.5.1 replace,
§3.5.2 modify, §3.6 delete); listing and searching them is in :mod:`scim_facade.listing`.

Members are read only when they are returned, and their names only when ``members.display`` is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from starlette.responses import Response

from identity_store import Group, PatchGroup, ReplaceGroup
from identity_store.views import groups as views
from scim_facade import commands
from scim_facade.calls import Call
from scim_facade.parameters import chosen, expected_version, not_modified, resource_id
from scim_facade.resources import Selection, render_group
from scim_facade.responses import created, no_change, no_content, resource, wants_representation
from scim_facade.streaming import STREAM_ABOVE, streamed_group

__all__ = ["create_group", "delete_group", "get_group", "patch_group", "replace_group"]

_Write = TypeVar("_Write", ReplaceGroup, PatchGroup)


def shows_member_names(picked: Selection) -> bool:
    """Whether ``members.display`` is returned, and so the members' names read."""
    return picked.returns("members", "display")


async def _written(call: Call, group: Group, picked: Selection, *, members_by_default: bool) -> dict[str, Any]:
    """The SCIM Group a write returned; ``members_by_default``: members shown unless excluded
    (otherwise only when ``attributes`` names them)."""
    projection = picked.projection(call.group_kind.schema)
    wants_members = projection.members if (members_by_default or picked.include) else False
    view = await views.group_with_members(call.tenant, group, members=wants_members, names=shows_member_names(picked))
    return render_group(group, view.members, call.base_url, picked, view.member_names, call.schemas.group)


async def get_group(call: Call) -> Response:
    """GET /Groups/{id}; 304 when ``If-None-Match`` names its version (before members are read).
    A group of more than :data:`STREAM_ABOVE` members is streamed (:mod:`scim_facade.streaming`)."""
    picked = chosen(call.request.query_params, call.group_kind)
    projection = picked.projection(call.group_kind.schema)
    group = await views.group(call.tenant, resource_id(call.request), projection)
    if not_modified(call.request.headers.get("if-none-match"), group.version):
        return no_change(group.version)
    if not projection.members:
        return resource(render_group(group, None, call.base_url, picked, schema=call.schemas.group), group.version)
    batches = views.member_batches(call.tenant, group.id, names=shows_member_names(picked))
    read: list[views.MemberBatch] = []
    count = 0
    async for batch in batches:
        read.append(batch)
        count += len(batch.members)
        if count > STREAM_ABOVE:
            # The rest is read while the body is sent, from where the batches stopped.
            return streamed_group(group, read, batches, call.base_url, picked, call.schemas.group)
    members = [m for batch in read for m in batch.members]
    names = {k: v for batch in read for k, v in batch.member_names.items()}
    return resource(render_group(group, members, call.base_url, picked, names, call.schemas.group), group.version)


async def create_group(call: Call) -> Response:
    """POST /Groups: 201 with the group and its members, its ETag and Location."""
    picked = chosen(call.request.query_params, call.group_kind)
    body = await call.resource_body(call.group_kind)
    group = await call.bus.dispatch(call.context, commands.create_group(body, call.policy, call.schemas))
    call.wrote(call.group_kind, group.id, group.display_name)
    body = await _written(call, group, picked, members_by_default=True)
    return created(body, group.version, f"{call.base_url}/Groups/{group.id}")


async def replace_group(call: Call) -> Response:
    """PUT /Groups/{id}: the members sent become the members."""
    picked = chosen(call.request.query_params, call.group_kind)
    body = await call.resource_body(call.group_kind)
    command = _conditional(
        call, commands.replace_group(resource_id(call.request), body, call.policy, schemas=call.schemas)
    )
    group = await call.bus.dispatch(call.context, command)
    call.wrote(call.group_kind, group.id, group.display_name)
    return resource(await _written(call, group, picked, members_by_default=True), group.version)


async def patch_group(call: Call) -> Response:
    """PATCH a group; 204 unless the client asks for the resource (RFC 7644 §3.5.2 lets the
    server choose). Entra expects 204, and a body would cost reads a member change never needs.
    Asked for with ``Prefer: return=representation`` or ``attributes``/``excludedAttributes``,
    the body carries ``members`` only when ``attributes`` names them."""
    picked = chosen(call.request.query_params, call.group_kind)
    body = await call.resource_body(call.group_kind, patch=True)
    command = _conditional(
        call, commands.patch_group(resource_id(call.request), body, call.policy, schemas=call.schemas)
    )
    group = await call.bus.dispatch(call.context, command)
    call.wrote(call.group_kind, group.id, group.display_name)
    if not wants_representation(call.request):
        return no_content(group.version)
    return resource(await _written(call, group, picked, members_by_default=False), group.version)


async def delete_group(call: Call) -> Response:
    """DELETE /Groups/{id}: 204."""
    await call.bus.dispatch(call.context, commands.delete_group(resource_id(call.request), _expected(call)))
    return Response(status_code=204)


def _expected(call: Call) -> int | None:
    return expected_version(call.request.headers.get("if-match"))


def _conditional(call: Call, command: _Write) -> _Write:
    """``command`` made conditional on ``If-Match``, read after the body was: a body that is not
    a valid Group or PatchOp is 400 whatever ``If-Match`` says."""
    return replace(command, expected_version=_expected(call))
