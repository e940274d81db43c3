"""The five tasks of the paper, read from their pinned upstream files.

Stage 1 of the pipeline: files -> labelled examples.

Every task is a list of tokenised sentences plus one row of `targets` per example:

- word tasks (POS, PS-role, PS-fxn): (sentence, word)
- pair task (DEP):                  (sentence, head word, dependent word)
- sentence task (TREC-50):          (sentence,)  -> the [CLS] vector

Files come from their pinned upstream addresses, checked by sha256 and cached by pooch; or, with no
network at all, from a mirror folder (``CLOSERLOOK_DATA_DIR`` or ``data_dir=``) laid out as
``<mirror>/<file name below>``.

``python -m closerlook.data [--json] [--data-dir DIR]`` prints a summary of every task and split.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TASKS = ("pos", "dep", "ps-role", "ps-fxn", "trec")
SPLITS = ("train", "test")

# PUD has 1,000 sentences; the paper's sizes come out of a sentence-level 80/20 split.
PUD_TRAIN_SENTENCES = 800

_UD = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-PUD/f16eba4ae7f3d161870ed320676c5088b8fa476c"
_STREUSLE = "https://raw.githubusercontent.com/nert-nlp/streusle/v4.7.1"
_TREC = "https://raw.githubusercontent.com/trangnt08/q_class_en/3ffc1b21503e89e5eab6bf12ab9eb46d16a14851/data"

# name in the mirror -> (upstream address, sha256)
FILES = {
    "ud-english-pud/en_pud-ud-test.conllu": (
        f"{_UD}/en_pud-ud-test.conllu",
        "c80584f2bc2b31d5bada78a1136f9feec7ac49e5e18898db02dea434b5b8f0aa"),
    "streusle/streusle.ud_train.vis": (
        f"{_STREUSLE}/train/streusle.ud_train.vis",
        "6337bdcc1e358e05134203973e1e96c5807d298a59e5b82558d9d8895bf962b5"),
    "streusle/streusle.ud_dev.vis": (
        f"{_STREUSLE}/dev/streusle.ud_dev.vis",
        "6a717232f235fd39869055fb3e8dc034d3ce8fc7495d88475138dd83bff1be58"),
    "streusle/streusle.ud_test.vis": (
        f"{_STREUSLE}/test/streusle.ud_test.vis",
        "9d73ef932d7c8d5ae86dbc626cff721a75e41a4cb507bd89b8e30d85b057d2d0"),
    "streusle/streusle.ud_dev.conllulex": (
        f"{_STREUSLE}/dev/streusle.ud_dev.conllulex",
        "ef5e72648b9c3673abeb15c4641a68f849e1d652bad3a6b15cca73124b1e5d46"),
    "streusle/streusle.ud_test.conllulex": (
        f"{_STREUSLE}/test/streusle.ud_test.conllulex",
        "7d159c49a015214944eab3acbfe7b0aefaa112e0928500a3dada7a4cc1048a18"),
    "trec/train_5500.label": (
        f"{_TREC}/train_5500.label",
        "f96f211c9d180d3fa25b1841febd9be6f0a6fc65e5b6a99344b5946163b35009"),
    "trec/TREC_10.label": (
        f"{_TREC}/TREC_10.label",
        "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e"),
}


class DataError(Exception):
    """A data file is missing, corrupt or malformed."""


class DataFormatError(DataError):
    def __init__(self, path, line_no: int, what: str):
        super().__init__(f"{path}, line {line_no}: {what}")


# ----------------------------------------------------------------------------------------------
# Files: mirror, or checksummed download


def cache_dir() -> Path:
    """Where downloads, representations and runs are cached (``CLOSERLOOK_CACHE_DIR`` overrides)."""
    env = os.environ.get("CLOSERLOOK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import pooch
    return Path(pooch.os_cache("closerlook"))


def _sha256(path: Path) -> str:
    # Checked on every load, hashed once per version of the file (a notebook loads a task hundreds of times).
    stat = os.stat(path)
    return _sha256_of(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Path to a verified local copy of one upstream file.

    With a mirror (``data_dir`` or ``CLOSERLOOK_DATA_DIR``) the network is never touched.
    Otherwise pooch downloads to a temporary name and renames only after the checksum matched,
    so a half-downloaded file is never used.
    """
    if name not in FILES:
        raise DataError(f"unknown data file {name!r}; known: {', '.join(FILES)}")
    url, sha = FILES[name]
    data_dir = data_dir or os.environ.get("CLOSERLOOK_DATA_DIR")
    if data_dir:
        path = Path(data_dir).expanduser() / name
        if not path.is_file():
            raise DataError(
                f"{name} is not in the data mirror {data_dir} (expected at {path}); "
                f"it comes from {url}. Put it there, or unset CLOSERLOOK_DATA_DIR to download it.")
        got = _sha256(path)
        if got != sha:
            raise DataError(f"{path}: sha256 mismatch (expected {sha}, got {got}); the file is corrupt or not "
                            f"the pinned upstream version from {url}")
        return path

    import pooch
    folder = cache_dir() / "data" / Path(name).parent
    existed = folder.exists()
    try:
        return Path(pooch.retrieve(url, known_hash=f"sha256:{sha}", fname=Path(name).name,
                                   path=folder, progressbar=False))
    except ValueError as e:  # pooch's checksum mismatch
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise DataError(f"{name}: download from {url} failed its sha256 check: {e}") from e
    except Exception as e:  # no network, HTTP error, ...
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()   # leave no empty folder behind
        raise DataError(
            f"{name} is not available: downloading it from {url} failed ({type(e).__name__}: {e}). "
            f"Offline, name a folder holding a copy with CLOSERLOOK_DATA_DIR (or data_dir=/--data-dir).") from e


# ----------------------------------------------------------------------------------------------
# Readers: one per file format


@dataclass
class Sentence:
    sent_id: str
    words: list[str]
    upos: list[str] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)   # 1-based, 0 = root
    deprels: list[str] = field(default_factory=list)
    xpos: list[str] = field(default_factory=list)
    feats: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)   # the file's line of each word, for errors that name it

    def column(self, name: str) -> list[str]:
        """One CoNLL-U column of every word: UPOS, XPOS, DEPREL or FEATS."""
        return {"UPOS": self.upos, "XPOS": self.xpos, "DEPREL": self.deprels, "FEATS": self.feats}[name]


COLUMNS = {"UPOS": 3, "XPOS": 4, "FEATS": 5, "DEPREL": 7}


def read_conllu(path, require=("UPOS", "DEPREL")) -> list[Sentence]:
    """Basic words of a CoNLL-U file (multiword-token ranges and empty nodes skipped). A word whose `require`d
    columns are empty or "_" is an error naming its line."""
    sentences, current, sent_id = [], None, None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                m = re.match(r"#\s*sent_id\s*=\s*(\S+)", line)
                if m:
                    sent_id = m.group(1)
                continue
            if not line.strip():
                if current is not None and current.words:
                    sentences.append(current)
                current = None
                continue
            cols = line.split("\t")
            if len(cols) != 10:
                raise DataFormatError(path, n, f"expected 10 tab-separated columns, found {len(cols)}")
            if "-" in cols[0] or "." in cols[0]:
                continue
            if current is None:
                current = Sentence(sent_id or f"s{len(sentences) + 1}", [])
            try:
                idx, head = int(cols[0]), int(cols[6])
            except ValueError:
                raise DataFormatError(path, n, f"unreadable ID or HEAD ({cols[0]!r}, {cols[6]!r})") from None
            if idx != len(current.words) + 1:
                raise DataFormatError(path, n, f"word ID {idx} out of sequence")
            if require and any(not cols[COLUMNS[c]] or cols[COLUMNS[c]] == "_" for c in require):
                found = ", ".join(f"{c} {cols[COLUMNS[c]]!r}" for c in require)
                raise DataFormatError(path, n, f"unreadable label ({found})")
            current.words.append(cols[1])
            current.upos.append(cols[3])
            current.xpos.append(cols[4])
            current.feats.append(cols[5])
            current.heads.append(head)
            current.deprels.append(cols[7])
            current.lines.append(n)
    if current is not None and current.words:
        sentences.append(current)
    for s in sentences:
        if any(h > len(s.words) for h in s.heads):
            raise DataError(f"{path}: sentence {s.sent_id} has a head outside the sentence")
    return sentences


@dataclass
class Preposition:
    word: int       # 0-based position in the sentence
    role: str
    function: str


def _split_supersense(tag: str, path, n: int) -> tuple[str, str]:
    role, _, function = tag.partition(":")
    function = function or role
    if not (role.startswith("p.") and function.startswith("p.")) or len(role) < 3 or len(function) < 3:
        raise DataFormatError(path, n, f"unreadable preposition supersense {tag!r}")
    return role, function


def read_vis(path) -> list[tuple[Sentence, list[Preposition]]]:
    """STREUSLE's ``.vis`` rendering: words and single-token preposition/possessive targets.

    A line is ``sent_id<TAB>chunk chunk ...``; a chunk is ``word|TAG`` pieces joined by ``~`` (a weak
    multiword expression); ``_`` joins the words of a strong one, leading/trailing marks a gap.
    A target is a ``p.``-tagged piece that is not part of a strong expression (no ``_``).
    """
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n") and line.strip():
                # Every line of the file ends with a newline: a last line without one was cut off.
                raise DataFormatError(path, n, "the file ends in the middle of a line (truncated?)")
            line = line.rstrip("\n")
            if not line.strip():
                continue
            sent_id, _, body = line.partition("\t")
            if not sent_id or " " in sent_id:
                raise DataFormatError(path, n, "expected 'sent_id<TAB>words'")
            words, preps = [], []
            for chunk in body.split(" "):
                for piece in chunk.split("~"):
                    if not piece:
                        continue
                    word, bar, tag = piece.partition("|")
                    if bar and not word:  # the token `~` itself (`~|PUNCT`) was eaten by the split
                        word = "~"
                    # The first part of a gappy strong expression (`had_ ... _surgery|TAG`) has no tag.
                    if not bar and "_" not in word:
                        raise DataFormatError(path, n, f"piece {piece!r} has no '|TAG'")
                    parts = [w for w in word.split("_") if w]
                    if not parts:
                        raise DataFormatError(path, n, f"piece {piece!r} has no word")
                    m = re.search(r"-(p\..*)$", tag)
                    if m and "_" not in word:
                        role, function = _split_supersense(m.group(1), path, n)
                        preps.append(Preposition(len(words), role, function))
                    words.extend(parts)
            out.append((Sentence(sent_id, words), preps))
    return out


def read_conllulex(path) -> list[tuple[Sentence, list[Preposition]]]:
    """STREUSLE's ``.conllulex``: the same targets, read from columns (used to check ``read_vis``)."""
    out, words, preps, sent_id = [], [], [], None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                m = re.match(r"#\s*sent_id\s*=\s*(\S+)", line)
                if m:
                    sent_id = m.group(1)
                continue
            if not line.strip():
                if words:
                    out.append((Sentence(sent_id, words), preps))
                words, preps = [], []
                continue
            cols = line.split("\t")
            if len(cols) != 19:
                raise DataFormatError(path, n, f"expected 19 tab-separated columns, found {len(cols)}")
            if "-" in cols[0] or "." in cols[0]:
                continue
            ss, ss2, smwe = cols[13], cols[14], cols[10]
            if ss.startswith("p.") and smwe == "_":
                role, function = _split_supersense(ss if ss2 in ("_", ss) else f"{ss}:{ss2}", path, n)
                preps.append(Preposition(len(words), role, function))
            words.append(cols[1])
    if words:
        out.append((Sentence(sent_id, words), preps))
    return out


_TREC_LABEL = re.compile(r"^[A-Z]+:[A-Za-z]+$")


def read_trec(path) -> list[tuple[Sentence, str]]:
    """TREC question classification: ``COARSE:fine question words ...`` per line."""
    out = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            # The original cogcomp file has one non-ASCII byte (sister\xf0city); the pinned copy dropped it.
            line = raw.decode("latin-1").encode("ascii", "ignore").decode().strip()
            if not line:
                continue
            label, _, question = line.partition(" ")
            if not _TREC_LABEL.match(label):
                raise DataFormatError(path, n, f"unreadable label {label!r} (expected COARSE:fine)")
            words = question.split()
            if not words:
                raise DataFormatError(path, n, "label without a question (truncated line?)")
            out.append((Sentence(f"{Path(path).name}:{n}", words), label))
    return out


# ----------------------------------------------------------------------------------------------
# Tasks


@dataclass
class TaskData:
    """One split of one task: sentences, one target row per example, one label per example."""
    task: str
    split: str
    sentences: list[list[str]]
    targets: np.ndarray   # (n, 2) word, (n, 3) pair, (n, 1) sentence: [sentence, word(s)...]
    labels: np.ndarray    # (n,) str

    @property
    def kind(self) -> str:
        """What one example is, read off its target rows: a word, a (head, dependent) pair, a sentence."""
        return {2: "word", 3: "pair", 1: "sentence"}[self.targets.shape[1]]

    @property
    def label_set(self) -> list[str]:
        return sorted(set(self.labels.tolist()))

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n_sentences: int) -> "TaskData":
        """The examples of the first ``n_sentences`` sentences (for quick runs and tests). The same read-only
        arrays each time for the same arrays and count, as load_task's own are: a profile that subsets its tasks
        then names its cached calls by identity, not by hashing the labels' copy anew at every call (cachekeys)."""
        key = (id(self.targets), id(self.labels), n_sentences)
        hit = _subsets.get(key)
        if hit is None or hit[0]() is not self.targets or hit[1]() is not self.labels:
            keep = self.targets[:, 0] < n_sentences
            targets, labels = self.targets[keep], self.labels[keep]
            if not (self.targets.flags.writeable or self.labels.flags.writeable):
                targets.flags.writeable = labels.flags.writeable = False
                def forget(ref, key=key):
                    if _subsets.get(key, (None, None))[1] is ref:
                        del _subsets[key]
                _subsets[key] = (weakref.ref(self.targets), weakref.ref(self.labels, forget), targets, labels)
            hit = (None, None, targets, labels)
        return TaskData(self.task, self.split, self.sentences[:n_sentences], hit[2], hit[3])


# (id of the targets, id of the labels, sentences) -> (weakrefs to both, the subset's targets and labels)
_subsets: dict[tuple, tuple] = {}


# ----------------------------------------------------------------------------------------------
# What a task is: its files, how they split, what an example is and where its label comes from. The paper's
# five tasks are instances, and a profile can define its own (``task_definitions``), in the formats users have.

@dataclass(frozen=True)
class TaskSpec:
    """One task. `files`: {"train": f, "test": f}, or {"all": f} with `split` ({"train_sentences": n}: the first n
    sentences train; {"test_fraction": x, "seed": k}: sentences drawn at random with seed k). `label`: a CoNLL-U
    column (UPOS, XPOS, DEPREL, FEATS:Key) or, for JSONL/CSV, the field holding the label; `text` or `words`: the
    field holding the sentence (split on whitespace) or its pre-split words. Paths of the paper's tasks name files of
    the pinned upstream mirror (``fetch``); a defined task's are local files."""
    name: str
    format: str
    files: tuple                    # (("train", f), ("test", f)) or (("all", f),)
    target: str
    label: str
    split: tuple = ()               # (("train_sentences", 800),) or (("test_fraction", 0.2), ("seed", 0))
    text: str | None = None
    words: str | None = None
    deprel_subtype: bool = True     # DEPREL as written (nmod:poss) or cut to its universal part (nmod)
    kind: str = "defined"           # Table 6's column: syntax or semantic (the paper's), else "defined"
    mirrored: bool = False

    def file(self, which: str) -> str:
        return dict(self.files)[which]


PAPER_TASKS = {
    "pos": TaskSpec("pos", "conllu", (("all", "ud-english-pud/en_pud-ud-test.conllu"),), "word", "UPOS",
                    split=(("train_sentences", PUD_TRAIN_SENTENCES),), kind="syntax", mirrored=True),
    "dep": TaskSpec("dep", "conllu", (("all", "ud-english-pud/en_pud-ud-test.conllu"),), "pair", "DEPREL",
                    split=(("train_sentences", PUD_TRAIN_SENTENCES),), kind="syntax", mirrored=True),
    "ps-role": TaskSpec("ps-role", "streusle", (("train", "streusle/streusle.ud_train.vis"),
                                                ("test", "streusle/streusle.ud_test.vis")), "word", "role",
                        kind="semantic", mirrored=True),
    "ps-fxn": TaskSpec("ps-fxn", "streusle", (("train", "streusle/streusle.ud_train.vis"),
                                              ("test", "streusle/streusle.ud_test.vis")), "word", "function",
                       kind="semantic", mirrored=True),
    "trec": TaskSpec("trec", "trec", (("train", "trec/train_5500.label"), ("test", "trec/TREC_10.label")),
                     "sentence", "fine", kind="semantic", mirrored=True),
}
TARGET_KIND = {t: spec.target for t, spec in PAPER_TASKS.items()}    # what one example of each paper task is
_DEFINED: dict[str, TaskSpec] = {}


def define_task(name: str, definition: dict, base_dir: str | os.PathLike = ".") -> TaskSpec:
    """A task of the user's, from a profile's ``task_definitions.<name>`` (relative paths from `base_dir`, the
    profile's folder; ``$VARS`` expanded), checked and registered so that ``load_task(name, split)`` reads it.
    Every refusal is one line naming the key."""
    where = f"task_definitions.{name}"
    if name in PAPER_TASKS:
        raise ValueError(f"{where}: {name!r} is one of the paper's tasks; give yours another name")
    known = {"format", "files", "split", "target", "label", "text", "words", "deprel_subtype", "kind"}
    if not isinstance(definition, dict):
        raise ValueError(f"{where}: a mapping of {', '.join(sorted(known))}")
    unknown = set(definition) - known
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    fmt = definition.get("format")
    if fmt not in ("conllu", "jsonl", "csv"):
        raise ValueError(f"{where}.format = {fmt!r}: one of conllu, jsonl, csv")
    files = definition.get("files")
    if not isinstance(files, dict) or set(files) not in ({"train", "test"}, {"all"}):
        raise ValueError(f"{where}.files: {{train: FILE, test: FILE}} or {{all: FILE}} with a split")
    resolved = {}
    for which, f in files.items():
        path = Path(os.path.expandvars(str(f))).expanduser()
        path = path if path.is_absolute() else Path(base_dir) / path
        if not path.is_file():
            raise ValueError(f"{where}.files.{which}: no such file {path}")
        resolved[which] = str(path.resolve())
    split = definition.get("split") or {}
    if "all" in files:
        if set(split) == {"train_sentences"} and isinstance(split["train_sentences"], int) and split["train_sentences"] > 0:
            pass
        elif set(split) in ({"test_fraction"}, {"test_fraction", "seed"}) and \
                isinstance(split.get("test_fraction"), float) and 0 < split["test_fraction"] < 1 and \
                isinstance(split.get("seed", 0), int):
            split = {"test_fraction": split["test_fraction"], "seed": split.get("seed", 0)}
        else:
            raise ValueError(f"{where}.split = {split!r}: with files.all, {{test_fraction: 0.2, seed: 0}} (sentences "
                             "drawn at random) or {train_sentences: N} (the first N sentences train)")
    elif split:
        raise ValueError(f"{where}.split: only with files.all (train and test files are the split)")
    target = definition.get("target", "sentence" if fmt != "conllu" else "word")
    label = definition.get("label")
    if fmt == "conllu":
        if target not in ("word", "pair"):
            raise ValueError(f"{where}.target = {target!r}: a CoNLL-U task is about a word or a (head, dependent) pair")
        column = str(label or "")
        if not (column in ("UPOS", "XPOS", "DEPREL") or re.fullmatch(r"FEATS:[A-Za-z][A-Za-z0-9\[\]]*", column)):
            raise ValueError(f"{where}.label = {label!r}: a CoNLL-U column, UPOS, XPOS, DEPREL or FEATS:Key "
                             "(e.g. FEATS:Number)")
        if target == "pair" and column != "DEPREL":
            raise ValueError(f"{where}.label = {label!r}: a pair task is labelled by the dependent's DEPREL")
        if definition.get("text") or definition.get("words"):
            raise ValueError(f"{where}: text and words are JSONL/CSV fields; a CoNLL-U file has its words")
    else:
        if target != "sentence":
            raise ValueError(f"{where}.target = {target!r}: a JSONL/CSV task labels sentences (target: sentence)")
        if not isinstance(label, str) or not label:
            raise ValueError(f"{where}.label: the field that holds each sentence's label")
        if bool(definition.get("text")) == bool(definition.get("words")):
            raise ValueError(f"{where}: name one of text (a field with the sentence) or words (a field with its "
                             "pre-split words)")
        if fmt == "csv" and definition.get("words"):
            raise ValueError(f"{where}.words: a CSV field holds text; use text (split on whitespace)")
    kind = definition.get("kind", "defined")
    if kind not in ("syntax", "semantic", "defined"):
        raise ValueError(f"{where}.kind = {kind!r}: syntax or semantic (Table 6's column)")
    spec = TaskSpec(name, fmt, tuple(sorted(resolved.items())), target, str(label), tuple(split.items()),
                    definition.get("text"), definition.get("words"), bool(definition.get("deprel_subtype", True)),
                    kind)
    _DEFINED[name] = spec
    return spec


def task_spec(task: str) -> TaskSpec:
    spec = PAPER_TASKS.get(task) or _DEFINED.get(task)
    if spec is None:
        defined = f"; defined here: {', '.join(_DEFINED)}" if _DEFINED else ""
        raise ValueError(f"unknown task {task!r}; the paper's are {', '.join(TASKS)}{defined} (a profile defines "
                         "its own under task_definitions)")
    return spec


def _split_sentences(items: list, spec: TaskSpec, split: str) -> list:
    how = dict(spec.split)
    if "train_sentences" in how:
        n = how["train_sentences"]
        return items[:n] if split == "train" else items[n:]
    order = np.random.default_rng(how["seed"]).permutation(len(items))
    n_test = int(round(how["test_fraction"] * len(items)))
    chosen = np.sort(order[:n_test] if split == "test" else order[n_test:])
    return [items[i] for i in chosen]


def load_task(task: str, split: str, data_dir=None) -> TaskData:
    """Load one split ("train" or "test") of one task: one of the paper's ("pos", "dep", "ps-role", "ps-fxn",
    "trec") or one a profile defined (``define_task``)."""
    spec = task_spec(task)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    which = "all" if "all" in dict(spec.files) else split
    path = fetch(spec.file(which), data_dir) if spec.mirrored else Path(spec.file(which))
    stat = path.stat()
    parsed = _parse_task(spec, split, str(path), stat.st_mtime_ns, stat.st_size)
    # A new object each time; the arrays are shared and read-only, so no caller can change another's data.
    return TaskData(task, split, list(parsed.sentences), parsed.targets, parsed.labels)


def _conllu_labels(s: Sentence, spec: TaskSpec, path) -> list[tuple[tuple, str]]:
    """((word,) or (head, dependent), label) of every example of one sentence."""
    column, _, key = spec.label.partition(":")
    out = []
    for i, value in enumerate(s.column(column)):
        if column == "FEATS":                       # words without the feature are no examples of it
            found = dict(f.split("=", 1) for f in value.split("|") if "=" in f) if value != "_" else {}
            if key not in found:
                continue
            value = found[key]
        elif not value or value == "_":
            raise DataFormatError(path, s.lines[i], f"{column} of {s.words[i]!r} is {value!r}: no label")
        if column == "DEPREL" and not spec.deprel_subtype:
            value = value.split(":")[0]
        if spec.target == "pair":
            if s.heads[i] != 0:
                out.append(((s.heads[i] - 1, i), value))
        else:
            out.append(((i,), value))
    return out


def read_labelled_sentences(path, spec: TaskSpec) -> list[tuple[list[str], str]]:
    """(words, label) of every line of a JSONL file or row of a CSV file; a line or row that lacks a field or holds
    an unreadable one is an error naming it."""
    field = spec.text or spec.words
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        if spec.format == "jsonl":
            numbered = []
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    numbered.append((n, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise DataFormatError(path, n, f"not JSON ({e.msg})") from None
        else:
            import csv
            reader = csv.DictReader(f)
            if reader.fieldnames is None:
                raise DataFormatError(path, 1, "no header row")
            numbered = []
            for record in reader:
                numbered.append((reader.line_num, record))
        for n, record in numbered:
            if not isinstance(record, dict):
                raise DataFormatError(path, n, "a line holds one JSON object")
            for name in (field, spec.label):
                if name not in record:
                    raise DataFormatError(path, n, f"no field {name!r} (fields: {', '.join(map(str, record))})")
            value, label = record[field], record[spec.label]
            if spec.words:
                if not isinstance(value, list) or not value or not all(isinstance(w, str) and w.strip() for w in value):
                    raise DataFormatError(path, n, f"field {field!r} must be a list of words, got {value!r}")
                words = value
            else:
                words = str(value).split() if isinstance(value, str) else []
                if not words:
                    raise DataFormatError(path, n, f"field {field!r} holds no words ({value!r})")
            if label is None or isinstance(label, (dict, list)) or str(label).strip() == "":
                raise DataFormatError(path, n, f"field {spec.label!r} holds no label ({label!r})")
            rows.append((words, str(label)))
    if not rows:
        raise DataError(f"{path}: no examples")
    return rows


@functools.lru_cache(maxsize=32)
def _parse_task(spec: TaskSpec, split: str, path: str, mtime_ns: int, size: int) -> TaskData:
    """One split parsed from its file, once per version of the file: a notebook asks for a task hundreds of
    times, and parsing STREUSLE or PUD takes a tenth of a second each time."""
    sentences, targets, labels = [], [], []
    if spec.format == "conllu":
        require = ("UPOS", "DEPREL") if spec.mirrored else ()     # the paper's file is checked whole, as before
        parsed = read_conllu(path, require)
        if "all" in dict(spec.files):
            parsed = _split_sentences(parsed, spec, split)
        for s in parsed:
            k = len(sentences)
            sentences.append(s.words)
            for where, label in _conllu_labels(s, spec, path):
                targets.append((k, *where))
                labels.append(label)
    elif spec.format == "streusle":
        for s, preps in read_vis(path):
            k = len(sentences)
            sentences.append(s.words)
            for p in preps:
                targets.append((k, p.word))
                labels.append(p.role if spec.label == "role" else p.function)
    elif spec.format == "trec":
        for s, label in read_trec(path):
            targets.append((len(sentences),))
            sentences.append(s.words)
            labels.append(label)
    else:
        rows = read_labelled_sentences(path, spec)
        if "all" in dict(spec.files):
            rows = _split_sentences(rows, spec, split)
        for words, label in rows:
            targets.append((len(sentences),))
            sentences.append(words)
            labels.append(label)
    if not labels:
        raise DataError(f"{path}: no examples of task {spec.name!r} ({spec.label}) in its {split} split")
    width = {"word": 2, "pair": 3, "sentence": 1}[spec.target]
    targets, labels = np.array(targets, dtype=np.int64).reshape(-1, width), np.array(labels, dtype=object)
    targets.setflags(write=False)
    labels.setflags(write=False)
    return TaskData(spec.name, split, sentences, targets, labels)


def summary(data_dir=None) -> dict:
    """{task: {split: {"examples": n, "labels": n}}} for every task and split."""
    out = {}
    for task in TASKS:
        out[task] = {}
        for split in SPLITS:
            d = load_task(task, split, data_dir)
            out[task][split] = {"examples": len(d), "labels": len(d.label_set)}
    return out


# ----------------------------------------------------------------------------------------------
# Looking at the tasks (chapter 00_tasks_and_models)

TASK_BASED = {"word": "token", "pair": "pair", "sentence": "sentence"}


def task_table(tasks=TASKS, data_dir=None):
    """Table 6 from the data: examples per split, labels (train and test together, as the paper counts them),
    what one example is, and whether the task is syntactic or semantic."""
    import pandas as pd
    rows = []
    for task in tasks:
        train, test = load_task(task, "train", data_dir), load_task(task, "test", data_dir)
        rows.append({"task": task, "train": len(train), "test": len(test),
                     "labels": len(set(train.label_set) | set(test.label_set)),
                     "based": TASK_BASED[train.kind], "kind": task_spec(task).kind})
    return pd.DataFrame(rows)


def compare_task_table(ours, paper):
    """Ours beside the paper's Table 6, one row per task, with the columns that differ named."""
    import pandas as pd
    merged = ours.merge(paper, on="task", suffixes=("", " (paper)"))
    cols = ["train", "test", "labels", "based", "kind"]
    merged["differs in"] = [", ".join(c for c in cols if r[c] != r[f"{c} (paper)"]) or "-" for _, r in merged.iterrows()]
    return merged[["task"] + [x for c in cols for x in (c, f"{c} (paper)")] + ["differs in"]]


def label_counts(data: TaskData):
    """How many examples each label has, most frequent first."""
    import pandas as pd
    return pd.Series(data.labels).value_counts().rename(f"{data.task} {data.split}")


def label_extremes(data: TaskData, k: int = 3):
    """The k most frequent and the k rarest labels with their shares of the examples (%)."""
    import pandas as pd
    counts = label_counts(data)
    share = 100 * counts / counts.sum()
    def fmt(s):
        return ", ".join(f"{label} ({v:.1f}%)" for label, v in s.items())
    return pd.Series({"examples": len(data), "labels": len(counts), "most frequent": fmt(share.head(k)),
                      "rarest": fmt(share.tail(k).iloc[::-1])}, name=data.task)


def marked_sentence(k: int, *tasks: TaskData) -> str:
    """Sentence k with every target word of word-based tasks bracketed and followed by its labels, one per
    task in the order given: ``[in]{p.Locus|p.Locus}`` for PS-role and PS-fxn together."""
    if not tasks or any(t.kind != "word" for t in tasks):
        raise ValueError("marked_sentence takes word-based tasks (pos, ps-role, ps-fxn)")
    words = list(tasks[0].sentences[k])
    found = {}
    for t in tasks:
        here = t.targets[:, 0] == k
        for w, label in zip(t.targets[here, 1], t.labels[here]):
            found.setdefault(int(w), []).append(label)
    for w, labels in found.items():
        words[w] = f"[{words[w]}]{{{'|'.join(labels)}}}"
    return " ".join(words)


def arcs(data: TaskData, k: int) -> list[tuple[int, int, str]]:
    """DEP examples of sentence k as (head word, dependent word, relation), 0-based word positions."""
    if data.kind != "pair":
        raise ValueError(f"arcs are the examples of a pair task like DEP; got {data.task!r}")
    here = data.targets[:, 0] == k
    return [(int(h), int(d), str(label)) for (_, h, d), label in zip(data.targets[here], data.labels[here])]


def construal_sentence(role: TaskData, function: TaskData, max_words: int = 16) -> int:
    """The first readable sentence with a preposition whose role differs from its function (a construal: the
    preposition's own meaning, its function, is not the role it plays in the scene)."""
    for k, words in enumerate(role.sentences):
        if len(words) <= max_words:
            here = role.targets[:, 0] == k
            if np.any(role.labels[here] != function.labels[here]):
                return k
    raise ValueError("no sentence with a construal (role != function)")


def first_sentence(data: TaskData, min_words: int = 6, max_words: int = 14, min_targets: int = 1) -> int:
    """The first sentence of a readable length with at least ``min_targets`` examples (for showing one)."""
    per_sentence = np.bincount(data.targets[:, 0], minlength=len(data.sentences))
    for k, words in enumerate(data.sentences):
        if min_words <= len(words) <= max_words and per_sentence[k] >= min_targets:
            return k
    raise ValueError(f"{data.task}: no sentence of {min_words}-{max_words} words with {min_targets} example(s)")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m closerlook.data",
                                 description="Examples and labels of every task and split.")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--data-dir", help="a mirror folder of the upstream files (else CLOSERLOOK_DATA_DIR, else download)")
    args = ap.parse_args(argv)
    try:
        s = summary(args.data_dir)
    except DataError as e:
        raise SystemExit(f"error: {e}")
    except OSError as e:         # a mirror file that cannot be read (permissions, a folder in its place, ...)
        raise SystemExit(f"error: cannot read {e.filename or 'a data file'}: {e.strerror or e}")
    if args.json:
        print(json.dumps(s))
        return
    print(f"{'task':<8} {'split':<6} {'examples':>9} {'labels':>7}")
    for task, splits in s.items():
        for split, c in splits.items():
            print(f"{task:<8} {split:<6} {c['examples']:>9,} {c['labels']:>7}")


if __name__ == "__main__":
    main()


def example_types(data: TaskData) -> list[str]:
    """What a control task keys an example's label on (Hewitt & Liang, 2019): the word's type (lowercased) for a
    word task, the dependent's type for a pair task (DEP: the dependent is the second target word), the whole
    question for a sentence task."""
    kind = data.kind
    out = []
    for row in data.targets:
        words = data.sentences[row[0]]
        if kind == "sentence":
            out.append(" ".join(words).lower())
        else:
            out.append(words[row[-1]].lower())
    return out


def control_task(train: TaskData, test: TaskData, seed: int = 0) -> tuple[TaskData, TaskData]:
    """The task's control task: every type (``example_types``) gets one label, drawn once from the training split's
    label distribution with ``seed``, and keeps it in both splits. A probe that does well on it has memorised
    types, not read the task off the representation; selectivity = task accuracy - control accuracy."""
    labels, counts = np.unique(train.labels, return_counts=True)
    types_train, types_test = example_types(train), example_types(test)
    vocabulary = list(dict.fromkeys(types_train + types_test))
    drawn = np.random.default_rng(seed).choice(labels, size=len(vocabulary), p=counts / counts.sum())
    by_type = dict(zip(vocabulary, drawn.tolist()))

    def relabel(data, types):
        return TaskData(data.task, data.split, data.sentences, data.targets,
                        np.array([by_type[t] for t in types], dtype=str))   # str: test's own dtype may be narrower
    return relabel(train, types_train), relabel(test, types_test)
