"""GET /Schemas publishes RFC 7643 §8.7.1's User, Group and EnterpriseUser schemas exactly.

The expected schemas are §8.7.1's JSON as transcribed in ``rfc7643_schemas.json``, with the errata,
the service's deviations and its additions that the same file lists, each with its reason.
Characteristics a side leaves out take their §2.2 defaults, and descriptions are compared with runs
of whitespace collapsed, as the RFC's JSON is wrapped at 72 columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.scim_facade.conftest import BASE, ENTERPRISE_URN, GROUP_URN, USER_URN

_RFC: Mapping[str, Any] = json.loads((Path(__file__).parent / "rfc7643_schemas.json").read_text(encoding="utf-8"))
_URNS = [USER_URN, GROUP_URN, ENTERPRISE_URN]

#: RFC 7643 §2.2: what a characteristic is when the representation leaves it out.
_DEFAULTS: Mapping[str, Any] = {
    "required": False,
    "canonicalValues": [],
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}

Flat = dict[str, dict[str, Any]]


def _flat(attributes: Iterable[Mapping[str, Any]], prefix: str = "") -> Flat:
    """Every attribute and sub-attribute by dotted path, with its characteristics (defaults filled)."""
    flat: Flat = {}
    for attribute in attributes:
        path = f"{prefix}{attribute['name']}"
        characteristics = {**_DEFAULTS, **{k: v for k, v in attribute.items() if k != "subAttributes"}}
        characteristics["description"] = " ".join(characteristics["description"].split())
        flat[path] = characteristics
        flat.update(_flat(attribute.get("subAttributes", []), f"{path}."))
    return flat


def _rfc_schema(urn: str) -> Mapping[str, Any]:
    return next(s for s in _RFC["schemas"] if s["id"] == urn)


def _corrections(urn: str) -> list[Mapping[str, Any]]:
    return [c for c in (*_RFC["errata"], *_RFC["deviations"]) if c["schema"] == urn]


def _expected(urn: str) -> Flat:
    """§8.7.1's attributes of ``urn`` with the errata, then the service's deviations, applied."""
    expected = _flat(_rfc_schema(urn)["attributes"])
    for correction in _corrections(urn):
        expected[correction["path"]].update(correction["set"])
        if "description" in correction["set"]:
            expected[correction["path"]]["description"] = " ".join(correction["set"]["description"].split())
    return expected


async def _served(client: httpx.AsyncClient, urn: str) -> Mapping[str, Any]:
    response = await client.get(f"/Schemas/{urn}")
    assert response.status_code == 200
    body: Mapping[str, Any] = response.json()
    return body


@pytest.mark.parametrize("urn", _URNS)
async def test_every_attribute_of_the_rfc_is_published_with_its_characteristics(
    client: httpx.AsyncClient, urn: str
) -> None:
    """§8.7.1: names, types, sub-attributes, multiValued, canonicalValues, referenceTypes,
    mutability, returned, uniqueness, caseExact, required and description, one by one."""
    served = _flat((await _served(client, urn))["attributes"])
    differences = {
        f"{path}.{characteristic}": {"rfc": value, "served": served.get(path, {}).get(characteristic, "<absent>")}
        for path, characteristics in _expected(urn).items()
        for characteristic, value in characteristics.items()
        if served.get(path, {}).get(characteristic, "<absent>") != value
    }
    assert differences == {}


@pytest.mark.parametrize("urn", _URNS)
async def test_no_attribute_is_published_beyond_the_rfc_but_the_listed_additions(
    client: httpx.AsyncClient, urn: str
) -> None:
    """Whatever the service adds to §8.7.1 is an attribute it has, and is listed with its reason."""
    served = _flat((await _served(client, urn))["attributes"])
    additions = {a["path"] for a in _RFC["additions"] if a["schema"] == urn}
    assert set(served) - set(_expected(urn)) == additions


@pytest.mark.parametrize("urn", _URNS)
async def test_the_schema_is_named_and_described_as_in_the_rfc(client: httpx.AsyncClient, urn: str) -> None:
    """§7 and §8.7.1: id, name and description; meta names the Schema resource where it is served."""
    served = await _served(client, urn)
    rfc = _rfc_schema(urn)
    assert (served["id"], served["name"], served["description"]) == (rfc["id"], rfc["name"], rfc["description"])
    assert served["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert served["meta"] == {"resourceType": "Schema", "location": f"{BASE}/Schemas/{urn}"}


@pytest.mark.parametrize("urn", _URNS)
async def test_every_reference_names_what_it_refers_to(client: httpx.AsyncClient, urn: str) -> None:
    """§7: a reference's referenceTypes say whether it holds a URI of a resource type or an
    external one, which is how a client tells a ``$ref`` from an id."""
    served = _flat((await _served(client, urn))["attributes"])
    references = {path: a.get("referenceTypes") for path, a in served.items() if a["type"] == "reference"}
    assert references
    assert all(types for types in references.values()), references


@pytest.mark.parametrize("urn", _URNS)
async def test_complex_and_boolean_attributes_carry_no_case_or_uniqueness(client: httpx.AsyncClient, urn: str) -> None:
    """Erratum 6004: uniqueness does not apply to complex attributes, nor caseExact to them or to
    booleans; §8.7.1 leaves both out of the booleans."""

    def walk(attributes: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
        for attribute in attributes:
            yield attribute
            yield from walk(attribute.get("subAttributes", []))

    uncompared = [a for a in walk((await _served(client, urn))["attributes"]) if a["type"] in ("complex", "boolean")]
    assert uncompared
    assert [a["name"] for a in uncompared if "caseExact" in a or "uniqueness" in a] == []


def test_every_correction_changes_what_the_rfc_says() -> None:
    """The errata and deviations listed are real differences from §8.7.1, so the list cannot rot
    into corrections of nothing."""
    for urn in _URNS:
        rfc = _flat(_rfc_schema(urn)["attributes"])
        for correction in _corrections(urn):
            published = rfc[correction["path"]]
            assert any(published[k] != v for k, v in correction["set"].items()), correction
