"""Users as they are shown: with the groups they are direct members of and their manager's name.

A :class:`UserView` carries both, read with the user in one query by the store (RFC 7643 §4.1.2
``groups``, §4.3 ``manager.displayName``); ``groups`` is read only when it is to be shown.
"""

from __future__ import annotations

from collections.abc import Iterable

from identity_store.domain.schema import ENTERPRISE
from identity_store.domain.users import User
from identity_store.ports import TenantStore
from identity_store.queries import Page, Projection, Query, UserView

__all__ = ["UserView", "created_user", "manager_ids", "page_of_users", "user", "written_user"]


async def user(tenant: TenantStore, user_id: str, projection: Projection | None = None, *, groups: bool) -> UserView:
    """One user (``projection``: only those attributes), its groups when ``groups``, its manager's name."""
    return await tenant.users.get_view(user_id, projection, groups=groups)


async def page_of_users(tenant: TenantStore, query: Query, *, groups: bool) -> Page[UserView]:
    """A page of users, each with its groups (when ``groups``) and its manager's name."""
    return await tenant.users.find_views(query, groups=groups)


async def written_user(tenant: TenantStore, written: User, *, groups: bool) -> UserView:
    """The user a write returned, with its groups and manager's name read in one query.

    The attributes are the written ones (the read could see a later write); only what is shown
    beside them is read."""
    view = await tenant.users.get_view(written.id, groups=groups)
    return UserView(user=written, group_ids=view.group_ids, manager_name=view.manager_name)


async def created_user(tenant: TenantStore, created: User) -> UserView:
    """A user just created: in no group yet, so only its manager's name is read (and only when it
    has a manager)."""
    ids = manager_ids([created])
    if not ids:
        return UserView(user=created)
    found = await tenant.users.get_many(ids)
    names = {m.id: name for m in found if isinstance(name := m.attributes.get("displayName"), str)}
    return UserView(user=created, manager_name=names.get(ids[0]))


def manager_ids(users: Iterable[User]) -> list[str]:
    """The ids of the managers of ``users``, in order, each once."""
    ids: dict[str, None] = {}  # an ordered set
    for one in users:
        enterprise = one.attributes.get(ENTERPRISE)
        manager = enterprise.get("manager") if isinstance(enterprise, dict) else None
        value = manager.get("value") if isinstance(manager, dict) else None
        if isinstance(value, str):
            ids[value] = None
    return list(ids)
