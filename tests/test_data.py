"""The five tasks read from the real mirrored upstream files, and every bad-input case."""
import functools
import hashlib
import shutil

import numpy as np
import pytest

from closerlook import data
from closerlook.data import DataError, fetch, load_task, read_conllulex, read_vis

COUNTS = {  # examples (train, test) and labels in train, as the issue and ../shared/data/README.md give them
    "pos": (16858, 4322, 17),
    "dep": (16058, 4122, 46),
    "ps-role": (4285, 457, 46),
    "ps-fxn": (4285, 457, 38),
    "trec": (5452, 500, 50),
}


@pytest.mark.parametrize("task", list(COUNTS))
def test_counts_on_real_files(task):
    n_train, n_test, n_labels = COUNTS[task]
    train, test = load_task(task, "train"), load_task(task, "test")
    assert (len(train), len(test)) == (n_train, n_test)
    assert len(train.label_set) == n_labels
    assert set(test.label_set) <= set(train.label_set)


def test_target_shapes_and_label_forms():
    dep = load_task("dep", "train")
    assert dep.targets.shape == (16058, 3) and "root" not in dep.label_set and "nmod:poss" in dep.label_set
    assert load_task("pos", "test").targets.shape[1] == 2
    assert load_task("trec", "test").targets.shape == (500, 1)
    assert "DESC:manner" in load_task("trec", "train").label_set
    role, fxn = load_task("ps-role", "train"), load_task("ps-fxn", "train")
    assert all(l.startswith("p.") for l in role.label_set + fxn.label_set)
    assert (role.labels != fxn.labels).any() and (role.targets == fxn.targets).all()


def test_pud_split_is_sentences_1_to_800():
    pos_train, pos_test = load_task("pos", "train"), load_task("pos", "test")
    assert len(pos_train.sentences) == 800 and len(pos_test.sentences) == 200


@pytest.mark.parametrize("split", ["dev", "test"])
def test_vis_reader_agrees_with_conllulex(split):
    vis = read_vis(fetch(f"streusle/streusle.ud_{split}.vis"))
    lex = read_conllulex(fetch(f"streusle/streusle.ud_{split}.conllulex"))
    assert len(vis) == len(lex) == {"dev": 554, "test": 535}[split]
    for (s1, p1), (s2, p2) in zip(vis, lex):
        assert s1.sent_id == s2.sent_id and s1.words == s2.words
        assert [(p.word, p.role, p.function) for p in p1] == [(p.word, p.role, p.function) for p in p2]
    assert sum(len(p) for _, p in vis) == {"dev": 433, "test": 457}[split]


def test_summary_json(capsys):
    data.main(["--json"])
    import json
    s = json.loads(capsys.readouterr().out)
    assert s["pos"]["train"] == {"examples": 16858, "labels": 17}
    assert set(s) == {"pos", "dep", "ps-role", "ps-fxn", "trec"} and s["trec"]["test"]["examples"] == 500


# --- bad input ---------------------------------------------------------------------------------

def _mirror_with(tmp_path, name, content: bytes):
    """A mirror folder holding one file, its pinned checksum patched to match `content`."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


def test_missing_file_in_mirror_names_file_source_and_setting(tmp_path):
    with pytest.raises(DataError, match=r"trec/TREC_10.label is not in the data mirror.*github.*CLOSERLOOK_DATA_DIR"):
        fetch("trec/TREC_10.label", tmp_path)


def test_checksum_mismatch_names_the_file(tmp_path):
    (tmp_path / "trec").mkdir()
    (tmp_path / "trec" / "TREC_10.label").write_text("NUM:dist How far ?\n")
    with pytest.raises(DataError, match=r"TREC_10.label: sha256 mismatch"):
        fetch("trec/TREC_10.label", tmp_path)


def test_offline_without_mirror_is_one_clear_error(monkeypatch):
    import pooch
    monkeypatch.delenv("CLOSERLOOK_DATA_DIR")

    def no_network(*a, **k):
        raise ConnectionError("Name or service not known")
    monkeypatch.setattr(pooch, "retrieve", no_network)
    with pytest.raises(DataError, match=r"en_pud-ud-test.conllu is not available: downloading it from "
                                        r"https://\S+ failed .*CLOSERLOOK_DATA_DIR"):
        load_task("pos", "train")


def test_truncated_conllu_line(tmp_path, monkeypatch):
    good = fetch("ud-english-pud/en_pud-ud-test.conllu").read_text(encoding="utf-8").splitlines(True)
    bad = "".join(good[:10]) + good[10].split("\t", 4)[0] + "\t" + good[10].split("\t")[1] + "\n" + "".join(good[11:])
    path, sha = _mirror_with(tmp_path, "ud-english-pud/en_pud-ud-test.conllu", bad.encode())
    monkeypatch.setitem(data.FILES, "ud-english-pud/en_pud-ud-test.conllu", ("u", sha))
    with pytest.raises(data.DataFormatError, match=r"en_pud-ud-test.conllu, line 11: expected 10 tab-separated columns, found 2"):
        load_task("pos", "train", tmp_path)


def test_unreadable_trec_label(tmp_path, monkeypatch):
    path, sha = _mirror_with(tmp_path, "trec/TREC_10.label", b"NUM:dist How far ?\nnumber-dist What ?\n")
    monkeypatch.setitem(data.FILES, "trec/TREC_10.label", ("u", sha))
    with pytest.raises(data.DataFormatError, match=r"TREC_10.label, line 2: unreadable label 'number-dist'"):
        load_task("trec", "test", tmp_path)


def test_trec_line_without_question(tmp_path, monkeypatch):
    path, sha = _mirror_with(tmp_path, "trec/TREC_10.label", b"NUM:dist How far ?\nLOC:city\n")
    monkeypatch.setitem(data.FILES, "trec/TREC_10.label", ("u", sha))
    with pytest.raises(data.DataFormatError, match=r"line 2: label without a question"):
        load_task("trec", "test", tmp_path)


def test_trec_reader_accepts_the_original_latin1_byte(tmp_path):
    p = tmp_path / "x.label"
    p.write_bytes(b"LOC:other What is a sister\xf0city ?\n")
    assert data.read_trec(p)[0][0].words == ["What", "is", "a", "sistercity", "?"]


def test_unreadable_supersense_in_vis(tmp_path, monkeypatch):
    content = b"s-1\tI|PRON went|V-v.motion to|P-p.Goal:x school|N-n.GROUP\n"
    path, sha = _mirror_with(tmp_path, "streusle/streusle.ud_test.vis", content)
    monkeypatch.setitem(data.FILES, "streusle/streusle.ud_test.vis", ("u", sha))
    with pytest.raises(data.DataFormatError, match=r"streusle.ud_test.vis, line 1: unreadable preposition supersense 'p.Goal:x'"):
        load_task("ps-role", "test", tmp_path)


def test_vis_piece_without_tag(tmp_path):
    p = tmp_path / "bad.vis"
    p.write_text("s-1\tI|PRON went to|P-p.Goal\n")
    with pytest.raises(data.DataFormatError, match=r"bad.vis, line 1: piece 'went' has no '\|TAG'"):
        read_vis(p)


def test_unknown_task_and_split():
    with pytest.raises(ValueError, match="unknown task 'ner'"):
        load_task("ner", "train")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_task("pos", "dev")


# --- the tasks chapter (00_tasks_and_models) -------------------------------------------------------------------

def test_task_table_is_table6_from_the_data_and_names_what_differs():
    from closerlook.paper import table6
    ours = data.task_table()
    assert ours.set_index("task")[["train", "test"]].to_dict("index")["trec"] == {"train": 5452, "test": 500}
    assert ours.set_index("task")["based"].to_dict() == {"pos": "token", "dep": "pair", "ps-role": "token",
                                                         "ps-fxn": "token", "trec": "sentence"}
    side = data.compare_task_table(ours, table6()).set_index("task")["differs in"]
    assert side["trec"] == "-" and side["dep"] == "train" and side["ps-role"] == "train, labels"


def test_label_counts_and_extremes():
    pos = load_task("pos", "train")
    counts = data.label_counts(pos)
    assert counts.sum() == len(pos) and counts.is_monotonic_decreasing and counts.index[0] == "NOUN"
    extremes = data.label_extremes(pos, k=2)
    assert extremes["labels"] == 17 and extremes["most frequent"].startswith("NOUN (")
    assert extremes["rarest"].split(" (")[0] == counts.index[-1]


def test_marked_sentence_brackets_every_target_with_each_tasks_label():
    role, fxn = load_task("ps-role", "train"), load_task("ps-fxn", "train")
    k = data.construal_sentence(role, fxn)
    text = data.marked_sentence(k, role, fxn)
    here = role.targets[:, 0] == k
    assert text.count("[") == here.sum()
    for (_, w), r, f in zip(role.targets[here], role.labels[here], fxn.labels[here]):
        assert f"[{role.sentences[k][w]}]{{{r}|{f}}}" in text
    assert np.any(role.labels[here] != fxn.labels[here])
    with pytest.raises(ValueError, match="word-based"):
        data.marked_sentence(0, load_task("trec", "train"))


def test_arcs_are_the_dep_examples_of_one_sentence():
    dep = load_task("dep", "train")
    k = data.first_sentence(dep, max_words=10)
    arcs = data.arcs(dep, k)
    assert len(arcs) == len(dep.sentences[k]) - 1          # every word but the root has a head
    assert all(0 <= h < len(dep.sentences[k]) and 0 <= d < len(dep.sentences[k]) for h, d, _ in arcs)
    with pytest.raises(ValueError, match="DEP"):
        data.arcs(load_task("pos", "train"), 0)


def test_dependency_arcs_draw_one_labelled_arc_per_example():
    import matplotlib
    matplotlib.use("Agg")
    from closerlook.plots import dependency_arcs
    dep = load_task("dep", "train")
    k = data.first_sentence(dep, max_words=10)
    ax = dependency_arcs(dep.sentences[k], data.arcs(dep, k))
    texts = [t.get_text() for t in ax.texts]
    assert texts[:len(dep.sentences[k])] == dep.sentences[k]
    assert sorted(texts[len(dep.sentences[k]):]) == sorted(r for _, _, r in data.arcs(dep, k))
    assert len(ax.patches) == len(data.arcs(dep, k))


def test_a_task_is_parsed_once_per_version_of_its_file(tmp_path, monkeypatch):
    """A notebook asks for a task hundreds of times: the parse is remembered, by the file's path, size and time of
    change. Each call still gets its own object with read-only arrays, and a file that changes is read again (and
    checked again: a corrupted copy is an error, never the old parse)."""
    mirror = tmp_path / "mirror"
    shutil.copytree(fetch("trec/TREC_10.label").parent, mirror / "trec")
    parses = []
    real = data._parse_task.__wrapped__
    data._parse_task.cache_clear()
    monkeypatch.setattr(data, "_parse_task", functools.lru_cache(maxsize=32)(
        lambda *a: parses.append(a) or real(*a)))
    first, again = load_task("trec", "test", mirror), load_task("trec", "test", mirror)
    assert len(parses) == 1 and first is not again and first.sentences is not again.sentences
    np.testing.assert_array_equal(first.labels, again.labels)
    with pytest.raises(ValueError, match="read-only"):
        first.labels[0] = "NUM:dist"
    again.sentences.append(["mine"])           # a caller's list is its own
    assert len(load_task("trec", "test", mirror).sentences) == len(first.sentences)
    (mirror / "trec" / "TREC_10.label").write_text("NUM:dist How far ?\n")
    with pytest.raises(DataError, match="sha256 mismatch"):
        load_task("trec", "test", mirror)


@pytest.mark.parametrize("task", ["pos", "dep", "trec"])
def test_a_control_task_keeps_one_label_per_type(task):
    """Hewitt & Liang's control task: a word (DEP: dependent; TREC: question) type has one label in both splits,
    drawn from the training split's distribution, so that only memorising types can predict it."""
    from collections import Counter
    from closerlook.data import control_task, example_types, load_task
    train, test = load_task(task, "train"), load_task(task, "test")
    c_train, c_test = control_task(train, test, seed=0)
    seen = {}
    for data in (c_train, c_test):
        for t, label in zip(example_types(data), data.labels.tolist()):
            assert seen.setdefault(t, label) == label
    assert set(c_train.labels.tolist()) <= set(train.labels.tolist())
    assert len(c_train) == len(train) and c_train.targets is train.targets
    # Type-level draws from the label distribution: the frequent labels stay frequent (not a copy of the task).
    top = Counter(train.labels.tolist()).most_common(1)[0][0]
    assert Counter(c_train.labels.tolist())[top] > 0
    assert np.mean(c_train.labels == train.labels) < 0.5
    assert control_task(train, test, seed=0)[0].labels.tolist() == c_train.labels.tolist()
    assert control_task(train, test, seed=1)[0].labels.tolist() != c_train.labels.tolist()


def test_a_subset_of_a_tasks_read_only_arrays_is_the_same_read_only_arrays_each_time():
    """A profile that subsets its tasks (max_train_sentences) asks for the subset at every call: the same arrays,
    read-only, so that the cached calls on its labels are named by identity, not hashed anew."""
    from closerlook.data import TaskData
    targets = np.array([[0, 0], [0, 1], [1, 0], [2, 0]])
    labels = np.array(["a", "b", "a", "c"])
    targets.flags.writeable = labels.flags.writeable = False
    whole = TaskData("pos", "train", [["x", "y"], ["z"], ["w"]], targets, labels)
    first, again = whole.subset(2), TaskData("pos", "train", whole.sentences, targets, labels).subset(2)
    assert first.labels is again.labels and first.targets is again.targets
    assert first.labels.tolist() == ["a", "b", "a"] and not first.labels.flags.writeable
    assert whole.subset(1).labels.tolist() == ["a", "b"]
    writeable = TaskData("pos", "train", whole.sentences, targets.copy(), labels.copy())
    w1, w2 = writeable.subset(2), writeable.subset(2)
    assert w1.labels is not w2.labels and w1.labels.flags.writeable     # a caller's own arrays stay its own
