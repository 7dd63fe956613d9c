"""Who masters what (identity_store.domain.ownership): the rule alone, without a database."""

from __future__ import annotations

import pytest

from identity_store import Forbidden
from identity_store.domain.ownership import check_change, check_claim


def test_an_object_without_an_external_id_is_anyones_to_change() -> None:
    """No externalId: not provisioned by Entra, so no right is needed."""
    check_change(False, None, ["displayName"], what="user")
    check_change(False, None, what="group")


def test_a_provisioned_object_as_a_whole_needs_the_right() -> None:
    """Deactivating, deleting or changing members of an Entra object needs write:provisioned."""
    with pytest.raises(Forbidden, match="write:provisioned"):
        check_change(False, "entra-1", what="group")
    check_change(True, "entra-1", what="group")


def test_roles_of_a_provisioned_user_stay_the_services() -> None:
    """Internal services own a user's roles; every other attribute of an Entra user is Entra's."""
    check_change(False, "entra-1", ["roles"], what="user")
    with pytest.raises(Forbidden, match="title"):
        check_change(False, "entra-1", ["roles", "title"], what="user")


def test_roles_are_not_exempt_on_a_group() -> None:
    """The exemption is the user's roles only."""
    with pytest.raises(Forbidden):
        check_change(False, "entra-1", ["roles"], what="group")


def test_setting_or_changing_an_external_id_claims_the_object() -> None:
    """A new or different externalId hands the object to Entra: it needs the right; keeping it does not."""
    with pytest.raises(Forbidden, match="externalId"):
        check_claim(False, None, "entra-1")
    with pytest.raises(Forbidden):
        check_claim(False, "entra-1", "entra-2")
    check_claim(False, "entra-1", "entra-1")
    check_claim(False, "entra-1", None)
    check_claim(True, None, "entra-1")
