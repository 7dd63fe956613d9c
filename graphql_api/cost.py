"""The node limit: the worst-case number of nodes a query may return, refused before it runs.

Depth, alias and token limits bound the size of a document, not of its answer: 164 characters
can ask for 100 users, each with 100 groups, each with 100 members (a million nodes). As GitHub's
GraphQL API does, each operation is priced before execution from the page sizes it asks for:

- a connection field (one taking ``first``/``last``) returns up to its page size of nodes
  (:data:`~graphql_api.pagination.DEFAULT_PAGE_SIZE` when neither is given), once for every
  node above it, and multiplies everything selected under its ``edges`` or ``nodes``;
- ``nodes(ids:)`` returns one node per id, and multiplies what is selected under it; so does
  federation's ``_entities(representations:)``, one node per representation (a router asking
  for 1,000 users pays for 1,000);
- any other field of an object type (``manager``, ``viewer``, ``pageInfo``...) counts one
  each time its parent does;
- fragments and inline fragments count as if written out; variables are resolved (a variable
  without a value takes its declared default); ``@skip``/``@include`` are ignored (worst case).

A query over the limit gets a ``QUERY_TOO_COSTLY`` error stating its cost and the limit, and
nothing is executed: no resolver runs, no database command is sent. An executed operation reports
its cost in the response's ``extensions`` (``{"cost": {"nodes": N, "limit": M}}``) so clients
can see how close they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from graphql_api.limits import DEFAULT_MAX_NODES
from graphql_api.operations import chosen_operation, requested_operation_name
from graphql_api.pagination import DEFAULT_PAGE_SIZE

__all__ = ["DEFAULT_MAX_NODES", "NodeLimit", "QueryTooCostly", "query_cost"]

#: Fields returning one node per item of a list argument: the field's name, the argument's name.
_LISTS_OF_IDS = {"nodes": "ids", "_entities": "representations"}

_Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType


class QueryTooCostly(GraphQLError):
    """The operation could return more nodes than the limit allows; nothing was executed."""

    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(
            f"this query could return {cost} nodes, more than the limit of {limit}; "
            "ask for smaller pages (first/last) or fewer nested connections",
            extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": limit},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]

    def selection(
        self, selection_set: SelectionSetNode | None, parent: _Composite, multiplier: int, *, page: int | None = None
    ) -> int:
        """The nodes under ``selection_set`` of ``parent``, produced ``multiplier`` times.

        ``page`` is set when ``parent`` is a connection: its ``edges`` and ``nodes`` are the page's
        items (already counted with the connection field) and multiply what lies under them.
        """
        total = 0
        for field, definition in self._fields(selection_set, parent):
            named = get_named_type(definition.type)
            if not isinstance(named, _Composite):
                continue  # scalars and enums are not nodes
            name = field.name.value
            if page is not None and name in ("edges", "nodes"):
                total += self.selection(field.selection_set, named, multiplier * page, page=None)
            elif name == "node" and parent.name.endswith("Edge"):
                total += self.selection(field.selection_set, named, multiplier)  # the edge's own node
            elif (size := self._page_size(field, definition, named)) is not None:
                total += multiplier * size + self.selection(field.selection_set, named, multiplier, page=size)
            elif (count := self._id_count(field)) is not None:
                total += multiplier * count + self.selection(field.selection_set, named, multiplier * count)
            else:
                total += multiplier + self.selection(field.selection_set, named, multiplier)
        return total

    def _fields(
        self, selection_set: SelectionSetNode | None, parent: _Composite
    ) -> Iterator[tuple[FieldNode, GraphQLField]]:
        """The fields of a selection set, fragments spread (validation has ruled out cycles)."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                definition = self._field(parent, selection.name.value)
                if definition is not None:
                    yield selection, definition
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, self._condition(selection, parent))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._fields(fragment.selection_set, self._condition(fragment, parent))

    def _field(self, parent: _Composite, name: str) -> GraphQLField | None:
        if isinstance(parent, GraphQLUnionType):
            return None  # a union has only __typename, which is no node
        found: GraphQLField | None = parent.fields.get(name)  # None for __typename and introspection
        return found

    def _condition(self, fragment: InlineFragmentNode | FragmentDefinitionNode, parent: _Composite) -> _Composite:
        if fragment.type_condition is None:
            return parent
        named = self.schema.get_type(fragment.type_condition.name.value)
        return named if isinstance(named, _Composite) else parent

    def _page_size(self, field: FieldNode, definition: GraphQLField, returned: _Composite) -> int | None:
        """The page size a connection field asks for; ``None`` for a field that is no connection."""
        if not ("first" in definition.args or "last" in definition.args):
            return None
        if not isinstance(returned, GraphQLObjectType) or not {"edges", "nodes"} & returned.fields.keys():
            return None
        sizes = [self._int(field, name) for name in ("first", "last")]
        given = [size for size in sizes if size is not None]
        # Both given is refused by the resolver; price the larger so the refusal costs nothing.
        return max(0, *given) if given else DEFAULT_PAGE_SIZE

    def _id_count(self, field: FieldNode) -> int | None:
        """How many ids ``nodes(ids:)`` (or representations ``_entities``) asks for; ``None`` for any other field."""
        listed = _LISTS_OF_IDS.get(field.name.value)
        if listed is None:
            return None
        argument = next((a for a in field.arguments or () if a.name.value == listed), None)
        if argument is None:
            return None
        value = self._value(argument.value)
        return len(value) if isinstance(value, list) else 1

    def _int(self, field: FieldNode, name: str) -> int | None:
        argument = next((a for a in field.arguments or () if a.name.value == name), None)
        if argument is None:
            return None
        value = self._value(argument.value)
        # A value of the wrong type fails coercion before execution; price it as the default.
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _value(self, node: ValueNode) -> object:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return [self._value(item) for item in node.values]
        return value_from_ast_untyped(node, dict(self.variables))


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The worst-case number of nodes ``operation`` of ``document`` may return (see the module)."""
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    given = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in given and definition.default_value is not None:
            given[name] = value_from_ast_untyped(definition.default_value)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Walk(schema=schema, fragments=fragments, variables=given).selection(operation.selection_set, root, 1)


class NodeLimit(SchemaExtension):
    """Prices each operation before execution and refuses it over the limit (see the module).

    The limit is the context's ``max_query_nodes`` (``IDENTITY_GRAPHQL_MAX_NODES``), or
    :data:`DEFAULT_MAX_NODES` for a context without one.
    """

    def __init__(self) -> None:
        self._cost: int | None = None
        self._limit = DEFAULT_MAX_NODES

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        name = requested_operation_name(context)
        operation = chosen_operation(document, name) if document is not None else None
        if document is not None and operation is not None:
            limit = getattr(context.context, "max_query_nodes", DEFAULT_MAX_NODES)
            self._limit = limit if isinstance(limit, int) else DEFAULT_MAX_NODES
            cost = query_cost(self.execution_context.schema._schema, document, operation, context.variables)
            if cost > self._limit:
                raise QueryTooCostly(cost, self._limit)
            self._cost = cost
        yield

    def get_results(self) -> dict[str, Any]:
        if self._cost is None:
            return {}
        return {"cost": {"nodes": self._cost, "limit": self._limit}}
