"""The request tallies: each instance learns what the others admitted since it last looked, once."""

from __future__ import annotations

from identity_store.mongo import MongoStore
from identity_store.mongo.request_tallies import MongoRequestTallies


async def test_an_instance_gets_the_others_admissions_once_and_never_its_own(store: MongoStore) -> None:
    first, second = MongoRequestTallies(store.database), MongoRequestTallies(store.database)
    assert await first.exchange("a", {"t1": 3, "t2": 1}) == {}
    assert await second.exchange("b", {}) == {"t1": 3, "t2": 1}
    assert await second.exchange("b", {"t1": 5}) == {}
    assert await first.exchange("a", {"t1": 2}) == {"t1": 5}
    assert await second.exchange("b", {}) == {"t1": 2}
    assert await first.exchange("a", {}) == {}


async def test_a_third_instance_starting_late_counts_what_the_window_holds(store: MongoStore) -> None:
    await MongoRequestTallies(store.database).exchange("a", {"t1": 4})
    await MongoRequestTallies(store.database).exchange("b", {"t1": 1})
    assert await MongoRequestTallies(store.database).exchange("c", {}) == {"t1": 5}
