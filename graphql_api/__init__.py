"""The GraphQL API for internal services: reads, the same commands as SCIM, and the event feed.

:func:`graphql_routes` mounts it (``/graphql``, HTTP and WebSocket); :data:`schema` is the
strawberry schema, exported as ``schema.graphql``.
"""

from __future__ import annotations

from graphql_api.app import GraphQLSettings, graphql_routes
from graphql_api.permissions import Scope
from graphql_api.schema import schema

__all__ = ["GraphQLSettings", "Scope", "graphql_routes", "schema"]
