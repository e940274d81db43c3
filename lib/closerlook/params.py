"""Run profiles (``params/*.yaml``): what to run, on which models, with which settings.

A profile is validated on load: an unknown key or a value of the wrong type is an error naming the key and the
file, so a typo never silently falls back to a default.
"""
from __future__ import annotations

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
    },
    "directprobe": {
        "rate": float,
        # DirectProbe along fine-tuning (§4.3, §4.5) runs on these layers of the dynamics model; "last" = L
        "dynamics_layers": [(int, str)],
    },
}


def _check(value, schema, where: str, path: str):
    if isinstance(schema, dict) and len(schema) == 1 and next(iter(schema)) is str:
        if not isinstance(value, dict):
            raise ParamsError(f"{path}: '{where}' must be a mapping, got {type(value).__name__}")
        inner = next(iter(schema.values()))
        for k, v in value.items():
            if not isinstance(k, str):
                raise ParamsError(f"{path}: keys of '{where}' must be strings, got {k!r}")
            _check(v, inner, f"{where}.{k}", path)
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise ParamsError(f"{path}: '{where}' must be a mapping, got {type(value).__name__}")
        for k, v in value.items():
            key = f"{where}.{k}" if where else k
            if k not in schema:
                raise ParamsError(f"{path}: unknown key '{key}' (known: {', '.join(schema)})")
            _check(v, schema[k], key, path)
        return
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise ParamsError(f"{path}: '{where}' must be a list, got {type(value).__name__}")
        for i, v in enumerate(value):
            _check(v, schema[0], f"{where}[{i}]", path)
        return
    types = schema if isinstance(schema, tuple) else (schema,)
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
        raise ParamsError(f"{path}: '{where}' must be {names}, got {value!r} ({type(value).__name__})")


REQUIRED = ["models", "tasks", "dynamics_model", "probe", "finetune", "directprobe"]


def load_params(path: str | Path = "default") -> dict:
    """Load and validate a profile: a path, or a name under params/ ("default", "paper", "smoke")."""
    path = Path(path)
    if not path.suffix and not path.exists():
        path = PARAMS_DIR / f"{path}.yaml"
    if not path.exists():
        raise ParamsError(f"no such profile: {path}")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: a profile is a mapping of keys to values")
    _check(params, SCHEMA, "", str(path))
    missing = [k for k in REQUIRED if k not in params]
    if missing:
        raise ParamsError(f"{path}: missing key(s) {', '.join(missing)}")
    from .data import TASKS
    for task in params["tasks"]:
        if task not in TASKS:
            raise ParamsError(f"{path}: 'tasks' names unknown task {task!r} (known: {', '.join(TASKS)})")
    if params["dynamics_model"] not in params["models"]:
        raise ParamsError(f"{path}: 'dynamics_model' {params['dynamics_model']!r} is not one of 'models'")
    params.setdefault("data", {})
    params["data"].setdefault("max_train_sentences", {})
    params["data"].setdefault("max_test_sentences", {})
    if "default" not in params["finetune"].get("epochs", {}):
        raise ParamsError(f"{path}: 'finetune.epochs' needs a 'default' entry")
    params["_file"] = str(path)
    return params
