"""Shared fixtures: the data mirror beside the repo, a private cache, a tiny random BERT."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data"
FIXTURES = REPO.parent / "shared" / "fixtures"

if not os.environ.get("CLOSERLOOK_DATA_DIR") and MIRROR.is_dir():
    os.environ["CLOSERLOOK_DATA_DIR"] = str(MIRROR)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test session writes its caches under a fresh temporary folder."""
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def make_tiny_bert(folder: Path, layers: int = 2, hidden: int = 32, seed: int = 0) -> Path:
    """A randomly initialised BertModel with the embedded model's tokenizer, saved to `folder`."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel
    from closerlook.representations import resolve_model
    if (folder / "config.json").exists():
        return folder
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(resolve_model("default"), local_files_only=True)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=128)
    BertModel(cfg, add_pooling_layer=False).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


NOTEBOOKS = ["00_directprobe_primer", "00_tasks_and_models", "01_divergence", "02_linearity", "03_label_spacing", "04_cross_task",
             "05_layer_behavior", "06_reproduction"]
SOLUTIONS = [f"{name}_solutions" for name in NOTEBOOKS]   # the exercises' solutions, one per chapter


def run_all(params, out: Path, cache: Path, only=None):
    """run_all.py into out/results/<profile> and out/figures; returns the process and the recorded numbers."""
    profile = Path(params).stem     # a profile's file names it (closerlook.params.profile_name)
    numbers = out / "results" / profile
    env = dict(os.environ, CLOSERLOOK_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, str(REPO / "run_all.py"), "--params", str(params), "--out", str(numbers),
           "--figures", str(out / "figures")] + (["--only", *only] if only else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3000)
    results = {}
    for name in NOTEBOOKS + SOLUTIONS:
        path = numbers / "numbers" / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    return proc, results


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    # A cache of its own: what other tests computed on the same inputs (under other threads, in other processes)
    # can differ in the last bits, and the golden record is of a run from an empty cache.
    proc, results = run_all(REPO / "params" / "smoke.yaml", out, tmp_path_factory.getbasetemp() / "cache-smoke")
    return proc, results, out


