"""A tenant's extension schemas and the custom values users and groups hold under them, as GraphQL.

The schema is shown as registered (RFC 7643 §7: ``attributes`` as JSON in the RFC's spelling); the
values as one ``SchemaExtensionValue`` per extension the resource has values of: its URN and the
values as JSON, exactly as received, but for attributes declared ``returned: never``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import strawberry
from strawberry.scalars import JSON

from graphql_api.types.enums import describe_values
from graphql_api.types.errors import MutationError
from identity_store.domain.extensions import ExtendedType, SchemaExtension as ExtensionRecord, returned, schema_document
from identity_store.domain.values import JSON as JSONValue

__all__ = [
    "ExtendedResourceType",
    "ExtensionMatch",
    "SchemaExtension",
    "SchemaExtensionAddInput",
    "SchemaExtensionPayload",
    "SchemaExtensionValue",
    "extension_values",
]

strawberry.enum(ExtendedType, name="ExtendedResourceType", description="The resource type an extension extends.")
ExtendedResourceType: TypeAlias = ExtendedType
describe_values(ExtendedType, {"USER": "Users carry its attributes.", "GROUP": "Groups carry its attributes."})


@strawberry.type(description="An extension schema of the tenant: custom attributes its users or groups carry.")
class SchemaExtension:
    urn: str = strawberry.field(description="The schema's URN (its RFC 7643 §7 id), as registered.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="Its description; empty when none was given.")
    extends: ExtendedResourceType = strawberry.field(description="The resource type it extends.")
    attributes: JSON = strawberry.field(description="Its attributes as RFC 7643 §7 describes them.")
    indexed: list[str] = strawberry.field(description="The attributes a filter index is kept for.")

    @staticmethod
    def of(extension: ExtensionRecord) -> SchemaExtension:
        return SchemaExtension(
            urn=extension.urn,
            name=extension.name,
            description=extension.description,
            extends=extension.extends,
            attributes=JSON(schema_document(extension)["attributes"]),
            indexed=list(extension.indexed),
        )


@strawberry.type(description="The values a user or group holds under one extension schema of the tenant.")
class SchemaExtensionValue:
    urn: str = strawberry.field(description="The extension schema's URN.")
    value: JSON = strawberry.field(description="Its attributes' values by name, exactly as received.")


def extension_values(
    attributes: Mapping[str, JSONValue], extensions: tuple[ExtensionRecord, ...]
) -> list[SchemaExtensionValue]:
    """The values of each registered extension the resource has any of, in registration order."""
    found: list[SchemaExtensionValue] = []
    for extension in extensions:
        value = attributes.get(extension.key)
        if not isinstance(value, dict):
            continue
        hidden = {a.name for a in extension.attributes if not returned(a)}
        shown = {k: v for k, v in value.items() if k not in hidden}
        if shown:
            found.append(SchemaExtensionValue(urn=extension.urn, value=JSON(shown)))
    return found


@strawberry.input(description="An extension schema to register, in the RFC 7643 §7 format.")
class SchemaExtensionAddInput:
    schema: JSON = strawberry.field(
        description="The schema resource: id (the URN), name, description, attributes (name, type, multiValued, "
        "caseExact, mutability, returned, canonicalValues, subAttributes)."
    )
    extends: ExtendedResourceType | None = strawberry.field(
        default=None, description="The resource type it extends; by default read from the URN (…:User, …:Group)."
    )
    indexed: list[str] | None = strawberry.field(
        default=None, description="Attributes to keep a filter index for (match attributes)."
    )


@strawberry.type(description="The extension schema a mutation registered or removed, or why it could not.")
class SchemaExtensionPayload:
    schema_extension: SchemaExtension | None = strawberry.field(
        default=None, description="The schema; null when the mutation failed."
    )
    user_errors: list[MutationError] = strawberry.field(
        default_factory=list, description="Why the mutation failed; empty when it succeeded."
    )


@strawberry.input(description="An extension attribute equal to a value (case as the attribute declares).")
class ExtensionMatch:
    urn: str = strawberry.field(description="The extension schema's URN.")
    attribute: str = strawberry.field(description="The attribute's name in that schema.")
    value: JSON = strawberry.field(description="The value: a string, number or boolean.")
