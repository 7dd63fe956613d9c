"""The subgraph composes into a supergraph with Apollo's own composition library (npm @apollo/composition).

The library is installed from the npm registry into a cache folder on first use
(``IDENTITY_NPM_CACHE``, default ``~/.cache/identity-store/npm``) and reused afterwards. The test
is skipped, saying why, when node or npm is missing or the install fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from graphql_api.schema import schema

COMPOSITION = "@apollo/composition@2.14.4"
SCRIPT = Path(__file__).with_name("federation") / "compose.js"


def _tools() -> tuple[str, str]:
    """The full paths of node and npm (the test is skipped without them)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run Apollo's composition library (CI has node 20)")
    return node, npm


def _composition_modules(npm: str) -> Path:
    """The node_modules folder holding @apollo/composition, installed once into the cache."""
    cache = Path(os.environ.get("IDENTITY_NPM_CACHE", Path.home() / ".cache" / "identity-store" / "npm"))
    modules = cache / "node_modules"
    if not (modules / "@apollo" / "composition").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--silent", COMPOSITION],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if installed.returncode != 0:
            pytest.skip(f"could not install {COMPOSITION} from the npm registry: {installed.stderr.strip()[-500:]}")
    return modules


def _compose(tmp_path: Path) -> dict[str, Any]:
    node, npm = _tools()
    modules = _composition_modules(npm)
    subgraph = tmp_path / "identity.graphql"
    subgraph.write_text(schema.as_str())  # what _service { sdl } serves
    ran = subprocess.run(
        [node, str(SCRIPT), str(subgraph)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    assert ran.returncode == 0, ran.stderr
    result: dict[str, Any] = json.loads(ran.stdout)
    return result


def test_the_subgraph_composes_with_one_that_extends_user(tmp_path: Path) -> None:
    """Apollo composition of our subgraph and another that adds User.badges by the userName key:
    no errors, and the supergraph joins User from both."""
    result = _compose(tmp_path)
    print(f"composition: {len(result['errors'])} errors, {len(result['hints'])} hints")
    assert result["errors"] == []
    supergraph = result["supergraphSdl"]
    assert '@join__type(graph: IDENTITY, key: "userName")' in supergraph
    assert '@join__type(graph: BADGES, key: "userName")' in supergraph
    assert "badges: [Badge!]! @join__field(graph: BADGES)" in supergraph
