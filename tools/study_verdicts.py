"""Write every committed study's verdicts to one CSV, to compare two versions of the verdict rules.

A change to the rules must leave the committed studies' verdicts as they were, or change them only
where the change is a correction. Run it with each version of fitsweep and compare the files:

    PYTHONPATH=src .venv/bin/python tools/study_verdicts.py before.csv   # on the old code
    PYTHONPATH=src .venv/bin/python tools/study_verdicts.py after.csv    # on the new code
    .venv/bin/python tools/study_verdicts.py --compare before.csv after.csv

The verdicts are computed as `fitsweep report` computes them (`fitsweep.verdicts.verdicts_of`),
from each results folder's tables and run.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

KEYS = ["study", "trial_id", "execution"]
RESULTS = Path(__file__).resolve().parents[1] / "results"


def study_verdicts(results: Path) -> pd.DataFrame:
    """Each execution of each study under `results`: its verdict and reason."""
    import fitsweep
    from fitsweep.verdicts import verdicts_of

    tables = []
    for folder in sorted(path for path in results.iterdir() if (path / "run.json").is_file()):
        verdicts = verdicts_of(fitsweep.load(folder))
        tables.append(verdicts.assign(study=folder.name)[[*KEYS, "fit", "fit_reason"]])
    return pd.concat(tables, ignore_index=True)


def changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The executions whose verdict differs between two files, with both reasons."""
    merged = before.merge(after, on=KEYS, how="outer", suffixes=("_before", "_after"))
    return merged[merged["fit_before"].ne(merged["fit_after"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="the CSV to write; with --compare, the two CSVs to compare")
    parser.add_argument("--compare", action="store_true", help="print the verdicts that differ between two CSVs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the folder of studies (default: results/)")
    arguments = parser.parse_args()
    if not arguments.compare:
        study_verdicts(arguments.results).to_csv(arguments.files[0], index=False)
        return
    before, after = (pd.read_csv(name, dtype={"trial_id": str}) for name in arguments.files[:2])
    changed = changes(before, after)
    counts = before.groupby("study")["fit"].value_counts().unstack(fill_value=0)
    print(counts.to_string())
    print(f"\n{len(changed)} of {len(before)} verdicts changed")
    for _, row in changed.iterrows():
        print(f"\n{row['study']} trial {row['trial_id']} execution {row['execution']}: "
              f"{row['fit_before']} -> {row['fit_after']}\n  before: {row['fit_reason_before']}\n"
              f"  after:  {row['fit_reason_after']}")


if __name__ == "__main__":
    main()
