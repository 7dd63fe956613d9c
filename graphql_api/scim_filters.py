"""The ``scimFilter`` argument of the ``users`` and ``groups`` connections.

The text is a SCIM filter (RFC 7644 §3.4.2.2), compiled by the very translator the SCIM facade
uses, so a filter selects the same resources through either API. This package may not import the
SCIM facade (the two front ends are independent), so the composition root injects the compiler
through :class:`graphql_api.GraphQLSettings`. The compiler's contract: return the resolved
neutral filter for the resource schema, or raise :class:`identity_store.InvalidValue` when the
text is not a filter this schema supports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from graphql_api.errors import BadUserInput
from identity_store import InvalidValue
from identity_store.domain.filters import Filter
from identity_store.domain.schema import ResourceSchema

__all__ = ["ScimFilterCompiler", "compile_scim_filter"]

ScimFilterCompiler: TypeAlias = Callable[[str, ResourceSchema], Filter]


def compile_scim_filter(compiler: ScimFilterCompiler | None, text: str, schema: ResourceSchema) -> Filter:
    """The neutral filter of ``text``; a BAD_USER_INPUT error naming the argument otherwise."""
    if compiler is None:
        raise BadUserInput("scimFilter is not available on this server", argument="scimFilter")
    try:
        return compiler(text, schema)
    except InvalidValue as error:
        raise BadUserInput(f"invalid scimFilter: {error.message}", argument="scimFilter") from None
