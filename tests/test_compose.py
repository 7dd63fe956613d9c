"""compose.yaml brings up real MongoDB as a self-initialising replica set plus the app.

Docker is not on the development machines, so this checks the file's shape; run the real thing
with `docker compose up` and `curl localhost:8000/readyz`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def compose(project_root: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((project_root / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_mongodb_runs_as_a_self_initialising_replica_set(project_root: Path) -> None:
    mongodb = compose(project_root)["services"]["mongodb"]
    assert mongodb["image"].startswith("mongo:")
    assert "--replSet" in mongodb["command"]
    probe = " ".join(mongodb["healthcheck"]["test"])
    assert "rs.initiate" in probe
    assert "isWritablePrimary" in probe


def test_app_waits_for_a_healthy_database_and_uses_the_replica_set(project_root: Path) -> None:
    app = compose(project_root)["services"]["app"]
    assert app["build"] == "."
    assert app["depends_on"]["mongodb"]["condition"] == "service_healthy"
    assert "replicaSet=rs0" in app["environment"]["MONGODB_URI"]
    assert "8000:8000" in app["ports"]
    assert "/readyz" in " ".join(app["healthcheck"]["test"])


def test_the_image_serves_the_console_script(project_root: Path) -> None:
    dockerfile = (project_root / "Dockerfile").read_text()
    assert 'CMD ["identity-store", "serve"]' in dockerfile
    assert "[embedded]" not in dockerfile
