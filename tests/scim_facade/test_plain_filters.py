"""The plainest equality filter, ``attr eq "value"``, read without scim2-models' parser: the tree
must be the one scim2-models builds, and anything else must be left to it."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from scim2_models import ScimFilter

from scim_facade.errors import ScimError
from scim_facade.filters import parse, plain_equality

_NAMES = st.from_regex(r"\$?[A-Za-z][A-Za-z0-9$_-]{0,12}", fullmatch=True)
_PLAIN_VALUES = st.text(
    st.characters(exclude_characters='"\\', categories=["L", "M", "N", "P", "S", "Zs"]), max_size=40
)


@given(attr=_NAMES, sub_attr=st.none() | _NAMES, value=_PLAIN_VALUES)
def test_a_plain_equality_reads_as_scim2_models_reads_it(attr: str, sub_attr: str | None, value: str) -> None:
    """RFC 7644 §3.4.2.2: ``attrPath SP "eq" SP compValue``; the same tree either way."""
    path = attr if sub_attr is None else f"{attr}.{sub_attr}"
    text = f'{path} eq "{value}"'
    expected = ScimFilter(text).ast
    plain = plain_equality(text)
    assert plain is None or plain == expected
    assert parse(text) == expected


@pytest.mark.parametrize("name", ["userName", "externalId", "displayName", "emails.value", "$ref", "members.value"])
def test_the_filters_entra_sends_are_read_plainly(name: str) -> None:
    """The lookups of a provisioning cycle take the plain reading."""
    assert plain_equality(f'{name} eq "someone@example.com"') == ScimFilter(f'{name} eq "someone@example.com"').ast


@pytest.mark.parametrize(
    "text",
    [
        'userName EQ "a"',  # operators are case-insensitive: the grammar's business
        'userName  eq "a"',
        ' userName eq "a"',
        'userName eq "a\\"b"',  # an escape
        'userName eq "a\\u0041"',
        "userName eq 1",
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"',
        'userName ne "a"',
        'eq eq "a"',  # a name that is also a keyword
        'not eq "a"',
        'userName eq "a" and title eq "b"',
        'emails[type eq "work"]',
    ],
)
def test_every_other_filter_is_left_to_scim2_models(text: str) -> None:
    """Only the plainest form is read without the grammar."""
    assert plain_equality(text) is None


@pytest.mark.parametrize("text", ['userName eq "a', 'userName eq "a\tb"', "userName eq", 'eq "a"'])
def test_a_malformed_filter_is_still_refused(text: str) -> None:
    """RFC 7644 §3.12: an invalid filter is a 400 ``invalidFilter``."""
    with pytest.raises(ScimError) as refused:
        parse(text)
    assert refused.value.status == 400
    assert refused.value.scim_type == "invalidFilter"
