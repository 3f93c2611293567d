"""TensorFlow imported without its C++ start-up chatter, for the command line and notebooks alike.

TensorFlow prints a few lines to stderr as it loads (absl's "All log messages before
absl::InitializeLog()", "Could not find cuda drivers", CPU instructions) and later errors such
as "failed call to cuInit". `TF_CPP_MIN_LOG_LEVEL` silences the later ones only, so the import
itself runs with the process's stderr pointed at the null device. A notebook shows that stderr
under the cell, which is why `fitsweep.run_sweep` imports TensorFlow through here too.

A user's own `TF_CPP_MIN_LOG_LEVEL` is kept; set to 0, it asks for every line, and gets them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["import_tensorflow"]

_LEVEL = "TF_CPP_MIN_LOG_LEVEL"


def import_tensorflow() -> None:
    """Import TensorFlow quietly, once; nothing happens when it is already imported.

    Example:
        >>> import_tensorflow()  # doctest: +SKIP
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault(_LEVEL, "3")
    if os.environ[_LEVEL].strip() in ("", "0"):
        import tensorflow  # noqa: F401 - the user asked to see TensorFlow's logs
        return
    with _quiet_native_logs():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")


@contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Point file descriptor 2 at the null device: the chatter comes from C++, past Python's sys.stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
