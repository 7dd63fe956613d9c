"""Arguments that many fields share, described once so every field says the same thing.

The Relay arguments of every connection field (``first``/``after`` forwards, ``last``/``before``
backwards; :mod:`graphql_api.pagination`), the ``ifVersion`` of mutations, and the global ids
they take.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry
from strawberry import relay

from graphql_api.cost import DEFAULT_MAX_NODES
from graphql_api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = ["PAGE_LIMITS", "After", "Before", "First", "GroupId", "IfVersion", "Last", "UserId"]

#: What every page size argument must respect, said once.
PAGE_LIMITS = (
    f"1 to {MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}. The page size counts toward the operation's node "
    f"limit (by default {DEFAULT_MAX_NODES:,} nodes, priced before it runs; QUERY_TOO_COSTLY above it)."
)

First: TypeAlias = Annotated[
    int | None,
    strawberry.argument(
        description=f"Page forwards: at most this many items after `after` ({PAGE_LIMITS} Not with last."
    ),
]
After: TypeAlias = Annotated[
    str | None,
    strawberry.argument(
        description="Start after this cursor (an edge's cursor or pageInfo.endCursor, opaque); "
        "null: from the start. Not with before."
    ),
]
Last: TypeAlias = Annotated[
    int | None,
    strawberry.argument(
        description=f"Page backwards: at most this many items before `before` ({PAGE_LIMITS} Not with first."
    ),
]
Before: TypeAlias = Annotated[
    str | None,
    strawberry.argument(
        description="End before this cursor (an edge's cursor or pageInfo.startCursor, opaque); "
        "with last and no before: the last items. Not with after."
    ),
]
IfVersion: TypeAlias = Annotated[
    int | None,
    strawberry.argument(
        description="Change only if the object's version is still this one, else a VersionConflictError "
        "and nothing changes; null: change whatever the version."
    ),
]
UserId: TypeAlias = Annotated[relay.GlobalID, strawberry.argument(description="The user's global id (User.id).")]
GroupId: TypeAlias = Annotated[relay.GlobalID, strawberry.argument(description="The group's global id (Group.id).")]
