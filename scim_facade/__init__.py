"""The SCIM 2.0 service provider (RFC 7643/7644) over the identity domain.

:func:`scim_mount` gives the Starlette mount at ``/scim/v2``; the composition root wires it.
"""

from __future__ import annotations

from scim_facade.app import PREFIX, ScimSettings, scim_mount

__all__ = ["PREFIX", "ScimSettings", "scim_mount"]
