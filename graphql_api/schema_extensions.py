"""Extension schemas through GraphQL: ``schemaExtensionAdd``, ``schemaExtensionRemove`` and
``schemaExtensions``, under the ``schemas:manage`` scope.

The mutations send the commands the command line sends (``AddSchemaExtension``,
``RemoveSchemaExtension``), so the schema document is checked, and the change recorded in the
tenant's event log, by the same handler. Only the caller's tenant is read and changed.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_api.activity import note_result
from graphql_api.context import Context
from graphql_api.types.errors import mutation_error
from graphql_api.types.extensions import SchemaExtension, SchemaExtensionAddInput, SchemaExtensionPayload
from identity_store import DomainError
from identity_store.commands import AddSchemaExtension, RemoveSchemaExtension
from identity_store.domain.values import JSON

__all__ = ["schema_extension_add", "schema_extension_remove", "schema_extensions"]

Info = strawberry.Info[Context, None]

_NEW_SCHEMA = strawberry.argument(description="The schema document and what to index.")
_URN = strawberry.argument(description="The URN of the extension schema to remove.")


async def schema_extension_add(
    info: Info, input: Annotated[SchemaExtensionAddInput, _NEW_SCHEMA]
) -> SchemaExtensionPayload:
    context = info.context
    document: JSON = input.schema  # type: ignore[assignment]  # strawberry's JSON scalar holds parsed JSON
    command = AddSchemaExtension(
        document=document,
        extends=input.extends.value if input.extends is not None else None,
        indexed=tuple(input.indexed or ()),
    )
    try:
        added = await context.bus.dispatch(context.request_context, command)
    except DomainError as error:
        note_result(context, info.field_name, error, ["schema"])
        return SchemaExtensionPayload(user_errors=[mutation_error(error)])
    note_result(context, info.field_name, added, ["schema"])
    return SchemaExtensionPayload(schema_extension=SchemaExtension.of(added))


async def schema_extension_remove(info: Info, urn: Annotated[str, _URN]) -> SchemaExtensionPayload:
    context = info.context
    try:
        removed = await context.bus.dispatch(context.request_context, RemoveSchemaExtension(urn=urn))
    except DomainError as error:
        note_result(context, info.field_name, error)
        return SchemaExtensionPayload(user_errors=[mutation_error(error)])
    note_result(context, info.field_name, removed)
    return SchemaExtensionPayload(schema_extension=SchemaExtension.of(removed))


async def schema_extensions(info: Info) -> list[SchemaExtension]:
    return [SchemaExtension.of(e) for e in await info.context.tenant.schema_extensions.all()]
