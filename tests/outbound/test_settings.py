"""The webhook settings refuse a combination that would break the one-instance-at-a-time rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from identity_service.settings import Settings


def test_a_lease_must_outlast_two_request_timeouts() -> None:
    """A lease that could expire during a request would let two instances deliver at once."""
    with pytest.raises(ValidationError, match="IDENTITY_WEBHOOK_LEASE_SECONDS"):
        Settings(webhook_lease_seconds=10, webhook_timeout_seconds=10)


def test_the_defaults_are_safe() -> None:
    """HTTPS only, public addresses only, a lease three times the timeout."""
    settings = Settings()
    assert settings.webhook_allow_http is False
    assert settings.webhook_allow_private_addresses is False
    assert settings.webhook_lease_seconds > 2 * settings.webhook_timeout_seconds
