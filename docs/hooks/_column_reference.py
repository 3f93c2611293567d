"""The trials and epochs tables' column reference, read from their registry (`fitsweep.results.columns`)."""

from __future__ import annotations

from _markdown import cell

from fitsweep.results.columns import DERIVED_MEANINGS, EPOCH_MEANINGS, REGRESSION_EPOCH_MEANINGS, TRIAL_MEANINGS

TABLES = {"trials": TRIAL_MEANINGS, "epochs": EPOCH_MEANINGS, "regression_epochs": REGRESSION_EPOCH_MEANINGS,
          "derived": DERIVED_MEANINGS}


def columns_table(table: str | None) -> str:
    """One row per column of `table`, in table order: its name and what it holds."""
    if table not in TABLES:
        raise KeyError(f"no table {table!r}; known: {', '.join(TABLES)}")
    rows = [f"| `{name}` | {cell(meaning)} |" for name, meaning in TABLES[table].items()]
    return "\n".join(["| column | what it holds |", "| --- | --- |", *rows])
