"""The companion a reader opens without running anything: a profile's executed notebooks, cleaned, and static
HTML pages built from them (an index with the claims ledger and the figures, one page per chapter).

    python -m closerlook.companion --profile default      # after python run_all.py

Offline at build time (nbconvert's templates are local) and when the pages are opened: no script, style or font is
fetched from the network. Figures are stored once, under figures/<profile>/: the notebooks and the pages link to
them. A notebook whose cell raised is published with a banner naming the cell, never as if it were fine.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = {
    "00_directprobe_primer": "DirectProbe primer (§2.2, Figure 1)",
    "00_tasks_and_models": "The tasks and the models (§3, Tables 1 and 6)",
    "01_divergence": "§4.1 Does fine-tuning always improve performance?",
    "02_linearity": "§4.2 Linearity of representations",
    "03_label_spacing": "§4.3 Spatial structure of labels",
    "04_cross_task": "§4.4 Cross-task fine-tuning",
    "05_layer_behavior": "§4.5 Layer behavior",
    "06_reproduction": "Does the paper hold? The claims ledger",
}
SOLUTIONS = "_solutions"     # a chapter's exercises are solved in notebooks/solutions/<chapter>_solutions.py


def title(name: str) -> str:
    chapter = name.removesuffix(SOLUTIONS)
    return ("Solutions: " if name != chapter else "") + CHAPTERS.get(chapter, chapter)


def short_name(chapter: str) -> str:
    """The reading bar's link text: the chapter's number and first word ("00 tasks")."""
    number, _, rest = chapter.partition("_")
    return f"{number} {rest.split('_')[0]}"


# Outputs that only say something to the person running the notebook: progress bars, library warnings.
_NOISE_MIME = ("application/vnd.jupyter.widget-view+json",)
_EXTERNAL = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*', re.I)
_MERMAID = re.compile(r'<script type="module">(?:(?!</script>).)*mermaid(?:(?!</script>).)*</script>\s*', re.S)
_STYLE = re.compile(r'<style[^>]*>.*?</style>\s*', re.S)   # the theme (in lab.css) and mermaid's (unused)
_SRC = re.compile(r'(<img\b[^>]*\bsrc=")([^"]+)(")', re.I)


def clean_notebook(nb: dict, executed_from: Path, stored_in: Path) -> dict:
    """A notebook fit to publish: no stderr (progress bars, warnings), no papermill paths or timings, and image
    links rewritten from where the notebook ran (`executed_from`) to where it is stored (`stored_in`)."""
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] != "code":
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = _PARAM_PATH.sub(lambda m: m.group(1) + _move_path(m.group(2), executed_from, stored_in)
                                             + m.group(3), source)
        kept = []
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream" and out.get("name") == "stderr":
                continue
            data = out.get("data", {})
            if any(m in data for m in _NOISE_MIME):
                continue
            if "text/html" in data:
                text = "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
                data["text/html"] = _relink(text, executed_from, stored_in)
            kept.append(out)
        cell["outputs"] = kept
    return nb


_PARAM_PATH = re.compile(r'^(\w+_(?:path|dir|root) = ")([^"]+)(")', re.M)


def _move_path(value: str, executed_from: Path, stored_in: Path) -> str:
    """A path parameter as seen from where the notebook is stored; one outside the repository keeps only its last
    two parts (no path of the machine is published)."""
    target, stored_in = (executed_from / value).resolve(), Path(stored_in).resolve()
    inside = lambda p: p == REPO or REPO in p.parents
    if inside(target) and inside(stored_in):
        return Path(os.path.relpath(target, stored_in)).as_posix()
    if inside(target):
        return "<repository>/" + target.relative_to(REPO).as_posix()
    return "<outside the repository>/" + "/".join(target.parts[-2:])


def _relink(text: str, executed_from: Path, stored_in: Path) -> str:
    def move(m):
        src = m.group(2)
        if re.match(r"^(https?:|data:|/)", src):
            return m.group(0)
        target = (executed_from / src).resolve()
        return m.group(1) + Path(os.path.relpath(target, stored_in)).as_posix() + m.group(3)
    return _SRC.sub(move, text)


def failed_cell(nb: dict) -> dict | None:
    """Why a notebook did not run to the end, or None: the first cell whose output is an error ({"cell": execution
    count, "error": "Name: value", "message": ...}), else the first code cell that never ran (an execution that was
    killed or interrupted leaves its later cells without an execution count)."""
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c.get("source", "")).strip()]
    for cell in code:
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                error = f"{out['ename']}: {out['evalue']}"
                return {"cell": cell.get("execution_count"), "error": error,
                        "message": f"cell {cell.get('execution_count')} raised {error}"}
    ran = sum(c.get("execution_count") is not None for c in code)
    if ran < len(code):
        first = next(i for i, c in enumerate(code) if c.get("execution_count") is None) + 1
        return {"cell": first, "error": f"stopped before code cell {first}",
                "message": f"the execution stopped before code cell {first}: {ran} of {len(code)} code cells ran"}
    return None


# One stylesheet and one script for all pages of a run (written by `build`): the reading bar, folded code, and,
# after loading, a note of the images that did not load (a browser test reads it from the DOM).
PAGE_CSS = """body.closerlook-reading .jp-CodeCell .jp-Cell-inputWrapper { display: none; }
.closerlook-bar { position: sticky; top: 0; z-index: 10; background: #f7f7f7; border-bottom: 1px solid #ddd;
                  padding: 6px 16px; font: 14px sans-serif; }
.closerlook-bar a { margin-right: 14px; }
.closerlook-failed { background: #f6d6d6; padding: 10px 16px; font: 15px sans-serif; border: 1px solid #c66; }
"""
PAGE_JS = """function closerlookToggle(button) {
  var reading = document.body.classList.toggle('closerlook-reading');
  button.textContent = reading ? 'show code' : 'hide code';
}
document.addEventListener('DOMContentLoaded', function () {
  if (document.querySelector('.closerlook-bar')) { document.body.classList.add('closerlook-reading'); }
});
window.addEventListener('load', function () {
  var broken = Array.prototype.filter.call(document.images, function (i) { return !i.complete || i.naturalWidth === 0; });
  document.body.setAttribute('data-images', document.images.length);
  document.body.setAttribute('data-broken-images', broken.length);
  document.body.setAttribute('data-broken-list', broken.map(function (i) { return i.getAttribute('src'); }).join(' '));
});
"""
_ASSETS = '<link rel="stylesheet" href="companion.css"><script src="companion.js"></script>'
_MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->\s*", re.S)


def lab_css() -> str:
    """The JupyterLab theme of nbconvert's lab template, written once for all pages of a run."""
    import nbformat
    from nbconvert import HTMLExporter
    empty, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.v4.new_notebook())
    head = empty.split("</head>", 1)[0]
    return "\n".join(m.group(0)[len('<style type="text/css">'):-len("</style>")] for m in
                     re.finditer(r'<style type="text/css">.*?</style>', head, re.S))


def render_chapter(nb: dict, name: str, profile: str, chapters: list[str]) -> str:
    """One chapter as a static page: prose, tables and figures, code folded (a button shows it)."""
    import nbformat
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nbformat.reads(json.dumps(nb), as_version=4))
    body = _EXTERNAL.sub("", body)              # require.js and MathJax from a CDN: nothing is fetched
    body = _MERMAID.sub("", body)               # imports mermaid from a CDN (the chapters draw no diagrams)
    body = _MATHJAX_CONFIG.sub("", body)        # configures the MathJax that is not loaded
    head, rest = body.split("</head>", 1)
    head = _STYLE.sub("", head) + '<link rel="stylesheet" href="lab.css">'   # one shared copy of the theme
    head = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title(name))}</title>", head, count=1)
    nav = " ".join(f'<a href="{c}.html">{short_name(c)}</a>' for c in chapters if not c.endswith(SOLUTIONS))
    chapter = name.removesuffix(SOLUTIONS)
    other = (f'<a href="{chapter}{SOLUTIONS}.html">solutions</a> ' if f"{chapter}{SOLUTIONS}" in chapters and name == chapter
             else f'<a href="{chapter}.html">back to the chapter</a> ' if name != chapter else "")
    bar = (f'<div class="closerlook-bar"><a href="index.html">closer-look ({html.escape(profile)})</a> {nav} '
           f'{other}<a href="../notebooks/{name}.ipynb">notebook</a>'
           f'<button onclick="closerlookToggle(this)">show code</button></div>')
    failed = failed_cell(nb)
    if failed:
        bar += (f'<div class="closerlook-failed" id="closerlook-failed">This chapter did not run to the end: '
                f'{html.escape(failed["message"])}. What follows it is missing.</div>')
    body = head + _ASSETS + "</head>" + rest
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + bar, body, count=1)


def render_index(profile: str, chapters: dict[str, dict | None], ledger_rows: list[dict], figures: list[Path],
                 pages_dir: Path, provenance: dict | None = None) -> str:
    """The index: the claims ledger at a glance, the figures beside the paper's figure numbers, the chapters."""
    verdict_class = {"holds": "holds", "does not hold": "fails", "not testable here": "untestable"}
    profiles = sorted({k.split(": ")[0] for r in ledger_rows for k in r if k.endswith(": verdict")},
                      key=lambda p: (p != "default", p))
    head = "".join(f"<th>{html.escape(p)}: ours</th><th>{html.escape(p)}: verdict</th>" for p in profiles)
    rows = []
    for r in ledger_rows:
        cells = "".join(
            f"<td>{html.escape(str(r.get(f'{p}: ours') or ''))}</td>"
            f"<td class='{verdict_class.get(r.get(f'{p}: verdict'), 'notrun')}'><b>{html.escape(str(r.get(f'{p}: verdict')))}</b>"
            f"<div class='reason'>{html.escape(str(r.get(f'{p}: reason') or ''))}</div></td>" for p in profiles)
        rows.append(f"<tr><td>{html.escape(r['section'])}</td><td>{html.escape(r['claim'])}</td>"
                    f"<td>{html.escape(r['paper'])}</td>{cells}</tr>")
    gallery = []
    for png in figures:
        number = re.match(r"fig(\d+)", png.stem)
        label = f"Figure {int(number.group(1))}" if number else png.stem
        src = Path(os.path.relpath(png, pages_dir)).as_posix()
        gallery.append(f'<figure><a href="{src}"><img src="{src}" alt="{png.stem}"></a>'
                       f"<figcaption>{label}: {html.escape(png.stem)}</figcaption></figure>")
    def status(failed):
        return (f' <span class="fails">did not run to the end ({html.escape(failed["message"])})</span>'
                if failed else "")
    toc = []
    for name, failed in chapters.items():
        if name.endswith(SOLUTIONS):
            continue
        solved = f"{name}{SOLUTIONS}"
        solutions = (f' &middot; <a href="{solved}.html">solutions to its exercises</a>{status(chapters[solved])}'
                     if solved in chapters else "")
        toc.append(f'<li><a href="{name}.html">{html.escape(title(name))}</a>{status(failed)}{solutions}</li>')
    prov = ""
    if provenance:
        def shown(v):       # the package versions as "name version, ...", not a Python dict
            return ", ".join(f"{k} {x}" for k, x in v.items()) if isinstance(v, dict) else str(v)
        prov = "<h2>How these were made</h2><ul>" + "".join(
            f"<li>{html.escape(k)}: {html.escape(shown(v))}</li>" for k, v in provenance.items()) + "</ul>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>closer-look: {html.escape(profile)} profile</title>
<style>
body {{ font: 15px/1.45 sans-serif; max-width: 1250px; margin: 24px auto; padding: 0 16px; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }}
.holds {{ background: #d8f0d8; }} .fails {{ background: #f6d6d6; }} .untestable {{ background: #eee; }}
.gallery {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 12px; }}
figure {{ margin: 0; border: 1px solid #ddd; padding: 6px; }} figure img {{ width: 100%; }}
figcaption {{ font-size: 13px; color: #444; }}
.reason {{ font-size: 11px; color: #333; margin-top: 3px; max-width: 320px; }}
</style>{_ASSETS}</head>
<body>
<h1>closer-look: A Closer Look at How Fine-tuning Changes BERT, re-run</h1>
<p>Profile <b>{html.escape(profile)}</b>. Every claim of the paper with the paper's evidence, ours, and the verdict
with its reason: <b>holds</b>, <b>does not hold</b> (contradicted, or its interval reaches the wrong side) or
<b>not testable here</b>. The chapters hold the tables and figures behind each row.</p>
<h2>The claims ledger</h2>
<table id="ledger"><thead><tr><th>section</th><th>claim</th><th>paper</th>{head}</tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Chapters</h2><ul>{''.join(toc)}</ul>
<h2>Figures</h2><div class="gallery" id="gallery">{''.join(gallery)}</div>
{prov}
</body></html>
"""


def build(folder: Path, figures: Path, profile: str | None = None) -> Path:
    """Write the pages of one run (`folder` = results/<profile>, holding notebooks/ and numbers/; `figures` = its
    figure folder) to folder/html; returns the index page."""
    from .ledger import ledger_table, load_readings
    folder, figures = Path(folder), Path(figures)
    profile = profile or folder.name
    notebooks, pages = folder / "notebooks", folder / "html"
    if not notebooks.is_dir():
        raise FileNotFoundError(f"no executed notebooks in {notebooks}: run python run_all.py --params {profile} first")
    pages.mkdir(parents=True, exist_ok=True)
    names = [m for n in CHAPTERS for m in (n, f"{n}{SOLUTIONS}") if (notebooks / f"{m}.ipynb").exists()]
    (pages / "lab.css").write_text(lab_css())
    (pages / "companion.css").write_text(PAGE_CSS)
    (pages / "companion.js").write_text(PAGE_JS)
    status = {}
    for name in names:
        nb = json.loads((notebooks / f"{name}.ipynb").read_text())
        status[name] = failed_cell(nb)
        # The pages sit beside notebooks/, at the same depth: the notebooks' image links work for them as they are.
        (pages / f"{name}.html").write_text(render_chapter(nb, name, profile, names))
    roots = {p: folder.parent / p / "numbers" for p in ("default", "full")}
    roots[profile] = folder / "numbers"
    found = load_readings(roots)   # each profile under both readings of the geometry, side by side
    ledger = ledger_table(found).to_dict(orient="records") if found else []
    provenance = json.loads((folder / "provenance.json").read_text()) if (folder / "provenance.json").exists() else None
    index = pages / "index.html"
    index.write_text(render_index(profile, status, ledger, sorted(figures.glob("fig*.png")), pages, provenance))
    return index


def publish_notebooks(folder: Path, notebooks_dir: Path = REPO / "notebooks") -> None:
    """Clean every executed notebook of a run (folder/notebooks) in place; run_all.py calls this after the run."""
    stored = Path(folder) / "notebooks"
    for path in sorted(stored.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        if nb["metadata"].get("closerlook", {}).get("published"):
            continue                        # cleaned already: its links point from where it is stored
        nb = clean_notebook(nb, notebooks_dir, stored)
        nb["metadata"]["closerlook"] = {"published": True}
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m closerlook.companion", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="default", help="the profile whose run to publish (default: default)")
    ap.add_argument("--results", default=str(REPO / "results"), help="results root (default: results/)")
    ap.add_argument("--figures", default=str(REPO / "figures"), help="figures root (default: figures/)")
    args = ap.parse_args(argv)
    try:
        index = build(Path(args.results) / args.profile, Path(args.figures) / args.profile, args.profile)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(index)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
