"""Ctrl-C as a flag: the trainer and the sweep driver check it at a safe point (between two
steps, between two polls), so no update and no store write is ever cut in half."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class SigintFlag:
    """While entered, SIGINT sets `requested` instead of raising KeyboardInterrupt. Only the
    main thread can take signals: elsewhere the flag stays down and SIGINT keeps its handler."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> SigintFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while inside (in the main thread): child processes started here inherit
    SIG_IGN, so Ctrl-C reaches only the parent, which stops them in order."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
