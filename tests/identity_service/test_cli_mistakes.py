"""An ordinary mistake on the command line is one line on stderr and a non-zero exit, never a traceback.

Each case runs ``python -m identity_service`` as a real process, as a person at a terminal would.
Commands that need the database use the suite's (``MONGODB_URI``), so the only line on stderr is
the mistake's; an unreachable database is a port nothing listens on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.servers import free_port

Run = Callable[..., subprocess.CompletedProcess[str]]

_CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture
def identity_store(database_uri: str, database_name: str, tmp_path: Path) -> Run:
    """``identity-store ARGS`` in its own process on the suite's database; ``env`` sets variables
    (``None``: unset)."""

    def run(*argv: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("IDENTITY_") and key != "MONGODB_URI"
        }
        environment |= {"MONGODB_URI": database_uri, "IDENTITY_DATABASE": database_name}
        # The checkout under test, not whichever one the environment installed (the run is in tmp_path).
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_CHECKOUT), environment.get("PYTHONPATH")]))
        for key, value in (env or {}).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        command = [sys.executable, "-m", "identity_service", *argv]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment, cwd=tmp_path)

    return run


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *expected: str, status: int = 1) -> str:
    """The process failed with ``status``, printed nothing on stdout and one line on stderr."""
    assert "Traceback" not in result.stderr
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0]
    return lines[0]


def test_a_taken_tenant_name(identity_store: Run) -> None:
    assert identity_store("tenant", "create", "Contoso").returncode == 0
    assert_one_line_refusal(identity_store("tenant", "create", "contoso"), "exists")


@pytest.mark.parametrize(
    "argv",
    [
        ("token", "create", "--tenant", "Nobody"),
        ("token", "list", "--tenant", "Nobody"),
        ("apikey", "create", "--tenant", "Nobody", "--scope", "users:read"),
        ("apikey", "list", "--tenant", "Nobody"),
        ("oauth", "client", "create", "--tenant", "Nobody"),
        ("tenant", "strict-rfc", "Nobody", "on"),
    ],
)
def test_an_unknown_tenant(identity_store: Run, argv: tuple[str, ...]) -> None:
    assert_one_line_refusal(identity_store(*argv), "tenant 'Nobody' not found")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("oauth", "secret", "create", "--client", "oc_nobody"), "OAuth client oc_nobody not found"),
        (("oauth", "client", "disable", "oc_nobody"), "OAuth client oc_nobody not found"),
        (("token", "revoke", "nothing"), "SCIM token nothing not found"),
        (("apikey", "revoke", "nothing"), "API key nothing not found"),
        (("oauth", "secret", "revoke", "nothing"), "client secret nothing not found"),
    ],
)
def test_an_unknown_client_or_credential(identity_store: Run, argv: tuple[str, ...], expected: str) -> None:
    assert_one_line_refusal(identity_store(*argv), expected)


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_tenant_name_is_a_usage_mistake(identity_store: Run, name: str) -> None:
    assert_one_line_refusal(identity_store("tenant", "create", name), "a tenant needs a name", status=2)


@pytest.mark.parametrize("days", ["-1", "0"])
def test_an_expiry_that_is_not_in_the_future(identity_store: Run, days: str) -> None:
    assert identity_store("tenant", "create", "Contoso").returncode == 0
    result = identity_store("token", "create", "--tenant", "Contoso", "--expires-in-days", days)
    assert_one_line_refusal(result, "--expires-in-days", status=2)


@pytest.mark.parametrize(
    "argv",
    [
        ("oauth", "client", "create", "--tenant", "Contoso", "--token-lifetime-minutes", "5"),
        ("oauth", "client", "create", "--tenant", "Contoso", "--token-lifetime-minutes", "-60"),
    ],
)
def test_a_token_lifetime_out_of_range(identity_store: Run, argv: tuple[str, ...]) -> None:
    assert identity_store("tenant", "create", "Contoso").returncode == 0
    assert_one_line_refusal(identity_store(*argv), "lifetime")


def test_a_bad_guid(identity_store: Run) -> None:
    result = identity_store("tenant", "entra-link", "Contoso", "--entra-tenant-id", "not-a-guid")
    assert_one_line_refusal(result, "not a GUID", status=2)


def test_a_missing_option(identity_store: Run) -> None:
    assert_one_line_refusal(identity_store("token", "create"), "--tenant", status=2)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("IDENTITY_PORT", "abc"), ("IDENTITY_LOG_LEVEL", "verbose"), ("IDENTITY_DATABASE_TIMEOUT_SECONDS", "-1")],
)
def test_a_bad_setting_names_its_variable(identity_store: Run, variable: str, value: str) -> None:
    """The one line names the variable, pydantic's reason and the value given."""
    line = assert_one_line_refusal(identity_store("tenant", "list", env={variable: value}), variable)
    assert repr(value) in line


def test_a_port_out_of_range(identity_store: Run) -> None:
    assert_one_line_refusal(identity_store("serve", "--port", "99999"), "--port", status=2)
    assert_one_line_refusal(identity_store("serve", env={"IDENTITY_PORT": "99999"}), "IDENTITY_PORT")


def test_fewer_than_one_worker(identity_store: Run) -> None:
    assert_one_line_refusal(identity_store("serve", "--workers", "0"), "--workers", status=2)
    assert_one_line_refusal(identity_store("serve", env={"IDENTITY_WORKERS": "0"}), "IDENTITY_WORKERS")


def test_a_bad_signing_key_is_refused_before_any_worker_starts(identity_store: Run, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    port = str(free_port())
    result = identity_store("serve", "--port", port, "--workers", "2", env={"IDENTITY_OAUTH_SIGNING_KEY": str(key)})
    assert_one_line_refusal(result, "signing key")


def test_a_missing_signing_key_file(identity_store: Run) -> None:
    result = identity_store("serve", "--port", str(free_port()), env={"IDENTITY_OAUTH_SIGNING_KEY": "/no/such.pem"})
    assert_one_line_refusal(result, "/no/such.pem", "No such file")


def test_a_signing_key_that_is_no_key(identity_store: Run, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    result = identity_store("serve", "--port", str(free_port()), env={"IDENTITY_OAUTH_SIGNING_KEY": str(key)})
    assert_one_line_refusal(result, "signing key")


@pytest.mark.parametrize("command", [("tenant", "list"), ("serve",)])
def test_a_data_folder_that_is_a_file(identity_store: Run, tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "data").write_text("")
    result = identity_store("--data-dir", "data", *command, env={"MONGODB_URI": None})
    assert_one_line_refusal(result, "data", "is a file")


def test_an_unreachable_database_names_the_host_and_the_reason(identity_store: Run) -> None:
    """The driver gives up within IDENTITY_DATABASE_UNREACHABLE_SECONDS; no endless retry."""
    port = free_port()  # nothing listens here
    result = identity_store("tenant", "list", env={"MONGODB_URI": f"mongodb://127.0.0.1:{port}/"})
    line = assert_one_line_refusal(result, "cannot use the database")
    reason = line.partition(f"127.0.0.1:{port}: ")[2]
    assert reason, line  # the driver's reason follows the host (a refused connection, here)


def test_a_database_host_that_does_not_resolve(identity_store: Run) -> None:
    host = f"nowhere-{uuid.uuid4().hex[:8]}.invalid"
    assert_one_line_refusal(identity_store("tenant", "list", env={"MONGODB_URI": host}), host)


@pytest.mark.parametrize("uri", ["mongodb://", "mongodb://127.0.0.1:99999/", "postgres://x"])
def test_a_malformed_mongodb_uri(identity_store: Run, uri: str) -> None:
    assert_one_line_refusal(identity_store("tenant", "list", env={"MONGODB_URI": uri}), "MONGODB_URI")
