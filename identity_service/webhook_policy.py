"""Where webhooks may be sent, from the settings: shared by the service and the command line
(which checks a subscription's URL when it is added) without importing the whole app."""

from __future__ import annotations

from identity_service.settings import Settings
from outbound.webhooks.addresses import AddressPolicy

__all__ = ["webhook_policy"]


def webhook_policy(settings: Settings) -> AddressPolicy:
    """Where webhooks may be sent, from the settings."""
    return AddressPolicy(allow_http=settings.webhook_allow_http, allow_private=settings.webhook_allow_private_addresses)
