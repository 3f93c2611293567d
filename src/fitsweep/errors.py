"""Exceptions fitsweep raises.

Every error a user can cause derives from `FitsweepError`; the CLI prints it as one line and
exits 2. `RunFailedError` marks a sweep that started but could not complete a trial (exit 1).
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
    """Root of fitsweep's errors: bad input, named with its file and key."""


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
