"""The public schema is committed as SDL; a change to it must be exported and reviewed like an API change."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    build_schema,
    is_specified_scalar_type,
)

from graphql_api.schema import SDL_PATH, sdl


def test_the_committed_sdl_matches_the_schema() -> None:
    """graphql_api/schema.graphql is the schema as built; re-export with `python -m graphql_api export-schema`."""
    assert SDL_PATH.read_text() == sdl(), "the schema changed: run `python -m graphql_api export-schema` and commit"


def test_the_schema_offers_no_offset_pagination() -> None:
    """Connections page by cursor only (Relay): no argument of the schema is called offset or skip."""
    text = sdl()
    assert "offset:" not in text
    assert "skip:" not in text


# The Apollo Federation directives the subgraph SDL applies; a router knows them from @link.
FEDERATION_DIRECTIVES = """
directive @link(url: String!, import: [String]) repeatable on SCHEMA
directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
"""


def _undescribed() -> list[str]:
    """Every element of the exported SDL a caller would read about in vain: no description."""
    built = build_schema(FEDERATION_DIRECTIVES + SDL_PATH.read_text())
    missing: list[str] = []
    for name, named in built.type_map.items():
        if name.startswith("__") or is_specified_scalar_type(named) or isinstance(named, GraphQLScalarType):
            continue  # introspection types and scalars (their meaning is their spec) are not ours to describe
        if not named.description:
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing.extend(
                    f"{name}.{field_name}({arg_name}:)" for arg_name, arg in field.args.items() if not arg.description
                )
        elif isinstance(named, GraphQLInputObjectType):
            missing.extend(f"{name}.{key}" for key, field in named.fields.items() if not field.description)
        elif isinstance(named, GraphQLEnumType):
            missing.extend(f"{name}.{key}" for key, value in named.values.items() if not value.description)
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    """What a caller reads in GraphiQL's docs: no object, input, interface, union or enum type, field,
    argument, input field or enum value of the exported schema goes without a description."""
    missing = _undescribed()
    assert missing == [], f"{len(missing)} without a description: {', '.join(missing)}"
