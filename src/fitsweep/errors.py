"""Exceptions fitsweep raises.

Every error a user can cause derives from `FitsweepError`; the CLI prints it as one line and
exits 2. `RunFailedError` marks a sweep that started but could not complete a trial (exit 1).

An error about one input carries where it came from as fields, so code and tests read
`error.source` and `error.key` instead of parsing the message, which is built from them.
"""

from __future__ import annotations

__all__ = [
    "FitsweepError",
    "SpecError",
    "DataError",
    "ResultsError",
    "RunFailedError",
    "ProjectError",
]


class FitsweepError(Exception):
    """Root of fitsweep's errors: bad input, named with its file and key.

    The message is `source: key value: problem`, each part left out when not given; an error
    raised with its whole message alone has that message as its `problem`.

    Args:
        problem: What is wrong and, where it helps, what is allowed.
        source: Where the input came from: a sweep file, a run folder, `command line (--epochs 0)`,
            `with_overrides(epochs=0)`.
        key: What in the source the problem is about: a sweep-file key (`train.epochs`), an
            argument or a flag (`--csv`).
        value: The value given to `key`, when the message names it beside the key (`--csv out.csv`).

    Example:
        >>> error = SpecError("Input should be greater than or equal to 1", source="moons.yaml", key="train.epochs")
        >>> str(error)
        'moons.yaml: train.epochs: Input should be greater than or equal to 1'
        >>> error.key
        'train.epochs'
    """

    def __init__(self, problem: str, *, source: str | None = None, key: str | None = None,
                 value: str | None = None) -> None:
        self.problem = problem
        self.source = source
        self.key = key
        self.value = value
        named = " ".join(part for part in (key, value) if part is not None) or None
        super().__init__(": ".join(part for part in (source, named, problem) if part is not None))


class SpecError(FitsweepError):
    """A sweep file that cannot be read or does not validate."""


class DataError(FitsweepError):
    """A data source that cannot be loaded or split."""


class ResultsError(FitsweepError):
    """A results folder that is missing, incomplete or already taken."""


class RunFailedError(FitsweepError):
    """A sweep that ran but finished no trial; carries the first trial's error."""


class ProjectError(FitsweepError):
    """A KerasTuner project folder (or its TensorBoard logs) that cannot be imported."""
