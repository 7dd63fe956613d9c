"""The ``/Users`` resource endpoints (RFC 7644 §3.3 create, §3.4.1 retrieve, §3.5.1 replace,
§3.5.2 modify, §3.6 delete); listing and searching them is in :mod:`scim_facade.listing`.

Every write reads its parameters (``attributes``...) before it writes: a request refused for a
bad parameter must not have changed anything.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from starlette.responses import Response

from identity_store import PatchUser, ReplaceUser
from identity_store.domain.schema import USER_SCHEMA
from identity_store.queries import UserView
from identity_store.views import users as views
from scim_facade import commands
from scim_facade.calls import Call
from scim_facade.errors import ScimError
from scim_facade.parameters import chosen, expected_version, not_modified, resource_id
from scim_facade.resources import Selection, render_user
from scim_facade.responses import created, minimal, no_change, no_content, resource

__all__ = ["create_user", "delete_user", "get_user", "me", "patch_user", "render_view", "replace_user", "shows_groups"]

_Write = TypeVar("_Write", ReplaceUser, PatchUser)


def shows_groups(picked: Selection) -> bool:
    """Whether ``groups`` is returned, and so read, with users."""
    return picked.projection(USER_SCHEMA).includes("groups")


def render_view(call: Call, view: UserView, picked: Selection) -> dict[str, Any]:
    """The SCIM User of a view: its groups, and its manager with the manager's ``displayName``."""
    user = view.user
    managers = {user.manager_id: view.manager_name} if user.manager_id and view.manager_name else {}
    return render_user(user, call.base_url, picked, view.group_ids, managers, call.schemas.user)


async def get_user(call: Call) -> Response:
    """GET /Users/{id}; 304 when ``If-None-Match`` names its version."""
    picked = chosen(call.request.query_params, call.user_kind)
    projection = picked.projection(call.user_kind.schema)
    view = await views.user(call.tenant, resource_id(call.request), projection, groups=shows_groups(picked))
    if not_modified(call.request.headers.get("if-none-match"), view.user.version):
        return no_change(view.user.version)
    return resource(render_view(call, view, picked), view.user.version)


async def create_user(call: Call) -> Response:
    """POST /Users: 201 with the user, its ETag and Location."""
    picked = chosen(call.request.query_params, call.user_kind)
    user = await call.bus.dispatch(
        call.context, commands.create_user(await call.resource_body(call.user_kind), call.policy, call.schemas)
    )
    call.wrote(call.user_kind, user.id, user.user_name)
    view = await views.created_user(call.tenant, user)
    return created(render_view(call, view, picked), user.version, f"{call.base_url}/Users/{user.id}")


async def replace_user(call: Call) -> Response:
    """PUT /Users/{id}."""
    picked = chosen(call.request.query_params, call.user_kind)
    body = await call.resource_body(call.user_kind)
    command = _conditional(
        call, commands.replace_user(resource_id(call.request), body, call.policy, schemas=call.schemas)
    )
    user = await call.bus.dispatch(call.context, command)
    call.wrote(call.user_kind, user.id, user.user_name)
    view = await views.written_user(call.tenant, user, groups=shows_groups(picked))
    return resource(render_view(call, view, picked), user.version)


async def patch_user(call: Call) -> Response:
    """PATCH /Users/{id}: the user, or 204 with ``Prefer: return=minimal``."""
    picked = chosen(call.request.query_params, call.user_kind)
    body = await call.resource_body(call.user_kind, patch=True)
    command = _conditional(
        call, commands.patch_user(resource_id(call.request), body, call.policy, schemas=call.schemas)
    )
    user = await call.bus.dispatch(call.context, command)
    call.wrote(call.user_kind, user.id, user.user_name)
    if minimal(call.request):
        return no_content(user.version)
    view = await views.written_user(call.tenant, user, groups=shows_groups(picked))
    return resource(render_view(call, view, picked), user.version)


async def delete_user(call: Call) -> Response:
    """DELETE /Users/{id}: 204."""
    await call.bus.dispatch(call.context, commands.delete_user(resource_id(call.request), _expected(call)))
    return Response(status_code=204)


async def me(call: Call) -> Response:
    """/Me (RFC 7644 §3.11): 501, for the credentials that call this service are not users."""
    raise ScimError(501, "/Me is not supported: provisioning credentials are not users")


def _expected(call: Call) -> int | None:
    return expected_version(call.request.headers.get("if-match"))


def _conditional(call: Call, command: _Write) -> _Write:
    """``command`` made conditional on ``If-Match``, read after the body was: a body that is not
    a valid User or PatchOp is 400 whatever ``If-Match`` says."""
    return replace(command, expected_version=_expected(call))
