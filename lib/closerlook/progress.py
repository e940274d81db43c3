"""Progress bars, and what an interrupted cell says: one place that decides how long work shows itself.

- In JupyterLab (a kernel with ipywidgets), a widget bar; in a terminal, a text bar (``tqdm.auto`` decides).
- Under ``run_all.py`` (``CLOSERLOOK_PROGRESS=text``), text bars: the kernel's stderr goes to a log, and the stored
  notebook keeps no bar (a widget saved without its state shows as an error in JupyterLab).
- ``CLOSERLOOK_PROGRESS=off``: no bars.
- In IPython, Ctrl-C (Kernel > Interrupt) in a cell that runs the library ends in one line that says what is kept,
  not a traceback through the library.
"""
from __future__ import annotations

import os

PROGRESS_ENV = "CLOSERLOOK_PROGRESS"


def tqdm(*args, **kwargs):
    """A tqdm bar of the kind this process should show (see the module's docstring)."""
    mode = os.environ.get(PROGRESS_ENV, "auto")
    if mode == "off":
        kwargs["disable"] = True
    if mode == "text":
        from tqdm.std import tqdm as bar
    else:
        from tqdm.auto import tqdm as bar
    return bar(*args, **kwargs)


def _one_line_interrupt(shell, etype, value, tb, tb_offset=None):
    print("Interrupted. Everything finished before the interrupt is cached (fine-tuning runs, representations, "
          "probes, DirectProbe fits); run the cell again to go on from there.")


def quiet_interrupts() -> None:
    """In an IPython kernel, a KeyboardInterrupt is one line instead of a traceback; elsewhere nothing changes."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    # A handler the user (or another library) set stays theirs.
    if shell is not None and not getattr(shell, "custom_exceptions", ()):
        shell.set_custom_exc((KeyboardInterrupt,), _one_line_interrupt)
