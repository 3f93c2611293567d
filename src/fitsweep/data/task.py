"""Whether a sweep's target is classified or regressed: `data.task`, and what `auto` decides from the labels.

`auto` reads every label the source provides (training, and its own test or validation set):

- whole numbers only, with at most `MAX_AUTO_CLASSES` distinct values: **classification**
  (the labels are class indices, checked as such: 0..K-1, every class present);
- anything else, fractional values or more distinct whole numbers than that: **regression**.

Twenty covers the class counts of the usual classification sets (digits and letters have ten)
while a numeric target, such as a price, an age or a disease-progression score, has far more
distinct values. Set `data.task` when the rule guesses wrong: a score from 1 to 10 to regress,
or 50 classes to classify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["CLASSIFICATION", "MAX_AUTO_CLASSES", "Task", "TaskKind", "choose_task"]

TaskKind = Literal["classification", "regression"]
# The most distinct whole-number labels `auto` reads as classes.
MAX_AUTO_CLASSES = 20


@dataclass(frozen=True)
class Task:
    """The task a sweep's models learn, why, and whether `auto` chose it.

    Example:
        >>> Task("regression", "set in data.task").summary
        'regression (set in data.task)'
    """

    kind: TaskKind
    reason: str
    automatic: bool = False

    @property
    def regression(self) -> bool:
        """Whether the target is a number to predict rather than a class."""
        return self.kind == "regression"

    @property
    def summary(self) -> str:
        """One phrase for output and reports: `regression (auto: 214 distinct values ...)`."""
        return f"{self.kind} (auto: {self.reason})" if self.automatic else f"{self.kind} ({self.reason})"


CLASSIFICATION = Task("classification", "set in data.task")


def choose_task(setting: str, labels: Sequence[np.ndarray]) -> Task:
    """The task `data.task` names, or the one `auto` reads from the labels (see the module docstring).

    Example:
        >>> choose_task("auto", [np.array([0, 1, 1, 0])]).summary
        'classification (auto: 2 distinct whole-number labels, at most 20)'
        >>> choose_task("auto", [np.array([0.5, 1.25, 3.0])]).kind
        'regression'
    """
    if setting != "auto":
        return Task(setting, "set in data.task")  # type: ignore[arg-type]
    values = np.concatenate([np.asarray(part, dtype="float64").reshape(-1) for part in labels])
    finite = values[np.isfinite(values)]
    if len(finite) and np.any(finite != np.round(finite)):
        return Task("regression", "the target holds fractional values", automatic=True)
    distinct = len(np.unique(finite))
    if distinct > MAX_AUTO_CLASSES:
        return Task("regression", f"{distinct} distinct whole-number values, more than {MAX_AUTO_CLASSES} classes; "
                    "set data.task: classification to classify them", automatic=True)
    return Task("classification", f"{distinct} distinct whole-number labels, at most {MAX_AUTO_CLASSES}",
                automatic=True)
