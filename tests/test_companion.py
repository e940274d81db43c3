"""The HTML companion built from the smoke run: every page, every link, clean outputs, and a real browser's view."""
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import NOTEBOOKS, REPO, SOLUTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pages_of(smoke) -> Path:
    return smoke[2] / "results" / "smoke" / "html"


def references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"#]+)"', html)


def test_every_page_is_built_and_every_reference_resolves(smoke):
    proc, _, out = smoke
    assert "companion pages:" in proc.stdout
    pages = pages_of(smoke)
    assert sorted(p.stem for p in pages.glob("*.html")) == sorted(NOTEBOOKS + SOLUTIONS + ["index"])
    assert all((pages / f).exists() for f in ("lab.css", "companion.css", "companion.js"))
    for page in [*pages.glob("*.html"), pages / "lab.css", pages / "companion.css", pages / "companion.js"]:
        html = page.read_text()
        fetch = re.search(r'(?:src|href)="https?://|import\("https?://|url\(["\']?https?://', html)
        assert fetch is None, f"{page.name} fetches from the network: {fetch and fetch.group(0)}"
        for ref in references(html):
            if ref.startswith(("data:", "mailto:", "http://www.w3.org")):
                continue
            assert not ref.startswith(("http://", "https://")), (page.name, ref)
            assert (page.parent / ref).resolve().exists(), f"{page.name}: {ref} does not resolve"


def test_published_notebooks_hold_no_error_stderr_or_machine_path(smoke):
    _, _, out = smoke
    for name in NOTEBOOKS + SOLUTIONS:
        nb = json.loads((out / "results" / "smoke" / "notebooks" / f"{name}.ipynb").read_text())
        text = json.dumps(nb)
        for path in (str(REPO), str(out), f"{Path.home()}/", f"{tempfile.gettempdir()}/"):
            assert path not in text, (name, path)
        assert "papermill" not in nb["metadata"]
        for cell in nb["cells"]:
            for o in cell.get("outputs", []):
                assert o["output_type"] != "error", (name, o.get("evalue"))
                assert not (o["output_type"] == "stream" and o["name"] == "stderr"), (name, o.get("text"))
                assert "image/png" not in o.get("data", {}), f"{name}: a figure embedded instead of linked"


def test_a_failed_cell_is_flagged_on_its_page():
    from closerlook.companion import render_chapter
    nb = {"cells": [{"cell_type": "code", "id": "c1", "execution_count": 3, "metadata": {}, "source": "1/0",
                     "outputs": [{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
                                  "traceback": []}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    html = render_chapter(nb, "01_divergence", "smoke", ["01_divergence"])
    assert 'id="closerlook-failed"' in html and "cell 3 raised ZeroDivisionError" in html


def test_a_killed_execution_is_flagged_on_its_page():
    """A run killed during a chapter leaves no error output, only cells that never ran: the page said nothing."""
    from closerlook.companion import failed_cell, render_chapter
    ran = lambda k: {"cell_type": "code", "id": f"c{k}", "execution_count": k, "metadata": {}, "source": "x = 1",
                     "outputs": []}
    never = lambda k: dict(ran(k), execution_count=None)
    blank = dict(never(9), source="")                      # an empty cell never counts
    nb = {"cells": [ran(1), ran(2), ran(3), never(4), never(5), blank], "metadata": {}, "nbformat": 4,
          "nbformat_minor": 5}
    html = render_chapter(nb, "02_linearity", "smoke", ["02_linearity"])
    assert 'id="closerlook-failed"' in html and "3 of 5 code cells ran" in html
    nb["cells"] = [ran(1), ran(2), blank]
    assert failed_cell(nb) is None


def render(page: Path) -> str:
    """The page's DOM after a headless Chromium loaded it (images included, scripts run)."""
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def check_in_browser(pages: Path) -> list[str]:
    """What a reader would see missing: the claims table, the figures, images that do not load."""
    problems = []
    index = render(pages / "index.html")
    rows = re.search(r'<table id="ledger">.*?<tbody>(.*?)</tbody>', index, re.S)
    if not rows or rows.group(1).count("<tr>") < 10:
        problems.append("index: the claims table is missing or empty")
    if index.count("<figure>") < 10:
        problems.append(f"index: {index.count('<figure>')} figures in the gallery")
    for name, dom in (("index", index), ("03_label_spacing", render(pages / "03_label_spacing.html"))):
        broken = re.search(r'data-broken-images="(\d+)"', dom)
        shown = re.search(r'data-images="(\d+)"', dom)
        if not broken or not shown:
            problems.append(f"{name}: the page's image check did not run")
        elif int(broken.group(1)):
            listed = re.search(r'data-broken-list="([^"]*)"', dom).group(1)
            problems.append(f"{name}: {broken.group(1)} of {shown.group(1)} images do not load ({listed})")
        elif name != "index" and int(shown.group(1)) < 3:
            problems.append(f"{name}: {shown.group(1)} images shown")
    return problems


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_index_and_a_chapter_in_a_real_browser(smoke, tmp_path):
    assert check_in_browser(pages_of(smoke)) == []
    # The same check on a copy whose figure reference is broken must fail.
    broken = tmp_path / "results" / "smoke"
    shutil.copytree(smoke[2] / "results" / "smoke", broken)
    index = broken / "html" / "index.html"
    shutil.copytree(smoke[2] / "figures", tmp_path / "figures")
    (tmp_path / "figures" / "fig04_layer_similarity.png").unlink()
    problems = check_in_browser(broken / "html")
    assert any("do not load" in p and "fig04_layer_similarity.png" in p for p in problems), problems
    assert index.exists()
