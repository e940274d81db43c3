"""The jupytext pairs: each notebooks/*.py (the source) has an .ipynb with the same cells, and a parameters cell."""
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_in_sync_with_py(source):
    py = jupytext.read(source)
    ipynb = jupytext.read(source.with_suffix(".ipynb"))
    assert [(c.cell_type, c.source) for c in py.cells] == [(c.cell_type, c.source) for c in ipynb.cells], \
        f"run `jupytext --sync {source.name}` in notebooks/"
    assert sum("parameters" in c.metadata.get("tags", []) for c in py.cells) == 1
    assert py.cells[0].cell_type == "markdown" and py.cells[-1].cell_type == "code"
