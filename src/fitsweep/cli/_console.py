"""Where the commands print: one rich console for results (stdout), one for messages (stderr).

TensorFlow is imported here too, quietly: its C++ start-up chatter would land between a
command's own lines on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

# No emoji codes: a path or address a user typed may hold one (":b:" would print as a symbol).
stdout = Console(highlight=False, emoji=False)
if not stdout.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
    stdout = Console(highlight=False, emoji=False, width=160)  # logs and pipes have room, unless COLUMNS says not
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def print_summary(result: object) -> None:
    """A run's trials as a table, best first."""
    from fitsweep.display import trials_summary

    stdout.print(trials_summary(result))


def import_tensorflow() -> None:
    """Import TensorFlow with its start-up logs hidden; only commands that train or load a model call it."""
    with _quiet_native_logs():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")


@contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Hide TensorFlow's C++ start-up chatter, which no environment variable silences."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
