"""pyproject.toml and environment.yml name the same dependencies; the package imports from anywhere."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    pyproject = {_name(d) for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda, pip = set(), set()
    for d in env["dependencies"]:
        if isinstance(d, dict):
            pip |= {_name(p) for p in d["pip"] if not p.startswith("-e")}
        elif _name(d) not in ("python", "pip"):
            conda.add(CONDA_NAMES.get(_name(d), _name(d)))
    assert "python=3.11" in env["dependencies"]
    assert conda | pip == pyproject, f"only in environment.yml: {(conda | pip) - pyproject}; only in pyproject.toml: {pyproject - (conda | pip)}"


def test_import_from_another_folder(tmp_path):
    out = subprocess.run([sys.executable, "-c", "import closerlook, closerlook.data; print(closerlook.__file__)"],
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    assert str(REPO / "lib" / "closerlook") in out.stdout


def _specs():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_name(d): d for d in deps}


def test_pins_agree_and_the_lock_satisfies_them():
    """pyproject.toml and environment.yml give the same bounds, and requirements-lock.txt (the versions behind the
    committed results) lies within them, for every dependency."""
    from packaging.specifiers import SpecifierSet
    specs = _specs()
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {}
    for d in env["dependencies"]:
        items = d["pip"] if isinstance(d, dict) else [d]
        for item in items:
            if item.startswith("-e") or _name(item) in ("python", "pip"):
                continue
            conda[CONDA_NAMES.get(_name(item), _name(item))] = item[len(_name(item)):].strip()
    for name, spec in specs.items():
        assert conda[name] == spec[len(name):].strip(), (name, conda[name], spec)
    lock = {}
    for line in (REPO / "requirements-lock.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            n, v = line.split("==")
            lock[_name(n).replace("_", "-")] = v
    for name, spec in specs.items():
        assert name in lock, f"{name} is not in requirements-lock.txt"
        assert lock[name] in SpecifierSet(spec[len(name):]), (name, lock[name], spec)
