"""Who numbers a write's events follows IDENTITY_EVENT_NUMBERING, and ``auto`` follows the server."""

from __future__ import annotations

import pytest

from identity_service.database import numbering_of
from identity_service.settings import Settings
from identity_store.mongo.stamps import Numbering

MONGODB = "mongodb://db.example:27017/?replicaSet=rs0"


@pytest.mark.parametrize(
    ("uri", "workers", "expected"),
    [
        (None, 1, Numbering.IN_TRANSACTION),
        # The embedded database runs one command at a time: rounds would only add work.
        (None, 4, Numbering.IN_TRANSACTION),
        (MONGODB, 1, Numbering.IN_TRANSACTION),
        # Several processes on a server that runs their transactions side by side.
        (MONGODB, 2, Numbering.SEQUENCER),
    ],
)
def test_auto_numbers_by_a_sequencer_only_for_several_workers_on_mongodb(
    uri: str | None, workers: int, expected: Numbering
) -> None:
    assert numbering_of(Settings(mongodb_uri=uri, workers=workers)) is expected


@pytest.mark.parametrize("chosen", ["transaction", "sequencer"])
def test_a_chosen_numbering_is_kept_whatever_the_deployment(chosen: str) -> None:
    for uri, workers in ((None, 1), (MONGODB, 3)):
        settings = Settings(mongodb_uri=uri, workers=workers, event_numbering=chosen)
        assert numbering_of(settings) is Numbering(chosen)


def test_an_unknown_numbering_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="event_numbering"):
        Settings(event_numbering="lamport")
