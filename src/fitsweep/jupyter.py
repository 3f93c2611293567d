"""What fitsweep needs to know about running in a Jupyter kernel: whether it does, and its inline figures.

Nothing here imports IPython: it is looked at only when the process already has it, so a
script never pays for it.
"""

from __future__ import annotations

import sys

__all__ = ["enable_inline_figures", "in_notebook"]

_INLINE = "module://matplotlib_inline.backend_inline"


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab), not a script."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def enable_inline_figures() -> None:
    """Let a notebook show fitsweep's figures as images, as it shows pyplot's, without `%matplotlib inline`.

    fitsweep draws on Agg canvases outside pyplot (`fitsweep.figures`). The kernel selects the
    inline backend, but its module loads only when pyplot first draws a figure, and it is that
    module which tells IPython to display a Figure as an image; until then a figure displays as
    `<Figure size 650x350 with 4 Axes>`. Loading the module here does what the first pyplot
    figure would; a notebook that selected another backend (`%matplotlib widget`) is left alone.
    """
    if "matplotlib_inline.backend_inline" in sys.modules or not in_notebook():
        return
    import matplotlib

    try:
        backend = matplotlib.get_backend(auto_select=False)  # matplotlib 3.10 and later: no backend is loaded
    except TypeError:
        backend = matplotlib.rcParams["backend"]
    if backend in ("inline", _INLINE):
        import matplotlib_inline.backend_inline  # noqa: F401 - on import it registers IPython's image display
