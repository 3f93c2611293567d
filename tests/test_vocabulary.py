"""The words of the trials table's `status` and `fit` columns: the enums, the data and the docs agree."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import REPO
from fitsweep.analysis import Fit, diagnose, fit_groups
from fitsweep.results.columns import TRIAL_MEANINGS
from fitsweep.results.tables import trial_status
from fitsweep.vocabulary import TrialStatus, Verdict
from synthetic_curves import CHANCE, synthetic_run_tables

STUDIES = sorted(path.parent.name for path in (REPO / "results").glob("*/trials.parquet"))


def _documented(column: str) -> set[str]:
    """The values the column registry, which the docs' trials-table reference is generated from, gives for `column`.

    Its lower-case `code` words: the registry's descriptions are written by hand, not from the enums.
    """
    return set(re.findall(r"`([a-z]+)`", TRIAL_MEANINGS[column]))


def test_the_enums_hold_the_words_the_column_reference_documents() -> None:
    assert {status.value for status in TrialStatus} == _documented("status")
    assert {verdict.value for verdict in Verdict} == _documented("fit")


@pytest.mark.parametrize("study", STUDIES)
def test_a_committed_studys_statuses_and_verdicts_are_the_enums_words_stored_as_strings(study: str) -> None:
    trials = pd.read_parquet(REPO / "results" / study / "trials.parquet")
    assert set(trials["status"]) <= {status.value for status in TrialStatus}
    assert set(trials["fit"].dropna()) <= {verdict.value for verdict in Verdict}
    assert trials["status"].dtype == "string" and trials["fit"].dtype == "string"


def test_every_status_keras_tuner_leaves_on_a_stored_trial_reads_as_a_trial_status() -> None:
    # KerasTuner's TrialStatus values a trial the oracle keeps can end with; "Diverged:" is fitsweep's message.
    endings = [("RUNNING", None), ("COMPLETED", None), ("FAILED", "ValueError: bad"), ("INVALID", "TypeError: bad"),
               ("FAILED", "Diverged: a loss became NaN or infinite at epoch 3")]
    read = {trial_status(SimpleNamespace(status=status, message=message, metrics=SimpleNamespace(metrics={})))
            for status, message in endings}
    assert read == {status.value for status in TrialStatus}


def test_tables_hold_plain_strings_and_compare_equal_to_the_enums() -> None:
    trials, epochs = synthetic_run_tables(200, executions=2)  # 200 trials: a few diverge
    table = diagnose(epochs, trials, chance_loss=CHANCE)
    groups = fit_groups(table, trials)
    assert {type(value) for value in table["fit"]} == {str} and table["fit"].dtype == "string"
    assert {type(value) for value in groups["fit"]} == {str}
    assert set(table["fit"]) == {Verdict.GOOD, Verdict.OVERFIT, Verdict.UNDERFIT, Verdict.DIVERGED}
    assert table["fit"].eq(Verdict.DIVERGED).sum() == table["fit"].eq("diverged").sum() > 0
    assert trials["status"].eq(TrialStatus.COMPLETED).sum() == trials["status"].eq("completed").sum() > 0


def test_a_member_reads_as_its_value() -> None:
    assert Fit is Verdict  # fitsweep.analysis' name for it
    assert str(Verdict.OVERFIT) == f"{Verdict.OVERFIT}" == "overfit" and TrialStatus("failed") is TrialStatus.FAILED
    assert f"{TrialStatus.RUNNING}" == "running"
    assert all(verdict.remedy for verdict in Verdict)
