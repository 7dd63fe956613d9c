"""The user aggregate (RFC 7643 §4.1 core attributes plus the enterprise extension, §4.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from identity_store.domain.resources import Meta
from identity_store.domain.schema import ENTERPRISE
from identity_store.domain.values import JSON, Attributes

__all__ = ["User"]


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A user of one tenant.

    ``attributes`` holds every provisioned attribute under its canonical name, values exactly as
    received. The password, when one was given, is kept only as ``password_hash`` and never
    appears in ``attributes``.
    """

    id: str
    tenant_id: str
    attributes: Attributes
    meta: Meta
    password_hash: str | None = field(default=None, repr=False)

    @property
    def version(self) -> int:
        return self.meta.version

    @property
    def user_name(self) -> str:
        value = self.attributes.get("userName")
        return value if isinstance(value, str) else ""

    @property
    def active(self) -> bool:
        """RFC 7643 leaves a missing ``active`` undefined; a user is active unless told otherwise."""
        return self.attributes.get("active") is not False

    @property
    def external_id(self) -> str | None:
        value = self.attributes.get("externalId")
        return value if isinstance(value, str) else None

    @property
    def enterprise(self) -> Mapping[str, JSON]:
        value = self.attributes.get(ENTERPRISE)
        return value if isinstance(value, dict) else {}

    @property
    def manager_id(self) -> str | None:
        manager = self.enterprise.get("manager")
        value = manager.get("value") if isinstance(manager, dict) else None
        return value if isinstance(value, str) and value else None

    def attributes_with_manager(self, manager_id: str) -> Attributes:
        """The attributes with ``manager_id`` as the manager, the rest of the extension kept."""
        return {**self.attributes, ENTERPRISE: {**self.enterprise, "manager": {"value": manager_id}}}

    def attributes_without_manager(self) -> Attributes:
        """The attributes with no manager; an enterprise extension it leaves empty goes too."""
        attributes = dict(self.attributes)
        enterprise = dict(self.enterprise)
        enterprise.pop("manager", None)
        if enterprise:
            attributes[ENTERPRISE] = enterprise
        else:
            attributes.pop(ENTERPRISE, None)
        return attributes

    @property
    def roles(self) -> list[Mapping[str, JSON]]:
        value = self.attributes.get("roles")
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
