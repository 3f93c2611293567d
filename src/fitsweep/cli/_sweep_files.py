"""Commands on sweep files: `validate` checks one, `suggest` writes the next one from a finished run."""

from __future__ import annotations

from pathlib import Path

import click

from fitsweep.cli._console import stderr, stdout
from fitsweep.cli._options import UsablePath, run_dir_argument, sweep_argument


@click.command()
@sweep_argument
def validate(sweep: Path) -> None:
    """Check a sweep file, print it with every default filled in, and say what its data hold.

    The data are loaded and split as `run` would: the last lines give their sizes, the task
    (classification or regression; for `data.task: auto`, what it decided and why) and the
    scaling `data.scaling` applies (for `auto`, likewise).

    \b
    Example:
      fitsweep validate sweeps/moons.yaml
    """
    from fitsweep.spec import load_spec

    spec = load_spec(sweep)
    from fitsweep.data import prepare_data  # the data, loaded to say what data.task and data.scaling decide

    splits = prepare_data(spec.data, sweep.parent)
    stdout.print(spec.for_task(splits.task.kind, source=str(sweep)).to_yaml(), end="", markup=False)
    stdout.print(splits.summary, highlight=False, soft_wrap=True, markup=False)
    stdout.print(f"{sweep}: valid", style="green")


@click.command()
@run_dir_argument
@click.option("--output", "-o", type=UsablePath(to_write=True),
              help="Write the sweep file here (atomically) instead of printing it.")
def suggest(run_dir: Path, output: Path | None) -> None:
    """Print the next sweep file of a finished run, each change commented with its evidence.

    Ranges widen where the best trials sit at an edge and narrow where the top trials fit well;
    regularization grows where they overfit; epochs, learning rate or capacity where they
    underfit; repeats where the best two are within noise.

    \b
    Example:
      fitsweep suggest results/moons > next.yaml
      fitsweep suggest results/moons --output next.yaml && fitsweep run next.yaml
    """
    from fitsweep.suggest import suggest_next_sweep, write_suggestion

    text = suggest_next_sweep(run_dir)
    if output is None:
        click.echo(text, nl=False)
        return
    write_suggestion(output, text)
    stderr.print(f"Wrote {output}", markup=False)


COMMANDS = (validate, suggest)
