"""A user read with its direct groups and its manager's name, joined in the same command.

Two ``$lookup`` stages add ``_groups`` (the user's memberships) and ``_manager`` (its manager's
displayName). Each joins on a field with an index of its own (``member`` first in
``member_tenant``, ``_id``), the only shape SecantusDB's ``$lookup`` drives an index with.
"""

from __future__ import annotations

from typing import Any

from identity_store.mongo.documents import user_from_document
from identity_store.mongo.scope import TenantScope
from identity_store.queries import UserView

__all__ = ["related_stages", "user_view"]

Document = dict[str, Any]


def related_stages(scope: TenantScope, users: str, *, groups: bool) -> list[Document]:
    """The ``$lookup`` stages adding ``_groups`` (when ``groups``) and ``_manager``."""
    stages: list[Document] = []
    if groups:
        stages.append(
            scope.lookup(
                from_="memberships",
                local_field="_id",
                foreign_field="member",
                pipeline=[{"$project": {"_id": 0, "group": 1}}],
                as_="_groups",
            )
        )
    stages.append(
        scope.lookup(
            from_=users,
            local_field="attrs.enterprise.manager.value",
            foreign_field="_id",
            pipeline=[{"$project": {"_id": 0, "attrs.displayName": 1}}],
            as_="_manager",
        )
    )
    return stages


def user_view(document: Document) -> UserView:
    """A user document with the ``_groups`` and ``_manager`` that :func:`related_stages` joined."""
    group_ids = sorted({m["group"] for m in document.pop("_groups", [])})
    managers = document.pop("_manager", [])
    name = managers[0].get("attrs", {}).get("displayName") if managers else None
    return UserView(
        user=user_from_document(document), group_ids=group_ids, manager_name=name if isinstance(name, str) else None
    )
