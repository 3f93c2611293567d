"""Every error a user can cause, as one line on stderr and an exit code (no traceback).

Exit codes: 0 success, 1 a run that completed no trial (or a worker whose chief stopped
answering), 2 bad input, 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from fitsweep.cli._console import stderr, stdout
from fitsweep.cli._signals import Terminated
from fitsweep.errors import FitsweepError, RunFailedError, SpecError

# OSError numbers that say a path cannot name anything, whatever is on disk.
_UNUSABLE_PATH = frozenset({errno.ENAMETOOLONG, errno.ELOOP})


def exit_code(app: click.Group) -> int:
    """Run `app` on the command line; a user's error is printed as one line and becomes the exit code."""
    try:
        code = app(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as error:
        stdout.print(error.ctx.get_help(), markup=False)
        code = 0
    except click.ClickException as error:
        stderr.print(f"fitsweep: error: {click_message(error)}", markup=False)
        code = 2
    except click.exceptions.Abort:
        stderr.print("fitsweep: interrupted", markup=False)
        code = 130
    except Terminated:
        stderr.print("fitsweep: interrupted (SIGTERM)", markup=False)
        code = 143
    except KeyboardInterrupt:
        stderr.print("fitsweep: interrupted", markup=False)
        code = 130
    except RunFailedError as error:
        stderr.print(f"fitsweep: run failed: {error}", markup=False)
        code = 1
    except FitsweepError as error:
        stderr.print(f"fitsweep: error: {one_line(str(error))}", markup=False)
        code = 2
    except OSError as error:
        if error.errno not in _UNUSABLE_PATH or error.filename is None:
            raise
        # A path the user gave, made unusable further on (a name it was joined to): the same one line.
        stderr.print(f"fitsweep: error: {one_line(str(error.filename))}: not a usable path ({error.strerror})",
                     markup=False)
        code = 2
    return code if isinstance(code, int) else 0


def one_line(message: str) -> str:
    """The message with control characters escaped: a path a user typed may hold a newline."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def click_message(error: click.ClickException) -> str:
    """click's message on one line, pointing at the command's help."""
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if context is not None:
        message = f"{message} (see '{context.command_path} --help')"
    return " ".join(message.split())


@contextmanager
def naming_the_sweep_file(sweep: Path) -> Iterator[None]:
    """A sweep-file key found wrong only once the data are loaded (`model.family: conv` on flat rows) names the file.

    Such an error has no source: the library that raised it did not read the file. One raised
    with its whole message alone says its key by starting with it.
    """
    from fitsweep.spec import names_a_key

    try:
        yield
    except SpecError as error:
        if error.source is None and (error.key is not None or names_a_key(str(error))):
            raise SpecError(error.problem, source=str(sweep), key=error.key, value=error.value) from None
        raise
