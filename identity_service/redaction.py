"""No secret in a log line: a structlog processor that blanks them before a line is rendered.

Two nets, because a secret reaches a log either under a telling name or inside some text:

- the value of any key that names a secret (``authorization``, ``token``, ``secret``,
  ``password``, ``client_secret``, ``api_key``, ``cookie``, ...), whatever it holds;
- anything in any string (the message, an exception's traceback, a nested value) that looks
  like a secret: the service's own (``scim_``, ``isk_``, ``ocs_``, ``ica_`` followed by a credential id,
  see :mod:`identity_store.domain.credentials`; webhook ``whsec_`` secrets), a bearer
  credential after ``Bearer``, a JWT, a PEM private key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from typing import Any

from identity_store.domain.credentials import SECRET_PREFIXES
from identity_store.webhooks import SECRET_PREFIX as WEBHOOK_SECRET_PREFIX

__all__ = ["REDACTED", "redact", "redact_secrets"]

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(r"authorization|token|secret|passw|api_?key|cookie", re.IGNORECASE)

_SECRET_TEXT = re.compile(
    "|".join(
        (
            # <prefix>_<24 hex credential id>_<secret> (credentials.issue)
            rf"\b(?:{'|'.join(map(re.escape, SECRET_PREFIXES))})_[0-9a-f]{{24}}_[A-Za-z0-9_\-]+",
            rf"{re.escape(WEBHOOK_SECRET_PREFIX)}[A-Za-z0-9+/=_\-]+",
            r"(?i:bearer|basic)\s+[A-Za-z0-9._~+/=\-]+",
            r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
        )
    ),
    re.DOTALL,
)
# What every match of _SECRET_TEXT contains, found in half the time the whole pattern takes to
# find nothing: a line's values are mostly ids and paths with no secret, and each was searched.
_MAYBE_SECRET = re.compile(
    "|".join(
        re.escape(text) for text in (*(f"{p}_" for p in SECRET_PREFIXES), WEBHOOK_SECRET_PREFIX, "eyJ", "-----BEGIN ")
    )
    + "|(?i:bearer|basic)"
)


def redact(value: Any) -> Any:
    """``value`` with every secret-looking text blanked, nested mappings and sequences included."""
    if isinstance(value, str):
        return _SECRET_TEXT.sub(REDACTED, value) if _MAYBE_SECRET.search(value) else value
    if isinstance(value, Mapping):
        return {key: _redact_item(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def _redact_item(key: str, value: Any) -> Any:
    if value is not None and _names_secret(key):
        return REDACTED
    return redact(value)


@lru_cache(maxsize=1024)
def _names_secret(key: str) -> bool:
    """Whether a key names a secret; a line's keys are the same few, decided once each."""
    return _SECRET_KEY.search(key) is not None


def redact_secrets(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The processor: run it last before rendering, after tracebacks are formatted as text."""
    for key, value in list(event_dict.items()):
        if not key.startswith("_"):  # structlog's own (the record) is not rendered
            event_dict[key] = _redact_item(key, value)
    return event_dict
