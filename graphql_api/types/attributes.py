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
    formatted: str | None = strawberry.field(
        description="The full name as displayed, such as 'Ms. Barbara J Jensen, III'; null when not set."
    )
    family_name: str | None = strawberry.field(description="The family (last) name; null when not set.")
    given_name: str | None = strawberry.field(description="The given (first) name; null when not set.")
    middle_name: str | None = strawberry.field(description="The middle name(s); null when not set.")
    honorific_prefix: str | None = strawberry.field(
        description="The honorific prefix, such as 'Ms.'; null when not set."
    )
    honorific_suffix: str | None = strawberry.field(
        description="The honorific suffix, such as 'III'; null when not set."
    )

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

    value: str | None = strawberry.field(
        description="The value itself (the address, number, role, URL or certificate); null when not provisioned."
    )
    type: str | None = strawberry.field(
        description="A label saying what kind of value it is (such as 'work'); null when not set."
    )
    primary: bool | None = strawberry.field(
        description="Whether this is the user's preferred value of the attribute (at most one is); null when not set."
    )
    display: str | None = strawberry.field(description="A name to show for the value; null when not set.")


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
    formatted: str | None = strawberry.field(
        description="The full address as displayed, possibly with newlines; null when not set."
    )
    street_address: str | None = strawberry.field(description="The street, house number and so on; null when not set.")
    locality: str | None = strawberry.field(description="The city or locality; null when not set.")
    region: str | None = strawberry.field(description="The state or region; null when not set.")
    postal_code: str | None = strawberry.field(description="The postal code; null when not set.")
    country: str | None = strawberry.field(
        description="The country, as an ISO 3166-1 alpha-2 code such as 'FR'; null when not set."
    )
    type: str | None = strawberry.field(description="work, home or other; null when not set.")
    primary: bool | None = strawberry.field(
        description="Whether this is the user's main address (at most one is); null when not set."
    )

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
    employee_number: str | None = strawberry.field(
        description="The employee number the organisation assigns; null when not set."
    )
    cost_center: str | None = strawberry.field(description="The cost center; null when not set.")
    organization: str | None = strawberry.field(description="The organisation; null when not set.")
    division: str | None = strawberry.field(description="The division; null when not set.")
    department: str | None = strawberry.field(description="The department; null when not set.")

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
