"""End to end: the CLI issues a token and a real uvicorn server answers SCIM with it."""

from __future__ import annotations

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings
from tests.cli import InProcessCli
from tests.scim_facade.conftest import GROUP_URN, PATCH_URN, SIGNING_KEY, USER_URN
from tests.servers import serve_in_thread


@pytest.fixture
def cli(
    database_uri: str, database_name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessCli:
    return InProcessCli(database_uri, database_name, monkeypatch, capsys)


def test_token_lifecycle_through_the_cli_and_a_real_server(
    cli: InProcessCli, database_uri: str, database_name: str
) -> None:
    """token create prints the secret once; it authenticates; token revoke ends it."""
    cli("tenant", "create", "Contoso")
    credential_id, secret = cli("token", "create", "--tenant", "Contoso").split()
    listed = cli("token", "list", "--tenant", "Contoso")
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

        cli("token", "revoke", credential_id)
        assert scim.get("/Users").status_code == 401
    assert "\trevoked" in cli("token", "list", "--tenant", "Contoso")


def test_forwarded_headers_shape_locations_only_when_trusted(
    cli: InProcessCli, database_uri: str, database_name: str
) -> None:
    """meta.location honours X-Forwarded-Proto/Host behind a trusted proxy, and only then."""
    cli("tenant", "create", "Proxy")
    _, secret = cli("token", "create", "--tenant", "Proxy").split()
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


def test_oauth_client_lifecycle_through_the_cli_and_a_real_server(
    cli: InProcessCli, database_uri: str, database_name: str
) -> None:
    """oauth client/secret commands: a secret printed once gets tokens; rotation; revoke; disable."""
    cli("tenant", "create", "Fabrikam")
    client_id, name, minutes = cli(
        "oauth",
        "client",
        "create",
        "--tenant",
        "Fabrikam",
        "--token-lifetime-minutes",
        "90",
    ).split()
    assert (name, minutes) == ("entra", "90")
    assert cli("oauth", "client", "list", "--tenant", "Fabrikam").startswith(f"{client_id}\tentra\t90\t")
    first_id, first = cli("oauth", "secret", "create", "--client", client_id).split()
    second_id, second = cli("oauth", "secret", "create", "--client", client_id, "--expires-days", "365").split()
    listed = cli("oauth", "secret", "list", "--client", client_id)
    assert listed.count("\tactive") == 2
    assert first not in listed
    assert second not in listed

    settings = Settings(
        mongodb_uri=database_uri, database=database_name, scim_token_cache_seconds=0, oauth_signing_key=SIGNING_KEY
    )
    with serve_in_thread(create_app(settings)) as base_url:
        token_url = f"{base_url}/oauth2/token"
        grant = {"grant_type": "client_credentials"}
        issued = httpx.post(token_url, data=grant, auth=(client_id, first))
        assert issued.status_code == 200
        assert issued.json()["expires_in"] == 90 * 60
        scim = httpx.Client(
            base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
        )
        assert scim.post("/Users", json={"schemas": [USER_URN], "userName": "oauth-e2e"}).status_code == 201

        cli("oauth", "secret", "revoke", first_id)
        assert httpx.post(token_url, data=grant, auth=(client_id, first)).json()["error"] == "invalid_client"
        assert httpx.post(token_url, data=grant, auth=(client_id, second)).status_code == 200

        cli("oauth", "client", "disable", client_id)
        assert scim.get("/Users").status_code == 401
        assert httpx.post(token_url, data=grant, auth=(client_id, second)).status_code == 401
    listed = cli("oauth", "secret", "list", "--client", client_id)
    assert f"{first_id}\t" in listed
    assert "\trevoked" in listed
    assert f"{second_id}\t" in listed
    assert cli("oauth", "client", "list", "--tenant", "Fabrikam").rstrip().endswith("\tdisabled")


def test_lifetimes_and_entra_links_are_checked_by_the_cli(cli: InProcessCli) -> None:
    """The CLI refuses lifetimes outside 60-360 minutes, an Entra tenant linked twice, plain-http key sets."""
    run = cli.attempt

    cli("tenant", "create", "One")
    cli("tenant", "create", "Two")
    refused = run("oauth", "client", "create", "--tenant", "One", "--token-lifetime-minutes", "361")
    assert refused.status == 1
    assert "between 60 minutes and 6 hours" in refused.stderr
    entra = "7e3d9b52-1c44-4f0e-b8a2-93d5c6e1f047"
    assert cli("tenant", "entra-link", "One", "--entra-tenant-id", entra).endswith(f"entra {entra}\n")
    twice = run("tenant", "entra-link", "Two", "--entra-tenant-id", entra)
    assert twice.status == 1
    assert "linked to another tenant" in twice.stderr
    assert run("tenant", "entra-link", "Two", "--entra-tenant-id", "not-a-guid").status == 2
    cli("tenant", "entra-unlink", "One")
    assert run("tenant", "entra-link", "Two", "--entra-tenant-id", entra).status == 0

    client_id = cli("oauth", "client", "create", "--tenant", "One").split()[0]
    federation = ["--issuer", f"https://login.microsoftonline.com/{entra}/v2.0", "--subject", "s", "--audience", "a"]
    plain = run("oauth", "client", "federate", client_id, *federation, "--jwks-url", "http://keys.example/k")
    assert plain.status == 1
    assert "https" in plain.stderr
    keys = f"https://login.microsoftonline.com/{entra}/discovery/v2.0/keys"
    assert "\tfederated\t" in cli("oauth", "client", "federate", client_id, *federation, "--jwks-url", keys)
