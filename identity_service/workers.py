"""Several service processes on one socket and one database: ``identity-store serve --workers N``.

uvicorn's own supervisor (:class:`uvicorn.supervisors.Multiprocess`) binds the socket once,
starts N worker processes that accept connections on it, stops them all on SIGTERM or SIGINT,
and starts a new worker in place of one that died. What this module adds is what N processes of
this service must share:

- **One database.** With ``MONGODB_URI`` every worker connects to it. Without, the embedded
  database is started here, in the parent, before the first worker, supervised here, and stopped
  after the last worker has exited; each worker finds it through the data folder, whose state
  file names the server its holder runs (as an admin command does, see
  :mod:`identity_store.mongo.embedded`). The parent rather than the first worker, because the
  database must outlive every worker: the worker that owned it could die and be replaced, taking
  the database, and every other worker's connections, with it; and the parent is the one process
  that lives from before the first worker to after the last, so it can stop the database only
  once every worker has finished its requests and written its last activity records.
- **One set of keys.** The SCIM cursor key and the console's session key are random per process
  when unset; a cursor one worker signed must be accepted by whichever serves the next page, and
  a console sign-in by whichever serves the next click, so the parent draws one key of each for
  all its workers. The OAuth signing key the embedded default generates beside the data is made
  by the parent's check before any worker starts, so workers never race to create it.
- **One set of metrics.** Without ``PROMETHEUS_MULTIPROC_DIR`` each worker would answer
  ``/metrics`` with its own counts; the parent makes a fresh folder for prometheus-client's
  multiprocess mode, so any worker answers for all, and removes it at the end.

Everything else a worker starts is already safe with several instances on one database, and a
worker is one more instance: the start-up migrations run under a lease (one migrates, the others
wait behind the readiness gate); the purge job purges only under its lease; the webhook worker
delivers a subscription only under its lease, and the Shared Signals pusher a stream only under
its own; every lease owner is drawn per process; the SCIM rate limit is shared through the
request tallies, each process under an id of its own; fan-outs left unfinished are finished
through the tenant's event sequence, which serialises them across processes.

**A worker that dies** (killed, out of memory, a crash) is logged as one line at ``error``
(its pid, how it ended, the pid of its replacement) and replaced, while the others go on
serving: one process's crash is not the service's. A worker that fails before it serves (its
lifespan failed) would fail the same way at every start, so then the whole service stops, as
uvicorn's supervisor decides, and ``serve`` exits with status 1.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import secrets
import signal
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

from prometheus_client.multiprocess import mark_process_dead
from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from identity_service.app import create_app
from identity_service.database import open_database
from identity_service.http_server import server_config
from identity_service.json_logs import log_json
from identity_service.metrics import multiprocess_dir
from identity_service.settings import Settings, server_limits

__all__ = ["WorkersFailedToStart", "run_workers", "worker_app"]

log = logging.getLogger("identity_service.workers")


class WorkersFailedToStart(RuntimeError):
    """A worker failed before serving, so the service stopped (its own lines say why)."""


def run_workers(settings: Settings) -> None:
    """Serve with ``settings.workers`` processes until SIGTERM or SIGINT; then the database stops."""
    settings = _shared_keys(settings)
    config = server_config(
        functools.partial(worker_app, settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        limits=server_limits(settings),
        workers=settings.workers,
    )
    listening = config.bind_socket()
    # Built before the database starts: it takes SIGTERM and SIGINT from here on, so a stop asked
    # for while the database starts is kept for its loop rather than ending the parent at once.
    workers = _Workers(config, sockets=[listening])
    try:
        with _metrics_folder(), _database_for_workers(settings):
            workers.run()
    finally:
        listening.close()
    if workers.failed_to_start:
        raise WorkersFailedToStart


def worker_app(settings: Settings) -> Starlette:
    """The app one worker serves: uvicorn calls it in the worker process (``factory=True``)."""
    # uvicorn configures no logging in a worker (log_config=None): the worker logs as serve does.
    log_json(settings.log_level)
    app = create_app(settings, attach_database=True)
    # What start-up built lives as long as the worker: frozen out of the garbage collector's way,
    # as a single process's is (identity_service.http_server.run says why).
    gc.freeze()
    return app


class _Workers(Multiprocess):
    """uvicorn's supervisor, with one line saying which worker died, how, and what replaced it."""

    failed_to_start = False

    def keep_subprocess_alive(self) -> None:
        before = list(self.processes)
        super().keep_subprocess_alive()
        for old, new in zip(before, self.processes, strict=True):
            if old is not new:
                _report_death(old.pid, old.exitcode, replacement=new.pid)
        if any(process.exitcode == STARTUP_FAILURE for process in self.processes):
            self.failed_to_start = True


def _report_death(pid: int | None, exit_code: int | None, *, replacement: int | None) -> None:
    how = _how_it_ended(exit_code)
    log.error(
        "worker %s died (%s); worker %s started in its place",
        pid,
        how,
        replacement,
        extra={"worker_pid": pid, "exit_code": exit_code, "ended": how, "replacement_pid": replacement},
    )
    folder = multiprocess_dir()
    if folder is not None and pid is not None:
        # Its live gauges would otherwise be summed in forever (prometheus-client's advice).
        mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]  # untyped upstream


def _how_it_ended(exit_code: int | None) -> str:
    if exit_code is None:
        return "did not answer its health check, killed"
    if exit_code < 0:
        return f"killed by {signal.Signals(-exit_code).name}"
    return f"exit status {exit_code}"


def _shared_keys(settings: Settings) -> Settings:
    """``settings`` with the keys every worker must share, drawn once here where unset."""
    drawn: dict[str, str] = {}
    if settings.scim_cursor_secret is None:
        drawn["scim_cursor_secret"] = secrets.token_urlsafe(32)
    if settings.console_session_secret is None:
        drawn["console_session_secret"] = secrets.token_urlsafe(32)
    return settings.model_copy(update=drawn)


@contextmanager
def _metrics_folder() -> Iterator[None]:
    """A fresh folder for the workers' metrics, unless the operator chose one."""
    if multiprocess_dir() is not None:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="identity-metrics-") as folder:
        # Workers are spawned, so they read their environment, and prometheus-client reads this
        # variable when it is first imported, which in a worker is after the spawn.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


@contextmanager
def _database_for_workers(settings: Settings) -> Iterator[None]:
    """The embedded database, run by this process for as long as the block, when it is the one used.

    uvicorn's supervisor holds the main thread (signals are handled there) while the database's
    supervisor is asyncio's; so the database lives on an event loop of its own thread.
    """
    if settings.mongodb_uri is not None:
        yield
        return
    opened: Future[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = Future()

    async def hold() -> None:
        stop = asyncio.Event()
        try:
            async with open_database(settings):
                opened.set_result((asyncio.get_running_loop(), stop))
                await stop.wait()
        except BaseException as error:
            if opened.done():
                raise
            opened.set_exception(error)  # raised in the main thread, which reports it

    thread = threading.Thread(target=asyncio.run, args=(hold(),), name="embedded database")
    thread.start()
    loop, stop = opened.result()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
