"""The group aggregate (RFC 7643 §4.2). Its members are :mod:`memberships`, not attributes."""

from __future__ import annotations

from dataclasses import dataclass

from identity_store.domain.resources import Meta
from identity_store.domain.values import Attributes

__all__ = ["Group"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A group of one tenant: ``displayName``, ``externalId``; members are kept apart."""

    id: str
    tenant_id: str
    attributes: Attributes
    meta: Meta

    @property
    def version(self) -> int:
        return self.meta.version

    @property
    def display_name(self) -> str:
        value = self.attributes.get("displayName")
        return value if isinstance(value, str) else ""

    @property
    def external_id(self) -> str | None:
        value = self.attributes.get("externalId")
        return value if isinstance(value, str) else None
