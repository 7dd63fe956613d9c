"""The equalities an ``$elemMatch`` implies, matched first so that any planner can use an index."""

from __future__ import annotations

from identity_store.mongo.filters import hidden_equalities


def test_an_element_match_implies_an_equality_on_its_value() -> None:
    """``emails[type eq "work" and value eq "x"]`` implies ``search.emails.value == "x"``; the type
    is left to the full condition (the index is on the value alone)."""
    query = {
        "tenant": "t",
        "search.emails": {"$elemMatch": {"$and": [{"type": "work"}, {"value": "x"}], "_": {"$exists": False}}},
    }
    assert hidden_equalities(query) == {"search.emails.value": "x"}


def test_conditions_under_and_are_followed() -> None:
    """Every operand of ``$and`` must hold, so what it implies is implied too."""
    query = {"$and": [{"tenant": "t"}, {"search.emails": {"$elemMatch": {"value": "x"}}}]}
    assert hidden_equalities(query) == {"search.emails.value": "x"}


def test_alternatives_and_negations_imply_nothing() -> None:
    """Under ``$or`` or ``$nor`` a document may match without the element: nothing is implied."""
    element = {"search.emails": {"$elemMatch": {"value": "x"}}}
    assert hidden_equalities({"$or": [element, {"search.userName": "y"}]}) == {}
    assert hidden_equalities({"$nor": [element]}) == {}


def test_only_a_scalar_value_counts() -> None:
    """An operator or a null on the value, and conditions on other sub-attributes, imply nothing here."""
    assert hidden_equalities({"search.emails": {"$elemMatch": {"value": {"$regex": "^x"}}}}) == {}
    assert hidden_equalities({"search.emails": {"$elemMatch": {"value": None}}}) == {}
    assert hidden_equalities({"search.emails": {"$elemMatch": {"type": "work", "primary": True}}}) == {}


def test_a_query_without_element_matches_has_none() -> None:
    assert hidden_equalities({"tenant": "t", "search.userName": "x"}) == {}
