"""Standard Webhooks signing and back-off, checked against the specification's own library."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from identity_store.webhooks import new_secret
from outbound.webhooks import Backoff
from outbound.webhooks.signing import signed_headers


def test_a_secret_is_whsec_and_24_to_64_random_bytes() -> None:
    """Secrets have the ``whsec_`` prefix and a base64 key of 24 to 64 bytes; no two are alike."""
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    assert new_secret() != secret


def test_the_signature_is_the_one_the_library_computes() -> None:
    """``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``: what ``Webhook.sign`` gives."""
    secret, body, at = new_secret(), b'{"type":"UserCreated"}', 1_796_112_000
    headers = signed_headers(secret, "msg_1", at, body)
    expected = Webhook(secret).sign("msg_1", datetime.fromtimestamp(at, UTC), body.decode())
    assert headers["webhook-signature"] == expected
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(at)


def test_a_changed_body_does_not_verify() -> None:
    """The signature covers the body: a receiver refuses a tampered delivery."""
    secret = new_secret()
    body = json.dumps({"type": "UserCreated"}).encode()
    headers = signed_headers(secret, "msg_1", int(datetime.now(UTC).timestamp()), body)
    Webhook(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"Created", b"Deleted"), headers)


@pytest.mark.parametrize(("failures", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (9, 256.0), (10, 300.0), (50, 300.0)])
def test_back_off_doubles_up_to_its_cap_with_jitter_in_the_upper_half(failures: int, ceiling: float) -> None:
    """The n-th failure waits between half and all of min(cap, base * 2^(n-1))."""
    backoff = Backoff(base_seconds=1.0, max_seconds=300.0)
    delays = [backoff.delay(failures) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1
