"""A Ctrl-C or SIGTERM asked for in this process, remembered until the run has stopped.

A signal handler raises its KeyboardInterrupt wherever the main thread happens to be. Python
drops one raised inside a finaliser, and one raised inside TensorFlow can leave it in a state
whose next call fails with an ordinary error. The search asks here before it records such an
error as a trial's own, so an interrupted trial runs again on resume instead of being failed;
the run's next progress event raises a dropped interruption again.
"""

from __future__ import annotations

_requested: type[KeyboardInterrupt] | None = None


def request(interruption: type[KeyboardInterrupt]) -> bool:
    """Remember `interruption`; False when one was asked for already (the run is stopping)."""
    global _requested
    if _requested is not None:
        return False
    _requested = interruption
    return True


def clear() -> None:
    """Forget an earlier interruption: a new command starts."""
    global _requested
    _requested = None


def raise_if_requested() -> None:
    """Raise the interruption asked for, if any."""
    if _requested is not None:
        raise _requested
