"""How data errors and notes quote what they are about: names listed short, an exception's first line."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MAX_LISTED", "first_line", "listing", "number"]

# How many names an error message lists before it says "...".
MAX_LISTED = 12


def listing(names: Sequence[object], limit: int = MAX_LISTED) -> str:
    """Names quoted and joined, cut after `limit`: `'a', 'b', ... (40 in all)`."""
    shown = ", ".join(repr(name) for name in names[:limit])
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return (shown + more) if names else "(nothing)"


def first_line(error: BaseException) -> str:
    """An exception's message cut to its first line, or its type when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def number(value: float) -> str:
    """A number as a reader takes it in: 4,254 and 140,000, but 0.0289 and 2.4."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
