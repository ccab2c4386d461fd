"""A tee on httpx's transport response stream: the app gets every byte unchanged, the observer
sees them too, and learns when the stream ends or is closed.

The httpx instrumentation's response hook receives the transport stream object but cannot
replace it, so the tee re-classes that object in place to a subclass of its own type (no
new fields, same layout) whose iteration and close report to the observer.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Iterator
from time import monotonic
from typing import Any

from ._observer import BodyObserver

__all__ = ["tee_sync", "tee_async"]

log = logging.getLogger("llmobserve.instrumentation")

_SYNC: dict[type, type] = {}
_ASYNC: dict[type, type] = {}
_ATTR = "_llmobserve_observer"


def _sync_class(base: type) -> type:
    class SyncTee(base):  # type: ignore[misc]  # a base known only at run time (the response stream class)
        def __iter__(self) -> Iterator[bytes]:
            observer: BodyObserver = self.__dict__[_ATTR]
            for chunk in super().__iter__():
                observer.active_at = monotonic()
                observer.feed(chunk)
                yield chunk
            observer.eof()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.__dict__[_ATTR].finish()

    SyncTee.__name__ = SyncTee.__qualname__ = f"Observed{base.__name__}"
    return SyncTee


def _async_class(base: type) -> type:
    class AsyncTee(base):  # type: ignore[misc]  # a base known only at run time (the response stream class)
        async def __aiter__(self) -> AsyncIterator[bytes]:
            observer: BodyObserver = self.__dict__[_ATTR]
            async for chunk in super().__aiter__():
                observer.active_at = monotonic()
                observer.feed(chunk)
                yield chunk
            observer.eof()

        async def aclose(self) -> None:
            try:
                await super().aclose()
            finally:
                self.__dict__[_ATTR].finish()

    AsyncTee.__name__ = AsyncTee.__qualname__ = f"Observed{base.__name__}"
    return AsyncTee


def _attach(stream: Any, observer: BodyObserver, cache: dict[type, type], make: Any, needs: tuple[str, str]) -> bool:
    base = type(stream)
    if not hasattr(stream, "__dict__") or not all(hasattr(base, name) for name in needs):
        return False
    tee = cache.get(base)
    if tee is None:
        tee = cache[base] = make(base)
    try:
        stream.__class__ = tee
    except TypeError:  # incompatible layout (a C type or __slots__): leave the stream alone
        return False
    stream.__dict__[_ATTR] = observer
    # A stream the app never closes still ends its span when it is collected.
    weakref.finalize(stream, observer.finish, True)
    return True


def tee_sync(stream: Any, observer: BodyObserver) -> bool:
    return _attach(stream, observer, _SYNC, _sync_class, ("__iter__", "close"))


def tee_async(stream: Any, observer: BodyObserver) -> bool:
    return _attach(stream, observer, _ASYNC, _async_class, ("__aiter__", "aclose"))
