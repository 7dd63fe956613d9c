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

from graphql_api.types.enums import describe_values
from graphql_api.types.extensions import ExtensionMatch
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
    id: strawberry.Maybe[relay.GlobalID] = strawberry.field(description="The user's global id (User.id).")
    user_name: strawberry.Maybe[str] = strawberry.field(description="The user's userName.")
    external_id: strawberry.Maybe[str] = strawberry.field(
        description="The user's externalId (the provisioning client's identifier)."
    )


@strawberry.input(one_of=True, description="Find a group by exactly one of its keys.")
class GroupLookup:
    id: strawberry.Maybe[relay.GlobalID] = strawberry.field(description="The group's global id (Group.id).")
    display_name: strawberry.Maybe[str] = strawberry.field(description="The group's displayName.")
    external_id: strawberry.Maybe[str] = strawberry.field(
        description="The group's externalId (the provisioning client's identifier)."
    )


@strawberry.input(description="Conditions a user must meet, all of them (absent ones are ignored).")
class UserFilter:
    user_name: str | None = strawberry.field(default=None, description="Equals, ignoring case.")
    user_name_starts_with: str | None = strawberry.field(default=None, description="Prefix, ignoring case.")
    external_id: str | None = strawberry.field(
        default=None, description="Equals the provisioning client's identifier, exactly."
    )
    email: str | None = strawberry.field(default=None, description="Any email address equals this, ignoring case.")
    active: bool | None = strawberry.field(
        default=None, description="true: active users only; false: deactivated users only."
    )
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
    extension: ExtensionMatch | None = strawberry.field(
        default=None, description="An attribute of one of the tenant's user extension schemas equals a value."
    )


@strawberry.input(description="Conditions a group must meet, all of them (absent ones are ignored).")
class GroupFilter:
    display_name: str | None = strawberry.field(default=None, description="Equals, ignoring case.")
    display_name_starts_with: str | None = strawberry.field(default=None, description="Prefix, ignoring case.")
    external_id: str | None = strawberry.field(
        default=None, description="Equals the provisioning client's identifier, exactly."
    )
    extension: ExtensionMatch | None = strawberry.field(
        default=None, description="An attribute of one of the tenant's group extension schemas equals a value."
    )


@strawberry.enum(description="Which way a connection is ordered.")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.enum(description="What a users connection is ordered by.")
class UserOrderField(Enum):
    ID = "id"
    USER_NAME = "userName"
    CREATED = "created"
    LAST_MODIFIED = "lastModified"
    CREATION = "creation"


@strawberry.enum(description="What a groups connection is ordered by.")
class GroupOrderField(Enum):
    DISPLAY_NAME = "displayName"
    CREATED = "created"
    LAST_MODIFIED = "lastModified"


describe_values(
    OrderDirection, {"ASC": "Ascending: A to Z, oldest first.", "DESC": "Descending: Z to A, newest first."}
)
describe_values(
    UserOrderField,
    {
        "ID": "By id (the only order with memberOf).",
        "USER_NAME": "By userName.",
        "CREATED": "By when the user was created.",
        "LAST_MODIFIED": "By when the user last changed.",
        "CREATION": "In the order users were created, ascending: without a filter a page costs the same at any "
        "depth, and paging through every user while others are created or deleted returns each user that exists "
        "throughout exactly once. With a filter, or descending, by id.",
    },
)
describe_values(
    GroupOrderField,
    {
        "DISPLAY_NAME": "By displayName.",
        "CREATED": "By when the group was created.",
        "LAST_MODIFIED": "By when the group last changed.",
    },
)


@strawberry.input(description="Order of a users connection; ties are broken by id.")
class UserOrder:
    field: UserOrderField = strawberry.field(
        default=UserOrderField.USER_NAME, description="What to order by; ties are broken by id."
    )
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Ascending or descending.")


@strawberry.input(description="Order of a groups connection; ties are broken by id.")
class GroupOrder:
    field: GroupOrderField = strawberry.field(
        default=GroupOrderField.DISPLAY_NAME, description="What to order by; ties are broken by id."
    )
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Ascending or descending.")


# --- attributes -----------------------------------------------------------------------------


@strawberry.input(description="The components of a user's name (RFC 7643 §4.1.1); every part is optional.")
class NameInput:
    formatted: str | None = strawberry.field(default=None, description="The full name as displayed.")
    family_name: str | None = strawberry.field(default=None, description="The family (last) name.")
    given_name: str | None = strawberry.field(default=None, description="The given (first) name.")
    middle_name: str | None = strawberry.field(default=None, description="The middle name(s).")
    honorific_prefix: str | None = strawberry.field(default=None, description="The honorific prefix, such as 'Ms.'.")
    honorific_suffix: str | None = strawberry.field(default=None, description="The honorific suffix, such as 'III'.")


@strawberry.input(description="An email address of a user (RFC 7643 §4.1.2).")
class EmailInput:
    value: str = strawberry.field(description="The email address.")
    type: str | None = strawberry.field(default=None, description="work, home or other.")
    primary: bool | None = strawberry.field(
        default=None, description="Whether this is the preferred address (at most one is)."
    )


@strawberry.input(description="A phone number of a user (RFC 7643 §4.1.2).")
class PhoneNumberInput:
    value: str = strawberry.field(description="The phone number, preferably in E.164 or RFC 3966 form.")
    type: str | None = strawberry.field(default=None, description="work, home, mobile, fax, pager or other.")
    primary: bool | None = strawberry.field(
        default=None, description="Whether this is the preferred number (at most one is)."
    )


@strawberry.input(description="A role of a user (RFC 7643 §4.1.2).")
class RoleInput:
    value: str = strawberry.field(description="The role.")
    display: str | None = strawberry.field(default=None, description="A name to show for the role.")
    type: str | None = strawberry.field(default=None, description="A label for the kind of role.")
    primary: bool | None = strawberry.field(
        default=None, description="Whether this is the primary role (at most one is)."
    )


@strawberry.input(description="A value of ims, photos or entitlements.")
class AttributeValueInput:
    value: str = strawberry.field(description="The value: an address, a URL or an entitlement.")
    type: str | None = strawberry.field(default=None, description="A label for the kind of value.")
    primary: bool | None = strawberry.field(
        default=None, description="Whether this is the preferred value (at most one is)."
    )
    display: str | None = strawberry.field(default=None, description="A name to show for the value.")


@strawberry.input(description="A postal address (RFC 7643 §4.1.2); every part is optional.")
class AddressInput:
    formatted: str | None = strawberry.field(
        default=None, description="The full address as displayed, possibly with newlines."
    )
    street_address: str | None = strawberry.field(default=None, description="The street, house number and so on.")
    locality: str | None = strawberry.field(default=None, description="The city or locality.")
    region: str | None = strawberry.field(default=None, description="The state or region.")
    postal_code: str | None = strawberry.field(default=None, description="The postal code.")
    country: str | None = strawberry.field(
        default=None, description="The country, an ISO 3166-1 alpha-2 code such as 'FR'."
    )
    type: str | None = strawberry.field(default=None, description="work, home or other.")
    primary: bool | None = strawberry.field(
        default=None, description="Whether this is the main address (at most one is)."
    )


@strawberry.input(description="Changes to a user's name: absent sub-attributes stay, null removes one.")
class NameUpdateInput:
    formatted: strawberry.Maybe[str | None] = strawberry.field(
        description="The full name as displayed. absent: unchanged; null: removed."
    )
    family_name: strawberry.Maybe[str | None] = strawberry.field(
        description="The family (last) name. absent: unchanged; null: removed."
    )
    given_name: strawberry.Maybe[str | None] = strawberry.field(
        description="The given (first) name. absent: unchanged; null: removed."
    )
    middle_name: strawberry.Maybe[str | None] = strawberry.field(
        description="The middle name(s). absent: unchanged; null: removed."
    )
    honorific_prefix: strawberry.Maybe[str | None] = strawberry.field(
        description="The honorific prefix, such as 'Ms.'. absent: unchanged; null: removed."
    )
    honorific_suffix: strawberry.Maybe[str | None] = strawberry.field(
        description="The honorific suffix, such as 'III'. absent: unchanged; null: removed."
    )


@strawberry.input(description="Enterprise attributes (RFC 7643 §4.3); the manager is set with the manager field.")
class EnterpriseInput:
    employee_number: str | None = strawberry.field(
        default=None, description="The employee number the organisation assigns."
    )
    cost_center: str | None = strawberry.field(default=None, description="The cost center.")
    organization: str | None = strawberry.field(default=None, description="The organisation.")
    division: str | None = strawberry.field(default=None, description="The division.")
    department: str | None = strawberry.field(default=None, description="The department.")


@strawberry.input(
    description="Changes to the enterprise attributes: absent sub-attributes stay, null removes one. The manager "
    "is changed with UserUpdateInput.manager."
)
class EnterpriseUpdateInput:
    employee_number: strawberry.Maybe[str | None] = strawberry.field(
        description="The employee number the organisation assigns. absent: unchanged; null: removed."
    )
    cost_center: strawberry.Maybe[str | None] = strawberry.field(
        description="The cost center. absent: unchanged; null: removed."
    )
    organization: strawberry.Maybe[str | None] = strawberry.field(
        description="The organisation. absent: unchanged; null: removed."
    )
    division: strawberry.Maybe[str | None] = strawberry.field(
        description="The division. absent: unchanged; null: removed."
    )
    department: strawberry.Maybe[str | None] = strawberry.field(
        description="The department. absent: unchanged; null: removed."
    )


@strawberry.input(
    description="The attributes of a new user (RFC 7643 §4.1); only userName is required. Setting externalId "
    "needs the write:provisioned scope."
)
class UserCreateInput:
    user_name: str = strawberry.field(
        description="The identifier the user signs in with; required, unique in the tenant."
    )
    external_id: str | None = strawberry.field(default=None, description="Needs the write:provisioned scope.")
    display_name: str | None = strawberry.field(default=None, description="The name to show for the user.")
    name: NameInput | None = strawberry.field(default=None, description="The components of the user's name.")
    nick_name: str | None = strawberry.field(default=None, description="The casual name to address the user by.")
    profile_url: str | None = strawberry.field(default=None, description="A URL of the user's online profile.")
    title: str | None = strawberry.field(default=None, description="The job title, such as 'Vice President'.")
    user_type: str | None = strawberry.field(
        default=None, description="The relationship to the organisation, such as 'Employee'."
    )
    preferred_language: str | None = strawberry.field(
        default=None, description="The preferred language, such as 'en-US' (RFC 7231 Accept-Language form)."
    )
    locale: str | None = strawberry.field(
        default=None, description="The locale for formatting dates and numbers, such as 'en-US'."
    )
    timezone: str | None = strawberry.field(
        default=None, description="The time zone, an IANA name such as 'Europe/Paris'."
    )
    active: bool | None = strawberry.field(default=None, description="Whether the user may sign in; null: true.")
    emails: list[EmailInput] | None = strawberry.field(
        default=None, description="Email addresses; at most one primary."
    )
    phone_numbers: list[PhoneNumberInput] | None = strawberry.field(
        default=None, description="Phone numbers; at most one primary."
    )
    addresses: list[AddressInput] | None = strawberry.field(
        default=None, description="Postal addresses; at most one primary."
    )
    roles: list[RoleInput] | None = strawberry.field(default=None, description="Roles of the user.")
    ims: list[AttributeValueInput] | None = strawberry.field(default=None, description="Instant messaging addresses.")
    photos: list[AttributeValueInput] | None = strawberry.field(default=None, description="URLs of photos of the user.")
    entitlements: list[AttributeValueInput] | None = strawberry.field(
        default=None, description="Entitlements (rights the user has)."
    )
    x509_certificates: list[AttributeValueInput] | None = strawberry.field(
        default=None, description="Certificates, each value a base64 DER certificate."
    )
    password: str | None = strawberry.field(
        default=None, description="Hashed by the store (Argon2id) and never returned."
    )
    enterprise: EnterpriseInput | None = strawberry.field(
        default=None, description="The enterprise extension's attributes (RFC 7643 §4.3)."
    )
    manager: relay.GlobalID | None = strawberry.field(default=None, description="The manager's user id.")


@strawberry.input(description="Only the fields given change; null removes a value.")
class UserUpdateInput:
    user_name: strawberry.Maybe[str | None] = strawberry.field(
        description="A new userName, unique in the tenant; may not be null."
    )
    external_id: strawberry.Maybe[str | None] = strawberry.field(
        description="A new externalId; null removes it. Needs the write:provisioned scope."
    )
    display_name: strawberry.Maybe[str | None] = strawberry.field(
        description="The name to show for the user. absent: unchanged; null: removed."
    )
    name: strawberry.Maybe[NameUpdateInput | None] = strawberry.field(
        description="null removes the whole name; otherwise only the sub-attributes given change."
    )
    nick_name: strawberry.Maybe[str | None] = strawberry.field(
        description="The casual name to address the user by. absent: unchanged; null: removed."
    )
    profile_url: strawberry.Maybe[str | None] = strawberry.field(
        description="A URL of the user's online profile. absent: unchanged; null: removed."
    )
    title: strawberry.Maybe[str | None] = strawberry.field(
        description="The job title, such as 'Vice President'. absent: unchanged; null: removed."
    )
    user_type: strawberry.Maybe[str | None] = strawberry.field(
        description="The relationship to the organisation, such as 'Employee'. absent: unchanged; null: removed."
    )
    preferred_language: strawberry.Maybe[str | None] = strawberry.field(
        description="The preferred language, "
        "such as 'en-US' (RFC 7231 Accept-Language form). absent: unchanged; null: removed."
    )
    locale: strawberry.Maybe[str | None] = strawberry.field(
        description="The locale for formatting dates and numbers, such as 'en-US'. absent: unchanged; null: removed."
    )
    timezone: strawberry.Maybe[str | None] = strawberry.field(
        description="The time zone, an IANA name such as 'Europe/Paris'. absent: unchanged; null: removed."
    )
    emails: strawberry.Maybe[list[EmailInput] | None] = strawberry.field(
        description="Email addresses; at most one primary. absent: unchanged; null: removed. The list given "
        "replaces the whole list."
    )
    phone_numbers: strawberry.Maybe[list[PhoneNumberInput] | None] = strawberry.field(
        description="Phone numbers; at most one primary. absent: unchanged; null: removed. The list given "
        "replaces the whole list."
    )
    addresses: strawberry.Maybe[list[AddressInput] | None] = strawberry.field(
        description="Postal addresses; at most one primary. absent: unchanged; null: removed. The list given "
        "replaces the whole list."
    )
    roles: strawberry.Maybe[list[RoleInput] | None] = strawberry.field(
        description="Roles of the user. absent: unchanged; null: removed. The list given replaces the whole list."
    )
    ims: strawberry.Maybe[list[AttributeValueInput] | None] = strawberry.field(
        description="Instant messaging addresses. absent: unchanged; null: removed. The list given replaces "
        "the whole list."
    )
    photos: strawberry.Maybe[list[AttributeValueInput] | None] = strawberry.field(
        description="URLs of photos of the user. absent: unchanged; null: removed. The list given replaces "
        "the whole list."
    )
    entitlements: strawberry.Maybe[list[AttributeValueInput] | None] = strawberry.field(
        description="Entitlements (rights the user has). absent: unchanged; null: removed. The list given "
        "replaces the whole list."
    )
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
    manager: strawberry.Maybe[relay.GlobalID | None] = strawberry.field(
        description="The manager's user id (User.id); null removes the manager; absent: unchanged."
    )


@strawberry.input(description="The attributes of a new group, and its first members.")
class GroupCreateInput:
    display_name: str = strawberry.field(description="The group's name; required, unique in the tenant.")
    external_id: str | None = strawberry.field(default=None, description="Needs the write:provisioned scope.")
    member_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="Users or groups.")


@strawberry.input(description="Only the fields given change; null removes a value.")
class GroupUpdateInput:
    display_name: strawberry.Maybe[str | None] = strawberry.field(
        description="A new name, unique in the tenant; may not be null."
    )
    external_id: strawberry.Maybe[str | None] = strawberry.field(
        description="A new externalId; null removes it. Needs the write:provisioned scope."
    )


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
