"""The command-line reference, read from the `fitsweep` click app: every command, argument and option."""

from __future__ import annotations

import inspect

import click
from _markdown import cell

from fitsweep.cli import app

# click marks a paragraph to keep as written (an example) with a line holding only this character.
_VERBATIM = "\b"
# What click 8.2+ holds as the default of an option given none (older clicks hold None).
_NO_DEFAULT = getattr(click.core, "UNSET", None)


def commands() -> str:
    """A section per command, in the order `fitsweep --help` lists them."""
    root = click.Context(app, info_name="fitsweep")
    return "\n\n".join(_command(name, command, root) for name, command in sorted(app.commands.items()))


def _command(name: str, command: click.Command, root: click.Context) -> str:
    context = click.Context(command, info_name=name, parent=root)
    usage = " ".join(["fitsweep", name, *command.collect_usage_pieces(context)])
    parts = [f"## `fitsweep {name}`", f"```text\n{usage}\n```", _help_text(command.help or "")]
    options = [param for param in command.get_params(context) if isinstance(param, click.Option)
               and param is not command.get_help_option(context)]
    parts.append(_options_table(options, context) if options else "No options but `--help`.")
    return "\n\n".join(parts)


def _help_text(help_text: str) -> str:
    """A command's help as markdown: its prose as paragraphs, its verbatim blocks (examples) as code."""
    paragraphs = []
    for paragraph in inspect.cleandoc(help_text).split("\n\n"):
        if paragraph.startswith(_VERBATIM):
            title, *lines = paragraph.removeprefix(_VERBATIM).strip("\n").splitlines()
            paragraphs.append(f"{title}\n\n```sh\n{inspect.cleandoc(chr(10).join(lines))}\n```")
        else:
            paragraphs.append(cell(paragraph))
    return "\n\n".join(paragraphs)


def _options_table(options: list[click.Option], context: click.Context) -> str:
    rows = ["| option | default | what it does |", "| --- | --- | --- |"]
    for option in options:
        record = option.get_help_record(context)
        if record is None:  # a hidden option
            continue
        flags, help_text = record
        default = option.get_default(context, call=False)
        unset = default is None or default is _NO_DEFAULT or option.is_flag
        rows.append(f"| `{flags}` | {'' if unset else f'`{default}`'} | {_without_default(help_text)} |")
    return "\n".join(rows)


def _without_default(help_text: str) -> str:
    """click's help for an option less the `default: ...` it may add (the table has its own column)."""
    text, _, extra = help_text.partition("  [")
    notes = [note for note in extra.rstrip("]").split("; ") if note and not note.startswith("default:")]
    return cell(text + (f" [{'; '.join(notes)}]" if notes else ""))
