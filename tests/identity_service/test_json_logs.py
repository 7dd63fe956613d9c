"""The JSON log line and its redaction: what any record of the process becomes on stdout."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest

from identity_service.json_logs import json_formatter
from identity_service.redaction import REDACTED


def _rendered(record: logging.LogRecord) -> dict[str, Any]:
    rendered = json.loads(json_formatter().format(record))
    assert isinstance(rendered, dict)
    return rendered


def test_a_fault_is_one_object_with_its_traceback_inside() -> None:
    try:
        raise RuntimeError("the disk is on fire")
    except RuntimeError:
        record = logging.getLogger("identity_service").makeRecord(
            "identity_service", logging.ERROR, __file__, 1, "unexpected failure on %s", ("GET /x",), sys.exc_info()
        )
    line = _rendered(record)
    assert (line["level"], line["event"]) == ("error", "unexpected failure on GET /x")
    assert "Traceback" in line["exception"]
    assert "the disk is on fire" in line["exception"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("authorization", "Bearer abc.def"),
        ("client_secret", "hunter2"),
        ("password", "hunter2"),
        ("api_key", "anything"),
        ("refresh_token", "anything"),
    ],
)
def test_a_value_under_a_secret_name_is_redacted(key: str, value: str) -> None:
    record = logging.makeLogRecord({"name": "x", "levelno": logging.INFO, "levelname": "INFO", "msg": "m", key: value})
    assert _rendered(record)[key] == REDACTED


@pytest.mark.parametrize(
    "secret",
    [
        "scim_0123456789abcdef01234567_c2VjcmV0LXNlY3JldC1zZWNyZXQ",
        "isk_0123456789abcdef01234567_c2VjcmV0LXNlY3JldC1zZWNyZXQ",
        "ocs_0123456789abcdef01234567_c2VjcmV0LXNlY3JldC1zZWNyZXQ",
        "ica_0123456789abcdef01234567_c2VjcmV0LXNlY3JldC1zZWNyZXQ",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "Bearer c2VjcmV0LXNlY3JldC1zZWNyZXQ",
        "bAsIc dXNlcjpwYXNzd29yZA==",
        "-----BEGIN EC PRIVATE KEY-----MHcCAQEEIBkg-----END EC PRIVATE KEY-----",
    ],
)
def test_a_value_that_looks_like_a_secret_is_redacted_anywhere(secret: str) -> None:
    record = logging.makeLogRecord(
        {
            "name": "x",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "refused %s",
            "args": (secret,),
            "detail": {"nested": [f"was {secret}."]},
        }
    )
    rendered = json.dumps(_rendered(record))
    assert secret not in rendered
    assert rendered.count(REDACTED) == 2
