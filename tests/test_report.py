"""Tests of fitsweep.report: the report renders for every kind of run, is self-contained, and opens in a browser."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, tiny_sweep
from fitsweep import RunFailedError, load, parse_spec, run_sweep
from fitsweep.report import LiveReport, write_report

SECTIONS = ["overview", "best", "fit", "learning_curves", "gap_vs_capacity", "regularizers", "importance",
            "hyperparameters", "decision_boundaries", "confusion_matrix", "weights"]


class _References(HTMLParser):
    """Every tag, and every URL an HTML page could fetch: src, href, srcset, poster, data and CSS url()."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action", "background") and value is not None:
                self.urls.append(value)
            if name == "style" and value:
                self.urls += re.findall(r"url\(\s*['\"]?([^'\")]*)", value)

    def handle_data(self, data: str) -> None:
        self.urls += re.findall(r"url\(\s*['\"]?([^'\")]*)", data)  # inside <style>
        self.urls += re.findall(r"@import\s+['\"]([^'\"]+)", data)


def _parse(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


def assert_self_contained(html: str) -> None:
    """Nothing in the page can reach the network or another file: only inline data and in-page anchors."""
    parser = _parse(html)
    assert not [tag for tag, _ in parser.tags if tag in ("link", "iframe", "object", "embed", "base")]
    assert not [attrs for tag, attrs in parser.tags if tag == "script" and attrs.get("src")]
    outside = [url for url in parser.urls if not (url.startswith("data:") or url.startswith("#"))]
    assert outside == [], outside
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", html, re.IGNORECASE)


def report_of(run_dir: Path) -> tuple[str, str]:
    files = write_report(run_dir)
    assert files.html == run_dir / "report.html" and files.markdown == run_dir / "report.md"
    html, markdown = files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")
    assert_self_contained(html)
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    for link in re.findall(r"\]\((figures/[^)]+)\)", markdown):
        assert (run_dir / link).is_file(), link
    assert not list(run_dir.glob(".*.tmp")), "a temporary file was left behind"
    return html, markdown


@pytest.fixture
def tiny_copy(tiny_run, tmp_path: Path) -> Path:
    """The session's tiny run, copied so that its report does not change the shared folder."""
    return Path(shutil.copytree(tiny_run.path, tmp_path / "tiny"))


# --- runs of every kind --------------------------------------------------------------------


def test_report_of_a_normal_run(tiny_copy: Path) -> None:
    html, markdown = report_of(tiny_copy)
    recommendation = html.split('<p class="recommendation">')[1].split("</p>")[0]
    assert recommendation.startswith(("Use trial", "Best so far: trial")) and "test accuracy" in recommendation
    assert html.count('<img src="data:image/png;base64,') >= 6
    for title in ("What was swept", "Best trials", "Over- and underfitting", "Learning curves", "Decision boundaries"):
        assert title in html and f"## {title}" in markdown
    figures = sorted(path.name for path in (tiny_copy / "figures").glob("*.png"))
    assert {"learning_curves.png", "decision_boundaries.png", "confusion_matrix.png"} <= set(figures)
    assert all(f"figures/{name}" in markdown for name in figures)


def test_report_sections_come_in_the_order_a_reader_asks(tiny_copy: Path) -> None:
    html, _ = report_of(tiny_copy)
    positions = [html.index(f'<section id="{section}">') for section in SECTIONS]
    assert positions == sorted(positions)
    assert html.index('class="findings"') < positions[0]


def test_report_is_rewritten_in_place_and_stale_figures_go(tiny_copy: Path) -> None:
    report_of(tiny_copy)
    assert (tiny_copy / "figures" / "confusion_matrix.png").exists()
    (tiny_copy / "figures" / "mine.png").write_bytes(b"a user's file")
    (tiny_copy / "best_model.keras").unlink()  # no model: its two figures give way to notes
    html, markdown = report_of(tiny_copy)
    assert html.count("No model was kept") == 2 and "confusion_matrix.png" not in markdown
    assert not (tiny_copy / "figures" / "confusion_matrix.png").exists()
    assert (tiny_copy / "figures" / "mine.png").exists()  # only the report's own figures are removed


@pytest.mark.slow
def test_report_of_a_run_with_a_diverged_trial(tmp_path: Path) -> None:
    # An L2 penalty of 1000 at learning rate 0.5 multiplies every weight by -999 a step: certain to overflow.
    sweep = tiny_sweep(model={"depth": 3, "width": 64, "dropout": 0.0, "l2": {"values": [1000.0, 0.0]}},
                       train={"optimizer": "sgd", "learning_rate": 0.5, "epochs": 5},
                       tuner={"algorithm": "grid", "max_trials": 2})
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    assert set(run.trials["status"]) == {"diverged", "completed"}
    html, markdown = report_of(run.path)
    assert "diverged" in html and "Diverged: a loss became NaN" in html
    assert "Trial 0 diverged" in markdown or "Trial 1 diverged" in markdown


@pytest.mark.slow
def test_report_of_a_single_trial(tmp_path: Path) -> None:
    run = run_sweep(parse_spec(tiny_sweep(tuner={"max_trials": 1})), results_dir=tmp_path)
    html, _ = report_of(run.path)
    for key in ("importance", "regularizers"):  # each says why it shows nothing, in place of its figure
        section = html.split(f'<section id="{key}">', 1)[1].split("</section>", 1)[0]
        assert '<p class="note">' in section and "<img" not in section


@pytest.mark.slow
def test_report_of_a_run_that_completed_no_trial(tmp_path: Path, monkeypatch) -> None:
    import fitsweep.search.engine

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no trial can run")

    monkeypatch.setattr(fitsweep.search.engine, "train_executions", broken)
    with pytest.raises(RunFailedError):
        run_sweep(parse_spec(tiny_sweep()), results_dir=tmp_path)
    html, markdown = report_of(tmp_path / "tiny")
    assert "No trial completed" in html and "RuntimeError: no trial can run" in html
    assert "<img" not in html and "figures/" not in markdown.split("## What was swept")[1]


# --- the live report during a run ----------------------------------------------------------


@pytest.mark.slow
def test_run_sweep_keeps_the_report_current_without_changing_the_results(tmp_path: Path) -> None:
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 2}))
    plain = run_sweep(spec, results_dir=tmp_path / "plain")
    reported = run_sweep(spec, results_dir=tmp_path / "reported", report=True)
    assert not (plain.path / "report.html").exists()
    html = (reported.path / "report.html").read_text(encoding="utf-8")
    assert "completed · 2 trials" in html  # the final refresh, after run.json says completed
    # The end of the run draws no figure (none was drawn from its final tables): `fitsweep report` draws them.
    assert "<img" not in html and html.count("`fitsweep report` on this run") >= 3
    columns = ["trial_id", "execution", "val_loss", "test_accuracy"]
    assert plain.trials[columns].equals(reported.trials[columns])


def test_a_report_failure_is_one_warning_and_never_fails_the_run(tmp_path: Path, caplog) -> None:
    live = LiveReport(tmp_path / "no-such-run")
    with caplog.at_level(logging.WARNING, logger="fitsweep.report"):
        live.refresh(force=True)
    assert len(caplog.records) == 1 and "report not refreshed (ResultsError" in caplog.records[0].getMessage()


class _Clock:
    """A monotonic clock that moves only when the test moves it: throttling then depends on no machine's speed."""

    def __init__(self) -> None:
        self.now = 1024.0

    def monotonic(self) -> float:
        return self.now


def test_the_live_report_skips_refreshes_that_would_slow_the_run(monkeypatch, tmp_path: Path) -> None:
    import fitsweep.report.live
    from fitsweep.report.live import _FIRST_AFTER, _REFRESH_SPACING

    clock, calls, writing = _Clock(), [], 0.25  # seconds each report takes to write

    def slow_report(run_dir: Path, **kwargs: Any) -> None:
        calls.append(run_dir)
        clock.now += writing

    monkeypatch.setattr(fitsweep.report.live, "time", clock)
    monkeypatch.setattr(fitsweep.report.live, "_write", slow_report)
    live = LiveReport(tmp_path)
    live.refresh()  # in the run's first seconds: skipped, the end of a run that short writes it
    assert calls == []
    clock.now += _FIRST_AFTER  # a run old enough
    live.refresh()
    live.refresh()  # at once: skipped
    clock.now += _REFRESH_SPACING * writing / 2
    live.refresh()  # half the spacing its last duration asks for: skipped
    assert len(calls) == 1
    clock.now += _REFRESH_SPACING * writing / 2
    live.refresh()  # spaced enough
    live.refresh(force=True)  # the end of the run: always
    assert len(calls) == 3


# --- the terminal summary and the command --------------------------------------------------


def test_report_summary_prints_the_same_findings(tiny_copy: Path) -> None:
    from rich.console import Console

    from fitsweep.display import report_summary
    from fitsweep.report import headline

    run = load(tiny_copy)
    console = Console(width=200, record=True)
    console.print(report_summary(run))
    text = console.export_text()
    assert "key findings" in text and "Verdicts" in text and "Best" in text
    assert headline(run, None)[0].text.split(":")[0] in text


def test_report_command(tiny_copy: Path) -> None:
    from click.testing import CliRunner

    from fitsweep.cli import app

    result = CliRunner().invoke(app, ["report", str(tiny_copy)])
    assert result.exit_code == 0, result.output
    assert "key findings" in result.output and f"Wrote {tiny_copy / 'report.html'}" in result.output
    help_text = CliRunner().invoke(app, ["report", "--help"]).output
    assert "Example:" in help_text and "fitsweep report" in help_text


# --- in a browser --------------------------------------------------------------------------


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.slow
def test_report_opens_offline_in_a_headless_browser(tiny_copy: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (CI installs it: apt-get install -y chromium)")
    report_of(tiny_copy)
    url = (tiny_copy / "report.html").resolve().as_uri()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1280,2000", url], capture_output=True, timeout=120,
                   check=False)
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert _not_blank(shot)
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False).stdout
    assert "<h1>tiny: sweep report</h1>" in dom
    assert dom.count('src="data:image/png;base64,') >= 6


def _not_blank(png: Path) -> bool:
    """Text and figures on the page: enough non-white pixels, in many shades."""
    from PIL import Image

    with Image.open(png) as image:
        histogram = image.convert("L").histogram()
    inked = sum(histogram[:200]) / sum(histogram)
    return inked > 0.01 and len([count for count in histogram if count]) > 50


def test_best_trials_follow_any_objective(tmp_path: Path) -> None:
    from fitsweep.report import best_trials

    spec = parse_spec(tiny_sweep(tuner={"objective": "val_crossentropy", "max_trials": 2}, train={"epochs": 2}))
    table = best_trials(run_sweep(spec, results_dir=tmp_path), None)
    assert len(table) == 2 and table["val_crossentropy"].is_monotonic_increasing


def test_what_was_swept_names_regularizer_combinations(tmp_path: Path) -> None:
    model = {"depth": 1, "width": 4, "regularizers": {"values": [{}, {"l2": 1.0e-3}, {"dropout": 0.2, "l1": 1.0e-4}]}}
    sweep = tiny_sweep(tuner={"algorithm": "grid", "max_trials": 3}, train={"epochs": 2})
    spec = parse_spec({**sweep, "model": model})
    run = run_sweep(spec, results_dir=tmp_path)
    _, markdown = report_of(run.path)
    swept = next(line for line in markdown.splitlines() if line.startswith("- **Swept**"))
    fixed = next(line for line in markdown.splitlines() if line.startswith("- **Fixed**"))
    assert "regularizers in {none, l2=0.001, dropout=0.2+l1=0.0001}" in swept
    assert "regularizers" not in fixed and "Regularization(" not in markdown


# --- what the report says, and that it says it once --------------------------------------------


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A finished moons-like sweep of 24 trials x 2 repeats (L1/L2 penalties, several sizes), with its verdicts."""
    from fitsweep.verdicts import verdicts_of
    from synthetic_curves import write_synthetic_run

    run = load(write_synthetic_run(tmp_path_factory.mktemp("synthetic") / "run", 24).root)
    return run, verdicts_of(run)


def _finding(findings: list[Any], start: str) -> Any:
    return next(finding for finding in findings if finding.text.startswith(start))


def test_validation_above_training_in_most_executions_is_explained_with_the_split_size(synthetic) -> None:
    from fitsweep.report import headline

    run, diagnosis = synthetic
    assert not any(f.text.startswith("Validation accuracy is above") for f in headline(run, diagnosis))
    ahead = diagnosis.assign(accuracy_gap=-diagnosis["accuracy_gap"].abs() - 0.01)  # every execution ahead
    text = _finding(headline(run, ahead), "Validation accuracy is above").text
    accuracy = float((1 - ahead["val_error"]).median())
    spread = (accuracy * (1 - accuracy) * (1 / 3200 + 1 / 3200)) ** 0.5  # 3,200 validation and measured rows
    assert f"in {len(ahead)} of {len(ahead)} executions" in text
    assert "same 3,200 validation rows" in text and f"differ by {spread:.3f} (one standard deviation)" in text
    assert "inference mode (dropout off)" in text and "data.split_seed" in text


def test_the_gaps_against_capacity_are_the_figures_own(synthetic) -> None:
    from fitsweep.analysis import GAP_NAMES
    from fitsweep.figures import plot_gap_vs_capacity
    from fitsweep.report import headline

    run, diagnosis = synthetic
    finding = _finding(headline(run, diagnosis), "Gaps against parameter count")
    figure = plot_gap_vs_capacity(run, diagnosis=diagnosis)
    for item, ax in zip(finding.items, figure.axes, strict=True):  # one statement per drawn gap, in its order
        rho = item.split("rho ")[1].split(" ")[0]
        assert f"rho = {rho} " in ax.get_title()
        drawn = ax.get_ylabel().replace("\n", " ")
        assert drawn in GAP_NAMES.values() and item.startswith(f"{drawn}: rho")
    assert "validation loss after its minimum" not in str(finding)


def test_no_overfit_execution_leaves_out_the_empty_panel_and_says_so(synthetic) -> None:
    from fitsweep.figures import plot_regularizer_comparison
    from fitsweep.report.context import Context
    from fitsweep.report.sections import regularizers

    run, diagnosis = synthetic
    assert len(plot_regularizer_comparison(run, diagnosis=diagnosis).axes) == 3  # some overfit: the share is drawn
    none_overfit = diagnosis.assign(fit=diagnosis["fit"].astype(str).replace("overfit", "good"))
    assert len(plot_regularizer_comparison(run, diagnosis=none_overfit).axes) == 2
    context = Context(run, None, None, retrain=False)
    context.__dict__["diagnosis"] = none_overfit  # the cached verdicts the section reads
    section = regularizers.SECTION.build(context)
    assert section is not None and section.png
    assert section.items == ["No execution overfit, so the figure leaves out the share of overfit executions per "
                             "regularization (0 for every one)."]


def test_best_trials_show_one_loss_and_verdicts_in_words(synthetic) -> None:
    from fitsweep.report import best_trials

    run, diagnosis = synthetic
    table = best_trials(run, diagnosis)
    assert "val_crossentropy" in table and "val_loss" not in table and "test_loss" not in table
    top = table.iloc[0]
    fits = diagnosis.loc[diagnosis["trial_id"].astype(str) == str(top["trial"]), "fit"].astype(str)
    most = fits.value_counts().index[0]
    assert str(top["verdict"]).startswith(f"{most} in {fits.value_counts().iloc[0]} of 2")
    assert not table["verdict"].str.contains(" x").any()


def test_configurations_are_listed_one_per_item(synthetic) -> None:
    from fitsweep.analysis import compare
    from fitsweep.report import headline

    run, diagnosis = synthetic
    table = compare(run.trials)
    finding = _finding(headline(run, diagnosis), "Within noise of it")
    undecided = table[~table["baseline"] & ~table["significant"]]
    listed = [item.split(": ")[0] for item in finding.items if not item.startswith("and ")]
    assert listed == undecided["group"].head(len(listed)).tolist() and len(listed) == 6
    assert finding.items[-1].startswith(f"and {len(undecided) - 6} more")
    assert not any(group in finding.text.split("telling the closest")[0] for group in listed)


def test_the_first_line_says_what_to_use_and_what_to_change(synthetic) -> None:
    import numpy as np

    from fitsweep.report import best_trials, recommend
    from fitsweep.suggest import next_sweep

    run, diagnosis = synthetic
    line = recommend(run, diagnosis)
    best = str(best_trials(run, diagnosis, top=1)["trial"].iloc[0])
    test = run.trials.loc[run.trials["trial_id"].astype(str) == best, "test_accuracy"].to_numpy(dtype=float)
    assert line.startswith((f"Use trial {best} (", f"Best so far: trial {best} ("))
    assert f"test accuracy {test.mean():.3f} ± {np.std(test, ddof=1):.3f} (mean ± sd over 2 repeats)" in line
    changes = [c for c in next_sweep(run.spec, run.trials, run.epochs, diagnosis=diagnosis).changes if c.rule != "grid"]
    steps = line.split("Next: ")[1].split(". `fitsweep suggest")[0].split("; ")
    assert len(steps) == len(set(steps)) <= len(changes)
    names = {change.key.rsplit(".", 1)[-1] for change in changes}
    assert all(any(name in step for step in steps) for name in names)
    assert all(any(name in step for name in names) for step in steps)


@pytest.mark.parametrize("study", ["diabetes", "notmnist-regularizers"])
def test_the_first_line_names_a_regularizer_combination_and_each_change_once(study: str) -> None:
    from fitsweep.report import recommend
    from fitsweep.verdicts import verdicts_of

    run = load(REPO / "results" / study)
    line = recommend(run, verdicts_of(run))
    settings = line.split(" (", 1)[1].split("), the best by")[0]
    assert settings.count("regularizers") == 1 and not any(f"{part} " in settings for part in ("l1", "l2", "dropout"))
    steps = line.split("Next: ")[1].split(". `fitsweep suggest")[0].split("; ")
    assert len(steps) == len(set(steps)) and sum("regularizers" in step for step in steps) == 1


def test_the_kept_model_is_named_as_one_execution(tiny_copy: Path) -> None:
    from rich.console import Console

    from fitsweep.display import report_summary

    html, markdown = report_of(tiny_copy)
    run = load(tiny_copy)
    best = run.trials[run.trials["trial_id"].astype(str) == str(run.info["best_trial"])]
    kept = best.loc[best[run.spec.tuner.objective].astype(float).idxmin(), "execution"]  # objective: lower is better
    section = html.split('<section id="confusion_matrix">')[1].split("</section>")[0]
    assert f"trial {run.info['best_trial']}, execution {kept}, the best of its 2 repeats" in section
    assert "(mean ± sd over 2 repeats)" in html.split('<p class="recommendation">')[1].split("</p>")[0]
    recommendation = markdown.split("\n\n")[1]
    assert recommendation.startswith("**") and "test accuracy" in recommendation
    console = Console(width=2000, record=True)  # one line each: the recommendation comes first, unwrapped
    console.print(report_summary(run))
    assert console.export_text().splitlines()[0].rstrip() == recommendation.strip("*")


def test_the_end_of_a_run_reuses_the_findings_its_report_was_written_with(tiny_copy: Path) -> None:
    """What `fitsweep run` prints at its end is the report it just wrote, not the same findings computed again."""
    from fitsweep.report import last_report

    LiveReport(tiny_copy).refresh(force=True)
    written = last_report(load(tiny_copy))
    assert written is not None and written.recommendation in (tiny_copy / "report.md").read_text(encoding="utf-8")
    run_info = tiny_copy / "run.json"
    run_info.write_text(run_info.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # the run changed since
    assert last_report(load(tiny_copy)) is None
