"""The PATCH engine's rules (RFC 7644 §3.5.2), with no database: pure functions of the attributes."""

from __future__ import annotations

import pytest

from identity_store.domain.errors import InvalidPath, InvalidValue, NoTarget
from identity_store.domain.filters import And, Compare, Operator
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath, PatchPolicy, apply_patch
from identity_store.domain.schema import USER_SCHEMA
from identity_store.domain.values import JSON

STRICT = PatchPolicy(create_unmatched=False, remove_by_value=False)
ENTRA = PatchPolicy()
WORK = Compare(path=("type",), op=Operator.EQ, value="work")


def patch(attributes: dict[str, JSON], *operations: PatchOperation, policy: PatchPolicy = ENTRA) -> dict[str, JSON]:
    return apply_patch(USER_SCHEMA, attributes, operations, policy)


def op(
    kind: PatchOp, *attribute: str, value: JSON = None, where: object = None, sub: str | None = None
) -> PatchOperation:
    path = PatchPath(attribute=attribute, element_filter=where, sub_attribute=sub)  # type: ignore[arg-type]
    return PatchOperation(op=kind, path=path, value=value)


def test_add_to_a_multi_valued_attribute_appends_without_duplicates() -> None:
    """§3.5.2.1: values are added to a multi-valued attribute; an existing equal value is not repeated."""
    before: dict[str, JSON] = {"userName": "u", "emails": [{"value": "a@x"}]}
    after = patch(before, op(PatchOp.ADD, "emails", value=[{"value": "a@x"}, {"value": "b@x"}]))
    assert after["emails"] == [{"value": "a@x"}, {"value": "b@x"}]
    assert before["emails"] == [{"value": "a@x"}], "the input is never modified"


def test_replace_of_a_complex_attribute_keeps_unmentioned_sub_attributes() -> None:
    """§3.5.2.3: sub-attributes not in the value are left unchanged."""
    after = patch(
        {"userName": "u", "name": {"givenName": "A", "familyName": "B"}},
        op(PatchOp.REPLACE, "name", value={"givenName": "C"}),
    )
    assert after["name"] == {"givenName": "C", "familyName": "B"}


def test_replace_through_a_value_filter_changes_only_matching_elements() -> None:
    before: dict[str, JSON] = {
        "userName": "u",
        "emails": [{"type": "work", "value": "old@w"}, {"type": "home", "value": "h@h"}],
    }
    after = patch(before, op(PatchOp.REPLACE, "emails", value="new@w", where=WORK, sub="value"))
    assert after["emails"] == [{"type": "work", "value": "new@w"}, {"type": "home", "value": "h@h"}]


def test_an_unmatched_filter_creates_the_element_by_default() -> None:
    """Entra habit: add/replace on emails[type eq "work"].value with no work email creates it."""
    after = patch({"userName": "u"}, op(PatchOp.REPLACE, "emails", value="w@w", where=WORK, sub="value"))
    assert after["emails"] == [{"type": "work", "value": "w@w"}]


def test_an_unmatched_filter_is_no_target_under_strict_rfc() -> None:
    """§3.5.2.3: no match for a value filter is 400 noTarget."""
    with pytest.raises(NoTarget):
        patch({"userName": "u"}, op(PatchOp.REPLACE, "emails", value="w@w", where=WORK, sub="value"), policy=STRICT)


def test_remove_with_a_value_removes_those_values_by_default() -> None:
    """Entra habit: remove on a multi-valued path with a value removes the listed values only."""
    before: dict[str, JSON] = {"userName": "u", "roles": [{"value": "a"}, {"value": "b"}]}
    assert patch(before, op(PatchOp.REMOVE, "roles", value=[{"value": "a"}]))["roles"] == [{"value": "b"}]
    assert "roles" not in patch(before, op(PatchOp.REMOVE, "roles", value=[{"value": "a"}]), policy=STRICT)


def test_remove_without_a_path_is_no_target() -> None:
    """§3.5.2.2: remove needs a path."""
    with pytest.raises(NoTarget):
        patch({"userName": "u"}, PatchOperation(op=PatchOp.REMOVE))


def test_a_required_attribute_cannot_be_removed() -> None:
    with pytest.raises(InvalidValue):
        patch({"userName": "u"}, op(PatchOp.REMOVE, "userName"))


def test_a_read_only_attribute_cannot_be_targeted() -> None:
    """§3.5.2: modifying a readOnly attribute is a mutability error."""
    with pytest.raises(InvalidValue) as raised:
        patch({"userName": "u"}, op(PatchOp.ADD, "groups", value=[{"value": "g"}]))
    assert raised.value.mutability


def test_an_unknown_attribute_is_an_invalid_path() -> None:
    with pytest.raises(InvalidPath):
        patch({"userName": "u"}, op(PatchOp.REPLACE, "shoeSize", value="44"))


def test_a_value_of_the_wrong_type_is_invalid() -> None:
    with pytest.raises(InvalidValue):
        patch({"userName": "u"}, op(PatchOp.REPLACE, "active", value="yes"))


def test_replace_with_nothing_unassigns() -> None:
    """RFC 7643 §2.5: an empty value is unassigned."""
    assert "title" not in patch({"userName": "u", "title": "T"}, op(PatchOp.REPLACE, "title", value=""))


def test_enterprise_sub_attributes_are_patched_in_place() -> None:
    before: dict[str, JSON] = {"userName": "u", "enterprise": {"department": "A", "manager": {"value": "m1"}}}
    after = patch(before, op(PatchOp.REPLACE, "enterprise", "department", value="B"))
    assert after["enterprise"] == {"department": "B", "manager": {"value": "m1"}}


def test_a_filter_with_and_creates_an_element_holding_every_equality() -> None:
    both = And((WORK, Compare(path=("primary",), op=Operator.EQ, value=True)))
    after = patch({"userName": "u"}, op(PatchOp.ADD, "addresses", value="Main St 1", where=both, sub="streetAddress"))
    assert after["addresses"] == [{"type": "work", "primary": True, "streetAddress": "Main St 1"}]
