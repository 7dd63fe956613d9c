"""The service's version, with ``pyproject.toml`` as its one source.

The version is read at run time from the installed distribution's metadata (written from
``pyproject.toml`` at install), so no second copy can drift from it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "__version__"]

DISTRIBUTION = "identity-store"

try:
    __version__: str = version(DISTRIBUTION)
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
