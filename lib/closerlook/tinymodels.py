"""Tiny encoders of every supported architecture, built offline in seconds: a config with a few small layers,
random weights, and a tokenizer of the architecture's own kind trained on the PUD sentences with the `tokenizers`
library. For tests and teaching: the whole study runs on them with no download.

    python -m closerlook.tinymodels OUT_DIR            # one folder per architecture, loadable by Encoder.load
    python -m closerlook.tinymodels OUT_DIR --matrix   # and each through the study: a row of Table 7 per task
"""
from __future__ import annotations

import sys
from pathlib import Path

# model type -> the tokenizer's kind: WordPiece (BERT's), byte-level BPE (RoBERTa's, ModernBERT's), Unigram
# (DeBERTa-v2's sentencepiece)
TOKENIZER_KIND = {"bert": "wordpiece", "distilbert": "wordpiece", "electra": "wordpiece", "roberta": "bpe",
                  "modernbert": "bpe", "deberta-v2": "unigram"}
ARCHITECTURES = tuple(TOKENIZER_KIND)
SIZE = dict(hidden=32, layers=2, heads=2, intermediate=64, positions=128)


def _corpus(data_dir=None) -> list[str]:
    from .data import fetch, read_conllu
    return [" ".join(s.words) for s in read_conllu(fetch("ud-english-pud/en_pud-ud-test.conllu", data_dir))]


def _tokenizer(kind: str, model_type: str, texts: list[str], vocab_size: int = 1000):
    from tokenizers import SentencePieceUnigramTokenizer
    from tokenizers.implementations import BertWordPieceTokenizer, ByteLevelBPETokenizer
    import transformers as tf
    if kind == "wordpiece":
        trained = BertWordPieceTokenizer(lowercase=True)
        trained.train_from_iterator(texts, vocab_size=vocab_size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                                                   "[MASK]"])
        cls = {"bert": tf.BertTokenizer, "distilbert": tf.DistilBertTokenizer, "electra": tf.ElectraTokenizer}
        return cls[model_type](vocab=trained.get_vocab())
    if kind == "bpe":
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        trained = ByteLevelBPETokenizer()
        trained.train_from_iterator(texts, vocab_size=vocab_size, special_tokens=specials)
        vocab = trained.get_vocab()
        merges = _merges_of(trained)
        if model_type == "roberta":
            return tf.RobertaTokenizer(vocab=vocab, merges=merges)
        # ModernBERT's own tokenizer is a plain fast tokenizer over byte-level BPE, [CLS] ... [SEP] around a
        # sentence; like it, this one is saved as PreTrainedTokenizerFast.
        from tokenizers import Tokenizer, models, pre_tokenizers, processors, decoders
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens(["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"])
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
        return tf.PreTrainedTokenizerFast(tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]",
                                          pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]")
    trained = SentencePieceUnigramTokenizer()
    trained.train_from_iterator(texts, vocab_size=vocab_size, unk_token="[UNK]",
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    import json
    vocab = [tuple(v) for v in json.loads(trained._tokenizer.to_str())["model"]["vocab"]]
    return tf.DebertaV2Tokenizer(vocab=vocab, unk_id=vocab.index(next(v for v in vocab if v[0] == "[UNK]")))


def _merges_of(trained) -> list[tuple[str, str]]:
    import json
    merges = json.loads(trained._tokenizer.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]


def _config(model_type: str, tokenizer):
    import transformers as tf
    s, vocab = SIZE, len(tokenizer)
    common = dict(vocab_size=vocab, pad_token_id=tokenizer.pad_token_id)
    if model_type == "distilbert":
        return tf.DistilBertConfig(dim=s["hidden"], n_layers=s["layers"], n_heads=s["heads"],
                                   hidden_dim=s["intermediate"], max_position_embeddings=s["positions"], **common)
    if model_type == "modernbert":
        return tf.ModernBertConfig(hidden_size=s["hidden"], num_hidden_layers=s["layers"],
                                   num_attention_heads=s["heads"], intermediate_size=s["intermediate"],
                                   max_position_embeddings=s["positions"], global_attn_every_n_layers=1,
                                   local_attention=16, cls_token_id=tokenizer.cls_token_id,
                                   sep_token_id=tokenizer.sep_token_id, bos_token_id=tokenizer.cls_token_id,
                                   eos_token_id=tokenizer.sep_token_id, **common)
    config = {"bert": tf.BertConfig, "electra": tf.ElectraConfig, "roberta": tf.RobertaConfig,
              "deberta-v2": tf.DebertaV2Config}[model_type]
    extra = {"embedding_size": s["hidden"]} if model_type == "electra" else {}
    if model_type == "roberta":      # RoBERTa's positions start after the padding index
        extra.update(bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id)
    return config(hidden_size=s["hidden"], num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
                  intermediate_size=s["intermediate"],
                  max_position_embeddings=s["positions"] + (2 if model_type == "roberta" else 0), **extra, **common)


def build(model_type: str, folder: Path, seed: int = 0, data_dir=None) -> Path:
    """A tiny `model_type` encoder saved in `folder` (config, weights, tokenizer); returns the folder."""
    import torch
    from transformers import AutoModel
    if model_type not in TOKENIZER_KIND:
        raise ValueError(f"no tiny model for {model_type!r}; choose from {', '.join(ARCHITECTURES)}")
    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    tokenizer = _tokenizer(TOKENIZER_KIND[model_type], model_type, _corpus(data_dir))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModel.from_config(_config(model_type, tokenizer))
    folder.mkdir(parents=True, exist_ok=True)
    from .representations import _quietly
    _quietly(model.save_pretrained, folder)
    tokenizer.save_pretrained(folder)
    return folder


MATRIX_PROFILE = """name: {name}
description: Every architecture's tiny encoder on a CoNLL-U word task and a JSONL sentence task (closerlook.tinymodels).
models:
{models}
tasks: [upos, question]
task_definitions:
  upos:
    format: conllu
    files: {{all: {conllu}}}
    split: {{train_sentences: 800}}
    target: word
    label: UPOS
  question:
    format: jsonl
    files: {{all: questions.jsonl}}
    split: {{test_fraction: 0.25, seed: 0}}
    text: question
    label: coarse
dynamics_model: {first}
data:
  max_train_sentences: {{upos: 20, question: 100}}
  max_test_sentences: {{upos: 10, question: 40}}
probe:
  hidden_sizes: [[16, 16]]
  alphas: [0.0001]
  seeds: [0, 1]
  max_iter: 30
finetune:
  lr: 1.0e-3
  warmup: 0.1
  batch_size: 16
  epochs: {{default: 1}}
  snapshots: 2
  seed: 0
directprobe:
  rate: 0.01
  dynamics_layers: [last]
  n_jobs: 1
"""


def write_matrix_profile(folder: Path, architectures=ARCHITECTURES, data_dir=None) -> Path:
    """The tiny models of `architectures` in `folder`, a JSONL sentence task (TREC's questions with their coarse
    label) and a profile that names them with a CoNLL-U word task (PUD's UPOS): the user's way in, as a test."""
    import json
    from .data import fetch, read_trec
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for model_type in architectures:
        build(model_type, folder / model_type, data_dir=data_dir)
    questions = read_trec(fetch("trec/train_5500.label", data_dir))[:200]
    (folder / "questions.jsonl").write_text("".join(
        json.dumps({"question": " ".join(s.words), "coarse": label.split(":")[0]}) + "\n" for s, label in questions))
    profile = folder / "tiny-matrix.yaml"
    profile.write_text(MATRIX_PROFILE.format(
        name=profile.stem, models="\n".join(f"  {m}: {(folder / m).resolve()}" for m in architectures),
        first=architectures[0], conllu=fetch("ud-english-pud/en_pud-ud-test.conllu", data_dir)))
    return profile


def matrix(folder: Path, architectures=ARCHITECTURES, data_dir=None):
    """Each architecture x task through representations, one fine-tuning run with 2 snapshots, DirectProbe and the
    MLP probe: its two rows of Table 7 (original, fine-tuned), as a table."""
    import pandas as pd
    from . import experiments as ex
    from .params import load_params
    params = load_params(write_matrix_profile(folder, architectures, data_dir))
    rows = []
    for model_type in architectures:
        enc = ex.encoder(params, model_type)
        for task in params["tasks"]:
            run = ex.finetuned_run(params, model_type, task, progress=False)
            for r in ex.table7_rows(params, model_type, task):
                rows.append({"architecture": model_type, "model class": type(enc.model).__name__,
                             "tokenizer": type(enc.tokenizer).__name__, "task": task, "rep": r["rep"],
                             "snapshots": len(run.steps), "acc": round(r["acc"], 1), "clusters": r["clusters"],
                             "labels": r["labels"], "linear": r["linear"],
                             "similarity": round(r["similarity"], 3)})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2) or len(argv) == 2 and argv[1] != "--matrix":
        print("usage: python -m closerlook.tinymodels OUT_DIR [--matrix]", file=sys.stderr)
        return 2
    if len(argv) == 2:
        import pandas as pd
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(matrix(Path(argv[0])).to_string(index=False))
        return 0
    for model_type in ARCHITECTURES:
        print(build(model_type, Path(argv[0]) / model_type))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
