"""The extension schema document (RFC 7643 §7) as the domain reads it: what it accepts, what it
refuses and how, and how an extension widens a tenant's schemas."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from identity_store.domain.errors import InvalidValue
from identity_store.domain.extensions import (
    ExtendedType,
    TenantSchemas,
    extension_key,
    extension_urn,
    parse_extension,
    schema_document,
)
from identity_store.domain.schema import AttributeType, Returned
from identity_store.domain.values import canonical_attributes

ACME = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"


def test_the_resource_type_is_read_from_the_urns_last_segment() -> None:
    assert parse_extension({"id": ACME, "attributes": [{"name": "a"}]}).extends is ExtendedType.USER
    group = parse_extension({"id": "urn:x:Acme:2.0:Group", "attributes": [{"name": "a"}]})
    assert group.extends is ExtendedType.GROUP
    named = parse_extension({"id": "urn:x:acme:teams", "attributes": [{"name": "a"}]}, extends="group")
    assert named.extends is ExtendedType.GROUP


def test_characteristics_default_as_rfc_7643_section_7_says() -> None:
    """type string, single-valued, caseExact false, readWrite, returned default (RFC 7643 §2.2)."""
    [attribute] = parse_extension({"id": ACME, "attributes": [{"name": "costCenter"}]}).attributes
    assert attribute.type is AttributeType.STRING
    assert not attribute.multi_valued
    assert not attribute.case_exact
    assert attribute.returned is Returned.DEFAULT


def test_the_domain_key_is_the_urn_without_dots_and_reversible() -> None:
    """A stored field name cannot hold a dot; the key is injective and names the URN back."""
    assert extension_key(ACME) == "urn:ietf:params:scim:schemas:extension:Acme:2%2E0:User"
    assert extension_urn(extension_key("urn:a:b%2E.c")) == "urn:a:b%2E.c"
    assert extension_key("urn:a:b%2E.c") != extension_key("urn:a:b..c")


def test_an_extension_is_validated_as_a_complex_attribute_of_the_resource() -> None:
    extension = parse_extension({"id": ACME, "attributes": [{"name": "floor", "type": "integer"}]})
    schema = TenantSchemas.of([extension]).user
    assert canonical_attributes(schema, {"userName": "a", extension.key: {"FLOOR": 3}}) == {
        "userName": "a",
        extension.key: {"floor": 3},
    }
    with pytest.raises(InvalidValue):
        canonical_attributes(schema, {"userName": "a", extension.key: {"floor": "3"}})


def test_the_schema_document_round_trips() -> None:
    document: dict[str, Any] = {
        "id": ACME,
        "name": "AcmeUser",
        "description": "d",
        "attributes": [
            {"name": "badge", "type": "complex", "subAttributes": [{"name": "number", "description": "n"}]},
            {"name": "tags", "multiValued": True, "canonicalValues": ["a", "b"]},
        ],
    }
    shown = schema_document(parse_extension(document))
    assert parse_extension(shown) == parse_extension(document)
    assert shown["attributes"][0]["subAttributes"][0]["description"] == "n"  # type: ignore[index,call-overload]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "id",
        "name",
        "type",
        "attributes",
        "subAttributes",
        "multiValued",
        "caseExact",
        "mutability",
        "returned",
        "uniqueness",
        "canonicalValues",
        "referenceTypes",
        "required",
        "description",
    ]
)
_attribute = st.dictionaries(_keys, _json | st.sampled_from(["string", "complex", "integer", "costCenter"]), max_size=6)
_document = st.fixed_dictionaries(
    {"id": st.sampled_from([ACME, "urn:x", "", 7, "urn:ietf:params:scim:schemas:core:2.0:User"])},
    optional={"attributes": st.lists(_attribute | _json, max_size=3), "name": _json, "description": _json},
)


@settings(max_examples=300, deadline=None)
@given(document=_document | _json)
def test_any_json_is_an_extension_or_an_invalid_value_never_another_error(document: Any) -> None:
    refused: InvalidValue | None = None
    try:
        parse_extension(document)
    except InvalidValue as error:
        refused = error
    assert refused is None or refused.message
