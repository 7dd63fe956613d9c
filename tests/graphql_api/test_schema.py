"""The public schema is committed as SDL; a change to it must be exported and reviewed like an API change."""

from __future__ import annotations

from graphql_api.schema import SDL_PATH, sdl


def test_the_committed_sdl_matches_the_schema() -> None:
    """graphql_api/schema.graphql is the schema as built; re-export with `python -m graphql_api export-schema`."""
    assert SDL_PATH.read_text() == sdl(), "the schema changed: run `python -m graphql_api export-schema` and commit"


def test_the_schema_offers_no_offset_pagination() -> None:
    """Connections page by cursor only (Relay): no argument of the schema is called offset or skip."""
    text = sdl()
    assert "offset:" not in text
    assert "skip:" not in text
