"""``identity-store serve`` as its own process on the suite's database, its stdout and stderr kept
apart in files: what an operator's log collector would read. ``database_uri=None`` leaves
``MONGODB_URI`` unset, so the service starts its embedded database in the test's folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from tests.servers import free_port

__all__ = ["ServiceProcess"]


class ServiceProcess:
    def __init__(
        self,
        folder: Path,
        *,
        database_uri: str | None,
        database_name: str,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = folder / "stdout.log"
        self.stderr_path = folder / "stderr.log"
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("IDENTITY_", "OTEL_", "PROMETHEUS_")) and key != "MONGODB_URI"
        }
        if database_uri is not None:
            environment["MONGODB_URI"] = database_uri
        environment |= {
            "IDENTITY_DATABASE": database_name,
            "IDENTITY_DATA_DIR": str(folder / "data"),
            # The SSF push loop and the webhook worker poll the database; not what these tests watch.
            "IDENTITY_SSF_ENABLED": "false",
            "IDENTITY_WEBHOOK_DELIVERY": "false",
            **(env or {}),
        }
        self._stdout = self.stdout_path.open("w")
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "identity_service", "serve", "--port", str(self.port), *args],
            stdout=self._stdout,
            stderr=self._stderr,
            env=environment,
            # A group of its own, so that a test can signal it as a terminal's Ctrl-C signals the
            # foreground group (every process of the service but a child in a group of its own).
            process_group=0,
        )

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: {self.stderr_path.read_text()}{self.stdout_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the service did not become ready")

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it; its output is complete afterwards."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stdout.close()
        self._stderr.close()
