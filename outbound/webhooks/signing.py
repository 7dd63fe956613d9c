"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.

The signature is ``v1,`` and the base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}``, keyed with
the base64-decoded part of a ``whsec_`` secret (Standard Webhooks specification, "Signature
scheme"), so any of its libraries verifies a delivery. The secret is issued with the subscription
(:func:`identity_store.webhooks.new_secret`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from identity_store.webhooks import SECRET_PREFIX

__all__ = ["signed_headers"]


def signed_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one delivery of ``body``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
        "content-type": "application/json",
    }
