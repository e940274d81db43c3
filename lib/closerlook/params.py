"""Run profiles (``params/*.yaml``): what to run, on which models, with which settings.

A profile is validated on load: an unknown key or a value of the wrong type is an error naming the key and the
file, so a typo never silently falls back to a default.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PARAMS_DIR = REPO / "params"


class ParamsError(ValueError):
    pass


# key -> type, or a nested schema. Lists name their element type as [type].
SCHEMA = {
    "name": str,
    "description": str,
    # model label -> Hub id, alias or local folder (the label names the model in tables and figures)
    "models": {str: str},
    "tasks": [str],
    # tasks of your own, by name (then listed in `tasks` like the paper's): their files, split, what an example
    # is and where its label is (data.define_task checks each field; params/template/mine.yaml explains them)
    "task_definitions": {str: dict},
    # models whose fine-tuning trajectory is analysed in §4.3-4.5 (the paper uses BERT-base)
    "dynamics_model": str,
    # per task: use only the first N sentences (questions for TREC); absent or null = the whole split
    "data": {
        "max_train_sentences": {str: (int, type(None))},
        "max_test_sentences": {str: (int, type(None))},
    },
    "probe": {
        "hidden_sizes": [[int]],
        "alphas": [float],
        "seeds": [int],
        "max_iter": int,
        # "sklearn" (MLPClassifier, one fit at a time: the reference) or "torch" (the batched probe; GPU if any)
        "backend": str,
    },
    "finetune": {
        "lr": float,
        "warmup": float,
        "batch_size": int,
        # epochs per model label; "default" for the others
        "epochs": {str: int},
        "snapshots": int,
        "seed": int,
        # fine-tuning seeds behind the intervals over seeds (seed `seed` is the main run; the others keep only
        # the first and the last snapshot, all that a before/after claim needs)
        "seeds": [int],
        # AdamW's fused kernel where torch has it for the device (default true); false: the loop over parameters
        "fused": bool,
    },
    "directprobe": {
        "rate": float,
        # DirectProbe along fine-tuning (§4.3, §4.5) runs on these layers of the dynamics model; "last" = L
        "dynamics_layers": [(int, str)],
        # worker processes for independent DirectProbe fits (snapshots x layers); -1 = every core, 1 = none
        "n_jobs": int,
    },
    "compute": {
        # "never" (the default): every forward pass and probe in float32. "auto": bfloat16 autocast for the
        # fine-tuning, the extraction and the torch probe on a CPU with bfloat16 units (AMX or AVX-512 BF16), and
        # float32 on any other CPU (representations.compute_precision). Runs in either precision are cached apart.
        "bfloat16": str,
    },
    "analysis": {
        # which reading of the geometry the chapters' tables, figures and claims use: "exact" (ours, the
        # default) or "authors" (the conventions of the authors' analysis code, closerlook.conventions). The
        # ledger records every claim under both either way.
        "conventions": str,
    },
}


def _check(value, schema, where: str, path: str):
    """Check `value` against `schema`; returns it, with floats written as strings ("3e-4", which YAML reads as a
    string) turned into floats."""
    if isinstance(schema, dict) and len(schema) == 1 and next(iter(schema)) is str:
        if not isinstance(value, dict):
            raise ParamsError(f"{path}: '{where}' must be a mapping, got {type(value).__name__}")
        inner = next(iter(schema.values()))
        for k in list(value):
            if not isinstance(k, str):
                raise ParamsError(f"{path}: keys of '{where}' must be strings, got {k!r}")
            value[k] = _check(value[k], inner, f"{where}.{k}", path)
        return value
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise ParamsError(f"{path}: '{where}' must be a mapping, got {type(value).__name__}")
        for k in list(value):
            key = f"{where}.{k}" if where else k
            if k not in schema:
                raise ParamsError(f"{path}: unknown key '{key}' (known: {', '.join(schema)})")
            value[k] = _check(value[k], schema[k], key, path)
        return value
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise ParamsError(f"{path}: '{where}' must be a list, got {type(value).__name__}")
        return [_check(v, schema[0], f"{where}[{i}]", path) for i, v in enumerate(value)]
    types = schema if isinstance(schema, tuple) else (schema,)
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if float in types and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamsError(f"{path}: '{where}' = {value!r}: a finite number")
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
        raise ParamsError(f"{path}: '{where}' must be {names}, got {value!r} ({type(value).__name__})")
    return value


def _ranges(params: dict, path: str) -> None:
    """Every number in its range, every task and model named where one is expected: one line per refusal,
    naming file, key, value and what is allowed."""
    def bad(key, value, allowed):
        raise ParamsError(f"{path}: '{key}' = {value!r}: {allowed}")

    from .data import TASKS, define_task
    if not params["models"]:
        bad("models", params["models"], "name at least one model")
    if not params["tasks"]:
        bad("tasks", params["tasks"], f"name at least one of {', '.join(TASKS)}")
    defined = params.get("task_definitions") or {}
    for name, definition in defined.items():
        try:
            define_task(name, definition, Path(path).parent)
        except ValueError as e:
            raise ParamsError(f"{path}: {e}") from None
    for task in params["tasks"]:
        if task not in TASKS and task not in defined:
            bad("tasks", task, f"a task is one of {', '.join(TASKS)}, or one of the profile's task_definitions"
                + (f" ({', '.join(defined)})" if defined else ""))
    if len(set(params["tasks"])) != len(params["tasks"]):
        bad("tasks", params["tasks"], "each task once")
    for which in ("max_train_sentences", "max_test_sentences"):
        for task, n in params["data"].get(which, {}).items():
            if task not in params["tasks"]:
                bad(f"data.{which}.{task}", n, f"keys are the profile's tasks ({', '.join(params['tasks'])})")
            if n is not None and n < 1:
                bad(f"data.{which}.{task}", n, "at least 1 (or null for the whole split)")
    probe = params["probe"]
    if not probe.get("hidden_sizes"):
        bad("probe.hidden_sizes", probe.get("hidden_sizes"), "at least one [size, size] pair")
    for i, h in enumerate(probe["hidden_sizes"]):
        if len(h) != 2 or any(n < 1 for n in h):
            bad(f"probe.hidden_sizes[{i}]", h, "two hidden sizes of at least 1 (the paper's probe has 2 layers)")
    if not probe.get("alphas") or any(a < 0 for a in probe["alphas"]):
        bad("probe.alphas", probe.get("alphas"), "at least one L2 weight, each >= 0")
    if not probe.get("seeds") or any(x < 0 for x in probe["seeds"]):
        bad("probe.seeds", probe.get("seeds"), "at least one seed, each >= 0")
    if probe.get("max_iter", 1) < 1:
        bad("probe.max_iter", probe["max_iter"], "at least 1")
    if probe.get("backend", "sklearn") not in ("sklearn", "torch"):
        bad("probe.backend", probe["backend"], "'sklearn' (the reference) or 'torch' (the batched probe)")
    if (params.get("compute") or {}).get("bfloat16", "never") not in ("never", "auto"):
        bad("compute.bfloat16", params["compute"]["bfloat16"],
            "'never' (float32 throughout) or 'auto' (bfloat16 on a CPU with bfloat16 units)")
    ft = params["finetune"]
    if ft.get("lr", 1) <= 0:
        bad("finetune.lr", ft["lr"], "a learning rate above 0, e.g. 3e-4")
    if not 0 <= ft.get("warmup", 0) < 1:
        bad("finetune.warmup", ft["warmup"], "a fraction of the updates in [0, 1)")
    if ft.get("batch_size", 1) < 1:
        bad("finetune.batch_size", ft["batch_size"], "at least 1 sentence")
    for label, n in ft.get("epochs", {}).items():
        if label != "default" and label not in params["models"]:
            bad(f"finetune.epochs.{label}", n, f"keys are 'default' or a model label ({', '.join(params['models'])})")
        if n < 1:
            bad(f"finetune.epochs.{label}", n, "at least 1")
    if ft.get("snapshots", 2) < 2:
        bad("finetune.snapshots", ft["snapshots"], "at least 2 (the original model and the fine-tuned one)")
    for key in ("seed",):
        if ft.get(key, 0) < 0:
            bad(f"finetune.{key}", ft[key], "a seed >= 0")
    if any(x < 0 for x in ft.get("seeds", [])):
        bad("finetune.seeds", ft["seeds"], "seeds >= 0")
    dp = params["directprobe"]
    if not 0 < dp.get("rate", 0.01) <= 1:
        bad("directprobe.rate", dp["rate"], "a fraction of the merge history in (0, 1]")
    if dp.get("n_jobs", -1) == 0 or dp.get("n_jobs", -1) < -1:
        bad("directprobe.n_jobs", dp["n_jobs"], "a number of worker processes >= 1, or -1 for every core")
    conventions = params.get("analysis", {}).get("conventions", "exact")
    if conventions not in ("exact", "authors"):
        bad("analysis.conventions", conventions, "'exact' (ours, the default) or 'authors' (the authors' code)")
    layers = dp.get("dynamics_layers", ["last"])
    if not layers:
        bad("directprobe.dynamics_layers", layers, "at least one layer")
    for i, l in enumerate(layers):
        if isinstance(l, str) and l != "last" or isinstance(l, int) and l < 0:
            bad(f"directprobe.dynamics_layers[{i}]", l, "a layer number >= 0 or 'last'")


REQUIRED = ["models", "tasks", "dynamics_model", "probe", "finetune", "directprobe"]
# Keys the code reads without a default: a profile that lacks one would load and then fail half way through a run.
REQUIRED_INSIDE = {"probe": ["hidden_sizes", "alphas", "seeds", "max_iter"],
                   "finetune": ["lr", "warmup", "batch_size", "epochs", "snapshots", "seed"],
                   "directprobe": ["rate", "dynamics_layers"]}
# A profile's results go to results/<name>/ and figures/<name>/: a name is one plain folder name.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def profile_name(path: Path, params: dict) -> str:
    """The profile's name, which names its output folders: the file's own name (``mine.yaml`` -> ``mine``).

    A ``name:`` in the file must say the same. A copied profile keeps the name of the file it was copied from, and
    if that name chose the folder, the copy's run would overwrite the original's results (``results/default`` is
    committed). A file outside params/ may not take the name of one inside it, for the same reason."""
    name = path.stem
    if not NAME.fullmatch(name):
        raise ParamsError(f"{path}: the file's name {name!r} names the profile's output folders (results/{name}/): "
                          "use letters, digits, '-', '_' and '.'")
    given = params.get("name", name)
    if given != name:
        raise ParamsError(f"{path}: 'name' = {given!r}, but the file is {path.name}: a profile's results go to "
                          f"results/<file name>/, so set name: {name} (or remove the key), or rename the file")
    own = PARAMS_DIR / path.name
    if own.is_file() and own.resolve() != path.resolve():
        raise ParamsError(f"{path}: a profile named {name!r} is in params/ already ({own}); its results would be "
                          f"overwritten: give this file another name")
    return name


def resolve_profile(path: str | Path = "default") -> Path:
    """A profile's file: a YAML path as given, or a name under params/ ("default", "full", "paper", "smoke")."""
    given = Path(path)
    if given.suffix in (".yaml", ".yml") or given.exists():
        if not given.is_file():
            raise ParamsError(f"no such profile file: {given}")
        return given.resolve()
    named = PARAMS_DIR / f"{path}.yaml"
    if named.is_file():
        return named
    known = ", ".join(sorted(p.stem for p in PARAMS_DIR.glob("*.yaml")))
    raise ParamsError(f"no such profile: {str(path)!r} (a YAML file, or one of: {known})")


def load_params(path: str | Path = "default") -> dict:
    """Load and validate a profile: a path, or a name under params/ ("default", "full", "paper", "smoke")."""
    path = resolve_profile(path)
    try:
        params = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        # One line: where, and what is wrong (PyYAML's own message adds the offending lines below it).
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        what = getattr(e, "problem", None) or " ".join(str(e).split())
        raise ParamsError(f"{path}: not valid YAML{where}: {what}") from None
    except OSError as e:
        raise ParamsError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: a profile is a mapping of keys to values")
    params = _check(params, SCHEMA, "", str(path))
    missing = [k for k in REQUIRED if k not in params]
    missing += [f"{section}.{k}" for section, keys in REQUIRED_INSIDE.items() if section in params
                for k in keys if k not in params[section]]
    if missing:
        raise ParamsError(f"{path}: missing key(s) {', '.join(missing)} (params/default.yaml has each, explained)")
    if params["dynamics_model"] not in params["models"]:
        raise ParamsError(f"{path}: 'dynamics_model' = {params['dynamics_model']!r}: one of the 'models' labels "
                          f"({', '.join(params['models'])})")
    params["data"] = params.get("data") or {}
    params["analysis"] = params.get("analysis") or {}
    params["analysis"].setdefault("conventions", "exact")
    params["compute"] = params.get("compute") or {}
    params["compute"].setdefault("bfloat16", "never")
    params["data"].setdefault("max_train_sentences", {})
    params["data"].setdefault("max_test_sentences", {})
    if "default" not in params["finetune"].get("epochs", {}):
        raise ParamsError(f"{path}: 'finetune.epochs' needs a 'default' entry")
    _ranges(params, str(path))
    params["name"] = profile_name(path, params)
    params["_file"] = str(path)
    return params
