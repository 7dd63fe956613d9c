"""Scopes of an API key, and the permission classes that check them on fields.

An API key holds any of these scopes (``identity-store apikey create --scope ...``):

``users:read``        read users (``user``, ``users``, ``User`` nodes)
``groups:read``       read groups and memberships (``group``, ``groups``, ``Group`` nodes)
``write``             run mutations on attributes GraphQL may change
``write:provisioned`` also change what Microsoft Entra ID provisions (see :mod:`graphql_api.mutations`)
``events:subscribe``  read the event feed (``identityEvents`` query and subscription)
``activity:read``     read the activity log (``provisioningActivity``, ``provisioningSummary``)
``webhooks:manage``   create, disable and list webhook subscriptions and read their deliveries
                      (``webhookCreate``, ``webhookDisable``, ``webhooks``, ``webhookDeliveries``)
``schemas:manage``    register, remove and list the tenant's extension schemas
                      (``schemaExtensionAdd``, ``schemaExtensionRemove``, ``schemaExtensions``)
``deleted:manage``    list and restore deleted users and groups (``deletedUsers``, ``deletedGroups``,
                      ``userRestore``, ``groupRestore``, ``restoreDeletedSince``)

The key is authenticated before the operation runs (:mod:`graphql_api.auth`); these classes only
check its scopes, so a missing scope gives a ``FORBIDDEN`` error on that field.
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry import Info
from strawberry.permission import BasePermission

from graphql_api.context import Context
from graphql_api.scopes import Scope

__all__ = [
    "CanManageDeleted",
    "CanManageSchemas",
    "CanManageWebhooks",
    "CanReadActivity",
    "CanReadEvents",
    "CanReadGroups",
    "CanReadUsers",
    "CanWrite",
    "Scope",
]


class _HasScope(BasePermission):
    scope: ClassVar[Scope]
    error_extensions: ClassVar[dict[str, object]] = {"code": "FORBIDDEN"}  # type: ignore[misc]

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is not None and self.scope.value in principal.scopes


class CanReadUsers(_HasScope):
    scope = Scope.USERS_READ
    message = "this API key lacks the users:read scope"


class CanReadGroups(_HasScope):
    scope = Scope.GROUPS_READ
    message = "this API key lacks the groups:read scope"


class CanWrite(_HasScope):
    scope = Scope.WRITE
    message = "this API key lacks the write scope"


class CanReadEvents(_HasScope):
    scope = Scope.EVENTS_SUBSCRIBE
    message = "this API key lacks the events:subscribe scope"


class CanReadActivity(_HasScope):
    scope = Scope.ACTIVITY_READ
    message = "this API key lacks the activity:read scope"


class CanManageDeleted(_HasScope):
    scope = Scope.DELETED_MANAGE
    message = "this API key lacks the deleted:manage scope"


class CanManageWebhooks(_HasScope):
    scope = Scope.WEBHOOKS_MANAGE
    message = "this API key lacks the webhooks:manage scope"


class CanManageSchemas(_HasScope):
    scope = Scope.SCHEMAS_MANAGE
    message = "this API key lacks the schemas:manage scope"
