"""Inputs: lookups (one of several keys), typed filters, orderings, and the attributes of mutations.

Update inputs use ``Maybe``: a field left out is not touched, a field given as ``null`` is removed,
and a field given a value replaces it (patch semantics).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from graphql_api.types.groups import MembershipType
from identity_store.domain.values import JSON

__all__ = [
    "AddressInput",
    "AttributeValueInput",
    "EmailInput",
    "EnterpriseInput",
    "EnterpriseUpdateInput",
    "GroupCreateInput",
    "GroupFilter",
    "GroupLookup",
    "GroupOrder",
    "GroupOrderField",
    "GroupUpdateInput",
    "NameInput",
    "NameUpdateInput",
    "OrderDirection",
    "PhoneNumberInput",
    "RoleInput",
    "UserCreateInput",
    "UserFilter",
    "UserLookup",
    "UserOrder",
    "UserOrderField",
    "UserUpdateInput",
    "scim_name",
    "to_json",
]


@strawberry.input(one_of=True, description="Find a user by exactly one of its keys.")
class UserLookup:
    id: strawberry.Maybe[relay.GlobalID]
    user_name: strawberry.Maybe[str]
    external_id: strawberry.Maybe[str]


@strawberry.input(one_of=True, description="Find a group by exactly one of its keys.")
class GroupLookup:
    id: strawberry.Maybe[relay.GlobalID]
    display_name: strawberry.Maybe[str]
    external_id: strawberry.Maybe[str]


@strawberry.input(description="Conditions a user must meet, all of them (absent ones are ignored).")
class UserFilter:
    user_name: str | None = strawberry.field(default=None, description="Equals, ignoring case.")
    user_name_starts_with: str | None = strawberry.field(default=None, description="Prefix, ignoring case.")
    external_id: str | None = None
    email: str | None = strawberry.field(default=None, description="Any email address equals this, ignoring case.")
    active: bool | None = None
    department: str | None = strawberry.field(default=None, description="Enterprise department, ignoring case.")
    member_of: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Member of this group (see membership). The users are then ordered by id: orderBy may only "
        "name ID. The page is read by walking the group's memberships, so its cost follows the page, not the "
        "group; a page may hold fewer users than asked (a rare match in a large group) while hasNextPage says "
        "whether to go on.",
    )
    membership: MembershipType = strawberry.field(
        default=MembershipType.DIRECT,
        description="For memberOf: direct members only, or also members of the groups nested in it.",
    )


@strawberry.input(description="Conditions a group must meet, all of them (absent ones are ignored).")
class GroupFilter:
    display_name: str | None = strawberry.field(default=None, description="Equals, ignoring case.")
    display_name_starts_with: str | None = strawberry.field(default=None, description="Prefix, ignoring case.")
    external_id: str | None = None


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.enum
class UserOrderField(Enum):
    ID = "id"
    USER_NAME = "userName"
    CREATED = "created"
    LAST_MODIFIED = "lastModified"


@strawberry.enum
class GroupOrderField(Enum):
    DISPLAY_NAME = "displayName"
    CREATED = "created"
    LAST_MODIFIED = "lastModified"


@strawberry.input(description="Order of a users connection; ties are broken by id.")
class UserOrder:
    field: UserOrderField = UserOrderField.USER_NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(description="Order of a groups connection; ties are broken by id.")
class GroupOrder:
    field: GroupOrderField = GroupOrderField.DISPLAY_NAME
    direction: OrderDirection = OrderDirection.ASC


# --- attributes -----------------------------------------------------------------------------


@strawberry.input
class NameInput:
    formatted: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    honorific_prefix: str | None = None
    honorific_suffix: str | None = None


@strawberry.input
class EmailInput:
    value: str
    type: str | None = None
    primary: bool | None = None


@strawberry.input
class PhoneNumberInput:
    value: str
    type: str | None = None
    primary: bool | None = None


@strawberry.input
class RoleInput:
    value: str
    display: str | None = None
    type: str | None = None
    primary: bool | None = None


@strawberry.input(description="A value of ims, photos or entitlements.")
class AttributeValueInput:
    value: str
    type: str | None = None
    primary: bool | None = None
    display: str | None = None


@strawberry.input
class AddressInput:
    formatted: str | None = None
    street_address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    type: str | None = None
    primary: bool | None = None


@strawberry.input(description="Changes to a user's name: absent sub-attributes stay, null removes one.")
class NameUpdateInput:
    formatted: strawberry.Maybe[str | None]
    family_name: strawberry.Maybe[str | None]
    given_name: strawberry.Maybe[str | None]
    middle_name: strawberry.Maybe[str | None]
    honorific_prefix: strawberry.Maybe[str | None]
    honorific_suffix: strawberry.Maybe[str | None]


@strawberry.input(description="Enterprise attributes (RFC 7643 §4.3); the manager is set with the manager field.")
class EnterpriseInput:
    employee_number: str | None = None
    cost_center: str | None = None
    organization: str | None = None
    division: str | None = None
    department: str | None = None


@strawberry.input(
    description="Changes to the enterprise attributes: absent sub-attributes stay, null removes one. The manager "
    "is changed with UserUpdateInput.manager."
)
class EnterpriseUpdateInput:
    employee_number: strawberry.Maybe[str | None]
    cost_center: strawberry.Maybe[str | None]
    organization: strawberry.Maybe[str | None]
    division: strawberry.Maybe[str | None]
    department: strawberry.Maybe[str | None]


@strawberry.input
class UserCreateInput:
    user_name: str
    external_id: str | None = strawberry.field(default=None, description="Needs the write:provisioned scope.")
    display_name: str | None = None
    name: NameInput | None = None
    nick_name: str | None = None
    profile_url: str | None = None
    title: str | None = None
    user_type: str | None = None
    preferred_language: str | None = None
    locale: str | None = None
    timezone: str | None = None
    active: bool | None = None
    emails: list[EmailInput] | None = None
    phone_numbers: list[PhoneNumberInput] | None = None
    addresses: list[AddressInput] | None = None
    roles: list[RoleInput] | None = None
    ims: list[AttributeValueInput] | None = None
    photos: list[AttributeValueInput] | None = None
    entitlements: list[AttributeValueInput] | None = None
    x509_certificates: list[AttributeValueInput] | None = strawberry.field(
        default=None, description="Certificates, each value a base64 DER certificate."
    )
    password: str | None = strawberry.field(
        default=None, description="Hashed by the store (Argon2id) and never returned."
    )
    enterprise: EnterpriseInput | None = None
    manager: relay.GlobalID | None = strawberry.field(default=None, description="The manager's user id.")


@strawberry.input(description="Only the fields given change; null removes a value.")
class UserUpdateInput:
    user_name: strawberry.Maybe[str | None]
    external_id: strawberry.Maybe[str | None]
    display_name: strawberry.Maybe[str | None]
    name: strawberry.Maybe[NameUpdateInput | None] = strawberry.field(
        description="null removes the whole name; otherwise only the sub-attributes given change."
    )
    nick_name: strawberry.Maybe[str | None]
    profile_url: strawberry.Maybe[str | None]
    title: strawberry.Maybe[str | None]
    user_type: strawberry.Maybe[str | None]
    preferred_language: strawberry.Maybe[str | None]
    locale: strawberry.Maybe[str | None]
    timezone: strawberry.Maybe[str | None]
    emails: strawberry.Maybe[list[EmailInput] | None]
    phone_numbers: strawberry.Maybe[list[PhoneNumberInput] | None]
    addresses: strawberry.Maybe[list[AddressInput] | None]
    roles: strawberry.Maybe[list[RoleInput] | None]
    ims: strawberry.Maybe[list[AttributeValueInput] | None]
    photos: strawberry.Maybe[list[AttributeValueInput] | None]
    entitlements: strawberry.Maybe[list[AttributeValueInput] | None]
    x509_certificates: strawberry.Maybe[list[AttributeValueInput] | None] = strawberry.field(
        description="Certificates, each value a base64 DER certificate; the list given replaces the list."
    )
    password: strawberry.Maybe[str] = strawberry.field(
        description="A new password, hashed by the store (Argon2id) and never returned; replaceable, not removable."
    )
    enterprise: strawberry.Maybe[EnterpriseUpdateInput | None] = strawberry.field(
        description="null removes every enterprise attribute except the manager; otherwise only the "
        "sub-attributes given change."
    )
    manager: strawberry.Maybe[relay.GlobalID | None]


@strawberry.input
class GroupCreateInput:
    display_name: str
    external_id: str | None = strawberry.field(default=None, description="Needs the write:provisioned scope.")
    member_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="Users or groups.")


@strawberry.input(description="Only the fields given change; null removes a value.")
class GroupUpdateInput:
    display_name: strawberry.Maybe[str | None]
    external_id: strawberry.Maybe[str | None]


_CAMEL = re.compile(r"_([a-z0-9])")


def scim_name(python_name: str) -> str:
    """The SCIM attribute name of an input field (``phone_numbers`` -> ``phoneNumbers``)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), python_name)


def to_json(value: Any) -> JSON:
    """An input value as SCIM attribute JSON: objects by SCIM name, unset (None) fields left out."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, relay.GlobalID):
        return value.node_id
    fields: dict[str, JSON] = {}
    for name, item in vars(value).items():
        if item is not None:
            fields[scim_name(name)] = to_json(item)
    return fields
