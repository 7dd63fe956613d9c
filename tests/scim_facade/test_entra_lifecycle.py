"""End to end: a whole Microsoft Entra ID provisioning lifecycle against a real uvicorn server.

The requests are those of the shared reference (sections 0 and 1), in Entra's default style with
a few in the ``aadOptscim062020`` style mixed in: the Test Connection probes, an initial cycle
(users, then managers in a second pass, roles, enterprise attributes; groups created empty, then
members), an incremental cycle (changes, renames, manager change and clear, member add and
remove, disable, re-enable), and deletions. The final state is checked through SCIM and through
the domain, and a second identical cycle must write no event.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import ENTERPRISE_URN, GROUP_URN, PATCH_URN, USER_URN, issue_token
from tests.servers import serve_in_thread

ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MANAGER = f"{ENTERPRISE_URN}:manager"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


class Entra:
    """What Entra's provisioning service sends, one helper per request kind."""

    def __init__(self, scim: httpx.Client) -> None:
        self.scim = scim
        self.users: dict[str, str] = {}  # userName -> target id (Entra caches the id)
        self.groups: dict[str, str] = {}

    def ok(self, response: httpx.Response, *statuses: int) -> dict[str, Any]:
        assert response.status_code in (statuses or (200,)), response.text
        assert response.status_code == 204 or response.headers["content-type"].startswith("application/scim+json")
        return response.json() if response.content else {}

    def probe(self) -> None:
        probe = f"/Users?filter=userName+eq+%22{uuid.uuid4()}%22"
        assert self.ok(self.scim.get(probe))["totalResults"] == 0
        groups = f"/Groups?excludedAttributes=members&filter=displayName+eq+%22{uuid.uuid4()}%22"
        assert self.ok(self.scim.get(groups))["totalResults"] == 0

    def match_user(self, user_name: str) -> dict[str, Any] | None:
        found = self.ok(self.scim.get("/Users", params={"filter": f'userName eq "{user_name}"'}))
        assert found["totalResults"] <= 1
        return found["Resources"][0] if found["Resources"] else None

    def sync_user(self, source: dict[str, Any]) -> None:
        """Match, then create or send only what differs (as Entra does after its GET)."""
        current = self.match_user(source["userName"])
        if current is None:
            body = {
                "schemas": [USER_URN, ENTERPRISE_URN],
                "externalId": source["externalId"],
                "userName": source["userName"],
                "active": source["active"],
                "displayName": source["displayName"],
                "emails": [{"primary": True, "type": "work", "value": source["mail"]}],
                "meta": {"resourceType": "User"},
                "name": {"givenName": source["given"], "familyName": source["family"]},
                ENTERPRISE_URN: {"department": source["department"]},
                "roles": [],
            }
            self.users[source["userName"]] = self.ok(self.scim.post("/Users", json=body), 201)["id"]
            return
        self.users[source["userName"]] = current["id"]
        current = self.ok(self.scim.get(f"/Users/{current['id']}"))
        changes: list[dict[str, Any]] = []
        if current.get("displayName") != source["displayName"]:
            changes.append({"op": "Replace", "path": "displayName", "value": source["displayName"]})
        if current.get("active") != source["active"]:
            changes.append({"op": "Replace", "path": "active", "value": str(source["active"])})
        work = [e["value"] for e in current.get("emails", []) if e.get("type") == "work"]
        if work != [source["mail"]]:
            changes.append({"op": "Replace", "path": 'emails[type eq "work"].value', "value": source["mail"]})
        if current.get(ENTERPRISE_URN, {}).get("department") != source["department"]:
            changes.append({"op": "replace", "value": {f"{ENTERPRISE_URN}:department": source["department"]}})
        if changes:
            self.ok(self.scim.patch(f"/Users/{current['id']}", json=ops(*changes)))

    def sync_reference(self, source: dict[str, Any]) -> None:
        """Second pass: manager and roles, after every user exists."""
        user_id = self.users[source["userName"]]
        current = self.ok(self.scim.get(f"/Users/{user_id}"))
        manager = current.get(ENTERPRISE_URN, {}).get("manager", {}).get("value")
        wanted = self.users[source["manager"]] if source.get("manager") else None
        if manager != wanted:
            if wanted is not None:
                self.ok(self.scim.patch(f"/Users/{user_id}", json=ops({"op": "Add", "path": MANAGER, "value": wanted})))
            else:
                self.ok(
                    self.scim.patch(
                        f"/Users/{user_id}", json=ops({"op": "remove", "path": f'manager[value eq "{manager}"]'})
                    )
                )
        have = sorted(r["value"] for r in current.get("roles", []))
        if have != sorted(source.get("roles", [])):
            value = [
                {
                    "primary": False,
                    "value": f'{{"id":"{uuid.uuid5(uuid.NAMESPACE_DNS, r)}","value":"{r}","displayName":"{r}"}}',
                }
                for r in source.get("roles", [])
            ]
            self.ok(self.scim.patch(f"/Users/{user_id}", json=ops({"op": "Add", "path": "roles", "value": value})))

    def sync_group(self, name: str, external_id: str, members: list[str]) -> None:
        found = self.ok(
            self.scim.get("/Groups", params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'})
        )
        if found["Resources"]:
            group_id = found["Resources"][0]["id"]
        else:
            by_id = [g for n, g in self.groups.items() if n != name and self._external(g) == external_id]
            if by_id:  # renamed in Entra: the cached id is patched, not re-created
                group_id = by_id[0]
                self.ok(
                    self.scim.patch(
                        f"/Groups/{group_id}", json=ops({"op": "Replace", "path": "displayName", "value": name})
                    ),
                    204,
                    200,
                )
            else:
                body = {
                    "schemas": [GROUP_URN, ADSCIM_GROUP],
                    "externalId": external_id,
                    "displayName": name,
                    "meta": {"resourceType": "Group"},
                }
                group_id = self.ok(self.scim.post("/Groups", json=body), 201)["id"]
        self.groups = {n: g for n, g in self.groups.items() if g != group_id}
        self.groups[name] = group_id
        current = {m["value"] for m in self.ok(self.scim.get(f"/Groups/{group_id}")).get("members", [])}
        wanted = {self.users[m] for m in members}
        if wanted - current:
            add = [{"$ref": None, "value": v} for v in sorted(wanted - current)]
            self.ok(
                self.scim.patch(f"/Groups/{group_id}", json=ops({"op": "Add", "path": "members", "value": add})),
                204,
                200,
            )
        for gone in sorted(current - wanted):
            # one in Entra's default form, the rest in the flag form
            operation = (
                {"op": "Remove", "path": "members", "value": [{"value": gone}]}
                if gone == sorted(current - wanted)[0]
                else {"op": "remove", "path": f'members[value eq "{gone}"]'}
            )
            self.ok(self.scim.patch(f"/Groups/{group_id}", json=ops(operation)), 204, 200)

    def _external(self, group_id: str) -> str | None:
        value = self.ok(self.scim.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"}))
        external = value.get("externalId")
        return external if isinstance(external, str) else None

    def cycle(self, users: list[dict[str, Any]], groups: dict[str, tuple[str, list[str]]]) -> None:
        self.probe()
        for user in users:
            self.sync_user(user)
        for user in users:
            self.sync_reference(user)
        for name, (external_id, members) in groups.items():
            self.sync_group(name, external_id, members)


def person(user_name: str, **extra: Any) -> dict[str, Any]:
    given, family = user_name.split(".")
    return {
        "userName": f"{user_name}@northwind.example",
        "externalId": user_name,
        "displayName": f"{given.title()} {family.title()}",
        "given": given.title(),
        "family": family.title(),
        "mail": f"{user_name}@northwind.example",
        "department": "Treasury",
        "active": True,
        **extra,
    }


def initial_and_incremental_cycles(entra: Entra) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    boss = "ines.okafor@northwind.example"
    users = [
        person("ines.okafor", roles=["Admin"]),
        person("tomas.lindqvist", manager=boss, roles=["Reader", "Writer"]),
        person("ada.byrne", manager=boss),
        person("li.wei", manager="tomas.lindqvist@northwind.example"),
    ]
    u = [x["userName"] for x in users]
    groups: dict[str, Any] = {"Payments": ("g-1", [u[0], u[1], u[2]]), "Audit": ("g-2", [u[3]])}
    entra.cycle(users, groups)

    # Incremental cycle: attribute changes, a work-email change, a manager change and a clear,
    # a group rename, member add/remove, a disable (and a re-enable in the next one).
    users[1] = {**users[1], "displayName": "Tomas E. Lindqvist", "department": "Audit", "mail": "tl@northwind.example"}
    users[2] = {**users[2], "manager": u[1], "active": False}
    users[3] = {**users[3], "manager": None}
    groups = {"Payments EU": ("g-1", [u[0], u[2], u[3]]), "Audit": ("g-2", [u[1]])}
    entra.cycle(users, groups)
    users[2] = {**users[2], "active": True}
    entra.cycle(users, groups)
    return users, groups, u


def check_through_scim(entra: Entra, u: list[str]) -> None:
    ada = entra.match_user(u[2])
    assert ada is not None
    assert ada["active"] is True
    assert ada[ENTERPRISE_URN]["manager"]["value"] == entra.users[u[1]]
    assert ada[ENTERPRISE_URN]["manager"]["displayName"] == "Tomas E. Lindqvist"
    li = entra.match_user(u[3])
    assert li is not None
    assert "manager" not in li.get(ENTERPRISE_URN, {})
    tomas = entra.match_user(u[1])
    assert tomas is not None
    assert tomas["displayName"] == "Tomas E. Lindqvist"
    assert tomas["emails"] == [{"primary": True, "type": "work", "value": "tl@northwind.example"}]
    assert tomas[ENTERPRISE_URN]["department"] == "Audit"
    assert sorted(r["value"] for r in tomas["roles"]) == ["Reader", "Writer"]
    payments = entra.scim.get(f"/Groups/{entra.groups['Payments EU']}").json()
    assert payments["displayName"] == "Payments EU"
    assert sorted(m["value"] for m in payments["members"]) == sorted(entra.users[x] for x in (u[0], u[2], u[3]))
    assert "Payments" not in entra.groups


def delete_and_check(entra: Entra, u: list[str]) -> None:
    """A hard-deleted user and a deleted group disappear; the other memberships stay."""
    scim = entra.scim
    assert scim.delete(f"/Users/{entra.users[u[3]]}").status_code == 204
    assert scim.delete(f"/Groups/{entra.groups['Audit']}").status_code == 204
    assert scim.get(f"/Users/{entra.users[u[3]]}").status_code == 404
    assert entra.match_user(u[3]) is None
    gone = scim.get("/Groups", params={"filter": 'displayName eq "Audit"', "excludedAttributes": "members"})
    assert gone.json()["totalResults"] == 0
    payments = scim.get(f"/Groups/{entra.groups['Payments EU']}").json()
    assert sorted(m["value"] for m in payments["members"]) == sorted(entra.users[x] for x in (u[0], u[2]))


async def test_a_whole_entra_lifecycle_through_the_real_server(
    store: MongoStore, tenant: Tenant, database_uri: str, database_name: str
) -> None:
    """The server runs in its own thread and loop; the blocking client runs in a worker thread."""
    secret = (await issue_token(store, tenant)).secret
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, scim_token_cache_seconds=0))
    scoped = store.tenant(tenant.id)
    with serve_in_thread(app) as base_url:
        scim = httpx.Client(base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {secret}"})
        entra = Entra(scim)
        users, groups, u = await asyncio.to_thread(initial_and_incremental_cycles, entra)
        await asyncio.to_thread(check_through_scim, entra, u)

        # ... and through the domain.
        audit = [m.member_id for m in await scoped.memberships.members(entra.groups["Audit"])]
        assert audit == [entra.users[u[1]]]
        ada = await scoped.users.get(entra.users[u[2]])
        assert ada.attributes.get("active") is True
        assert ada.attributes["enterprise"]["manager"] == {"value": entra.users[u[1]]}  # type: ignore[index,call-overload]

        # A second identical cycle writes no event.
        before = await scoped.events.last_sequence()
        await asyncio.to_thread(entra.cycle, users, groups)
        assert await scoped.events.last_sequence() == before

        await asyncio.to_thread(delete_and_check, entra, u)
        assert await scoped.events.last_sequence() > before
