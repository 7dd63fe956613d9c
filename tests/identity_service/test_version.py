"""The service reports the version ``pyproject.toml`` declares, read from the installed metadata."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.version import Version

from identity_service.version import __version__


def test_the_version_is_pyprojects(project_root: Path) -> None:
    """``identity_service.version.__version__`` equals ``[project].version`` (reinstall after a bump)."""
    declared = tomllib.loads((project_root / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == declared


def test_the_version_is_a_valid_release_number() -> None:
    """The version parses as a PEP 440 version, so tools can compare it."""
    assert str(Version(__version__)) == __version__


def test_the_changelog_has_an_entry_for_this_version(project_root: Path) -> None:
    """CHANGELOG.md (Keep a Changelog) has a ``## [<version>]`` heading for the version being shipped."""
    assert f"## [{__version__}]" in (project_root / "CHANGELOG.md").read_text()


def test_the_chart_deploys_this_version(project_root: Path) -> None:
    """The Helm chart's appVersion, the image tag it runs by default, is this version."""
    chart = (project_root / "deploy" / "helm" / "identity-store" / "Chart.yaml").read_text()
    assert f'appVersion: "{__version__}"' in chart
