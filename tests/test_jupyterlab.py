"""The chapters as a student meets them in JupyterLab: each opens without being marked unsaved, and saving it
(Ctrl-S, which writes the .ipynb and, through jupytext, its .py) changes neither file. A real JupyterLab in a
headless Chromium (Playwright), on a copy of notebooks/ kept in a git repository of its own."""
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (a dependency of the project)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(folder, *args) -> str:
    return subprocess.run(["git", "-C", str(folder), "-c", "user.email=t@t", "-c", "user.name=t", *args],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / ".gitignore").write_text(".ipynb_checkpoints/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "as committed")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
                               "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
                               "--ServerApp.open_browser=False"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start")
    yield url, root
    server.terminate()          # its kernels are shut down with it
    server.wait(timeout=60)


def test_every_notebook_has_the_same_metadata():
    """What JupyterLab writes on saving (the kernel's spec and language) is the same in every chapter and solution,
    and is what it writes: the browser test below saves the chapters only."""
    metadata = {}
    for path in sorted((REPO / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            meta = json.loads(path.read_text())["metadata"]
            metadata[path.name] = (meta["kernelspec"], meta["language_info"])
    assert len(metadata) == 16 and len({json.dumps(m, sort_keys=True) for m in metadata.values()}) == 1
    kernelspec, language = next(iter(metadata.values()))
    assert kernelspec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert language["name"] == "python" and language["version"].count(".") == 2


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_opening_and_saving_every_chapter_in_jupyterlab_changes_nothing(lab):
    url, root = lab
    # The eight chapters; their solutions carry the same notebook metadata (test_every_notebook_has_the_same_metadata),
    # so what saving does to a chapter it does to them, and CI's time goes to the chapters.
    names = sorted(str(p.relative_to(root)) for p in (root / "notebooks").glob("*.ipynb"))
    assert len(names) == 8

    def open_page(browser, name):
        page = browser.new_page()
        page.goto(f"{url}/lab/tree/{name}?reset")
        return page

    def save(page) -> str | None:
        """Wait for the notebook's kernel, save, close; what went wrong, if anything."""
        try:
            page.wait_for_selector(".jp-NotebookPanel", timeout=90_000)
            # The kernel's own metadata (kernelspec, language_info) reaches the notebook once it is idle.
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.wait_for_timeout(2000)
            dirty = page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() > 0
            page.keyboard.press("Control+s")
            try:
                page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
                                       timeout=30_000)
            except playwright.TimeoutError:
                shot = root / f"{page.url.rsplit('/', 1)[-1].split('?')[0]}.png"
                page.screenshot(path=str(shot))
                return f"still unsaved 30 s after Ctrl-S (a dialog? see {shot})"
            page.wait_for_timeout(1000)
            return "opened marked unsaved" if dirty else None
        finally:
            page.close()

    problems = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # Four pages at a time, so that their kernels start side by side (most of the wait is a kernel's start).
            for start in range(0, len(names), 4):
                pages = {name: open_page(browser, name) for name in names[start:start + 4]}
                problems.update({name: save(page) for name, page in pages.items()})
        finally:
            browser.close()
    assert not any(problems.values()), {n: p for n, p in problems.items() if p}
    changed = git(root, "status", "--porcelain")
    assert changed == "", f"saving in JupyterLab changed:\n{changed}\n{git(root, 'diff')[:3000]}"
