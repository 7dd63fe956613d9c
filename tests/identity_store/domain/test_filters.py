"""The neutral filter model's rules (RFC 7644 §3.4.2.2), evaluated in memory."""

from __future__ import annotations

import pytest

from identity_store.domain.errors import InvalidPath, InvalidValue
from identity_store.domain.filters import (
    And,
    Compare,
    ElementMatch,
    Filter,
    Not,
    Operator,
    Present,
    evaluate,
    resolve_filter,
)
from identity_store.domain.schema import USER_SCHEMA, Attribute, AttributeType, ResourceSchema
from identity_store.domain.values import JSON

USER: dict[str, JSON] = {
    "id": "42",
    "userName": "BJensen",
    "externalId": "Ext-1",
    "active": True,
    "emails": [{"type": "work", "value": "bjensen@Example.com"}, {"type": "home", "value": "babs@home.example"}],
}


def matches(node: Filter) -> bool:
    return evaluate(USER_SCHEMA, resolve_filter(USER_SCHEMA, node), USER)


def test_case_insensitive_attributes_compare_case_insensitively() -> None:
    """userName is caseExact false (RFC 7643 §4.1.1)."""
    assert matches(Compare(path=("USERNAME",), op=Operator.EQ, value="bjensen"))


def test_case_exact_attributes_compare_exactly() -> None:
    """externalId is caseExact true (RFC 7643 §3.1)."""
    assert not matches(Compare(path=("externalId",), op=Operator.EQ, value="ext-1"))
    assert matches(Compare(path=("externalId",), op=Operator.EQ, value="Ext-1"))


def test_a_multi_valued_comparison_holds_when_any_value_matches() -> None:
    assert matches(Compare(path=("emails", "value"), op=Operator.EW, value="@HOME.example"))


def test_a_value_filter_needs_one_element_to_satisfy_all_of_it() -> None:
    home = Compare(path=("type",), op=Operator.EQ, value="home")
    assert not matches(
        ElementMatch(
            path=("emails",), filter=And((home, Compare(path=("value",), op=Operator.CO, value="example.com")))
        )
    )
    assert matches(
        ElementMatch(path=("emails",), filter=And((home, Compare(path=("value",), op=Operator.SW, value="babs"))))
    )


def test_a_multi_valued_complex_attribute_compares_its_value() -> None:
    """§3.4.2.2: "emails co x" compares the value sub-attribute."""
    assert matches(Compare(path=("emails",), op=Operator.CO, value="bjensen@"))


def test_presence_not_and_ne() -> None:
    assert matches(Present(path=("emails",)))
    assert not matches(Present(path=("title",)))
    assert matches(Not(Present(path=("title",))))
    assert matches(Compare(path=("title",), op=Operator.NE, value="x"))


def test_unknown_attributes_are_invalid_paths() -> None:
    with pytest.raises(InvalidPath):
        matches(Compare(path=("shoeSize",), op=Operator.EQ, value="44"))


def test_ordering_a_boolean_is_invalid() -> None:
    with pytest.raises(InvalidValue):
        matches(Compare(path=("active",), op=Operator.GT, value=True))


def test_meta_dates_compare_as_dates() -> None:
    resource: dict[str, JSON] = {**USER, "meta": {"lastModified": "2026-01-02T00:00:00Z"}}
    node = resolve_filter(
        USER_SCHEMA, Compare(path=("meta", "lastModified"), op=Operator.GT, value="2026-01-01T00:00:00Z")
    )
    assert evaluate(USER_SCHEMA, node, resource)


_NUMBERS = ResourceSchema(
    "T", (Attribute(name="n", type=AttributeType.INTEGER), Attribute(name="s", type=AttributeType.STRING))
)


@pytest.mark.parametrize(
    ("path", "value"), [("s", "a\ud800"), ("s", "\udfff"), ("n", 2**63), ("n", -(2**63) - 1), ("n", float("inf"))]
)
def test_values_the_store_cannot_compare_are_invalid(path: str, value: str | float) -> None:
    """A comparison with a lone surrogate, or a number beyond 64 bits or infinite, is refused when resolved."""
    with pytest.raises(InvalidValue, match=r"surrogate|out of range"):
        resolve_filter(_NUMBERS, Compare(path=(path,), op=Operator.EQ, value=value))
    assert resolve_filter(_NUMBERS, Compare(path=("n",), op=Operator.GT, value=2**63 - 1))
