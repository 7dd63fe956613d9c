"""The command line starts without building the SCIM and GraphQL front ends it does not use.

Loading scim2-models' message models and strawberry's schema took 1.5 s of every admin
command's start (and of every test that runs one); the command line now needs neither.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scim2_models", "strawberry", "scim_facade.app", "graphql_api.schema", "identity_service.app")


def test_loading_the_command_line_loads_no_front_end() -> None:
    probe = f"import sys, identity_service.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
