"""One place computes a run's verdicts: the trials table, the report, the terminal and the figures agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import invoke_cli, tiny_sweep
from fitsweep import parse_spec, run_sweep
from fitsweep.figures._common import verdicts
from fitsweep.report import diagnose_run
from fitsweep.verdicts import verdicts_of


def _fits(table: pd.DataFrame) -> dict[tuple[str, int], str]:
    return {(str(row.trial_id), int(row.execution)): str(row.fit) for row in table.itertuples()}


def test_every_reader_of_a_run_gives_the_verdicts_its_trials_table_holds(tmp_path: Path, monkeypatch: Any,
                                                                            capsys: Any) -> None:
    run = run_sweep(parse_spec(tiny_sweep(tuner={"executions_per_trial": 2})), results_dir=tmp_path)
    stored = _fits(run.trials)
    assert _fits(verdicts_of(run)) == stored
    report = diagnose_run(run)
    assert report is not None and _fits(report) == stored
    assert _fits(verdicts(run, None)) == stored  # the figures' own, with the run's chance level
    csv = tmp_path / "fit.csv"
    code, _ = invoke_cli(["diagnose", str(run.path), "--csv", str(csv)], monkeypatch, capsys)
    assert code == 0 and _fits(pd.read_csv(csv)) == stored


@pytest.mark.parametrize("recorded", [True, False])
def test_a_run_without_a_recorded_chance_level_is_judged_against_its_datas(tmp_path: Path, recorded: bool) -> None:
    run = run_sweep(parse_spec(tiny_sweep()), results_dir=tmp_path)
    if not recorded:
        run.info.pop("chance_loss")
    assert verdicts_of(run)["fit_reason"].tolist() == run.trials["fit_reason"].astype(str).tolist()
