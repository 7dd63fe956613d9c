"""Every collection has a place in a sharded cluster: a shard key led by the tenant, or a stated
reason to stay unsharded; and MongoDB would accept each key with the indexes the store creates."""

from __future__ import annotations

from typing import Any

from identity_store.mongo.indexes import INDEXES
from identity_store.mongo.shard_keys import CROSS_TENANT, SHARD_KEYS, shard_commands

#: Collections the store writes without declaring indexes for them (their _id is their key).
UNINDEXED = {"event_sequences", "schema"}


def fields(index: dict[str, Any]) -> list[str]:
    return [str(field) for field in index["key"]]


def test_every_collection_is_sharded_or_says_why_not() -> None:
    collections = set(INDEXES) | UNINDEXED
    assert collections == set(SHARD_KEYS) | set(CROSS_TENANT)
    assert not set(SHARD_KEYS) & set(CROSS_TENANT)


def test_every_shard_key_starts_with_the_tenant() -> None:
    for name, key in SHARD_KEYS.items():
        # event_sequences holds one document per tenant, whose _id is the tenant's id.
        assert next(iter(key)) == ("_id" if name == "event_sequences" else "tenant"), name


def test_each_shard_key_has_an_index_and_prefixes_every_unique_index() -> None:
    for name, key in SHARD_KEYS.items():
        if name in UNINDEXED:
            continue
        indexes = [index.document for index in INDEXES[name]]
        wanted = list(key)
        assert any(fields(index)[: len(wanted)] == wanted for index in indexes), f"{name}: no index on {wanted}"
        for index in indexes:
            if index.get("unique"):
                assert fields(index)[: len(wanted)] == wanted, f"{name}: unique {fields(index)} without {wanted}"


def test_the_commands_shard_the_named_database() -> None:
    commands = shard_commands("identity")
    assert commands[0] == 'sh.enableSharding("identity")'
    assert 'sh.shardCollection("identity.users", {"tenant": 1})' in commands
    assert 'sh.shardCollection("identity.events", {"tenant": 1, "seq": 1})' in commands
    assert len(commands) == 1 + len(SHARD_KEYS)
