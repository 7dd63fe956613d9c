"""End to end: the CLI issues a token and a real uvicorn server answers SCIM with it."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from identity_app import Settings, create_app
from tests.scim_facade.conftest import GROUP_URN, PATCH_URN, USER_URN
from tests.servers import serve_in_thread


def cli(database_uri: str, database_name: str, *arguments: str) -> str:
    environment = {**os.environ, "MONGODB_URI": database_uri, "IDENTITY_DATABASE": database_name}
    done = subprocess.run(
        [sys.executable, "-m", "identity_app", *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=environment,
    )
    return done.stdout


def test_token_lifecycle_through_the_cli_and_a_real_server(database_uri: str, database_name: str) -> None:
    """token create prints the secret once; it authenticates; token revoke ends it."""
    cli(database_uri, database_name, "tenant", "create", "Contoso")
    credential_id, secret = cli(database_uri, database_name, "token", "create", "--tenant", "Contoso").split()
    listed = cli(database_uri, database_name, "token", "list", "--tenant", "Contoso")
    assert listed.startswith(f"{credential_id}\t")
    assert secret not in listed
    assert "\tactive" in listed

    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, scim_token_cache_seconds=0))
    with serve_in_thread(app) as base_url:
        scim = httpx.Client(base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {secret}"})
        created = scim.post("/Users", json={"schemas": [USER_URN], "userName": "e2e"})
        assert created.status_code == 201
        assert created.json()["meta"]["location"] == f"{base_url}/scim/v2/Users/{created.json()['id']}"
        group = scim.post("/Groups", json={"schemas": [GROUP_URN], "displayName": "E2E"}).json()
        patched = scim.patch(
            f"/Groups/{group['id']}",
            json={
                "schemas": [PATCH_URN],
                "Operations": [{"op": "Add", "path": "members", "value": [{"value": created.json()["id"]}]}],
            },
        )
        assert patched.status_code == 204
        found = scim.get("/Users", params={"filter": 'userName eq "E2E"'}).json()
        assert found["totalResults"] == 1

        cli(database_uri, database_name, "token", "revoke", credential_id)
        assert scim.get("/Users").status_code == 401
    assert "\trevoked" in cli(database_uri, database_name, "token", "list", "--tenant", "Contoso")


def test_forwarded_headers_shape_locations_only_when_trusted(database_uri: str, database_name: str) -> None:
    """meta.location honours X-Forwarded-Proto/Host behind a trusted proxy, and only then."""
    cli(database_uri, database_name, "tenant", "create", "Proxy")
    _, secret = cli(database_uri, database_name, "token", "create", "--tenant", "Proxy").split()
    headers = {
        "Authorization": f"Bearer {secret}",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "id.example.com",
    }
    # (uvicorn itself applies X-Forwarded-Proto from loopback peers; the host is ours to decide.)
    for trusted, expected in ((True, "https://id.example.com/scim/v2/Users/"), (False, "://127.0.0.1:")):
        app = create_app(Settings(mongodb_uri=database_uri, database=database_name, trust_forwarded=trusted))
        with serve_in_thread(app) as base_url:
            response = httpx.post(
                f"{base_url}/scim/v2/Users",
                json={"userName": f"fwd-{trusted}"},
                headers=headers,
            )
            assert response.status_code == 201
            assert expected in response.json()["meta"]["location"]
