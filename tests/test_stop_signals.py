"""A stop signal reaches the command even when the exception Python raises for it is swallowed.

CI once saw a SIGTERMed ``fedring run`` finish its rounds and exit 0: Prefect's SIGTERM
handler raised inside code whose errors Python only reports ("Exception ignored in ...").
These tests swallow the exception the same way, in a finaliser, with a real signal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from fedring.cli.stop import stop_signals


class _Finaliser:
    """Sends a signal from ``__del__``: its handler's exception is raised there, and lost."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        os.kill(os.getpid(), self.signum)
        for _ in range(1000):  # the handler runs at one of these bytecodes, inside __del__
            pass


def _swallow(signum: int, monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    lost: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: lost.append(u.exc_value))
    _Finaliser(signum)  # dropped at once
    return lost


@pytest.fixture(autouse=True)
def _ctrl_c_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here, as in a terminal: a shell starts background jobs
    (``make test &``) with SIGINT ignored, and Python then installs no handler for it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: signal.Signals(s).name)
def test_a_swallowed_stop_signal_still_stops_the_command_at_its_next_check(signum, monkeypatch):
    with stop_signals() as stop:
        stop.check()  # nothing arrived yet
        lost = _swallow(signum, monkeypatch)
        assert [type(e) for e in lost] == [KeyboardInterrupt], "the signal's exception was not swallowed"
        with pytest.raises(KeyboardInterrupt, match="swallowed"):
            stop.check()
        assert stop.is_set()


def test_the_agent_loop_wakes_at_once_for_a_swallowed_signal(monkeypatch):
    with stop_signals() as stop:
        assert stop.wait(0.01) is False
        _swallow(signal.SIGTERM, monkeypatch)
        started = time.monotonic()
        assert stop.wait(30) is True
        assert time.monotonic() - started < 25  # woke for the signal, not at the timeout


def test_only_the_main_thread_is_stopped(monkeypatch):
    with stop_signals() as stop:
        _swallow(signal.SIGTERM, monkeypatch)
        raised: list[BaseException] = []

        def in_a_task_thread() -> None:
            try:
                stop.check()
            except BaseException as exc:  # noqa: BLE001 - any exception here is the failure
                raised.append(exc)

        worker = threading.Thread(target=in_a_task_thread)
        worker.start()
        worker.join()
        assert raised == []
        with pytest.raises(KeyboardInterrupt):
            stop.check()


def test_sigterm_raises_keyboard_interrupt_while_armed_and_the_handlers_come_back_after():
    before = signal.getsignal(signal.SIGTERM), signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before[1])
    with pytest.raises(KeyboardInterrupt):
        with stop_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                pass
    assert signal.getsignal(signal.SIGTERM) is before[0]
    assert signal.set_wakeup_fd(before[1]) == before[1]
