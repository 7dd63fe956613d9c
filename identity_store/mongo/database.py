"""The store's database handle, which hands out one collection object per name.

A collection object is an immutable handle (a name and the database's options), safe to share
between concurrent operations, yet PyMongo builds a new one at every ``database[name]``. The
repositories of one transaction asked for 47 of them per request, a few percent of its CPU; this
handle builds each once and gives the same one again.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["Database"]

Document = dict[str, Any]


class Database(AsyncDatabase[Document]):
    """An :class:`AsyncDatabase` whose ``database[name]`` (``database.<name>`` too) is built once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._collections: dict[str, AsyncCollection[Document]] = {}

    def __getitem__(self, name: str) -> AsyncCollection[Document]:
        collection = self._collections.get(name)
        if collection is None:
            collection = self._collections[name] = super().__getitem__(name)
        return collection
