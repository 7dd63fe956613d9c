"""The MongoDB adapter: the only code that imports the driver.

One module per concept: :mod:`store` (the client and one store per tenant), :mod:`unit_of_work`
(the transaction loop), :mod:`scope` (tenant scoping), :mod:`indexes`, :mod:`filters` and
:mod:`keysets` (queries), :mod:`positions` and :mod:`directory_pages` (creation order, the
tenant's counts, and pages at any depth), the repositories (:mod:`users`, :mod:`groups`,
:mod:`memberships`, :mod:`member_walk`, :mod:`user_views`, :mod:`event_log`, :mod:`fan_outs`,
:mod:`tenants`, :mod:`credentials`, :mod:`oauth_clients`) and :mod:`documents` (the document
layout).
"""

from __future__ import annotations

from identity_store.mongo.embedded import EmbeddedDatabase, EmbeddedDatabaseError
from identity_store.mongo.monitoring import CommandCounter, CommandListener
from identity_store.mongo.store import MongoStore

__all__ = ["CommandCounter", "CommandListener", "EmbeddedDatabase", "EmbeddedDatabaseError", "MongoStore"]
