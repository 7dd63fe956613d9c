"""The MongoDB adapter: the only code that imports the driver."""

from __future__ import annotations

from identity_store.mongo.client import MongoStore
from identity_store.mongo.embedded import EmbeddedDatabase, EmbeddedDatabaseError
from identity_store.mongo.monitoring import CommandCounter, CommandListener

__all__ = ["CommandCounter", "CommandListener", "EmbeddedDatabase", "EmbeddedDatabaseError", "MongoStore"]
