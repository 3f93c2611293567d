"""Text from the code made safe for a Markdown table cell."""

from __future__ import annotations

import html


def cell(text: str) -> str:
    """`text` on one line, its pipes escaped, and `<`, `>`, `&` shown as typed outside `code` spans.

    Help text such as "results go to DIR/<name>" would otherwise lose `<name>` as an unknown HTML tag.
    """
    parts = " ".join(text.split()).split("`")
    shown = [part if inside_code else html.escape(part, quote=False) for inside_code, part in
             ((index % 2 == 1, part) for index, part in enumerate(parts))]
    return "`".join(shown).replace("|", "\\|")
