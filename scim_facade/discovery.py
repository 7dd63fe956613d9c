"""Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas.

Everything here is built from the domain's attribute catalogue and the facade's real limits, so
what the service says it supports is what it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from identity_store.domain.extensions import CORE_ONLY, ExtendedType, TenantSchemas
from scim_facade.calls import Call
from scim_facade.errors import ScimError, ScimResponse
from scim_facade.filters import CORE_GROUP_URN, CORE_USER_URN, ENTERPRISE_URN
from scim_facade.request_limits import LIMITS_URN, enforced_limits
from scim_facade.responses import list_response
from scim_facade.schemas import schemas

__all__ = [
    "get_resource_types",
    "get_schemas",
    "get_service_provider_config",
    "resource_types",
    "schemas",
    "service_provider_config",
]

_RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def _meta(base_url: str, resource_type: str, path: str) -> dict[str, str]:
    return {"resourceType": resource_type, "location": f"{base_url}/{path}"}


def service_provider_config(
    base_url: str,
    *,
    max_results: int,
    max_payload_size: int,
    cursor_timeout: int,
    bulk_max_operations: int,
    limits: Mapping[str, int | float],
) -> dict[str, Any]:
    """RFC 7643 §5: what this provider supports, with the limits it enforces; those §5 has no
    attribute for (nesting depth, filter terms, values per attribute, body size outside Bulk,
    token length, the per-tenant request rate...) are in the
    :data:`~scim_facade.request_limits.LIMITS_URN` extension, as §3.3 allows for extensions."""
    return {
        "schemas": [_CONFIG_URN, LIMITS_URN],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": bulk_max_operations, "maxPayloadSize": max_payload_size},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": max_results,
            "maxPageSize": max_results,
            "cursorTimeout": cursor_timeout,
        },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A per-tenant secret issued with `identity-store token create`, sent as "
                "Authorization: Bearer <token>.",
                "specUri": "https://datatracker.ietf.org/doc/html/rfc6750",
                "primary": True,
            }
        ],
        LIMITS_URN: dict(limits),
        "meta": _meta(base_url, "ServiceProviderConfig", "ServiceProviderConfig"),
    }


def _resource_type(
    base_url: str, name: str, endpoint: str, description: str, schema: str, extensions: list[str]
) -> dict[str, Any]:
    """RFC 7643 §6, shaped as §8.6's examples: ``schemaExtensions`` only where there are some."""
    described: dict[str, Any] = {
        "schemas": [_RESOURCE_TYPE_URN],
        "id": name,
        "name": name,
        "endpoint": f"/{endpoint}",
        "description": description,
        "schema": schema,
    }
    if extensions:
        # The service accepts users without the enterprise extension, so it is never required.
        described["schemaExtensions"] = [{"schema": urn, "required": False} for urn in extensions]
    described["meta"] = _meta(base_url, "ResourceType", f"ResourceTypes/{name}")
    return described


def resource_types(base_url: str, tenant: TenantSchemas = CORE_ONLY) -> list[dict[str, Any]]:
    """The two resource types, described as RFC 7643 §8.6 describes them, with the extensions
    the tenant registered for each (never required: a resource without them is accepted)."""
    users = [ENTERPRISE_URN, *(e.urn for e in tenant.of_type(ExtendedType.USER))]
    groups = [e.urn for e in tenant.of_type(ExtendedType.GROUP)]
    return [
        _resource_type(base_url, "User", "Users", "User Account", CORE_USER_URN, users),
        _resource_type(base_url, "Group", "Groups", "Group", CORE_GROUP_URN, groups),
    ]


# --- the endpoints --------------------------------------------------------------------------


async def get_service_provider_config(call: Call) -> Response:
    """GET /ServiceProviderConfig (RFC 7644 §4): the limits as the facade applies them."""
    settings = call.settings
    return ScimResponse(
        service_provider_config(
            call.base_url,
            max_results=settings.max_results,
            max_payload_size=settings.max_payload_size,
            cursor_timeout=settings.cursor_timeout_seconds,
            bulk_max_operations=settings.bulk_max_operations,
            limits=enforced_limits(
                max_payload_size=settings.max_payload_size,
                rate_limit_per_second=settings.rate_limit_per_second,
                rate_limit_burst=settings.rate_limit_burst,
            ),
        )
    )


async def get_resource_types(call: Call) -> Response:
    """GET /ResourceTypes and /ResourceTypes/{id} (RFC 7644 §4)."""
    return _one_or_all(call, resource_types(call.base_url, call.schemas))


async def get_schemas(call: Call) -> Response:
    """GET /Schemas and /Schemas/{id} (RFC 7644 §4)."""
    return _one_or_all(call, schemas(call.base_url, call.schemas))


def _one_or_all(call: Call, resources: list[dict[str, Any]]) -> Response:
    """The resource the path names (case-insensitively), or all of them as a ListResponse."""
    wanted = call.request.path_params.get("id")
    if wanted is not None:
        for resource in resources:
            if str(resource["id"]).casefold() == str(wanted).casefold():
                return ScimResponse(resource)
        raise ScimError(404, f"no such resource {wanted!r}")
    return list_response(resources, len(resources), start_index=1)
