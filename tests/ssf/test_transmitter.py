"""The Shared Signals transmitter end to end: discovery, streams, push (RFC 8935) and poll (RFC 8936).

A receiver verifies each SET against the published JWKS with PyJWT, as any receiver would.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store.domain.credentials import CredentialKind
from identity_store.mongo import MongoStore
from tests.ssf.conftest import MakeSecret, Receiver, entra_creates_user, entra_deactivates, serving

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"
ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
SCIM_DEACTIVATE = "urn:ietf:params:scim:event:prov:deactivate"
SCIM_CREATE = "urn:ietf:params:scim:event:prov:create:notice"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def verified(http: httpx.AsyncClient, service: str, token: str, audience: str) -> dict[str, Any]:
    """The SET's claims, verified against the key the service publishes (and its typ checked)."""
    configuration = (await http.get(f"{service}/.well-known/ssf-configuration")).json()
    jwks = (await http.get(configuration["jwks_uri"])).json()
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "secevent+jwt"
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=[header["alg"]], audience=audience, issuer=configuration["issuer"]
    )
    return claims


async def create_stream(http: httpx.AsyncClient, service: str, key: str, **body: Any) -> dict[str, Any]:
    response = await http.post(f"{service}/ssf/streams", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    stream: dict[str, Any] = response.json()
    return stream


async def test_discovery_names_the_endpoints_and_the_jwks_holds_only_a_public_key(
    http: httpx.AsyncClient, service: str
) -> None:
    """SSF 1.0 §7.1: the configuration metadata; RFC 7517: the key set has no private member."""
    configuration = (await http.get(f"{service}/.well-known/ssf-configuration")).json()
    assert configuration["spec_version"] == "1_0"
    assert set(configuration["delivery_methods_supported"]) == {PUSH, POLL}
    for endpoint in ("configuration_endpoint", "status_endpoint", "verification_endpoint", "add_subject_endpoint"):
        assert configuration[endpoint].startswith(service)
    keys = (await http.get(configuration["jwks_uri"])).json()["keys"]
    assert len(keys) == 1
    assert "d" not in keys[0]
    assert "p" not in keys[0]


async def test_entra_deactivation_is_pushed_as_account_disabled_set_that_verifies(
    http: httpx.AsyncClient, service: str, ssf_key: str, scim_token: str, receiver: Receiver
) -> None:
    """RFC 8935 push; RISC account-disabled, CAEP session-revoked and the RFC 9967 deactivate event,
    about the user (RFC 9493 ``iss_sub``; RFC 9967 §2.1 ``scim``)."""
    stream = await create_stream(
        http,
        service,
        ssf_key,
        delivery={"method": PUSH, "endpoint_url": receiver.url, "authorization_header": "Bearer receiver-secret"},
        events_requested=[ACCOUNT_DISABLED, SESSION_REVOKED, SCIM_DEACTIVATE],
    )
    assert stream["events_delivered"] == [ACCOUNT_DISABLED, SESSION_REVOKED, SCIM_DEACTIVATE]
    user_id = await entra_creates_user(http, service, scim_token, "ada@example.com")
    await entra_deactivates(http, service, scim_token, user_id)
    received = await receiver.wait_for(3)
    assert len(received) == 3
    claims = [await verified(http, service, token, stream["aud"]) for token in received]
    assert [next(iter(c["events"])) for c in claims] == [ACCOUNT_DISABLED, SESSION_REVOKED, SCIM_DEACTIVATE]
    assert [c["sub_id"]["format"] for c in claims] == ["iss_sub", "iss_sub", "scim"]
    assert [c["sub_id"].get("sub") for c in claims[:2]] == [user_id, user_id]
    assert claims[2]["sub_id"]["uri"] == f"/Users/{user_id}"
    assert isinstance(claims[1]["events"][SESSION_REVOKED]["event_timestamp"], int)
    assert receiver.authorizations == ["Bearer receiver-secret"] * 3
    # The creation was not requested, so it was not sent.
    assert all(SCIM_CREATE not in c["events"] for c in claims)


async def test_entra_deactivation_is_polled_and_an_ack_removes_it(
    http: httpx.AsyncClient, service: str, ssf_key: str, scim_token: str
) -> None:
    """RFC 8936 §2.4: unacknowledged SETs are returned again; acknowledged ones are not."""
    stream = await create_stream(http, service, ssf_key, delivery={"method": POLL}, events_requested=[ACCOUNT_DISABLED])
    poll_url = stream["delivery"]["endpoint_url"]
    user_id = await entra_creates_user(http, service, scim_token, "grace@example.com")
    await entra_deactivates(http, service, scim_token, user_id)

    first = (await http.post(poll_url, json={"maxEvents": 10}, headers=bearer(ssf_key))).json()
    assert len(first["sets"]) == 1
    ((jti, token),) = first["sets"].items()
    claims = await verified(http, service, token, stream["aud"])
    assert claims["jti"] == jti
    assert claims["events"] == {ACCOUNT_DISABLED: {}}
    assert claims["sub_id"]["sub"] == user_id

    again = (await http.post(poll_url, json={"maxEvents": 10}, headers=bearer(ssf_key))).json()
    assert list(again["sets"]) == [jti]
    acked = (await http.post(poll_url, json={"ack": [jti], "maxEvents": 10}, headers=bearer(ssf_key))).json()
    assert acked == {"sets": {}, "moreAvailable": False}


async def test_a_stream_of_one_tenant_sees_nothing_of_another(
    http: httpx.AsyncClient, service: str, store: MongoStore, make_secret: MakeSecret, scim_token: str
) -> None:
    """Each stream sees its tenant only: another tenant's deactivation is never delivered, and
    another tenant's stream id is not found."""
    other = await store.tenants.create("contoso")
    other_key = await make_secret(CredentialKind.API_KEY, "ssf:manage", tenant_id=other.id)
    theirs = await create_stream(
        http, service, other_key, delivery={"method": POLL}, events_requested=[ACCOUNT_DISABLED]
    )
    user_id = await entra_creates_user(http, service, scim_token, "alan@example.com")
    await entra_deactivates(http, service, scim_token, user_id)

    polled = (await http.post(theirs["delivery"]["endpoint_url"], json={}, headers=bearer(other_key))).json()
    assert polled["sets"] == {}
    mine = await make_secret(CredentialKind.API_KEY, "ssf:manage")
    response = await http.get(f"{service}/ssf/streams", params={"stream_id": theirs["stream_id"]}, headers=bearer(mine))
    assert response.status_code == 404


async def test_management_needs_an_api_key_with_the_ssf_scope(
    http: httpx.AsyncClient, service: str, make_secret: MakeSecret, scim_token: str
) -> None:
    """401 without a valid API key (a SCIM token is not one), 403 without ``ssf:manage``; nothing is created."""
    body = {"delivery": {"method": POLL}}
    assert (await http.post(f"{service}/ssf/streams", json=body)).status_code == 401
    assert (await http.post(f"{service}/ssf/streams", json=body, headers=bearer(scim_token))).status_code == 401
    reader = await make_secret(CredentialKind.API_KEY, "users:read")
    refused = await http.post(f"{service}/ssf/streams", json=body, headers=bearer(reader))
    assert refused.status_code == 403
    assert refused.json()["err"] == "access_denied"
    manager = await make_secret(CredentialKind.API_KEY, "ssf:manage")
    assert (await http.get(f"{service}/ssf/streams", headers=bearer(manager))).json() == []


async def test_malformed_stream_requests_are_400_and_create_nothing(
    http: httpx.AsyncClient, service: str, ssf_key: str
) -> None:
    """SSF 1.0 §8.1.1.1: a malformed request is a 400, never a 500 or a half-made stream."""
    for body in (
        b"not json",
        b"[]",
        b'{"delivery": {"method": "urn:example:carrier-pigeon"}}',
        b'{"delivery": {"method": "urn:ietf:rfc:8935"}}',
        b'{"events_requested": "all"}',
    ):
        response = await http.post(f"{service}/ssf/streams", content=body, headers=bearer(ssf_key))
        assert response.status_code == 400, body
    assert (await http.get(f"{service}/ssf/streams", headers=bearer(ssf_key))).json() == []


async def test_stream_read_update_status_subjects_and_delete(
    http: httpx.AsyncClient, service: str, ssf_key: str
) -> None:
    """SSF 1.0 §8.1.1 to §8.1.3: read, PATCH, status, add and remove subject, delete."""
    stream = await create_stream(http, service, ssf_key, delivery={"method": POLL}, events_requested=[ACCOUNT_DISABLED])
    stream_id = stream["stream_id"]
    read = (await http.get(f"{service}/ssf/streams", params={"stream_id": stream_id}, headers=bearer(ssf_key))).json()
    assert read["events_delivered"] == [ACCOUNT_DISABLED]
    patched = await http.patch(
        f"{service}/ssf/streams",
        json={"stream_id": stream_id, "description": "hr app", "events_requested": [SCIM_DEACTIVATE]},
        headers=bearer(ssf_key),
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "hr app"
    assert patched.json()["events_requested"] == [SCIM_DEACTIVATE]

    paused = await http.post(
        f"{service}/ssf/status",
        json={"stream_id": stream_id, "status": "paused", "reason": "maintenance"},
        headers=bearer(ssf_key),
    )
    assert paused.json() == {"stream_id": stream_id, "status": "paused", "reason": "maintenance"}
    status = await http.get(f"{service}/ssf/status", params={"stream_id": stream_id}, headers=bearer(ssf_key))
    assert status.json()["status"] == "paused"
    bad = await http.post(
        f"{service}/ssf/status", json={"stream_id": stream_id, "status": "asleep"}, headers=bearer(ssf_key)
    )
    assert bad.status_code == 400

    subject = {"format": "opaque", "id": "some-user"}
    added = await http.post(
        f"{service}/ssf/subjects:add", json={"stream_id": stream_id, "subject": subject}, headers=bearer(ssf_key)
    )
    assert added.status_code == 200
    removed = await http.post(
        f"{service}/ssf/subjects:remove", json={"stream_id": stream_id, "subject": subject}, headers=bearer(ssf_key)
    )
    assert removed.status_code == 204

    deleted = await http.delete(f"{service}/ssf/streams", params={"stream_id": stream_id}, headers=bearer(ssf_key))
    assert deleted.status_code == 204
    gone = await http.get(f"{service}/ssf/streams", params={"stream_id": stream_id}, headers=bearer(ssf_key))
    assert gone.status_code == 404


async def test_verification_event_is_pushed_with_the_state(
    http: httpx.AsyncClient, service: str, ssf_key: str, receiver: Receiver
) -> None:
    """SSF 1.0 §8.1.4: a verification request makes the transmitter send a verification SET with ``state``."""
    stream = await create_stream(http, service, ssf_key, delivery={"method": PUSH, "endpoint_url": receiver.url})
    response = await http.post(
        f"{service}/ssf/verify", json={"stream_id": stream["stream_id"], "state": "xyz"}, headers=bearer(ssf_key)
    )
    assert response.status_code == 204
    (token,) = await receiver.wait_for(1)
    claims = await verified(http, service, token, stream["aud"])
    assert claims["events"] == {VERIFICATION: {"state": "xyz"}}


async def test_a_receiver_down_then_back_gets_each_event_once_in_order(
    http: httpx.AsyncClient, service: str, ssf_key: str, scim_token: str, receiver: Receiver
) -> None:
    """RFC 8935 §2.2: a SET not acknowledged with 202 is sent again; the cursor keeps order across the outage."""
    stream = await create_stream(
        http, service, ssf_key, delivery={"method": PUSH, "endpoint_url": receiver.url}, events_requested=[SCIM_CREATE]
    )
    receiver.failing = True
    names = [f"user{n}@example.com" for n in range(5)]
    ids = [await entra_creates_user(http, service, scim_token, name) for name in names]
    receiver.failing = False
    received = await receiver.wait_for(5)
    claims = [await verified(http, service, token, stream["aud"]) for token in received]
    assert [c["sub_id"]["id"] for c in claims] == ids
    assert len({c["jti"] for c in claims}) == 5


async def test_a_restart_mid_delivery_loses_nothing(
    http: httpx.AsyncClient, settings: Settings, ssf_key: str, scim_token: str, receiver: Receiver
) -> None:
    """The cursor is in the database: SETs not yet accepted when the service stops are pushed by
    the next process, each once, in order."""
    async with serving(create_app(settings)) as first:
        stream = await create_stream(
            http,
            first,
            ssf_key,
            delivery={"method": PUSH, "endpoint_url": receiver.url},
            events_requested=[SCIM_CREATE],
        )
        receiver.failing = True
        ids = [await entra_creates_user(http, first, scim_token, f"restart{n}@example.com") for n in range(3)]
    assert receiver.received == []
    receiver.failing = False
    async with serving(create_app(settings)) as second:
        received = await receiver.wait_for(3)
        claims = [await verified(http, second, token, stream["aud"]) for token in received]
    assert [c["sub_id"]["id"] for c in claims] == ids


async def test_two_instances_push_a_stream_once(
    http: httpx.AsyncClient, settings: Settings, ssf_key: str, scim_token: str, receiver: Receiver
) -> None:
    """A stream's lease lets one instance push it at a time: two services on one database send
    each SET once."""
    async with serving(create_app(settings)) as first, serving(create_app(settings)):
        await create_stream(
            http,
            first,
            ssf_key,
            delivery={"method": PUSH, "endpoint_url": receiver.url},
            events_requested=[SCIM_CREATE],
        )
        receiver.failing = True
        for n in range(5):
            await entra_creates_user(http, first, scim_token, f"twice{n}@example.com")
        receiver.failing = False
        await receiver.wait_for(5)
        await receiver.wait_for(6, within=1.0)  # long enough for a second instance's duplicate, if any
    assert len(receiver.received) == 5


async def test_a_private_push_endpoint_is_refused_by_default(
    settings: Settings, http: httpx.AsyncClient, ssf_key: str
) -> None:
    """Outbound safety: loopback, private, link-local and metadata addresses are refused (400)
    unless a setting allows them, and no stream is created."""
    strict = settings.model_copy(update={"ssf_allow_private_push": False})
    async with serving(create_app(strict)) as service:
        for url in (
            "http://127.0.0.1:9/events",
            "http://10.1.2.3/events",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/events",
            "http://localhost/events",
        ):
            response = await http.post(
                f"{service}/ssf/streams",
                json={"delivery": {"method": PUSH, "endpoint_url": url}},
                headers=bearer(ssf_key),
            )
            assert response.status_code == 400, url
            assert "private" in response.json()["description"]
        assert (await http.get(f"{service}/ssf/streams", headers=bearer(ssf_key))).json() == []


async def test_a_paused_stream_holds_events_and_a_disabled_one_drops_them(
    http: httpx.AsyncClient, service: str, ssf_key: str, scim_token: str
) -> None:
    """SSF 1.0 §8.1.2: paused, events are held for later; disabled, they are not kept."""
    stream = await create_stream(http, service, ssf_key, delivery={"method": POLL}, events_requested=[SCIM_CREATE])
    poll_url, stream_id = stream["delivery"]["endpoint_url"], stream["stream_id"]

    async def set_status(status: str) -> None:
        body = {"stream_id": stream_id, "status": status}
        assert (await http.post(f"{service}/ssf/status", json=body, headers=bearer(ssf_key))).status_code == 200

    await set_status("paused")
    await entra_creates_user(http, service, scim_token, "held@example.com")
    assert (await http.post(poll_url, json={}, headers=bearer(ssf_key))).json()["sets"] == {}
    await set_status("enabled")
    assert len((await http.post(poll_url, json={}, headers=bearer(ssf_key))).json()["sets"]) == 1

    await set_status("disabled")
    await entra_creates_user(http, service, scim_token, "dropped@example.com")
    await set_status("enabled")
    polled = (await http.post(poll_url, json={}, headers=bearer(ssf_key))).json()["sets"]
    assert polled == {}


async def test_a_password_set_by_entra_is_a_caep_credential_change(
    http: httpx.AsyncClient, service: str, ssf_key: str, scim_token: str
) -> None:
    """CAEP 1.0 §3.3: a password changed through SCIM is ``credential-change`` with the required
    ``credential_type`` and ``change_type``; the password itself is never in the SET."""
    credential_change = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
    stream = await create_stream(
        http, service, ssf_key, delivery={"method": POLL}, events_requested=[credential_change]
    )
    user_id = await entra_creates_user(http, service, scim_token, "hedy@example.com")
    response = await http.patch(
        f"{service}/scim/v2/Users/{user_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "password", "value": "Correct-Horse-9"}],
        },
        headers=bearer(scim_token),
    )
    assert response.status_code in (200, 204), response.text
    polled = (await http.post(stream["delivery"]["endpoint_url"], json={}, headers=bearer(ssf_key))).json()
    (token,) = polled["sets"].values()
    claims = await verified(http, service, token, stream["aud"])
    body = claims["events"][credential_change]
    assert {k: body[k] for k in ("credential_type", "change_type")} == {
        "credential_type": "password",
        "change_type": "update",
    }
    assert claims["sub_id"] == {"format": "iss_sub", "iss": claims["iss"], "sub": user_id}
    assert "Correct-Horse-9" not in json.dumps(claims)


async def test_an_entra_patch_is_a_scim_patch_event_and_a_put_a_scim_put_event(
    http: httpx.AsyncClient, service: str, ssf_key: str, scim_token: str
) -> None:
    """RFC 9967 §2.4.2 and §2.4.3: a user changed in part (PATCH) and replaced whole (PUT), as the
    event log recorded them."""
    prov = "urn:ietf:params:scim:event:prov:"
    stream = await create_stream(
        http, service, ssf_key, delivery={"method": POLL}, events_requested=[prov + "patch:notice", prov + "put:notice"]
    )
    user_id = await entra_creates_user(http, service, scim_token, "ida@example.com")
    patched = await http.patch(
        f"{service}/scim/v2/Users/{user_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Engineer"}],
        },
        headers=bearer(scim_token),
    )
    assert patched.status_code in (200, 204), patched.text
    replaced = await http.put(
        f"{service}/scim/v2/Users/{user_id}",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ida@example.com"},
        headers=bearer(scim_token),
    )
    assert replaced.status_code == 200, replaced.text
    polled = (await http.post(stream["delivery"]["endpoint_url"], json={}, headers=bearer(ssf_key))).json()
    claims = [await verified(http, service, token, stream["aud"]) for token in polled["sets"].values()]
    assert sorted(next(iter(c["events"])) for c in claims) == [prov + "patch:notice", prov + "put:notice"]
