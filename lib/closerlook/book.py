"""The published chapters as a book: Sphinx with myst-nb and sphinx-book-theme, built offline from the executed
notebooks the runs keep (nothing is executed again).

    python -m closerlook.book                 # results/book/index.html, from results/default and results/full

Why this stack: it is the one Jupyter Book 1 wraps (Sphinx + myst-nb + sphinx-book-theme), used directly, so the
book needs no `_toc.yml`/`_config.yml` layer and no pin on an older Sphinx; every asset (theme, fonts, search
index) is local, so the book builds and opens with no network. Jupyter Book 2 (mystmd) needs Node.

What the book adds to the executed notebooks, in a copy among its sources (the stored notebooks stay as they
are): the figures embedded (the stored notebooks link to figures/<profile>/, which a downloaded notebook lacks),
the code cells folded, a banner on a chapter that did not run to the end, a download line (the notebook, its `.py`
source, the same chapter in the other profile), and links: "§4.3" to the paper's section in the book, "chapter 06"
to that chapter. The front page is the claims ledger, every profile under both readings side by side.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from .publish import CHAPTERS, REPO, SOLUTIONS, failed_cell
from .report import VERDICT_COLOURS, VERDICT_MARKS

BOOK_PROFILES = ("default", "full")      # the profiles the committed book shows side by side

# The paper's sections as the book cross-references them: label, title, what the section asks, its chapter.
PAPER_SECTIONS = [
    ("2.2", "DirectProbe: probing the geometric structure", "What clusters of a label does a representation "
     "hold, and are the labels linearly separable?", "00_directprobe_primer"),
    ("3", "Experimental setup", "The five tasks, the BERT family and how they are fine-tuned (Tables 1 and 6).",
     "00_tasks_and_models"),
    ("4.1", "Fine-tuned performance", "Does fine-tuning always improve what a probe reads from the representation?",
     "01_divergence"),
    ("4.2", "Linearity of representations", "Are the original representations of the tasks already linearly "
     "separable, and does fine-tuning keep them so?", "02_linearity"),
    ("4.3", "Spatial structure of labels", "Does fine-tuning push the labels' clusters apart, and which ones?",
     "03_label_spacing"),
    ("4.4", "Cross-task fine-tuning", "What does fine-tuning on one task do to the geometry of another?",
     "04_cross_task"),
    ("4.5", "Layer behavior", "Which layers does fine-tuning change, and how much?", "05_layer_behavior"),
]
_SECTION_OF_CHAPTER = {chapter: label for label, _, _, chapter in PAPER_SECTIONS}


def anchor(label: str) -> str:
    return "paper-" + label.replace(".", "-")


_IMG = re.compile(r'<img\b[^>]*\bsrc="([^"]+\.png)"[^>]*>', re.I)
_SECTION_MENTION = re.compile(r"§(\d(?:\.\d)?)(?![\d.]*\d)")
_CHAPTER_MENTION = re.compile(r"\bchapter (0[1-6])\b")


def _linked(markdown: str, chapters: dict[str, str]) -> str:
    """A markdown cell with its mentions of the paper's sections and of chapters turned into links; headings,
    code and existing links are left alone."""
    known = {label for label, *_ in PAPER_SECTIONS}
    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or line.lstrip().startswith("#"):
            out.append(line)
            continue
        pieces = re.split(r"(`[^`]*`|\[[^\]]*\]\([^)]*\))", line)     # leave code spans and links as they are
        for i in range(0, len(pieces), 2):
            pieces[i] = _SECTION_MENTION.sub(
                lambda m: (f"{{ref}}`§{m.group(1)} <{anchor(m.group(1))}>`" if m.group(1) in known else m.group(0)),
                pieces[i])
            pieces[i] = _CHAPTER_MENTION.sub(
                lambda m: (f"{{doc}}`chapter {m.group(1)} <{chapters[m.group(1)]}>`" if m.group(1) in chapters
                           else m.group(0)), pieces[i])
        out.append("".join(pieces))
    return "\n".join(out)


def _embed_figures(outputs: list[dict], stored_in: Path) -> list[dict]:
    """Outputs whose HTML only shows a figure file become that figure, embedded: the book copies it into its
    pages, and a downloaded notebook shows it."""
    kept = []
    for out in outputs:
        data = out.get("data", {})
        text = "".join(data.get("text/html", "")) if isinstance(data.get("text/html"), list) else data.get("text/html", "")
        found = _IMG.fullmatch(text.strip()) if text else None
        if found and (stored_in / found.group(1)).exists():
            png = (stored_in / found.group(1)).read_bytes()
            out = {"output_type": "display_data", "metadata": {},
                   "data": {"image/png": base64.b64encode(png).decode(), "text/plain": [Path(found.group(1)).stem]}}
        kept.append(out)
    return kept


def _source_of(name: str) -> Path:
    chapter = name.removesuffix(SOLUTIONS)
    return REPO / "notebooks" / ("solutions/" if name != chapter else "") / f"{name}.py"


def _chapter_copy(nb: dict, name: str, profile: str, pages: dict[str, list[str]], stored_in: Path) -> dict:
    """The book's copy of one stored notebook. `pages`: the notebooks each profile of the book has, so that a link
    (its solutions, the same chapter in another profile) is made only to a page that exists (a run with
    --no-solutions has none)."""
    chapters = {c[:2]: c for c in CHAPTERS if not c.startswith("00")}
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            cell["source"] = _linked(source, chapters)
        elif cell["cell_type"] == "code":
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            # The parameters papermill injected name the run's paths; the reader needs the chapter's own cell.
            tags.append("remove-cell" if "injected-parameters" in tags else "hide-input")
            cell["outputs"] = _embed_figures(cell.get("outputs", []), stored_in)
    downloads = [f"{{download}}`this notebook, executed <{name}.ipynb>`"]
    if _source_of(name).exists():
        downloads.append(f"{{download}}`its source, {_source_of(name).name} <{_source_of(name).name}>`")
    chapter = name.removesuffix(SOLUTIONS)
    if name == chapter and f"{chapter}{SOLUTIONS}" in pages[profile]:
        downloads.append(f"{{doc}}`the solutions to its exercises <{chapter}{SOLUTIONS}>`")
    elif name != chapter:
        downloads.append(f"{{doc}}`back to the chapter <{chapter}>`")
    for other in pages:
        if other != profile and name in pages[other]:
            downloads.append(f"{{doc}}`this chapter in the {other} profile </{other}/{name}>`")
    if chapter in _SECTION_OF_CHAPTER:
        label = _SECTION_OF_CHAPTER[chapter]
        downloads.append(f"{{ref}}`the paper's §{label} <{anchor(label)}>`")
    lines = [f"```{{admonition}} {profile} profile\n:class: note\n" + " · ".join(downloads) + "\n```"]
    failed = failed_cell(nb)
    if failed:
        lines.append(f"```{{error}}\nThis chapter did not run to the end: {failed['message']}. "
                     "What follows it is missing.\n```")
    banner = {"cell_type": "markdown", "id": "closerlook-book-banner", "metadata": {}, "source": "\n\n".join(lines)}
    first = next((i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"), -1)
    if first >= 0:     # the page's title says its profile: in a search's results and a tab, both profiles appear
        nb["cells"][first]["source"] = re.sub(r"^# (.+)$", lambda m: f"# {m.group(1)} · {profile}",
                                              nb["cells"][first]["source"], count=1, flags=re.M)
    nb["cells"].insert(first + 1, banner)          # after the chapter's title, which names the page
    nb["metadata"].pop("closerlook", None)
    # A live run's widget state (its progress bars): with it, myst-nb loads the widgets' scripts from a CDN.
    nb["metadata"].pop("widgets", None)
    return nb


CHAPTERS_AND_SOLUTIONS = [m for n in CHAPTERS for m in (n, f"{n}{SOLUTIONS}")]

_MARK = VERDICT_MARKS              # the marks and colours of the chapters' own claims tables
_CLASS = {"holds": "holds", "does not hold": "fails", "not testable here": "untestable"}


def ledger_html(rows: list[dict], readings: list[str]) -> str:
    """The claims ledger as one table: each claim, the paper's evidence, and per profile and reading our evidence
    and verdict with its reason (marked, so that it reads without colour too)."""
    e = lambda v: html.escape(str(v if v is not None else ""))
    head = "".join(f"<th>{e(r)}</th>" for r in readings)
    body = []
    for row in rows:
        cells = []
        for r in readings:
            verdict = row.get(f"{r}: verdict")
            if verdict is None or verdict != verdict:
                cells.append("<td class='notrun'>not run</td>")
                continue
            cells.append(f"<td class='{_CLASS.get(verdict, 'notrun')}'><b>{_MARK.get(verdict, '')} {e(verdict)}</b>"
                         f"<div class='ours'>{e(row.get(f'{r}: ours'))}</div>"
                         f"<div class='reason'>{e(row.get(f'{r}: reason'))}</div></td>")
        section = re.search(r"§(\d(?:\.\d)?)", row["section"])
        where = (f"<a href='paper.html#{anchor(section.group(1))}'>{e(row['section'])}</a>"
                 if section and section.group(1) in {s for s, *_ in PAPER_SECTIONS} else e(row["section"]))
        differ = row.get("where they differ") or ""
        body.append(f"<tr><td>{where}</td><td>{e(row['claim'])}<div class='paper'>paper: {e(row['paper'])}</div>"
                    + (f"<div class='differ'>{e(differ)}</div>" if differ else "") + f"</td>{''.join(cells)}</tr>")
    return (f"<table class='closerlook-ledger' id='ledger'><thead><tr><th>section</th><th>claim</th>{head}</tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table>")


BOOK_CSS = """.closerlook-ledger { border-collapse: collapse; font-size: 0.8rem; width: 100%; }
.closerlook-ledger th, .closerlook-ledger td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; }
""" + "".join(f".closerlook-ledger .{_CLASS[v]} {{ background: {colour}; }}\n" for v, colour in VERDICT_COLOURS.items()) + \
    f".closerlook-ledger .notrun {{ background: {VERDICT_COLOURS['not testable here']}; }}\n" + """.closerlook-ledger .reason, .closerlook-ledger .paper, .closerlook-ledger .differ { font-size: 0.72rem; color: #333; }
.closerlook-ledger .differ { color: #7a4a00; margin-top: 3px; }
html[data-theme="dark"] .closerlook-ledger td { color: #111; }
"""

CONF = '''# Written by closerlook.book; the book's sources are generated, edit lib/closerlook/book.py instead.
project = "closer-look"
author = "closer-look"
extensions = ["myst_nb"]
html_theme = "sphinx_book_theme"
html_title = "closer-look"
html_static_path = ["_static"]
html_css_files = ["closerlook.css"]
# The download line on each chapter offers its notebook and `.py`; the theme's button would offer a copy of the
# same notebook from _sources/ (a second copy of every figure).
html_theme_options = {{"show_toc_level": 2, "use_download_button": False, "use_fullscreen_button": False,
                      "home_page_in_toc": True}}
html_copy_source = False
html_show_sourcelink = False
nb_execution_mode = "off"                      # the runs executed every notebook; the book shows what they kept
nb_merge_streams = True
nb_ipywidgets_js = {{}}                          # never the widgets' scripts from a CDN (the book has no live widgets)
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]
exclude_patterns = ["_build"]
# No page loads MathJax from a CDN: the chapters' few formulas read as text (an offline book fetches nothing).
mathjax_path = "{mathjax}"
'''


def write_source(folders: dict[str, Path], src: Path) -> Path:
    """The book's sources in `src`: conf.py, the front page (the ledger), the paper's sections, and one folder per
    profile with its chapters' notebooks (copies, see the module's doc) and their `.py` sources. `folders`: each
    profile's run folder (results/<profile>, holding notebooks/ and numbers/)."""
    profiles = list(folders)
    from .ledger import ledger_table, load_readings, load_profile, profile_differences
    if src.exists():
        shutil.rmtree(src)
    (src / "_static").mkdir(parents=True)
    (src / "_static" / "closerlook.css").write_text(BOOK_CSS)
    # A local stand-in for MathJax: formulas stay as their TeX, and no script is fetched from a CDN.
    (src / "_static" / "no-mathjax.js").write_text("// MathJax is not bundled: formulas are shown as TeX.\n")
    (src / "conf.py").write_text(CONF.format(mathjax="no-mathjax.js"))
    status: dict[str, dict] = {}
    pages = {p: [n for n in CHAPTERS_AND_SOLUTIONS if (folders[p] / "notebooks" / f"{n}.ipynb").exists()]
             for p in profiles}
    for profile in profiles:
        stored = folders[profile] / "notebooks"
        folder = src / profile
        folder.mkdir()
        names = pages[profile]
        status[profile] = {}
        for name in names:
            nb = json.loads((stored / f"{name}.ipynb").read_text())
            status[profile][name] = failed_cell(nb)
            nb = _chapter_copy(nb, name, profile, pages, stored)
            (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False))
            if _source_of(name).exists():
                shutil.copy(_source_of(name), folder / _source_of(name).name)
        (folder / "index.md").write_text(_profile_page(folders[profile], profile, names, status[profile]))
    found = load_readings({p: folders[p] / "numbers" for p in profiles})
    table = ledger_table(found, {p: load_profile(folders[p] / "numbers") for p in profiles}) if found else None
    rows = table.to_dict(orient="records") if table is not None else []
    (src / "index.md").write_text(_front_page(rows, list(found), profiles, status))
    (src / "paper.md").write_text(_paper_page(rows, list(found), pages))
    differences = profile_differences(*(load_profile(folders[p] / "numbers") for p in profiles[:2])) \
        if len(profiles) == 2 else []
    (src / "profiles.md").write_text(_profiles_page(folders, differences))
    return src


def _front_page(rows, readings, profiles, status) -> str:
    failed = [f"{{doc}}`{p}/{n}`" for p in profiles for n, f in status[p].items() if f]
    toc = "\n".join(f"```{{toctree}}\n:caption: {p.capitalize()} profile\n:hidden:\n\n{p}/index\n"
                    + "\n".join(f"{p}/{n}" for n in status[p]) + "\n```\n" for p in profiles)
    return f"""---
html_theme.sidebar_secondary.remove: true
---
# A Closer Look at How Fine-tuning Changes BERT, re-run

Every claim of Zhou & Srikumar (ACL 2022) with the paper's evidence, ours, and a verdict with its reason:
**✔ holds**, **✘ does not hold** (contradicted, or its interval reaches the wrong side) or **– not testable here**.
Each profile is shown under both readings of the geometry: *exact* (ours: DirectProbe's clusters measured at each
snapshot) and *authors* (the conventions of the authors' code); {{doc}}`profiles` says how the profiles differ and
{{doc}}`paper` maps the paper's sections to the chapters. The chapters hold the tables and figures behind each row,
and every chapter can be downloaded as an executed notebook and as its `.py` source.
{"" if not failed else chr(10) + "```{error}" + chr(10) + "Did not run to the end: " + ", ".join(failed) + chr(10) + "```" + chr(10)}
## The claims ledger

```{{raw}} html
{ledger_html(rows, readings)}
```

```{{toctree}}
:hidden:

paper
profiles
```

{toc}
"""


def _profile_page(run: Path, profile: str, names: list[str], status: dict) -> str:
    items = []
    for name in names:
        if name.endswith(SOLUTIONS):
            continue
        solved = f"{name}{SOLUTIONS}"
        line = f"- {{doc}}`{name}`"
        if solved in names:
            line += f" · {{doc}}`solutions <{solved}>`"
        if status.get(name):
            line += f" · **did not run to the end** ({status[name]['message']})"
        items.append(line)
    provenance = run / "provenance.json"
    shown = ""
    if provenance.exists():
        record = json.loads(provenance.read_text())
        fmt = lambda v: ", ".join(f"{k} {x}" for k, x in v.items()) if isinstance(v, dict) else str(v)
        shown = "## How these were made\n\n" + "\n".join(f"- {k}: {fmt(v)}" for k, v in record.items())
    return f"# The {profile} profile\n\n" + "\n".join(items) + "\n\n" + shown + "\n"


def _paper_page(rows, readings, pages: dict[str, list[str]]) -> str:
    parts = ["# The paper, section by section\n\nZhou & Srikumar, *A Closer Look at How Fine-tuning Changes BERT* "
             "(ACL 2022). Each section of the paper that makes a claim, the chapter that re-runs it, and its claims' "
             "verdicts (the {doc}`front page <index>` has the evidence).\n"]
    for label, name, question, chapter in PAPER_SECTIONS:
        links = " · ".join(f"{{doc}}`{p} profile </{p}/{chapter}>`" for p in pages if chapter in pages[p]) or "not run"
        mine = [r for r in rows if re.search(rf"§{re.escape(label)}(?![\d])", r["section"])]
        claims = "\n".join("- " + r["claim"] + ": " + "; ".join(
            f"{rd} {_MARK.get(r.get(f'{rd}: verdict'), '')} {r.get(f'{rd}: verdict')}" for rd in readings
            if r.get(f"{rd}: verdict") == r.get(f"{rd}: verdict") and r.get(f"{rd}: verdict")) for r in mine)
        parts.append(f"({anchor(label)})=\n## §{label} {name}\n\n{question}\n\nThe chapter: {links}\n\n"
                     + (claims or "No claim of this section is in the ledger.") + "\n")
    return "\n".join(parts)


def _profiles_page(folders: dict[str, Path], differences) -> str:
    out = ["# The profiles side by side\n"]
    for p in folders:
        profile = folders[p] / "profile.yaml"
        description = ""
        if profile.exists():
            import yaml
            description = (yaml.safe_load(profile.read_text()) or {}).get("description", "")
        out.append(f"## {p}\n\n{description}\n\n{{doc}}`Its chapters <{p}/index>`\n")
    if differences:
        out.append("## Where they differ\n\n" + "\n".join(f"- {d}" for d in differences) + "\n")
    return "\n".join(out)


def build(results: Path = REPO / "results", profiles=None, out: Path | None = None,
          src: Path | None = None, folders: dict | None = None) -> Path:
    """Build the book of the given profiles (default: those of BOOK_PROFILES that have run, from results/<profile>)
    into `out` (default: results/book); returns its front page. `folders`: {profile: run folder} instead, for runs
    kept elsewhere (run_all.py --out). `src`: where its sources go (default: a temporary folder)."""
    results = Path(results)
    if folders is None:
        folders = {p: results / p for p in (profiles or BOOK_PROFILES) if (results / p / "notebooks").is_dir()}
    folders = {p: Path(f) for p, f in folders.items() if (Path(f) / "notebooks").is_dir()}
    if not folders:
        raise FileNotFoundError(f"no executed notebooks under {results}: run python run_all.py first")
    out = Path(out) if out else results / "book"
    if src is None:
        with tempfile.TemporaryDirectory(prefix="closerlook-book-") as tmp:
            return build(results, None, out, Path(tmp) / "src", folders)
    src = Path(src)
    write_source(folders, src)
    from sphinx.cmd.build import build_main
    # Built beside its sources, then moved: myst-nb writes its figures into a folder next to the output folder.
    html_dir = src.parent / f"{src.name}-html"
    code = build_main(["-b", "html", "-q", "-E", "-d", str(src.parent / f"{src.name}-doctrees"), str(src),
                       str(html_dir)])
    if code:
        raise RuntimeError(f"sphinx-build failed ({code}) on {src}")
    (html_dir / ".buildinfo").unlink(missing_ok=True)      # names the build's config hash only
    # What no page loads: source maps of the theme's scripts, its translations (3.4 MB and 0.7 MB), and the
    # templates of its asset links, which the theme copies as static files.
    for unused in [*html_dir.glob("_static/**/*.map"), html_dir / "_static" / "locales",
                   *html_dir.glob("_static/*webpack-macros.html")]:
        shutil.rmtree(unused) if unused.is_dir() else unused.unlink()
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(html_dir, out)
    return out / "index.html"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m closerlook.book", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", nargs="+", default=list(BOOK_PROFILES), help="profiles side by side")
    ap.add_argument("--results", default=str(REPO / "results"), help="results root (default: results/)")
    ap.add_argument("--out", default=None, help="where the book goes (default: <results>/book)")
    args = ap.parse_args(argv)
    try:
        index = build(Path(args.results), args.profiles, args.out)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(index)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
