"""Every Ctrl-C is recorded, not only raised, from the moment the command line is imported.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be, and it drops one raised
inside a finalizer (it prints "Exception ignored in ... __del__" and goes on); imports run finalizers often.
A command that must not go on after a stop (`openledger node`, before it starts anvil) asks `received()`
instead of trusting the exception to have reached it."""

from __future__ import annotations

import signal
import threading
from types import FrameType

_received: list[int] = []


def received() -> bool:
    """Whether a SIGINT has reached this process since the command line was imported."""
    return bool(_received)


def _record_then_raise(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    signal.default_int_handler(signum, frame)


# Only in place of Python's own handler: an ignored SIGINT (a background job) stays ignored, and a host that
# installed its own (a test runner) keeps it.
if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _record_then_raise)
