"""Read models: named queries a front end asks of a tenant's store (cosmicpython's ``views``).

Each function reads what one kind of response shows, in as few database commands as it needs,
and returns domain objects or the view dataclasses here; rendering them is the front end's job.
"""

from __future__ import annotations

from identity_store.views.groups import GroupView, group, group_with_members, groups_of_member, page_of_groups
from identity_store.views.users import UserView, created_user, page_of_users, user, written_user

__all__ = [
    "GroupView",
    "UserView",
    "created_user",
    "group",
    "group_with_members",
    "groups_of_member",
    "page_of_groups",
    "page_of_users",
    "user",
    "written_user",
]
