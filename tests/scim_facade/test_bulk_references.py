"""Bulk ``bulkId`` references (RFC 7644 §3.7.2), resolved without a database."""

from __future__ import annotations

import pytest

from scim_facade.bulk import Unresolved, references, substitute


def test_references_are_found_anywhere_in_data_and_path() -> None:
    """A ``"bulkId:<id>"`` value counts wherever it stands in ``data``, however deep; a plain
    string is no reference."""
    operation = ["/Groups", {"members": [{"value": "bulkId:u1"}, {"value": "plain"}], "x": {"y": "bulkId:u2"}}]
    assert references(operation) == {"u1", "u2"}


def test_substitution_replaces_each_reference_by_the_created_id() -> None:
    """Every reference stands for the id of the resource created under that bulkId."""
    data = {"members": [{"value": "bulkId:u1"}], "displayName": "bulkId-like but not one"}
    assert substitute(data, {"u1": "id-1"}) == {
        "members": [{"value": "id-1"}],
        "displayName": "bulkId-like but not one",
    }


def test_a_reference_to_nothing_created_is_unresolved() -> None:
    """An operation naming a bulkId not created yet waits (or, in the end, fails with 409)."""
    with pytest.raises(Unresolved) as raised:
        substitute({"value": "bulkId:missing"}, {})
    assert raised.value.bulk_id == "missing"
