"""Shared fixtures: the data mirror beside the repo, a private cache, a tiny random BERT."""
import os
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
