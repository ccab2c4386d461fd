"""A daemon thread that runs queued jobs in order and can be waited on until it has run them all:
the SDK concludes response bodies and settles strict-mode reservations this way, off the app's
threads. The thread starts with the first job (and again in a forked child, with a new worker)."""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable

__all__ = ["Worker"]

log = logging.getLogger("llmobserve")


class Worker:
    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._unfinished = 0
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        with self._idle:
            self._unfinished += 1
            if self._thread is None:
                # An empty context: the labels in force where the first job happens to come from
                # must not stick to the thread (observe() makes threads inherit the starter's).
                self._thread = threading.Thread(
                    target=contextvars.Context().run, args=(self._run,), name=self._name, daemon=True
                )
                self._thread.start()
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:  # one failed job must not stop the ones queued behind it
                log.debug("llmobserve: background job on %s failed", self._name, exc_info=True)
            finally:
                with self._idle:
                    self._unfinished -= 1
                    if not self._unfinished:
                        self._idle.notify_all()

    def wait(self, timeout: float) -> bool:
        """Whether every job submitted so far has run, waiting at most ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._unfinished, timeout)
