"""The lock files pin exactly what ``pyproject.toml`` declares, every pin with its hashes.

``requirements.lock`` is the runtime (what the Docker image installs); ``requirements-dev.lock``
adds the ``embedded`` and ``dev`` extras (what a development machine and CI install). Both are
compiled from ``pyproject.toml`` with ``uv pip compile`` (README "Deploying"); a test here fails
when the two disagree, so a dependency changed in one place only is caught before it ships.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "identity-store (pyproject.toml)"
CONSTRAINT = "-c requirements-dev.lock"
LOCKS = {"requirements.lock": (), "requirements-dev.lock": ("embedded", "dev")}


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """One locked distribution: its exact version, its environment marker, its hashes and who needs it."""

    name: str
    version: str
    marker: str | None
    hashes: tuple[str, ...]
    via: tuple[str, ...]


def read_lock(path: Path) -> list[Pin]:
    """Parse uv's ``requirements.txt`` output: a pin line, its ``--hash`` lines, then ``# via`` comments."""
    pins: list[Pin] = []
    entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    for entry in entries:
        if entry.startswith("#"):
            continue  # the header
        statement, _, comments = entry.partition("\n    # via")
        text = statement.replace("\\\n", " ")
        requirement_text, *hashes = (part.strip() for part in text.split("--hash="))
        requirement = Requirement(requirement_text)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{requirement_text} is not an exact pin"
        via = tuple(
            line.strip().removeprefix("#").strip() for line in comments.splitlines() if line.strip().strip("#").strip()
        )
        pins.append(
            Pin(
                name=canonicalize_name(requirement.name),
                version=specifier.version,
                marker=str(requirement.marker) if requirement.marker else None,
                hashes=tuple(hashes),
                via=via,
            )
        )
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    """The direct requirements ``pyproject.toml`` declares for the runtime plus ``extras``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in extras:
        texts.extend(project["optional-dependencies"][extra])
    return [Requirement(text) for text in texts]


def lock_names() -> list[str]:
    return list(LOCKS)


@pytest.mark.parametrize("lock", lock_names())
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    """Each locked distribution has one exact version and at least one sha256 hash (pip's --require-hashes)."""
    pins = read_lock(ROOT / lock)
    assert pins
    for pin in pins:
        assert pin.hashes, f"{pin.name} has no hash"
        assert all(digest.startswith("sha256:") for digest in pin.hashes)


@pytest.mark.parametrize("lock", lock_names())
def test_the_lock_holds_exactly_the_declared_direct_dependencies(lock: str) -> None:
    """What the lock says ``pyproject.toml`` asks for is what ``pyproject.toml`` asks for: no more, no less."""
    required = {canonicalize_name(requirement.name) for requirement in declared(LOCKS[lock])}
    from_project = {pin.name for pin in read_lock(ROOT / lock) if PROJECT in pin.via}
    assert sorted(required - from_project) == [], "declared but not locked as a direct dependency"
    assert sorted(from_project - required) == [], "locked as a direct dependency but no longer declared"


@pytest.mark.parametrize("lock", lock_names())
def test_each_pin_satisfies_its_declared_range(lock: str) -> None:
    """Every direct pin lies within the range ``pyproject.toml`` declares (pre-releases only where it names one)."""
    pins = {pin.name: pin for pin in read_lock(ROOT / lock)}
    for requirement in declared(LOCKS[lock]):
        pin = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{pin.name}=={pin.version} is outside {requirement.specifier}"
        )


@pytest.mark.parametrize("lock", lock_names())
def test_every_pin_is_needed_by_something_locked(lock: str) -> None:
    """No orphan: each pin is asked for by the project or by another locked distribution."""
    pins = read_lock(ROOT / lock)
    names = {pin.name for pin in pins}
    for pin in pins:
        needed_by = {
            canonicalize_name(re.split(r"[\[ ]", via)[0]) for via in pin.via if via not in {PROJECT, CONSTRAINT}
        }
        assert PROJECT in pin.via or needed_by & names, f"{pin.name} is needed by nothing locked"


def test_the_runtime_lock_agrees_with_the_development_lock() -> None:
    """The image runs exactly the versions the tests ran: every runtime pin is the same in the dev lock."""
    development = {(pin.name, pin.marker): pin.version for pin in read_lock(ROOT / "requirements-dev.lock")}
    for pin in read_lock(ROOT / "requirements.lock"):
        assert development.get((pin.name, pin.marker)) == pin.version, f"{pin.name} differs between the locks"


def test_the_runtime_lock_carries_neither_the_embedded_database_nor_development_tools() -> None:
    """The production image installs no GPL-licensed SecantusDB and no test or lint tool."""
    names = {pin.name for pin in read_lock(ROOT / "requirements.lock")}
    assert "secantusdb" not in names
    assert not names & {"pytest", "mypy", "ruff", "hypothesis", "uv", "helm-python-sdk"}
