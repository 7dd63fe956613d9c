"""The Dockerfile builds a small, locked, non-root runtime image without the embedded database.

Docker is not on the development machines, so this reads the file the way ``docker build``
does (instructions, line continuations, stages) and checks the properties an operator relies on.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[str]:
        return [instruction.arguments for instruction in self.instructions if instruction.keyword == keyword]


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, comments dropped and continued lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(
        r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    found = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            found.append(Instruction(keyword=keyword.upper(), arguments=arguments.strip()))
    return found


def build_arguments() -> dict[str, str]:
    pairs = (instruction.arguments.partition("=") for instruction in instructions() if instruction.keyword == "ARG")
    return {name: default for name, _, default in pairs}


def stages() -> list[Stage]:
    """The build stages, each with its base image (``ARG`` defaults substituted) and instructions."""
    arguments = build_arguments()
    found: list[Stage] = []
    current: list[Instruction] = []
    header: tuple[str, str | None] | None = None
    for instruction in instructions():
        if instruction.keyword == "FROM":
            if header is not None:
                found.append(Stage(base=header[0], name=header[1], instructions=tuple(current)))
            words = instruction.arguments.split()
            base = re.sub(r"\$\{(\w+)\}", lambda match: arguments[match.group(1)], words[0])
            header, current = (base, words[2] if len(words) == 3 and words[1].upper() == "AS" else None), []
        elif header is not None:
            current.append(instruction)
    assert header is not None
    found.append(Stage(base=header[0], name=header[1], instructions=tuple(current)))
    return found


def runtime() -> Stage:
    return stages()[-1]


def test_it_builds_a_wheel_in_one_stage_and_installs_it_in_another() -> None:
    """Multi-stage: the first stage builds the project's wheel; the last installs it without building."""
    build, final = stages()[0], runtime()
    assert len(stages()) >= 2
    assert any("pip wheel" in command for command in build.all("RUN"))
    install = " ".join(final.all("RUN"))
    assert f"from={build.name}" in install
    assert "/wheels/*.whl" in install
    assert "pip wheel" not in install


def test_the_runtime_is_a_slim_image_pinned_to_an_exact_python() -> None:
    """The final base is a ``-slim`` image with a full version (no floating ``3.12`` or ``latest``)."""
    base = runtime().base
    image, _, tag = base.partition(":")
    assert image == "python"
    assert re.fullmatch(r"\d+\.\d+\.\d+-slim(-\w+)?", tag), base


def test_dependencies_come_from_the_lock_with_every_hash_checked() -> None:
    """The runtime installs ``requirements.lock`` with ``--require-hashes``, and the wheel with ``--no-deps``."""
    install = " ".join(runtime().all("RUN"))
    assert "--require-hashes -r /tmp/requirements.lock" in install
    assert "source=requirements.lock" in install
    assert "--no-deps /wheels/*.whl" in install


def test_the_runtime_carries_no_build_tools_and_no_embedded_database() -> None:
    """No compiler or package manager is installed in the last stage, pip is removed, SecantusDB never named."""
    final = " ".join(instruction.arguments for instruction in runtime().instructions)
    for tool in ("apt-get", "gcc", "build-essential", "hatchling", "[embedded]", "secantus"):
        assert tool not in final.lower()
    assert "pip uninstall --yes pip" in final
    assert "[embedded]" not in (ROOT / "Dockerfile").read_text()


def test_it_runs_as_a_numeric_non_root_user() -> None:
    """The last ``USER`` is a numeric uid:gid other than 0, matching the chart's runAsUser."""
    (user,) = runtime().all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit()
    assert int(uid) != 0
    assert gid.isdigit()
    assert int(gid) != 0


def test_the_health_check_asks_healthz() -> None:
    """``HEALTHCHECK`` fetches /healthz on the service's port, with a timeout."""
    (check,) = runtime().all("HEALTHCHECK")
    assert "--timeout=" in check
    command = json.loads(check.partition("CMD ")[2])
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]
    assert "IDENTITY_PORT" in command[2]


def test_it_starts_the_console_script_listening_beyond_loopback() -> None:
    """``identity-store serve`` is the command, bound to all container interfaces (compose limits the host side)."""
    final = runtime()
    assert json.loads(final.all("CMD")[-1]) == ["identity-store", "serve"]
    assert "IDENTITY_HOST=0.0.0.0" in " ".join(final.all("ENV"))


def ignored(path: str) -> bool:
    """Whether ``.dockerignore`` keeps ``path`` out of the build context (the last matching rule wins)."""
    excluded = False
    for rule in (ROOT / ".dockerignore").read_text().splitlines():
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            continue
        negated, pattern = rule.startswith("!"), rule.removeprefix("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        candidates = [path, *(part for part in Path(path).parts)]
        prefixes = [str(Path(*Path(path).parts[: index + 1])) for index in range(len(Path(path).parts))]
        if any(fnmatch.fnmatch(candidate, pattern) for candidate in {*candidates, *prefixes}):
            excluded = not negated
    return excluded


def copied_sources() -> list[str]:
    sources = []
    for stage in stages():
        for arguments in stage.all("COPY"):
            words = [word for word in arguments.split() if not word.startswith("--")]
            sources.extend(words[:-1])
    return sources


def test_the_build_context_holds_what_the_image_is_built_from() -> None:
    """Everything the Dockerfile copies or mounts from the context passes ``.dockerignore``."""
    for source in [*copied_sources(), "requirements.lock", "identity_store/domain/errors.py"]:
        assert not ignored(source), source


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".git",
        ".venv/bin/python",
        "data/db/WiredTiger",
        "tests/conftest.py",
        "benchmarks/durability.py",
        "identity_store/__pycache__/bus.cpython-312.pyc",
        "deploy/helm/identity-store/values.yaml",
        "compose.yaml",
    ],
)
def test_the_build_context_leaves_out_secrets_data_and_development_files(path: str) -> None:
    """Secrets (``.env``), the database folder, the virtualenv, tests and deployment files never reach the image."""
    assert ignored(path)
