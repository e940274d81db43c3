"""The jupytext pairs: each notebooks/*.py and notebooks/solutions/*.py (the source) has an .ipynb with the same
cells, and a parameters cell; every chapter ends with exercises whose solutions exist."""
import re
from pathlib import Path

import jupytext
import pytest

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(FOLDER.glob("*.py"))
SOURCES = CHAPTERS + sorted((FOLDER / "solutions").glob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_ipynb_in_sync_with_py(source):
    py = jupytext.read(source)
    ipynb = jupytext.read(source.with_suffix(".ipynb"))
    assert [(c.cell_type, c.source) for c in py.cells] == [(c.cell_type, c.source) for c in ipynb.cells], \
        f"run `jupytext --sync {source.name}` in {source.parent.name}/"
    assert sum("parameters" in c.metadata.get("tags", []) for c in py.cells) == 1
    assert py.cells[0].cell_type == "markdown"


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_ends_with_exercises_and_their_solutions_exist(source):
    cells = jupytext.read(source).cells
    last = cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Exercises"), "the chapter's last cell"
    exercises = re.findall(r"^\d+\. \*\*", last.source, re.M)
    assert 1 <= len(exercises) <= 4
    named = re.search(r"`(solutions/[\w.]+\.py)`", last.source).group(1)
    assert named == f"solutions/{source.stem}_solutions.py" and (FOLDER / named).exists()
    assert cells[-2].cell_type == "code"     # the chapter's own work ends before its exercises
