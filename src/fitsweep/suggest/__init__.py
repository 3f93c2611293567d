"""`fitsweep suggest`: the next sweep file of a finished run, each change commented with its evidence.

`fitsweep.analysis.read_sweep` reads the run; this package turns that reading into edits of
the sweep file and writes it. Its modules:

- `_editor`: the next sweep as plain data, each edit a `Change`; the Dense family's keys, and
  the values each may take (the spec's, through `fitsweep.spec.bounds_of`).
- `_shape`: widen a range where the best sits at its edge, narrow it around the top ones.
- `_rules`: `next_sweep`, and the rules on verdicts (regularize, capacity, learning rate,
  epochs, scaling), repeats and the grid.
- `_sweep_file`: `suggest_next_sweep` renders commented YAML; `write_suggestion` writes it.

Example:
    >>> text = suggest_next_sweep("results/moons")  # doctest: +SKIP
    >>> write_suggestion(Path("next.yaml"), text)  # doctest: +SKIP
"""

from fitsweep.suggest._editor import Change, NextSweep
from fitsweep.suggest._rules import next_sweep
from fitsweep.suggest._sweep_file import suggest_next_sweep, write_suggestion

__all__ = ["Change", "NextSweep", "next_sweep", "suggest_next_sweep", "write_suggestion"]
