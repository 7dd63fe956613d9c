"""Request parameters (RFC 7644 §3.4.2, §3.4.2.5, §3.14): pure parsing, no database, no HTTP."""

from __future__ import annotations

import pytest

from scim_facade.errors import ScimError
from scim_facade.parameters import expected_version, list_parameters, not_modified, sort_path
from scim_facade.resources import group_kind, parse_etag, user_kind

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def test_an_etag_names_a_version_weak_or_strong() -> None:
    """RFC 7644 §3.14: ``W/"3"`` and ``"3"`` both name version 3."""
    assert parse_etag('W/"3"') == 3
    assert parse_etag('"3"') == 3


def test_an_etag_of_no_ascii_version_names_none() -> None:
    """A version is a 64-bit count in ASCII digits: ``W/"²"`` and a huge number name none."""
    assert parse_etag('W/"²"') is None
    assert parse_etag('W/"' + "9" * 30 + '"') is None
    assert parse_etag(3) is None


def test_if_match_star_or_absent_is_unconditional() -> None:
    """RFC 7232 §3.1: ``*`` matches any current version."""
    assert expected_version(None) is None
    assert expected_version(" * ") is None


def test_if_match_takes_the_first_version_it_names() -> None:
    """A list of entity tags: the first that names one of our versions counts."""
    assert expected_version('"x", W/"5", W/"6"') == 5


def test_if_match_naming_no_version_is_412() -> None:
    """No version of ours can match, so the precondition fails (RFC 7232 §3.1)."""
    with pytest.raises(ScimError) as raised:
        expected_version('"nope"')
    assert raised.value.status == 412


def test_if_none_match_with_the_current_version_or_star_is_not_modified() -> None:
    """RFC 7232 §3.2."""
    assert not_modified('W/"2"', 2)
    assert not_modified("*", 2)
    assert not not_modified('W/"1"', 2)
    assert not not_modified(None, 2)


def test_count_is_clamped_to_max_results_and_start_index_to_one() -> None:
    """RFC 7644 §3.4.2.4: a count above the maximum gives the maximum; startIndex < 1 is 1."""
    params = list_parameters({"count": "500", "startIndex": "-3"}, None, user_kind, max_results=200)
    assert (params.count, params.raw_count, params.start_index) == (200, 500, 1)


def test_a_count_that_is_not_an_ascii_integer_is_invalid_value() -> None:
    """``count=²`` is not an integer."""
    with pytest.raises(ScimError) as raised:
        list_parameters({"count": "²"}, None, user_kind, max_results=200)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidValue")


def test_a_search_body_takes_attributes_as_a_list() -> None:
    """RFC 7644 §3.4.3: a SearchRequest names attributes as a JSON array."""
    body = {"schemas": [SEARCH], "attributes": ["userName", "emails.value"], "sortOrder": "descending"}
    params = list_parameters({}, body, user_kind, max_results=200)
    assert params.chosen.include == (("userName",), ("emails", "value"))
    assert params.descending


def test_a_search_body_naming_another_schema_is_invalid_syntax() -> None:
    """A body that is not a SearchRequest is refused."""
    with pytest.raises(ScimError) as raised:
        list_parameters({}, {"schemas": ["urn:example:other"]}, user_kind, max_results=200)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidSyntax")


def test_attributes_win_over_excluded_attributes() -> None:
    """RFC 7644 §3.4.2.5: when both are given, ``attributes`` is used."""
    params = list_parameters(
        {"attributes": "displayName", "excludedAttributes": "members"}, None, group_kind, max_results=10
    )
    assert params.chosen.include == (("displayName",),)
    assert params.chosen.exclude == ()


def test_an_unknown_attribute_is_invalid_value() -> None:
    """Attributes are resolved against the resource type's schema."""
    with pytest.raises(ScimError) as raised:
        list_parameters({"attributes": "shoeSize"}, None, user_kind, max_results=10)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidValue")


def test_a_cursor_not_issued_here_is_invalid_cursor() -> None:
    """RFC 9865: a cursor holds only what a sealed cursor is made of."""
    with pytest.raises(ScimError) as raised:
        list_parameters({"cursor": "not a cursor!"}, None, user_kind, max_results=10)
    assert raised.value.scim_type == "invalidCursor"


def test_sort_by_meta_and_enterprise_paths() -> None:
    """``sortBy`` names a meta path or a schema attribute, by URN too (RFC 7644 §3.4.2.3)."""
    assert sort_path(user_kind, "meta.lastModified") == ("meta", "lastModified")
    assert sort_path(user_kind, None) is None
    with pytest.raises(ScimError) as raised:
        sort_path(user_kind, "shoeSize")
    assert raised.value.scim_type == "invalidValue"
