"""An OpenID Shared Signals Framework 1.0 transmitter over the tenants' event logs.

:class:`Transmitter` serves discovery, the JWKS, stream management and poll delivery
(RFC 8936); :class:`Pusher` delivers push streams (RFC 8935). SETs (RFC 8417) are built by
:mod:`ssf_transmitter.signals` and signed by :class:`SetSigner`.
"""

from __future__ import annotations

from ssf_transmitter.backoff import Backoff
from ssf_transmitter.push import Pusher
from ssf_transmitter.routes import SSF_MANAGE_SCOPE, Transmitter
from ssf_transmitter.tokens import SetSigner

__all__ = ["SSF_MANAGE_SCOPE", "Backoff", "Pusher", "SetSigner", "Transmitter"]
