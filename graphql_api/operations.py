"""Which operation of a document runs: the one named by ``operationName``, or the only one.

GraphQL §6.1 (GetOperation): a document with several operations needs ``operationName`` to say
which one to execute; without it the request is an error, not a guess. The error's code,
OPERATION_NAME_REQUIRED, is answered with HTTP 400 (GraphQL over HTTP, request errors).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

__all__ = ["OPERATION_NAME_REQUIRED", "OneOperation", "chosen_operation", "requested_operation_name"]

OPERATION_NAME_REQUIRED = "OPERATION_NAME_REQUIRED"


def chosen_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation to execute; ``None`` when the name matches none, or none is named among several."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == operation_name), None)


def requested_operation_name(context: ExecutionContext) -> str | None:
    """The ``operationName`` of the request itself.

    ``ExecutionContext.operation_name`` falls back to the name of the document's first operation,
    which is exactly the guess GetOperation forbids; the name the client sent is kept aside.
    """
    provided = getattr(context, "_provided_operation_name", None)
    return provided if isinstance(provided, str) else None


class OneOperation(SchemaExtension):
    """Refuses a document of several operations that does not name the one to run."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        name = requested_operation_name(context)
        if document is not None and name is None and chosen_operation(document, None) is None:
            raise GraphQLError(
                "the document holds several operations: name the one to run in operationName",
                extensions={"code": OPERATION_NAME_REQUIRED},
            )
        yield
