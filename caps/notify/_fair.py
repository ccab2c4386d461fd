"""A thread pool shared by tenants, where no tenant can take it over.

Deliveries wait on other people's servers: a tenant whose receivers answer slowly (or trickle a
byte at a time) would otherwise occupy every thread and delay everyone's alerts. Here one tenant's
jobs run on at most ``share`` of the ``workers`` threads at once, tenants with work are served in
turn, and each tenant queues at most ``max_queued`` jobs: beyond, ``submit`` refuses and the caller
records why (memory stays bounded whatever a tenant's caps fire).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from setproctitle import setthreadtitle

__all__ = ["FairPool"]

_log = logging.getLogger("llmobserve.alerts")


class FairPool:
    def __init__(self, workers: int = 8, share: int = 2, max_queued: int = 200, title: str = "llmo-notify") -> None:
        if workers < 1 or share < 1 or max_queued < 1:
            raise ValueError("workers, share and max_queued must be at least 1")
        self.share = min(share, workers)
        self.max_queued = max_queued
        self._title = title
        self._cond = threading.Condition()
        self._queues: OrderedDict[str, deque[Callable[[], None]]] = OrderedDict()  # in turn: front goes next
        self._running: dict[str, int] = {}
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"llmobserve-notify-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def submit(self, tenant: str, job: Callable[[], None]) -> bool:
        """Queue ``job`` for ``tenant``; False when its queue is full or the pool is closed."""
        with self._cond:
            queue = self._queues.get(tenant)
            if self._closed or (queue is not None and len(queue) >= self.max_queued):
                return False
            if queue is None:
                queue = self._queues[tenant] = deque()
            queue.append(job)
            self._cond.notify()
            return True

    def shutdown(self, wait: bool = True, drop_queued: bool = False) -> int:
        """Stop taking jobs; run what is queued (or drop it), then stop the threads. Returns how
        many queued jobs were dropped."""
        with self._cond:
            self._closed = True
            dropped = sum(len(q) for q in self._queues.values()) if drop_queued else 0
            if drop_queued:
                self._queues.clear()
            self._cond.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()
        return dropped

    def _next(self) -> tuple[str, Callable[[], None]] | None:
        """The next job of the first tenant in turn that is under its share (lock held)."""
        for tenant, queue in self._queues.items():
            if self._running.get(tenant, 0) < self.share:
                job = queue.popleft()
                if queue:
                    self._queues.move_to_end(tenant)  # its turn is over: the others go first
                else:
                    del self._queues[tenant]
                self._running[tenant] = self._running.get(tenant, 0) + 1
                return tenant, job
        return None

    def _work(self) -> None:
        setthreadtitle(self._title)
        while True:
            with self._cond:
                while (found := self._next()) is None:
                    if self._closed and not self._queues:
                        return
                    self._cond.wait()
            tenant, job = found
            try:
                job()
            except Exception:  # jobs record their own failures; this is for the impossible
                _log.exception("notification job of tenant %r crashed", tenant)
            finally:
                with self._cond:
                    self._running[tenant] -= 1
                    if not self._running[tenant]:
                        del self._running[tenant]
                    self._cond.notify_all()
