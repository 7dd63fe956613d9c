"""The write side's one wiring point: the store in, the command bus out.

The composition root calls :func:`bootstrap` once per store (once per process) and hands the bus
to both front ends and the command line, so every change of every entry point runs through the
same bus and the same handlers, and nothing is rebuilt per request.
"""

from __future__ import annotations

from identity_store.bus import CommandBus
from identity_store.domain.webhook_urls import WebhookUrlRules
from identity_store.ports import Store

__all__ = ["BusOf", "bootstrap"]


def bootstrap(
    store: Store, *, webhook_urls: WebhookUrlRules | None = None, schema_cache_seconds: float = 0.0
) -> CommandBus:
    """The bus of ``store``; ``webhook_urls``: which URLs webhook subscriptions may have (the
    settings'); ``schema_cache_seconds``: how long each tenant's extension schemas are kept."""
    return CommandBus(store, webhook_urls=webhook_urls, schema_cache_seconds=schema_cache_seconds)


class BusOf:
    """The bus of whichever store is current (the composition root's lifespan opens the store after
    the routes exist): bootstrapped once per store object, never per request."""

    def __init__(self, *, webhook_urls: WebhookUrlRules | None = None, schema_cache_seconds: float = 0.0) -> None:
        self._store: Store | None = None
        self._bus: CommandBus | None = None
        self._webhook_urls = webhook_urls
        self._schema_cache_seconds = schema_cache_seconds

    def __call__(self, store: Store) -> CommandBus:
        if self._bus is None or self._store is not store:
            self._store, self._bus = (
                store,
                bootstrap(store, webhook_urls=self._webhook_urls, schema_cache_seconds=self._schema_cache_seconds),
            )
        return self._bus
