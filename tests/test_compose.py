"""compose.yaml brings up authenticated MongoDB as a self-initialising replica set plus the app.

Docker is not on the development machines, so this checks the file's shape, with compose's own
``${NAME:-default}`` interpolation applied from ``.env.example``; run the real thing with
``cp .env.example .env``, ``docker compose up -d`` and ``curl 127.0.0.1:8000/readyz``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal dollar.
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}")


def compose(project_root: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((project_root / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def example_environment(project_root: Path) -> dict[str, str]:
    lines = (project_root / ".env.example").read_text().splitlines()
    pairs = (line.partition("=") for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, _, value in pairs}


def interpolate(text: str, environment: dict[str, str]) -> str:
    """Compose's variable substitution, for the forms compose.yaml uses."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.group("name", "operator", "argument")
        value = environment.get(name)
        if operator in {":-", ":?"} and not value:
            value = None
        if value is not None:
            return value
        if operator in {":?", "?"}:
            raise LookupError(f"{name}: {argument}")
        return argument or ""

    return _VARIABLE.sub(substitute, text.replace("$$", "\0")).replace("\0", "$")


def variables(project_root: Path) -> set[str]:
    return {match.group("name") for match in _VARIABLE.finditer((project_root / "compose.yaml").read_text())}


def test_mongodb_is_pinned_to_an_exact_8_0_release(project_root: Path) -> None:
    """Every MongoDB container runs one exact 8.0.x tag, never a floating ``mongo:8.0`` or ``latest``."""
    services = compose(project_root)["services"]
    images = {services[name]["image"] for name in ("mongodb", "mongodb-keyfile")}
    assert len(images) == 1
    assert re.fullmatch(r"mongo:8\.0\.\d+", images.pop())


def test_mongodb_runs_as_a_self_initialising_replica_set(project_root: Path) -> None:
    """The health check initiates the replica set once and is healthy only on a writable primary."""
    mongodb = compose(project_root)["services"]["mongodb"]
    assert "--replSet" in mongodb["command"]
    probe = " ".join(mongodb["healthcheck"]["test"])
    assert "rs.initiate" in probe
    assert "isWritablePrimary" in probe


def test_mongodb_members_authenticate_with_a_keyfile_generated_once(project_root: Path) -> None:
    """An init service writes the keyfile (only when missing, mode 0400, mongod's uid); mongod waits for it."""
    services = compose(project_root)["services"]
    keyfile = services["mongodb-keyfile"]
    script = " ".join(keyfile["command"])
    assert "test -s /keyfile/keyfile ||" in script
    assert "/dev/urandom" in script
    assert "chmod 0400" in script
    assert "chown 999:999" in script
    assert keyfile["restart"] == "no"
    mongodb = services["mongodb"]
    command = mongodb["command"]
    assert command[command.index("--keyFile") + 1] == "/etc/mongodb-keyfile/keyfile"
    assert "mongodb-keyfile:/etc/mongodb-keyfile:ro" in mongodb["volumes"]
    assert mongodb["depends_on"]["mongodb-keyfile"]["condition"] == "service_completed_successfully"


def test_credentials_come_from_the_env_file_and_are_required(project_root: Path) -> None:
    """Root and app credentials are ``${...:?}`` references: compose refuses to start without them."""
    environment = compose(project_root)["services"]["mongodb"]["environment"]
    for key in ("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD", "IDENTITY_MONGODB_PASSWORD"):
        assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", environment[key]), key
    with pytest.raises(LookupError, match="MONGO_ROOT_PASSWORD"):
        interpolate(environment["MONGO_INITDB_ROOT_PASSWORD"], {})


def test_the_probe_authenticates_as_root_without_a_password_in_the_file(project_root: Path) -> None:
    """The health check reads the root credentials from the container's environment (``$$`` escapes compose)."""
    probe = " ".join(compose(project_root)["services"]["mongodb"]["healthcheck"]["test"])
    assert '--password "$$MONGO_INITDB_ROOT_PASSWORD"' in probe
    assert "--authenticationDatabase admin" in probe


def test_the_app_gets_its_own_user_limited_to_its_database(project_root: Path) -> None:
    """An init script creates the service's user with readWrite on its database only; the app connects as it."""
    mongodb = compose(project_root)["services"]["mongodb"]
    assert "./deploy/compose/mongo-init:/docker-entrypoint-initdb.d:ro" in mongodb["volumes"]
    script = (project_root / "deploy" / "compose" / "mongo-init" / "create-app-user.js").read_text()
    assert "createUser" in script
    assert 'roles: [{ role: "readWrite", db: database }]' in script
    uri = interpolate(
        compose(project_root)["services"]["app"]["environment"]["MONGODB_URI"], example_environment(project_root)
    )
    assert uri == "mongodb://identity:change-me@mongodb:27017/identity?replicaSet=rs0&authSource=identity"


def test_mongodb_is_not_published_on_the_host(project_root: Path) -> None:
    """Only the app reaches MongoDB, over the compose network."""
    assert "ports" not in compose(project_root)["services"]["mongodb"]


@pytest.mark.parametrize("environment", ["defaults", ".env.example"])
def test_the_app_is_published_on_loopback_only(project_root: Path, environment: str) -> None:
    """By default (and as the example ships) the app's port is bound to 127.0.0.1, not every interface."""
    values = {} if environment == "defaults" else example_environment(project_root)
    (port,) = compose(project_root)["services"]["app"]["ports"]
    assert interpolate(port, values) == "127.0.0.1:8000:8000"


def test_the_app_is_built_from_the_dockerfile_and_waits_for_a_healthy_database(project_root: Path) -> None:
    """The app image is this repository's Dockerfile, started only once MongoDB is a writable primary."""
    app = compose(project_root)["services"]["app"]
    assert app["build"] == "."
    assert app["command"] == ["identity-store", "serve"]
    assert app["depends_on"]["mongodb"]["condition"] == "service_healthy"
    assert "replicaSet=rs0" in app["environment"]["MONGODB_URI"]


@pytest.mark.parametrize("service", ["mongodb", "app"])
def test_long_running_services_have_a_health_check_and_a_restart_policy(project_root: Path, service: str) -> None:
    """Both come back after a crash or a reboot, and report health compose can wait on."""
    definition = compose(project_root)["services"][service]
    assert definition["restart"] == "unless-stopped"
    assert definition["healthcheck"]["test"]
    assert definition["healthcheck"]["retries"] > 0


def test_the_app_health_check_asks_readyz(project_root: Path) -> None:
    """The app is healthy once /readyz answers 200: database reachable, indexes made."""
    assert "/readyz" in " ".join(compose(project_root)["services"]["app"]["healthcheck"]["test"])


def test_the_app_container_is_read_only_without_capabilities(project_root: Path) -> None:
    """The same hardening as the Helm chart: read-only root with a tmpfs /tmp, no capability, no escalation."""
    app = compose(project_root)["services"]["app"]
    assert app["read_only"] is True
    assert app["tmpfs"] == ["/tmp"]  # noqa: S108 - the container's tmpfs, not a file made here
    assert app["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in app["security_opt"]


def test_the_example_env_file_defines_every_required_variable(project_root: Path) -> None:
    """Each variable compose.yaml uses without a default has a line in .env.example; .env is never committed."""
    example = example_environment(project_root)
    text = (project_root / "compose.yaml").read_text()
    required = {
        match.group("name") for match in _VARIABLE.finditer(text) if match.group("operator") in {None, ":?", "?"}
    }
    assert sorted(required - example.keys()) == []
    assert sorted(variables(project_root) - example.keys()) == []
    assert ".env" in (project_root / ".gitignore").read_text().splitlines()


def test_no_secret_is_written_in_the_compose_file(project_root: Path) -> None:
    """No password literal: every password setting is a variable reference, and no example value leaks in."""
    assert "change-me" not in (project_root / "compose.yaml").read_text()
    for service in compose(project_root)["services"].values():
        for key, value in service.get("environment", {}).items():
            if "PASSWORD" in key:
                assert _VARIABLE.fullmatch(value), key
        uri = service.get("environment", {}).get("MONGODB_URI")
        if uri:
            assert re.match(r"mongodb://\$\{\w+\}:\$\{\w+\}@", uri)


def test_the_image_serves_the_console_script(project_root: Path) -> None:
    dockerfile = (project_root / "Dockerfile").read_text()
    assert 'CMD ["identity-store", "serve"]' in dockerfile
    assert "[embedded]" not in dockerfile
