"""Atomic saves of KerasTuner's JSON state: its one writer, replaced process-wide.

KerasTuner writes all of its JSON state (oracle.json, every trial.json, build_config.json) in place
through the private `keras_tuner.src.utils.save_json`, looked up at every save. A run killed
mid-write would leave a truncated file that it cannot resume from, so fitsweep swaps that writer
for `save_json_atomically`, a write to a temporary file and a rename.

The swap is process-wide, never made at import, and installed at one point: building any of
fitsweep's oracles (`fitsweep.kerastuner._oracles`), which is what every run, resume and worker
does before KerasTuner saves anything. Installing it again changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from keras_tuner.src import utils as kt_utils

__all__ = ["install_atomic_saves", "save_json_atomically"]


def save_json_atomically(path: str, obj: Any) -> str:
    """KerasTuner's `save_json`, but through a temporary file and a rename.

    Args:
        path: The JSON file to write.
        obj: What to write; serialised before the file is touched.

    Returns:
        The JSON text written, as KerasTuner's own `save_json` returns it.
    """
    text = json.dumps(obj)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:  # Ctrl-C or SIGTERM mid-write included: no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return text


def install_atomic_saves() -> None:
    """Make KerasTuner write all of its JSON state atomically, from now on, in this process.

    KerasTuner looks `utils.save_json` up at every save, so replacing it covers the oracle's,
    every trial's and the tuner's files. Installing twice changes nothing.

    Example:
        >>> install_atomic_saves()
        >>> install_atomic_saves()  # idempotent
    """
    kt_utils.save_json = save_json_atomically
