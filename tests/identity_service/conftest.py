"""What the command-line tests share: ``identity-store`` run in the test's process on the suite's database."""

from __future__ import annotations

import pytest

from tests.cli import CliRunner, InProcessCli


@pytest.fixture
def cli(
    database_uri: str, database_name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> CliRunner:
    """Runs ``identity-store`` on the suite's database: its exit status, output and error output."""
    return CliRunner(InProcessCli(database_uri, database_name, monkeypatch, capsys))
