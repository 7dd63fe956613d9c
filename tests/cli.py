"""The ``identity-store`` command line run in the test's own process, on the suite's database.

:class:`InProcessCli` runs it from a synchronous test; :class:`CliRunner` from an async one, in a
thread, since each command runs an event loop of its own.

It is the entry point the console script calls (``identity_service.cli.run``), given the
environment a deployment would give it; only the interpreter's start-up, about half a second a
command, is saved. The console script itself is run as a process by ``tests/test_app.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from identity_service.cli import run


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    stdout: str
    stderr: str


class InProcessCli:
    def __init__(
        self, database_uri: str, database_name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("MONGODB_URI", database_uri)
        monkeypatch.setenv("IDENTITY_DATABASE", database_name)
        monkeypatch.setenv("IDENTITY_LOG_LEVEL", "warning")
        self._capsys = capsys

    def attempt(self, *argv: str) -> Outcome:
        """Run one command line, whatever its outcome."""
        self._capsys.readouterr()
        status = run(list(argv))
        out, err = self._capsys.readouterr()
        return Outcome(status, out, err)

    def __call__(self, *argv: str) -> str:
        """The output of a command line that must succeed."""
        outcome = self.attempt(*argv)
        assert outcome.status == 0, outcome.stderr
        return outcome.stdout


class CliRunner:
    """:class:`InProcessCli` for async tests: the exit status, output and error output, stripped."""

    def __init__(self, cli: InProcessCli) -> None:
        self._cli = cli

    async def __call__(self, *argv: str) -> tuple[int, str, str]:
        outcome = await asyncio.to_thread(self._cli.attempt, *argv)
        return outcome.status, outcome.stdout.strip(), outcome.stderr.strip()

    async def ok(self, *argv: str) -> list[str]:
        """The fields of the output's first line; the command must succeed."""
        status, out, err = await self(*argv)
        assert status == 0, err
        return out.splitlines()[0].split("\t")
