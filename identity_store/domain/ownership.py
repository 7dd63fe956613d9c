"""Who masters what: what Microsoft Entra ID provisions is Entra's to change.

Entra provisions users and groups over SCIM and overwrites what it provisions on its next cycle.
An object that carries an ``externalId`` (Entra's key) is therefore Entra's: its attributes, its
state (deactivate, reactivate, delete) and, for a group, its members may be changed only by an
actor that may change provisioned objects (Entra itself, the command line, a GraphQL key with
the ``write:provisioned`` scope), except a user's ``roles``, which internal services own. Setting
an ``externalId`` claims an object for Entra and needs the same right.

The handlers apply this to the state they read inside the transaction that writes, so no
change can slip between the check and the write.
"""

from __future__ import annotations

from collections.abc import Iterable

from identity_store.domain.errors import Forbidden

__all__ = ["SERVICE_OWNED_USER_ATTRIBUTES", "check_change", "check_claim"]

#: User attributes internal services own; every other attribute of an Entra user is Entra's.
SERVICE_OWNED_USER_ATTRIBUTES = frozenset({"roles"})

_RIGHT = "write:provisioned"


def check_change(
    may_change_provisioned: bool, external_id: str | None, touched: Iterable[str] | None = None, *, what: str
) -> None:
    """Refuse a change of a provisioned object by an actor without the right. ``touched`` names the
    attributes written (``None``: the object as a whole, such as its state or its members)."""
    if may_change_provisioned or external_id is None:
        return
    if touched is None:
        raise Forbidden(f"changing a {what} provisioned by Entra ID needs the {_RIGHT} scope (Entra ID masters it)")
    mastered = sorted(set(touched) - SERVICE_OWNED_USER_ATTRIBUTES) if what == "user" else sorted(set(touched))
    if mastered:
        raise Forbidden(
            f"changing {', '.join(mastered)} of a {what} provisioned by Entra ID needs the {_RIGHT} scope "
            "(Entra ID masters it)"
        )


def check_claim(may_change_provisioned: bool, before: str | None, after: str | None) -> None:
    """Setting or changing an ``externalId`` claims the object for Entra: it needs the same right."""
    if not may_change_provisioned and after is not None and after != before:
        raise Forbidden(f"setting externalId needs the {_RIGHT} scope (it hands the object to Entra ID)")
