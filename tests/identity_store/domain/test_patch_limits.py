"""The PATCH engine at its declared limits: the largest allowed request applies in full, one over is
refused whole (no database; speed is measured in benchmarks, never asserted here)."""

from __future__ import annotations

import pytest

from identity_store.domain.errors import InvalidValue
from identity_store.domain.filters import Compare, Operator
from identity_store.domain.patch import MAX_ELEMENT_VISITS, PatchOp, PatchOperation, PatchPath, apply_patch
from identity_store.domain.schema import USER_SCHEMA, Attribute, AttributeType, ResourceSchema
from identity_store.domain.values import JSON, MAX_VALUES, canonical_attributes

ROLES = PatchPath(attribute=("roles",))


def roles(count: int, prefix: str = "r") -> list[JSON]:
    return [{"value": f"{prefix}{i}"} for i in range(count)]


def add_roles(values: list[JSON]) -> PatchOperation:
    return PatchOperation(op=PatchOp.ADD, path=ROLES, value=values)


def test_adding_the_largest_allowed_number_of_values_applies_them_all() -> None:
    """An add of MAX_VALUES distinct roles keeps every one, in order."""
    after = apply_patch(USER_SCHEMA, {"userName": "u"}, (add_roles(roles(MAX_VALUES)),))
    assert after["roles"] == roles(MAX_VALUES)


def test_adding_present_values_again_changes_nothing_at_the_limit() -> None:
    """§3.5.2.1: values already present are not repeated, so re-adding a full attribute stays within the limit."""
    full = roles(MAX_VALUES)
    after = apply_patch(USER_SCHEMA, {"userName": "u", "roles": full}, (add_roles(list(reversed(full))),))
    assert after["roles"] == full


def test_duplicates_within_one_add_are_added_once() -> None:
    """Equal values (whatever their key order) are one value."""
    value: list[JSON] = [{"value": "a", "display": "A"}, {"display": "A", "value": "a"}]
    after = apply_patch(USER_SCHEMA, {"userName": "u"}, (add_roles(value),))
    assert after["roles"] == [{"value": "a", "display": "A"}]


def test_one_value_over_the_limit_is_refused() -> None:
    """An add that would leave MAX_VALUES + 1 values is invalidValue, and the input is untouched."""
    before: dict[str, JSON] = {"userName": "u", "roles": roles(MAX_VALUES)}
    with pytest.raises(InvalidValue, match="at most"):
        apply_patch(USER_SCHEMA, before, (add_roles([{"value": "one more"}]),))
    assert len(before["roles"]) == MAX_VALUES  # type: ignore[arg-type]


def test_many_small_adds_reach_the_limit_exactly() -> None:
    """A thousand operations adding to one attribute are all applied; the limit counts the result."""
    start = roles(MAX_VALUES - 1000)
    operations = tuple(add_roles([{"value": f"n{i}"}]) for i in range(1000))
    after = apply_patch(USER_SCHEMA, {"userName": "u", "roles": start}, operations)
    assert len(after["roles"]) == MAX_VALUES  # type: ignore[arg-type]
    assert after["roles"][-1] == {"value": "n999"}  # type: ignore[index]
    with pytest.raises(InvalidValue):
        apply_patch(USER_SCHEMA, {"userName": "u", "roles": start}, (*operations, add_roles([{"value": "x"}])))


def test_a_whole_resource_with_too_many_values_is_refused() -> None:
    """Create and replace validate through the same rule: MAX_VALUES + 1 emails is invalidValue."""
    emails = [{"value": f"u{i}@x"} for i in range(MAX_VALUES + 1)]
    with pytest.raises(InvalidValue):
        canonical_attributes(USER_SCHEMA, {"userName": "u", "emails": emails})  # type: ignore[dict-item]
    assert canonical_attributes(USER_SCHEMA, {"userName": "u", "emails": emails[:MAX_VALUES]})  # type: ignore[dict-item]


def test_removing_many_filtered_elements_keeps_the_others() -> None:
    """A remove by filter over a full attribute removes exactly the matching elements."""
    full = roles(MAX_VALUES)
    doomed = Compare(path=("value",), op=Operator.SW, value="r1")
    path = PatchPath(attribute=("roles",), element_filter=doomed)
    after = apply_patch(USER_SCHEMA, {"userName": "u", "roles": full}, (PatchOperation(op=PatchOp.REMOVE, path=path),))
    kept = after["roles"]
    assert isinstance(kept, list)
    assert all(isinstance(r, dict) and not str(r["value"]).startswith("r1") for r in kept)
    assert len(kept) == MAX_VALUES - sum(1 for i in range(MAX_VALUES) if str(i).startswith("1"))


def test_element_operations_are_bounded_per_patch() -> None:
    """Operations on elements visit at most MAX_ELEMENT_VISITS elements per patch; more is refused."""
    full = roles(MAX_VALUES)
    per_operation = len(full)
    allowed = MAX_ELEMENT_VISITS // per_operation

    def display(i: int) -> PatchOperation:
        where = Compare(path=("value",), op=Operator.EQ, value=f"r{i}")
        path = PatchPath(attribute=("roles",), element_filter=where, sub_attribute="display")
        return PatchOperation(op=PatchOp.REPLACE, path=path, value=f"D{i}")

    after = apply_patch(USER_SCHEMA, {"userName": "u", "roles": full}, tuple(display(i) for i in range(allowed)))
    assert after["roles"][allowed - 1] == {"value": f"r{allowed - 1}", "display": f"D{allowed - 1}"}  # type: ignore[index]
    with pytest.raises(InvalidValue, match="split it"):
        apply_patch(USER_SCHEMA, {"userName": "u", "roles": full}, tuple(display(i) for i in range(allowed + 1)))


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, float("inf"), float("nan")])
def test_numbers_the_store_cannot_keep_are_invalid(value: float) -> None:
    """Integers beyond 64 bits and non-finite decimals are not attribute values."""
    schema = ResourceSchema(
        "T", (Attribute(name="n", type=AttributeType.INTEGER), Attribute(name="d", type=AttributeType.DECIMAL))
    )
    name = "d" if isinstance(value, float) else "n"
    with pytest.raises(InvalidValue):
        canonical_attributes(schema, {name: value})
    assert canonical_attributes(schema, {"n": 2**63 - 1, "d": 1.5}) == {"n": 2**63 - 1, "d": 1.5}


def test_strings_with_lone_surrogates_are_invalid() -> None:
    """A lone UTF-16 surrogate is not text (RFC 3629 §3): refused in any string attribute."""
    with pytest.raises(InvalidValue):
        canonical_attributes(USER_SCHEMA, {"userName": "a\ud800"})
    with pytest.raises(InvalidValue):
        apply_patch(USER_SCHEMA, {"userName": "u"}, (add_roles([{"value": "\udfff"}]),))
    assert canonical_attributes(USER_SCHEMA, {"userName": "a😀"}) == {"userName": "a😀"}
