"""The complex and multi-valued attributes of a user (RFC 7643 §4.1), read from its stored attributes.

Stored attributes are what the provisioning client sent, so every reader here is lenient: a
sub-attribute of the wrong JSON type reads as ``null`` and a non-object item is skipped, rather
than failing the whole user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import strawberry

from identity_store.domain.values import JSON as JSONValue

__all__ = [
    "Address",
    "AttributeValue",
    "Email",
    "Enterprise",
    "MultiValue",
    "Name",
    "PhoneNumber",
    "Role",
    "boolean",
    "multi_values",
    "objects",
    "text",
]


def text(attributes: Mapping[str, JSONValue], name: str) -> str | None:
    """The string attribute ``name`` (``None``: absent, or not a string)."""
    value = attributes.get(name)
    return value if isinstance(value, str) else None


def boolean(attributes: Mapping[str, JSONValue], name: str) -> bool | None:
    """The boolean attribute ``name`` (``None``: absent, or not a boolean)."""
    value = attributes.get(name)
    return value if isinstance(value, bool) else None


def objects(attributes: Mapping[str, JSONValue], name: str) -> list[Mapping[str, JSONValue]]:
    """The object items of the multi-valued attribute ``name``."""
    value = attributes.get(name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@strawberry.type(description="The components of a user's name (RFC 7643 §4.1.1).")
class Name:
    formatted: str | None
    family_name: str | None
    given_name: str | None
    middle_name: str | None
    honorific_prefix: str | None
    honorific_suffix: str | None

    @staticmethod
    def of(attributes: Mapping[str, JSONValue]) -> Name | None:
        name = attributes.get("name")
        if not isinstance(name, dict):
            return None
        return Name(
            formatted=text(name, "formatted"),
            family_name=text(name, "familyName"),
            given_name=text(name, "givenName"),
            middle_name=text(name, "middleName"),
            honorific_prefix=text(name, "honorificPrefix"),
            honorific_suffix=text(name, "honorificSuffix"),
        )


@strawberry.type
class MultiValue:
    """The value, type, primary and display of a multi-valued attribute (RFC 7643 §2.4); each
    attribute is its own GraphQL type below, which is what the schema names."""

    value: str | None
    type: str | None
    primary: bool | None
    display: str | None


@strawberry.type(description="An email address; type is work, home or other.")
class Email(MultiValue):
    pass


@strawberry.type(description="A phone number; type is work, home, mobile, fax, pager or other.")
class PhoneNumber(MultiValue):
    pass


@strawberry.type(description="A role of the user (RFC 7643 §4.1.2).")
class Role(MultiValue):
    pass


@strawberry.type(
    description="A value of a multi-valued attribute: an instant messaging address, a photo URL, an entitlement "
    "or a certificate (base64 DER)."
)
class AttributeValue(MultiValue):
    pass


M = TypeVar("M", bound=MultiValue)


def multi_values(kind: type[M], attributes: Mapping[str, JSONValue], name: str) -> list[M]:
    """Every item of the multi-valued attribute ``name``, as ``kind``."""
    return [
        kind(value=text(i, "value"), type=text(i, "type"), primary=boolean(i, "primary"), display=text(i, "display"))
        for i in objects(attributes, name)
    ]


@strawberry.type(description="A postal address; type is work, home or other.")
class Address:
    formatted: str | None
    street_address: str | None
    locality: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    type: str | None
    primary: bool | None

    @staticmethod
    def all_of(attributes: Mapping[str, JSONValue]) -> list[Address]:
        return [
            Address(
                formatted=text(a, "formatted"),
                street_address=text(a, "streetAddress"),
                locality=text(a, "locality"),
                region=text(a, "region"),
                postal_code=text(a, "postalCode"),
                country=text(a, "country"),
                type=text(a, "type"),
                primary=boolean(a, "primary"),
            )
            for a in objects(attributes, "addresses")
        ]


@strawberry.type(description="Enterprise attributes (RFC 7643 §4.3); the manager is User.manager.")
class Enterprise:
    employee_number: str | None
    cost_center: str | None
    organization: str | None
    division: str | None
    department: str | None

    @staticmethod
    def of(enterprise: Mapping[str, JSONValue]) -> Enterprise | None:
        """The enterprise extension's attributes (``None`` when the user has none)."""
        if not enterprise:
            return None
        return Enterprise(
            employee_number=text(enterprise, "employeeNumber"),
            cost_center=text(enterprise, "costCenter"),
            organization=text(enterprise, "organization"),
            division=text(enterprise, "division"),
            department=text(enterprise, "department"),
        )
