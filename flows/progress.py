"""Progress events from flows to whoever shows them (the CLI's progress bars).

Flows call ``report``; the CLI subscribes with ``listen``. With no listener this is a
no-op, so flows run the same under a worker, in tests or from the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    round: int
    stage: str
    account: str | None = None
    done: bool = False
    detail: dict | None = None


_listeners: list[Callable[[Event], None]] = []


def report(rnd: int, stage: str, account: str | None = None, *, done: bool = False, **detail: object) -> None:
    for listener in list(_listeners):
        listener(Event(rnd, stage, account, done, detail or None))


@contextmanager
def listen(callback: Callable[[Event], None]) -> Iterator[None]:
    _listeners.append(callback)
    try:
        yield
    finally:
        _listeners.remove(callback)
