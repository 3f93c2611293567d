"""A Griffe extension: fitsweep's `Example:` docstring sections render as code, as `Examples:` ones do.

fitsweep's Google-style docstrings title their doctest examples `Example:`, which Griffe's Google
parser reads as a free-text admonition, rendering `>>>` lines as Markdown. Retitled before parsing,
they are its examples section, rendered as Python code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_TITLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Retitle every docstring's `Example:` section `Examples:` as Griffe loads the object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_TITLE.sub(r"\g<indent>Examples:", obj.docstring.value)
