"""The key that signs OAuth access tokens: configured, or generated once beside the embedded data."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from identity_service.settings import Settings
from scim_facade import generate_signing_key

__all__ = ["SIGNING_KEY_FILE", "signing_key"]

log = logging.getLogger("identity_store.app")

SIGNING_KEY_FILE = "oauth-signing-key.pem"


def signing_key(settings: Settings) -> bytes | None:
    """The PEM key that signs OAuth access tokens.

    ``IDENTITY_OAUTH_SIGNING_KEY`` (PEM text or a file path) when set. Otherwise, on the embedded
    database, a key generated once and kept beside the data (mode 0600). With ``MONGODB_URI`` and
    no key, ``None``: instances sharing a database must share the key, and no safe one can be
    invented here, so the token endpoint stays off until one is configured.
    """
    configured = settings.oauth_signing_key
    if configured:
        if configured.lstrip().startswith("-----BEGIN"):
            return configured.encode()
        return Path(configured).read_bytes()
    if settings.mongodb_uri is not None:
        log.warning("IDENTITY_OAUTH_SIGNING_KEY is not set: the OAuth token endpoint is off")
        return None
    path = settings.data_dir.resolve() / SIGNING_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as file:
        file.write(generate_signing_key())
    log.info("generated the OAuth signing key %s", path)
    return path.read_bytes()
