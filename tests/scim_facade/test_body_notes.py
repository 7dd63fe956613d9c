"""What a write body changed and what the service ignored, by name, for the activity record:
attributes of a registered extension schema are changes; those of no known schema are ignored."""

from __future__ import annotations

from identity_store.domain.extensions import CORE_ONLY, TenantSchemas, parse_extension
from scim_facade.body_notes import patch_notes, resource_notes
from scim_facade.resources import tenant_kinds

ACME = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"
OTHER = "urn:ietf:params:scim:schemas:extension:Other:2.0:User"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"

_ACME = parse_extension({"id": ACME, "attributes": [{"name": "costCenter"}, {"name": "floor", "type": "integer"}]})
users, _ = tenant_kinds(TenantSchemas.of([_ACME]))
core_users, _ = tenant_kinds(CORE_ONLY)


def test_a_registered_extensions_attributes_are_changes_in_either_of_entras_shapes() -> None:
    body = {"schemas": [USER_URN, ACME], "userName": "a", ACME: {"costCenter": "1"}, f"{ACME}:floor": 2}
    changed, ignored = resource_notes(body, users)
    assert changed == ["userName", f"{ACME}:costCenter", f"{ACME}:floor"]
    assert ignored == []


def test_attributes_of_no_known_schema_are_named_as_ignored() -> None:
    body = {"schemas": [USER_URN, OTHER], "userName": "a", ACME: {"shoeSize": 1}, OTHER: {"x": 1}, f"{OTHER}:y": 2}
    _, ignored = resource_notes(body, users)
    assert ignored == [OTHER, f"{ACME}:shoeSize", f"{OTHER}:x", f"{OTHER}:y"]


def test_a_tenant_without_the_extension_ignores_its_attributes() -> None:
    changed, ignored = resource_notes({"userName": "a", ACME: {"costCenter": "1"}}, core_users)
    assert changed == ["userName"]
    assert ignored == [f"{ACME}:costCenter"]


def test_patch_paths_and_path_less_keys_of_a_registered_extension_are_changes() -> None:
    body = {
        "Operations": [
            {"op": "replace", "path": f"{ACME}:costCenter", "value": "1"},
            {"op": "add", "path": f"{OTHER}:x", "value": "1"},
            {"op": "replace", "value": {f"{ACME}:floor": 3, ACME: {"costCenter": "2", "shoeSize": 4}}},
        ]
    }
    changed, ignored = patch_notes(body, users)
    assert changed == [f"{ACME}:costCenter", f"{ACME}:floor"]
    assert ignored == [f"{OTHER}:x", f"{ACME}:shoeSize"]
