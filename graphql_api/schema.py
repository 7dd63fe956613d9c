"""The schema and its guards: one operation, depth, alias, token and node limits, caches, masking.

The SDL is exported to ``graphql_api/schema.graphql`` (``python -m graphql_api export-schema``); a
test fails when the schema changes without the file being exported again.
"""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError, GraphQLObjectType
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.federation.schema import FederationAny
from strawberry.printer import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graphql_api.activity import MutationActivity
from graphql_api.cost import NodeLimit
from graphql_api.errors import BadUserInput, LoggedMaskErrors, log_client_errors
from graphql_api.mutations import Mutation
from graphql_api.operations import OneOperation
from graphql_api.pagination import MAX_PAGE_SIZE
from graphql_api.queries import Query
from graphql_api.subscriptions import Subscription
from graphql_api.types.errors import (
    ForbiddenError,
    InvalidValueError,
    NotFoundError,
    UniquenessError,
    VersionConflictError,
)

__all__ = ["ENTITY_TYPES", "MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "SDL_PATH", "schema", "sdl"]

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2_000
SDL_PATH = Path(__file__).with_name("schema.graphql")
#: The federation entities: the types ``_entities`` resolves.
ENTITY_TYPES = ("User", "Group")


class _Schema(strawberry.federation.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # strawberry logs every error at ERROR with its traceback, a client's typo as a fault;
        # ours logs client mistakes at INFO and leaves faults to LoggedMaskErrors.
        context = execution_context.context if execution_context is not None else None
        log_client_errors(errors, getattr(context, "request_id", None))

    def entities_resolver(self, info: strawberry.Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Federation's ``_entities``, each representation checked first (``_Any`` accepts any value).

        strawberry looks the type up by ``__typename`` and would fail on anything else with a
        fault; a representation that is no object naming one of our entities is the client's
        mistake instead: a BAD_USER_INPUT error at its position, the others still resolved.
        """
        checked: list[BadUserInput | None] = []
        valid: list[FederationAny] = []
        for index, representation in enumerate(representations):
            if isinstance(representation, dict) and representation.get("__typename") in ENTITY_TYPES:
                checked.append(None)
                valid.append(representation)
            else:
                checked.append(
                    BadUserInput(
                        f"representation {index} is no object with a __typename of {' or '.join(ENTITY_TYPES)}",
                        argument="representations",
                    )
                )
        resolved = iter(super().entities_resolver(info, valid))
        return [next(resolved) if error is None else FederationAny(error) for error in checked]


schema = _Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Reached only through the MutationError interface, so named here to be in the schema.
    types=[NotFoundError, UniquenessError, VersionConflictError, InvalidValueError, ForbiddenError],
    # Factories: each operation gets fresh extensions (the caches behind ParserCache and
    # ValidationCache are shared by maxsize, so they still cache across requests).
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        OneOperation,
        NodeLimit,
        LoggedMaskErrors,
        MutationActivity,
    ],
    # An Apollo Federation 2 subgraph: _service { sdl } and _entities (User and Group are entities).
    federation_version="2.7",
    config=StrawberryConfig(
        disable_field_suggestions=True,
        # sort_schema rebuilds the schema with graphql-core, which loses strawberry's enum
        # values (enum defaults then fail to print); the definition order is stable anyway.
        relay_max_results=MAX_PAGE_SIZE,
    ),
)


def _describe_federation(built: strawberry.federation.Schema) -> None:
    """Describe what federation adds, so every element of the schema is described.

    strawberry adds ``_entities``, ``_service`` and their types without descriptions; a caller
    reading the docs (and the snapshot test) should learn what they are for.
    """
    graphql_schema = built._schema
    query = graphql_schema.query_type
    assert query is not None
    entities = query.fields["_entities"]
    entities.description = (
        "Apollo Federation: the users and groups the router's representations name (by id, userName or "
        "displayName), in order; null for one this tenant does not have. Each representation counts as one "
        "node toward the node limit."
    )
    entities.args[
        "representations"
    ].description = (
        "Objects with __typename (User or Group) and one key: id, or userName (User) or displayName (Group)."
    )
    query.fields["_service"].description = "Apollo Federation: this subgraph's schema, for composition."
    service = graphql_schema.type_map["_Service"]
    entity = graphql_schema.type_map["_Entity"]
    assert isinstance(service, GraphQLObjectType)
    service.description = "This subgraph as Apollo Federation sees it."
    service.fields["sdl"].description = "The subgraph's SDL, with its federation directives (@key)."
    entity.description = "Every entity type of this subgraph: what _entities returns."


_describe_federation(schema)


def sdl() -> str:
    """The schema in SDL, as committed in ``schema.graphql``."""
    return print_schema(schema) + "\n"
