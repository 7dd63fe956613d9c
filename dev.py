#!/usr/bin/env python3
"""The project's two entry points on a fresh machine: ``python3 dev.py serve`` and ``python3 dev.py test``.

Only the standard library is used here, because this runs before anything is installed. Each
command creates ``.venv`` when it is missing, (re)installs the project into it whenever
``pyproject.toml`` changed since the last install, and then runs inside it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject"

# The checks the test command runs before pytest, in the order a reader would fix them.
CHECKS: tuple[tuple[str, ...], ...] = (
    ("ruff", "check", "."),
    ("ruff", "format", "--check", "."),
    ("mypy",),
    ("lint-imports",),
)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"serve", "test"}:
        print(__doc__)
        print("usage: python3 dev.py serve [identity-store serve options] | test [pytest args]")
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the version is known
        print("Python 3.11 or newer is required.", file=sys.stderr)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "serve":
        # The service takes this process's place, so Ctrl-C and signals reach it directly and it
        # stops its embedded database itself, with no wrapper in between to interrupt.
        serve = (str(BIN / "identity-store"), "serve", *rest)
        print("$", "identity-store", *serve[1:], flush=True)
        os.chdir(ROOT)
        os.execv(serve[0], serve)  # noqa: S606 - our own entry point, arguments passed as a list
    # The checks run beside the tests: each is single-threaded, and the tests leave a core idle
    # while they wait on their databases. Their output is shown after the tests'.
    checks = start_checks()
    try:
        tests = run((str(BIN / "python"), "-m", "pytest", *parallel(rest)))
    finally:
        checked = report_checks(checks)
    print(f"tests {'passed' if tests == 0 else 'FAILED'}, checks {'passed' if checked == 0 else 'FAILED'}", flush=True)
    return checked or tests


Check = tuple[tuple[str, ...], subprocess.Popen[bytes], IO[bytes]]


def start_checks() -> list[Check]:
    """Start every check, each writing to a file of its own (a pipe could fill up and stall it)."""
    started: list[Check] = []
    for check in CHECKS:
        output = tempfile.TemporaryFile()  # noqa: SIM115 - report_checks closes it
        process = subprocess.Popen(
            (str(BIN / check[0]), *check[1:]),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Below the tests' priority: the checks take the time the tests leave idle.
            preexec_fn=_lower_priority if os.name == "posix" else None,
        )
        started.append((check, process, output))
    return started


def _lower_priority() -> None:
    os.nice(10)


def report_checks(started: list[Check]) -> int:
    """Wait for the checks and show them in order; the first that failed decides the status."""
    status = 0
    for check, process, output in started:
        process.wait()
        output.seek(0)
        print("$", " ".join(check), flush=True)
        sys.stdout.buffer.write(output.read())
        sys.stdout.flush()
        output.close()
        if process.returncode != 0 and status == 0:
            status = process.returncode
    if status != 0:
        failed = ", ".join(" ".join(c) for c, p, _ in started if p.returncode != 0)
        print(f"failed checks: {failed}", flush=True)
    return status


def parallel(pytest_args: list[str]) -> list[str]:
    """Spread the tests over one worker per core (pytest-xdist; each worker starts its own test
    database), unless the arguments already say how (``-n``, ``--numprocesses``, ``-p no:xdist``)."""
    chosen = any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in pytest_args)
    # One per core, not more: the large-group tests bulk-write tens of thousands of documents, and
    # with more workers than cores their test databases starve past the write deadline.
    # worksteal: an idle worker takes queued tests from a busy one, so a few long tests at the
    # end of one worker's share do not leave the other cores idle.
    return pytest_args if chosen else ["--numprocesses", "auto", "--dist", "worksteal", *pytest_args]


def ensure_environment() -> None:
    """Create the virtual environment and install the project (with its extras) when stale."""
    if not (BIN / "python").exists():
        print(f"creating {VENV.relative_to(ROOT)}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    lock = ROOT / "requirements-dev.lock"
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + lock.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("installing the project into .venv", flush=True)
    python = str(BIN / "python")
    pip = (python, "-m", "pip", "--disable-pip-version-check", "--quiet")
    check_call((*pip, "install", "--upgrade", "pip"))
    # Every dependency at the version and hash the lock file names (reproducible installs; see
    # README "Deploying" for how the lock is made), then the project itself on top, editable.
    check_call((*pip, "install", "--require-hashes", "--requirement", str(lock)))
    check_call((*pip, "install", "--no-deps", "--editable", f"{ROOT}[embedded,dev]"))
    STAMP.write_text(fingerprint)


def run(argv: tuple[str, ...]) -> int:
    print("$", " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv)), flush=True)
    try:
        return subprocess.call(argv, cwd=ROOT)
    except KeyboardInterrupt:  # Ctrl-C reached the check too; it has reported what it was doing
        return 130


def check_call(argv: tuple[str, ...]) -> None:
    status = subprocess.call(argv, cwd=ROOT)
    if status != 0:
        raise SystemExit(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
