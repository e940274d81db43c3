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
    """In an IPython kernel, a KeyboardInterrupt is one line instead of a traceback; elsewhere nothing changes.

    IPython keeps one custom exception handler. Trio (which transformers' model loading imports, through its HTTP
    stack) installs one for exception groups when none is there, and warns in red when one is. So trio is imported
    first, and whatever handler is in place keeps handling its own exceptions: ours only adds KeyboardInterrupt."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or KeyboardInterrupt in getattr(shell, "custom_exceptions", ()):
        return
    try:
        import trio  # noqa: F401  (see the docstring)
    except ImportError:
        pass
    before, handled = getattr(shell, "CustomTB", None), tuple(getattr(shell, "custom_exceptions", ()))

    def handler(self, etype, value, tb, tb_offset=None):
        if issubclass(etype, KeyboardInterrupt):
            return _one_line_interrupt(self, etype, value, tb, tb_offset)
        return before(etype, value, tb, tb_offset=tb_offset)

    shell.set_custom_exc((KeyboardInterrupt, *handled), handler if handled else _one_line_interrupt)


class RunsBar:
    """One bar over several fine-tuning runs, advanced by their updates, with the time left estimated from what
    this process has measured: seconds per update and seconds per embedded row of a snapshot, each times what is
    left of it. (A plain bar's estimate counts the snapshots' embedding, which comes in bursts, as slow updates:
    right after a run's first snapshot it said 73 minutes for 4.)

    ``plan``: (updates, snapshot rows) of each run to come, snapshot rows being the rows embedded over all its
    snapshots."""

    def __init__(self, plan: list[tuple[int, int]], desc: str = "fine-tuning"):
        import time
        self._clock = time.perf_counter
        self.updates_left = sum(u for u, _ in plan)
        self.rows_left = sum(r for _, r in plan)
        self.seconds = {"update": 0.0, "row": 0.0}
        self.done = {"update": 0, "row": 0}
        self.loss = None
        self._last = self._clock()
        self.bar = tqdm(total=self.updates_left, unit="update", desc=desc,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")

    def _measure(self, kind: str, n: int) -> None:
        now = self._clock()
        self.seconds[kind] += now - self._last
        self.done[kind] += n
        self._last = now

    def update(self, n: int = 1) -> None:
        """``n`` updates made since the last event."""
        self._measure("update", n)
        self.updates_left -= n
        self.bar.update(n)
        self._show()

    def snapshot(self, rows: int) -> None:
        """A snapshot of ``rows`` rows embedded since the last event."""
        self._measure("row", rows)
        self.rows_left -= rows
        self._show()

    def set_postfix(self, loss=None, **_) -> None:
        self.loss = loss
        self._show()

    def set_description(self, desc: str) -> None:
        self.bar.set_description(desc)

    def time_left(self) -> float | None:
        """Seconds left at the measured pace; None until both an update and a snapshot have been measured."""
        if not self.done["update"] or not self.done["row"]:
            return None
        return (self.updates_left * self.seconds["update"] / self.done["update"]
                + self.rows_left * self.seconds["row"] / self.done["row"])

    def _show(self) -> None:
        left = self.time_left()
        said = [] if self.loss is None else [f"loss={self.loss}"]
        if left is not None:
            said.append(f"about {left / 60:.0f} min left" if left >= 90 else f"about {left:.0f} s left")
        self.bar.set_postfix_str(", ".join(said), refresh=True)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
