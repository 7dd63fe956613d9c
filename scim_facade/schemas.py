"""The Schema resources (RFC 7643 §7, §8.7.1): the User, Group and EnterpriseUser schemas, and
the extension schemas the tenant registered (:mod:`identity_store.domain.extensions`), described
with the characteristics it declared and the description it gave them.

Built from the domain's attribute catalogue, so every characteristic published is the one the
service enforces, with the RFC's descriptions from :mod:`scim_facade.attribute_descriptions`.
Each attribute carries the characteristics §2.2 defines for its type, in the shape of §8.7.1:
``referenceTypes`` only on references, ``canonicalValues`` only where there are some,
``caseExact`` and ``uniqueness`` only on attributes whose values are compared (not on booleans,
and, as erratum 6004 asks, not on complex attributes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity_store.domain.extensions import CORE_ONLY, TenantSchemas
from identity_store.domain.schema import (
    ENTERPRISE,
    GROUP_SCHEMA,
    USER_SCHEMA,
    Attribute,
    AttributeType,
    Mutability,
)
from scim_facade.attribute_descriptions import ATTRIBUTE_DESCRIPTIONS, SCHEMA_DESCRIPTIONS
from scim_facade.filters import CORE_GROUP_URN, CORE_USER_URN, ENTERPRISE_URN

__all__ = ["SCHEMA_URN", "schemas"]

SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"

_UNCOMPARED = (AttributeType.BOOLEAN, AttributeType.COMPLEX)


def _attribute(
    urn: str,
    attribute: Attribute,
    *,
    path: str = "",
    within: Mutability | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One attribute and its characteristics (RFC 7643 §2.2, §7), as the domain enforces them."""
    path = f"{path}{attribute.name}"
    described_as = (descriptions if descriptions is not None else ATTRIBUTE_DESCRIPTIONS[urn]).get(path, "")
    # A sub-attribute of a read-only attribute cannot be written either, whatever its own
    # characteristic says: the service drops the whole attribute from a write.
    mutability = Mutability.READ_ONLY if within is Mutability.READ_ONLY else attribute.mutability
    described: dict[str, Any] = {
        "name": attribute.name,
        "type": attribute.type.value,
        "multiValued": attribute.multi_valued,
        "description": described_as,
        "required": attribute.required,
    }
    if attribute.type is AttributeType.REFERENCE:
        described["referenceTypes"] = list(attribute.reference_types)
    if attribute.canonical_values:
        described["canonicalValues"] = list(attribute.canonical_values)
    if attribute.type not in _UNCOMPARED:
        described["caseExact"] = attribute.case_exact
    described["mutability"] = mutability.value
    described["returned"] = attribute.returned.value
    if attribute.type not in _UNCOMPARED:
        described["uniqueness"] = "server" if attribute.unique else "none"
    if attribute.sub_attributes:
        described["subAttributes"] = [
            _attribute(urn, sub, path=f"{path}.", within=mutability, descriptions=descriptions)
            for sub in attribute.sub_attributes
        ]
    return described


def _schema(
    base_url: str,
    urn: str,
    name: str,
    attributes: tuple[Attribute, ...],
    description: str | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_URN],
        "id": urn,
        "name": name,
        "description": SCHEMA_DESCRIPTIONS[urn] if description is None else description,
        "attributes": [_attribute(urn, a, descriptions=descriptions) for a in attributes],
        "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{urn}"},
    }


def schemas(base_url: str, tenant: TenantSchemas = CORE_ONLY) -> list[dict[str, Any]]:
    """The three schemas, the enterprise extension's taken from the catalogue's ``enterprise``,
    then the tenant's extensions in the order it registered them."""
    enterprise = USER_SCHEMA.attribute(ENTERPRISE)
    assert enterprise is not None
    user = tuple(a for a in USER_SCHEMA.attributes if a is not enterprise)
    return [
        _schema(base_url, CORE_USER_URN, "User", user),
        _schema(base_url, ENTERPRISE_URN, "EnterpriseUser", enterprise.sub_attributes),
        _schema(base_url, CORE_GROUP_URN, "Group", GROUP_SCHEMA.attributes),
        *(_schema(base_url, e.urn, e.name, e.attributes, e.description, e.descriptions) for e in tenant.extensions),
    ]
