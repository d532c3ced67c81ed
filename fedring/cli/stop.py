"""Ctrl-C and SIGTERM stop a command, even when a library swallows the exception they raise.

Python delivers a signal by raising an exception (``KeyboardInterrupt``; Prefect's flow
engine swaps in its own SIGTERM handler raising ``TerminationSignal``) at whatever bytecode
runs at that moment. If that moment is inside code whose errors are only reported as
"Exception ignored in ..." (a finaliser, a callback of a C extension), the exception is lost
and the command runs on as if no signal came: CI saw a SIGTERMed ``fedring run`` finish its
rounds and exit 0. So every SIGINT and SIGTERM is also recorded at the C level, through
``signal.set_wakeup_fd`` (the interpreter writes the signal's number to a pipe before any
handler runs), and ``StopSignals.check`` raises ``KeyboardInterrupt`` at the next safe point
when one arrived.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_STOPPING = frozenset({signal.SIGINT, signal.SIGTERM})


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class StopSignals:
    """Remembers every SIGINT and SIGTERM since it was armed, whoever handled them.

    It reads like a ``threading.Event`` that the signals set, so a loop that waits on an
    event (the agent's ``serve``) stops on them too.
    """

    def __init__(self, read_fd: int) -> None:
        self._read_fd = read_fd
        self._seen: set[int] = set()

    def is_set(self) -> bool:
        """Whether Ctrl-C or SIGTERM reached this process since the command started."""
        try:
            self._seen.update(os.read(self._read_fd, 4096))
        except BlockingIOError:
            pass
        return bool(self._seen & _STOPPING)

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking at once for a signal (as ``threading.Event.wait``)."""
        select.select([self._read_fd], [], [], timeout)
        return self.is_set()

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop signal arrived (in the main thread only, where it stops the command)."""
        if threading.current_thread() is threading.main_thread() and self.is_set():
            raise KeyboardInterrupt("a stop signal arrived while its exception was swallowed")


@contextmanager
def stop_signals() -> Iterator[StopSignals]:
    """SIGTERM acts as Ctrl-C, and both are remembered for ``StopSignals.check``."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield StopSignals(read_fd)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(read_fd)
        os.close(write_fd)
