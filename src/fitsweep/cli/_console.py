"""Where the commands print: one rich console for results (stdout), one for messages (stderr).

Commands that train or load a model import TensorFlow through `import_tensorflow`, quietly: its
C++ start-up chatter would land between a command's own lines on stderr.
"""

from __future__ import annotations

import os

from rich.console import Console

from fitsweep.quiet_tensorflow import import_tensorflow

__all__ = ["import_tensorflow", "print_summary", "stderr", "stdout"]

# No emoji codes: a path or address a user typed may hold one (":b:" would print as a symbol).
stdout = Console(highlight=False, emoji=False)
if not stdout.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
    stdout = Console(highlight=False, emoji=False, width=160)  # logs and pipes have room, unless COLUMNS says not
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def print_summary(result: object) -> None:
    """A run's trials as a table, best first."""
    from fitsweep.display import trials_summary

    stdout.print(trials_summary(result))
