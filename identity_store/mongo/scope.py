"""Tenant scoping by construction: the one place that writes the ``tenant`` key of a query.

Every tenant collection (users, groups, memberships, events, credentials, OAuth clients, pending
fan-outs) leads each document and each index with ``tenant``; that is what keeps one tenant's
data out of another's answers, and what a tenant-prefixed shard key needs. A repository never
writes the key itself: it is handed a :class:`TenantScope` bound to one tenant and passes every
filter, update filter, inserted document and aggregation stage through it, including the
sub-pipelines of ``$lookup`` and the ``restrictSearchWithMatch`` of ``$graphLookup``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TENANT", "TenantScope"]

Document = dict[str, Any]

#: The field every tenant document and index leads with.
TENANT = "tenant"


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Builds queries and stages of one tenant; nothing built through it can reach another."""

    tenant_id: str

    def filter(self, condition: Document | None = None) -> Document:
        """``condition`` restricted to the tenant (the tenant first: every index leads with it)."""
        return {TENANT: self.tenant_id, **(condition or {})}

    def document(self, document: Document) -> Document:
        """A document to insert, stamped with the tenant (a mapper's own stamp must agree)."""
        stamped = document.get(TENANT, self.tenant_id)
        if stamped != self.tenant_id:
            raise ValueError("a document of another tenant cannot be written through this scope")
        return {**document, TENANT: self.tenant_id}

    def match(self, condition: Document | None = None) -> Document:
        """A ``$match`` stage of the tenant."""
        return {"$match": self.filter(condition)}

    def lookup(
        self,
        *,
        from_: str,
        local_field: str,
        foreign_field: str,
        pipeline: Sequence[Document] = (),
        as_: str,
        condition: Document | None = None,
    ) -> Document:
        """A ``$lookup`` whose sub-pipeline starts by keeping the tenant's documents only."""
        return {
            "$lookup": {
                "from": from_,
                "localField": local_field,
                "foreignField": foreign_field,
                "pipeline": [self.match(condition), *pipeline],
                "as": as_,
            }
        }

    def graph_lookup(
        self,
        *,
        from_: str,
        start_with: str,
        connect_from: str,
        connect_to: str,
        as_: str,
        max_depth: int,
        condition: Document | None = None,
    ) -> Document:
        """A ``$graphLookup`` that follows the tenant's documents only."""
        return {
            "$graphLookup": {
                "from": from_,
                "startWith": start_with,
                "connectFromField": connect_from,
                "connectToField": connect_to,
                "as": as_,
                "restrictSearchWithMatch": self.filter(condition),
                "maxDepth": max_depth,
            }
        }
