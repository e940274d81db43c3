"""The book (Sphinx + myst-nb): built from the smoke run and from the committed default and full results; every
reference resolves, nothing is fetched from the network, and in a real browser with the network off the search
finds what it should and a chapter's downloads work."""
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import NOTEBOOKS, REPO, SOLUTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What a page would fetch (not a link a reader may follow): scripts, styles, images, fonts, imports.
FETCH = re.compile(r'<(?:script|img|link|source|iframe)\b[^>]*\b(?:src|href)="(https?:)?//|url\(["\']?(https?:)?//'
                   r'|import\(["\'](https?:)?//')


def references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"#?]+)', html)


def check_static(book: Path, chapters: list[str], profiles: list[str]) -> None:
    for profile in profiles:
        built = sorted(p.stem for p in (book / profile).glob("*.html"))
        assert built == sorted(chapters + ["index"]), (profile, built)
    for page in [*book.rglob("*.html"), *book.rglob("*.css"), *book.rglob("*.js")]:
        text = page.read_text(errors="replace")
        fetch = FETCH.search(text)
        assert fetch is None, f"{page.relative_to(book)} fetches from the network: {fetch.group(0)}"
        if page.suffix != ".html":
            continue
        for ref in references(text):
            if ref.startswith(("data:", "mailto:", "javascript:", "http://", "https://")):
                continue
            assert (page.parent / ref).resolve().exists(), f"{page.relative_to(book)}: {ref} does not resolve"


@pytest.fixture(scope="module")
def committed_book(tmp_path_factory):
    """The book of the committed default and full results, built where nothing of the repository changes."""
    from closerlook import book
    out = tmp_path_factory.mktemp("book") / "book"
    book.build(REPO / "results", ["default", "full"], out, src=out.parent / "src")
    return out


def test_the_smoke_run_builds_its_book(smoke):
    proc, _, out = smoke
    assert "[run_all] book:" in proc.stdout
    check_static(out / "results" / "smoke" / "book", NOTEBOOKS + SOLUTIONS, ["smoke"])


def test_the_committed_results_build_a_book_of_both_profiles(committed_book):
    check_static(committed_book, NOTEBOOKS + SOLUTIONS, ["default", "full"])
    front = (committed_book / "index.html").read_text()
    ledger = re.search(r"<table class='closerlook-ledger' id='ledger'>(.*?)</table>", front, re.S)
    assert ledger, "the front page has no claims ledger"
    head = re.findall(r"<th>(.*?)</th>", ledger.group(1))
    assert {"default · exact", "default · authors", "full · exact"} <= set(head), head
    assert ledger.group(1).count("<tr>") > 15
    # A chapter's cross-references: to the paper's section and to the same chapter in the other profile.
    chapter = (committed_book / "default" / "03_label_spacing.html").read_text()
    assert 'href="../paper.html#paper-4-3"' in chapter
    assert 'href="../full/03_label_spacing.html"' in chapter
    assert re.search(r'href="06_reproduction.html"', chapter), "chapter 06 is not linked"


def test_a_downloaded_notebook_is_the_executed_chapter_with_its_figures(committed_book):
    page = (committed_book / "default" / "03_label_spacing.html").read_text()
    links = dict((Path(h).name, h) for h in re.findall(r'href="(\.\./_downloads/[^"]+)"', page))
    assert set(links) == {"03_label_spacing.ipynb", "03_label_spacing.py"}, links
    nb = json.loads((committed_book / "default" / links["03_label_spacing.ipynb"]).read_text())
    stored = json.loads((REPO / "results" / "default" / "notebooks" / "03_label_spacing.ipynb").read_text())
    code = lambda n: [c["source"] for c in n["cells"] if c["cell_type"] == "code"]
    assert code(nb) == code(stored)
    assert sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", [])) >= 3
    assert ((committed_book / "default" / links["03_label_spacing.py"]).read_text()
            == (REPO / "notebooks" / "03_label_spacing.py").read_text())


def test_a_chapter_that_did_not_run_to_the_end_says_so():
    from closerlook.book import _chapter_copy
    from closerlook.publish import failed_cell
    raised = {"cell_type": "code", "id": "c1", "execution_count": 3, "metadata": {}, "source": "1/0",
              "outputs": [{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
                           "traceback": []}]}
    nb = {"cells": [{"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# A chapter"}, raised],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    copy = _chapter_copy(json.loads(json.dumps(nb)), "01_divergence", "smoke", {"smoke": ["01_divergence"]},
                         Path("."))
    assert "cell 3 raised ZeroDivisionError" in copy["cells"][1]["source"]
    assert "did not run to the end" in copy["cells"][1]["source"]
    # Links go only to pages the book has: no solutions page here (a run with --no-solutions), no other profile.
    assert "solutions" not in copy["cells"][1]["source"] and "profile </" not in copy["cells"][1]["source"]
    both = _chapter_copy(json.loads(json.dumps(nb)), "01_divergence", "smoke",
                         {"smoke": ["01_divergence", "01_divergence_solutions"], "full": ["01_divergence"]}, Path("."))
    assert "<01_divergence_solutions>" in both["cells"][1]["source"]
    assert "</full/01_divergence>" in both["cells"][1]["source"]
    # A run killed during a chapter leaves no error output, only cells that never ran.
    ran = lambda k: {"cell_type": "code", "id": f"c{k}", "execution_count": k, "metadata": {}, "source": "x = 1",
                     "outputs": []}
    never = lambda k: dict(ran(k), execution_count=None)
    blank = dict(never(9), source="")                      # an empty cell never counts
    nb["cells"] = [ran(1), ran(2), ran(3), never(4), never(5), blank]
    assert "3 of 5 code cells ran" in failed_cell(nb)["message"]
    nb["cells"] = [ran(1), ran(2), blank]
    assert failed_cell(nb) is None


def test_mentions_become_links_but_headings_and_code_do_not():
    from closerlook.book import _linked
    chapters = {"06": "06_reproduction"}
    text = "# §4.3 title\nAs §4.3 and chapter 06 say, `§4.1` and [§4.5](x) stay; §9.9 is no section."
    out = _linked(text, chapters).split("\n")
    assert out[0] == "# §4.3 title"
    assert "{ref}`§4.3 <paper-4-3>`" in out[1] and "{doc}`chapter 06 <06_reproduction>`" in out[1]
    assert "`§4.1`" in out[1] and "[§4.5](x)" in out[1] and "§9.9" in out[1] and "paper-9-9" not in out[1]


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


def read_offline(book: Path) -> dict:
    """What a reader sees with the network off: the requests every page made, the search's results for
    "spatial similarity", the images of a chapter that did not load, and a chapter's downloads."""
    from playwright.sync_api import sync_playwright
    seen = {"requests": [], "downloads": {}}      # downloads: {file name: (status, text)}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(offline=True, accept_downloads=True)
        context.on("request", lambda r: seen["requests"].append(r.url))
        page = context.new_page()
        page.goto((book / "index.html").as_uri(), wait_until="load")
        seen["ledger_rows"] = page.locator("#ledger tbody tr").count()
        page.goto((book / "search.html").as_uri() + "?q=spatial+similarity", wait_until="load")
        page.wait_for_function("document.querySelector('#search-results') &&"
                               " /Search finished/.test(document.querySelector('#search-results').innerText)",
                               timeout=30_000)
        seen["search"] = page.locator("#search-results li a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))")
        page.goto((book / "default" / "03_label_spacing.html").as_uri(), wait_until="load")
        seen["broken_images"] = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
        seen["images"] = page.evaluate("document.images.length")
        # From file:// Chromium opens a download link's file instead of saving it (the page's origin is opaque,
        # so the `download` attribute does not apply): what the link gives is what that tab shows.
        for url in page.locator("a.download").evaluate_all("links => links.map(a => a.href)"):
            tab = context.new_page()
            response = tab.goto(url, wait_until="load")
            seen["downloads"][url.rsplit("/", 1)[1]] = (response.status, tab.locator("pre").inner_text())
            tab.close()
        browser.close()
    return seen


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_the_book_offline_in_a_real_browser(committed_book, tmp_path):
    seen = read_offline(committed_book)
    assert [u for u in seen["requests"] if not u.startswith("file://")] == []
    assert seen["ledger_rows"] > 15
    # §4.1's chapter is where the paper's "spatial similarity" is measured, in both profiles.
    found = {h.split("?")[0] for h in seen["search"]}
    assert {"default/01_divergence.html", "full/01_divergence.html"} <= found, found
    assert seen["images"] >= 3 and seen["broken_images"] == [], seen
    assert set(seen["downloads"]) == {"03_label_spacing.ipynb", "03_label_spacing.py"}
    status, notebook = seen["downloads"]["03_label_spacing.ipynb"]
    assert status == 200 and json.loads(notebook)["cells"]
    status, source = seen["downloads"]["03_label_spacing.py"]
    assert status == 200 and source.strip() == (REPO / "notebooks" / "03_label_spacing.py").read_text().strip()
    # The same check on a copy with a figure gone must see it.
    broken = tmp_path / "book"
    shutil.copytree(committed_book, broken)
    chapter = (broken / "default" / "03_label_spacing.html").read_text()
    image = re.search(r'src="(\.\./_images/[^"]+\.png)"', chapter).group(1)
    (broken / "default" / image).resolve().unlink()
    assert read_offline(broken)["broken_images"], "a missing figure went unseen"


def test_a_chapter_run_live_with_widgets_fetches_nothing(tmp_path):
    """A cold run's progress bars are widgets, and papermill keeps their state in the notebook's metadata; with it,
    myst-nb added require.js and the widgets' manager from CDNs to the page (CI, smoke/01_divergence)."""
    from closerlook import book
    run = tmp_path / "run"
    (run / "notebooks").mkdir(parents=True)
    nb = json.loads((REPO / "results" / "default" / "notebooks" / "02_linearity.ipynb").read_text())
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m": {"model_name": "LayoutModel", "model_module": "@jupyter-widgets/base",
                        "model_module_version": "2.0.0", "state": {}}}, "version_major": 2, "version_minor": 0}}
    (run / "notebooks" / "02_linearity.ipynb").write_text(json.dumps(nb))
    built = book.build(folders={"live": run}, out=tmp_path / "book").parent
    page = (built / "live" / "02_linearity.html").read_text()
    assert FETCH.search(page) is None, FETCH.search(page).group(0)
