"""README's quick start, with real processes: ``identity-store serve`` in one terminal, ``tenant
create`` and ``token create`` in another, and the token works on the first SCIM request.

The command line and the service share the embedded database through its folder lock: a command
uses the service's server (waiting for it when the service is still starting it), and a command
alone opens the database for itself and says so in one line on stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.slow


def _environment() -> dict[str, str]:
    """The process environment without the suite's or the developer's database settings."""
    return {key: value for key, value in os.environ.items() if not key.startswith("IDENTITY_") and key != "MONGODB_URI"}


def _cli(data_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "identity_service", "--data-dir", str(data_dir), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=_environment())


class Service:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "identity_service", "serve", "--data-dir", str(data_dir)]
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT, env=_environment()
        )

    def wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the service exited"
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail("the service did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def service(data_dir: Path, tmp_path: Path) -> Iterator[Service]:
    """``identity-store serve --data-dir D --port P`` as its own process (not yet necessarily up)."""
    running = Service(data_dir, tmp_path / "serve.log")
    try:
        yield running
    finally:
        running.stop()


def _token_for_a_new_tenant(data_dir: Path) -> str:
    """``tenant create Contoso`` then ``token create --tenant Contoso``; the secret."""
    created = _cli(data_dir, "tenant", "create", "Contoso")
    assert created.returncode == 0, created.stderr
    issued = _cli(data_dir, "token", "create", "--tenant", "Contoso")
    assert issued.returncode == 0, issued.stderr
    assert "Traceback" not in created.stderr + issued.stderr
    _, secret = issued.stdout.strip().split("\t")
    return secret


def _users(service: Service, secret: str) -> httpx.Response:
    return httpx.get(f"{service.base_url}/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"}, timeout=30)


def test_a_token_created_beside_the_running_service_works_on_the_first_request(
    service: Service, data_dir: Path
) -> None:
    """With the service up, the commands use its database (and say nothing on stderr)."""
    service.wait_until_up()
    created = _cli(data_dir, "tenant", "create", "Contoso")
    assert (created.returncode, created.stderr) == (0, "")
    issued = _cli(data_dir, "token", "create", "--tenant", "Contoso")
    assert (issued.returncode, issued.stderr) == (0, "")
    _, secret = issued.stdout.strip().split("\t")

    response = _users(service, secret)

    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


def test_commands_run_while_the_service_is_starting_are_not_lost(service: Service, data_dir: Path) -> None:
    """The commands race the service's start: whoever takes the folder first, the other waits,
    and the token works on the first request once the service answers."""
    secret = _token_for_a_new_tenant(data_dir)
    service.wait_until_up()

    response = _users(service, secret)

    assert response.status_code == 200
    listed = _cli(data_dir, "tenant", "list")
    assert [line.split("\t")[1] for line in listed.stdout.splitlines()] == ["Contoso"]


def test_a_command_alone_says_in_one_line_that_it_opens_the_database_itself(data_dir: Path) -> None:
    """No service runs for the folder: stderr is that one notice, not the service's INFO logs."""
    result = _cli(data_dir, "tenant", "list")

    assert result.returncode == 0
    notice = f"no service is running for {data_dir.resolve()}: opening its embedded database for this command"
    assert result.stderr.splitlines() == [f"identity-store: {notice}"]
    assert not (data_dir / "secantusd.json").exists()  # and it stopped the server it started
