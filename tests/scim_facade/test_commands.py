"""SCIM bodies become domain commands (RFC 7644 §3.3, §3.5.1, §3.5.2, §3.6): pure translation,
no database and no HTTP; the HTTP tests check that the endpoints and Bulk send these commands."""

from __future__ import annotations

import pytest

from identity_store import CreateGroup, DeleteGroup, DeleteUser, PatchGroup, PatchUser, ReplaceUser
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath, PatchPolicy
from scim_facade import commands
from scim_facade.errors import ScimError
from tests.scim_facade.conftest import ENTERPRISE_URN, GROUP_URN, USER_URN, patch_body

LENIENT = PatchPolicy(create_unmatched=True, remove_by_value=True, lenient_values=True)
STRICT = PatchPolicy(create_unmatched=False, remove_by_value=False, lenient_values=False)


def test_a_user_body_moves_the_enterprise_extension_and_drops_server_keys() -> None:
    """The extension lives under ``enterprise``; ``id`` and ``meta`` are the server's (RFC 7643 §3.1)."""
    body = {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "id": "chosen-by-client",
        "meta": {"version": 'W/"9"'},
        "userName": "alice",
        ENTERPRISE_URN: {"department": "R&D"},
    }
    command = commands.create_user(body, LENIENT)
    assert command.attributes["userName"] == "alice"
    assert command.attributes["enterprise"] == {"department": "R&D"}
    assert "id" not in command.attributes
    assert "meta" not in command.attributes


def test_entra_string_booleans_are_booleans_for_a_lenient_tenant() -> None:
    """Entra sends ``"active": "False"``; a tenant that is not strict RFC reads it as false."""
    command = commands.create_user({"schemas": [USER_URN], "userName": "a", "active": "False"}, LENIENT)
    assert command.attributes["active"] is False


def test_a_strict_tenant_refuses_an_unknown_schema() -> None:
    """RFC 7643 §3: a schema URN the service does not know is ``invalidValue`` for a strict tenant."""
    with pytest.raises(ScimError) as raised:
        commands.create_user({"schemas": [USER_URN, "urn:example:other"], "userName": "a"}, STRICT)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidValue")


def test_replace_carries_the_id_and_the_expected_version() -> None:
    """PUT is conditional on If-Match when one was sent (RFC 7644 §3.14)."""
    command = commands.replace_user("u1", {"schemas": [USER_URN], "userName": "a"}, LENIENT, 4)
    assert command == ReplaceUser(user_id="u1", attributes={"userName": "a"}, expected_version=4)


def test_a_group_body_separates_members_from_attributes() -> None:
    """Members are memberships, not an attribute of the group document."""
    body = {"schemas": [GROUP_URN], "displayName": "ops", "members": [{"value": "u1"}, {"value": "u2"}]}
    assert commands.create_group(body, LENIENT) == CreateGroup(
        attributes={"displayName": "ops"}, member_ids=("u1", "u2")
    )


def test_a_member_without_a_string_value_is_invalid_value() -> None:
    """Each member is ``{"value": id}`` (RFC 7643 §4.2)."""
    with pytest.raises(ScimError) as raised:
        commands.create_group({"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": 3}]}, LENIENT)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidValue")


def test_capitalised_ops_are_the_same_ops() -> None:
    """Entra sends ``"op": "Replace"``; op names are case-insensitive."""
    command = commands.patch_user("u1", patch_body({"op": "Replace", "path": "displayName", "value": "A"}), LENIENT)
    assert command == PatchUser(
        user_id="u1",
        operations=(PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value="A"),),
    )


def test_a_path_less_replace_reads_entra_string_booleans() -> None:
    """Entra's path-less replace with a ``"False"`` string sets ``active`` to false."""
    command = commands.patch_user("u1", patch_body({"op": "replace", "value": {"active": "False"}}), LENIENT)
    assert [(o.op, o.path, o.value) for o in command.operations] == [(PatchOp.REPLACE, None, {"active": False})]


def test_remove_without_a_path_on_a_group_is_no_target() -> None:
    """RFC 7644 §3.5.2.2: remove needs a path."""
    with pytest.raises(ScimError) as raised:
        commands.patch_group("g1", patch_body({"op": "remove"}), LENIENT)
    assert (raised.value.status, raised.value.scim_type) == (400, "noTarget")


def test_member_operations_become_ids_to_add_and_remove() -> None:
    """``members`` operations never become attribute operations: they name member ids."""
    body = patch_body(
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
        {"op": "remove", "path": 'members[value eq "u2"]'},
        {"op": "replace", "path": "displayName", "value": "ops"},
    )
    command = commands.patch_group("g1", body, LENIENT, 7)
    assert command == PatchGroup(
        group_id="g1",
        operations=(PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value="ops"),),
        add_member_ids=("u1",),
        remove_member_ids=("u2",),
        remove_all_members=False,
        expected_version=7,
    )


def test_entra_removes_members_by_value_unless_the_tenant_is_strict() -> None:
    """Entra's ``remove`` on ``members`` with a value removes those members; a strict tenant gets
    400 rather than the RFC reading (remove every member), so no group is emptied by it."""
    body = patch_body({"op": "Remove", "path": "members", "value": [{"value": "u1"}]})
    assert commands.patch_group("g1", body, LENIENT).remove_member_ids == ("u1",)
    with pytest.raises(ScimError) as raised:
        commands.patch_group("g1", body, STRICT)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidValue")


def test_replacing_members_clears_them_first() -> None:
    """``replace`` on ``members`` sets the members to those named."""
    command = commands.patch_group(
        "g1", patch_body({"op": "replace", "path": "members", "value": [{"value": "u3"}]}), LENIENT
    )
    assert command.remove_all_members is True
    assert command.add_member_ids == ("u3",)


def test_delete_is_conditional_only_when_asked() -> None:
    """DELETE (RFC 7644 §3.6) carries If-Match's version, or none."""
    assert commands.delete_user("u1") == DeleteUser(user_id="u1", expected_version=None)
    assert commands.delete_group("g1", 3) == DeleteGroup(group_id="g1", expected_version=3)
