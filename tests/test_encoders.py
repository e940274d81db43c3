"""Any encoder, any labelled data: tiny models of every supported architecture (built offline) through the study,
the architectures that cannot be studied refused in one line, and tasks defined from CoNLL-U, JSONL and CSV files."""
import json

import numpy as np
import pytest

from closerlook import data
from closerlook.representations import Encoder, ModelLoadError
from closerlook.tinymodels import ARCHITECTURES, build, matrix


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="module")
def tiny_matrix(tiny, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path_factory.mktemp("tiny-cache")))
    return matrix(tiny)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_every_architecture_goes_through_the_study(tiny_matrix):
    """Representations, a fine-tuning run with 2 snapshots, DirectProbe and the probe: Table 7's two rows for each
    architecture and task, with the model class each architecture loads as."""
    t = tiny_matrix
    assert sorted(set(t["architecture"])) == sorted(ARCHITECTURES)
    classes = dict(zip(t["architecture"], t["model class"]))
    assert classes == {"bert": "BertModel", "distilbert": "DistilBertModel", "electra": "ElectraModel",
                       "roberta": "RobertaModel", "modernbert": "ModernBertModel", "deberta-v2": "DebertaV2Model"}
    assert len(t) == len(ARCHITECTURES) * 2 * 2
    assert (t["snapshots"] == 2).all()
    assert set(t.loc[t.task == "upos", "labels"]) == {15} and set(t.loc[t.task == "question", "labels"]) == {6}
    assert (t["clusters"] >= t["labels"]).all()            # DirectProbe: at least one cluster per label
    assert t["acc"].between(0, 100).all() and (t["acc"] > 0).all()
    # The similarity is defined exactly where both splits are linear (a linear row always has a number here).
    assert t.loc[~t.linear, "similarity"].isna().all()


def test_byte_level_bpe_words_get_their_leading_space(tiny):
    """RoBERTa's and ModernBERT's tokenizers mark a word after a space with "Ġ": a pre-split word needs it added,
    or every word after the first is tokenised as if glued to the one before."""
    for model_type in ("roberta", "modernbert"):
        enc = Encoder.load(build(model_type, tiny / model_type), device="cpu")
        batch, word_ids = enc.encode_batch([["While", "much", "of"]])
        tokens = enc.tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
        starts = [tokens[word_ids[0].index(w)] for w in range(3)]
        assert all(t.startswith("Ġ") for t in starts), (model_type, tokens)
        assert word_ids[0][0] is None                      # position 0 is the sentence's own token


def test_the_first_token_is_the_sentence_vector_and_the_limit_counts_reserved_positions(tiny):
    roberta = Encoder.load(build("roberta", tiny / "roberta"), device="cpu")
    assert roberta.max_tokens == roberta.model.config.max_position_embeddings - 2
    bert = Encoder.load(build("bert", tiny / "bert"), device="cpu")
    assert bert.max_tokens == bert.model.config.max_position_embeddings
    distil = Encoder.load(build("distilbert", tiny / "distilbert"), device="cpu")
    batch, _ = distil.encode_batch([["a", "b"]])
    assert distil.hidden_states(batch).shape[0] == 3      # token_type_ids, which it does not take, are left out


@pytest.mark.parametrize("config, said", [
    ("GPT2Config", "decoder-only"),
    ("T5Config", "encoder-decoder"),
])
def test_an_architecture_that_cannot_be_studied_is_one_line(tmp_path, config, said):
    import transformers
    folder = tmp_path / config
    cfg = getattr(transformers, config)(n_layer=1, n_head=2, n_embd=8, vocab_size=50) if config == "GPT2Config" else \
        transformers.T5Config(num_layers=1, d_model=8, d_ff=16, num_heads=2, d_kv=4, vocab_size=50)
    cfg.save_pretrained(folder)
    with pytest.raises(ModelLoadError, match=said) as e:
        Encoder.load(folder, device="cpu")
    assert "\n" not in str(e.value) and cfg.model_type in str(e.value)


# --- tasks of one's own --------------------------------------------------------------------------------

CONLLU = """# sent_id = 1
1\tThe\tthe\tDET\tDT\tDefinite=Def|PronType=Art\t2\tdet\t_\t_
2\tdogs\tdog\tNOUN\tNNS\tNumber=Plur\t3\tnsubj\t_\t_
3\tbark\tbark\tVERB\tVBP\tMood=Ind|Number=Plur\t0\troot\t_\t_
4\tloudly\tloudly\tADV\tRB\t_\t3\tadvmod:emph\t_\t_

# sent_id = 2
1\tA\ta\tDET\tDT\tDefinite=Ind\t2\tdet\t_\t_
2\tcat\tcat\tNOUN\tNN\tNumber=Sing\t3\tnsubj\t_\t_
3\tsleeps\tsleep\tVERB\tVBZ\tNumber=Sing\t0\troot\t_\t_

"""


def _define(tmp_path, name, **definition):
    return data.define_task(name, definition, tmp_path)


def test_conllu_columns_as_tasks(tmp_path):
    (tmp_path / "t.conllu").write_text(CONLLU)
    files = {"train": "t.conllu", "test": "t.conllu"}
    _define(tmp_path, "xpos", format="conllu", files=files, label="XPOS")
    xpos = data.load_task("xpos", "train")
    assert xpos.kind == "word" and xpos.labels.tolist() == ["DT", "NNS", "VBP", "RB", "DT", "NN", "VBZ"]
    _define(tmp_path, "number", format="conllu", files=files, label="FEATS:Number")
    number = data.load_task("number", "train")        # words without the feature are not examples of it
    assert number.labels.tolist() == ["Plur", "Plur", "Sing", "Sing"]
    assert number.targets[:, 1].tolist() == [1, 2, 1, 2]
    _define(tmp_path, "rel", format="conllu", files=files, label="DEPREL", target="pair", deprel_subtype=False)
    rel = data.load_task("rel", "train")
    assert rel.kind == "pair" and "advmod" in rel.labels.tolist() and "advmod:emph" not in rel.labels.tolist()
    assert rel.targets[0].tolist() == [0, 1, 0]       # (sentence, head, dependent): "dogs" heads "The"


def test_a_bad_conllu_label_names_its_line(tmp_path):
    (tmp_path / "t.conllu").write_text(CONLLU)
    _define(tmp_path, "feats-as-xpos", format="conllu", files={"train": "t.conllu", "test": "t.conllu"},
            label="XPOS")
    (tmp_path / "t.conllu").write_text(CONLLU.replace("\tRB\t", "\t_\t"))
    with pytest.raises(data.DataError, match=r"t.conllu, line 5: XPOS of 'loudly' is '_'"):
        data.load_task("feats-as-xpos", "train")


def test_jsonl_and_csv_sentence_tasks_with_a_seeded_split(tmp_path):
    lines = [{"text": f"question number {i} here", "label": "ab"[i % 2]} for i in range(40)]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    _define(tmp_path, "q", format="jsonl", files={"all": "q.jsonl"}, split={"test_fraction": 0.25, "seed": 3},
            text="text", label="label")
    train, test = data.load_task("q", "train"), data.load_task("q", "test")
    assert train.kind == "sentence" and (len(train), len(test)) == (30, 10)
    assert not {" ".join(s) for s in train.sentences} & {" ".join(s) for s in test.sentences}
    again = data.load_task("q", "test")
    assert again.sentences == test.sentences               # the seed fixes the split
    (tmp_path / "w.jsonl").write_text('{"words": ["Is", "it", "?"], "y": 1}\n')
    _define(tmp_path, "w", format="jsonl", files={"train": "w.jsonl", "test": "w.jsonl"}, words="words", label="y")
    assert data.load_task("w", "train").sentences == [["Is", "it", "?"]]
    assert data.load_task("w", "train").labels.tolist() == ["1"]
    (tmp_path / "s.csv").write_text("sentence,label\nit rains,weather\n,empty\n")
    _define(tmp_path, "s", format="csv", files={"train": "s.csv", "test": "s.csv"}, text="sentence", label="label")
    with pytest.raises(data.DataError, match=r"s.csv, line 3: field 'sentence' holds no words"):
        data.load_task("s", "train")
    (tmp_path / "bad.jsonl").write_text('{"text": "fine", "label": "x"}\n{"text": "no label"}\n')
    _define(tmp_path, "bad", format="jsonl", files={"train": "bad.jsonl", "test": "bad.jsonl"}, text="text",
            label="label")
    with pytest.raises(data.DataError, match=r"bad.jsonl, line 2: no field 'label' \(fields: text\)"):
        data.load_task("bad", "train")


@pytest.mark.parametrize("definition, said", [
    ({"format": "xml", "files": {"all": "t.conllu"}}, "format = 'xml': one of conllu, jsonl, csv"),
    ({"format": "conllu", "files": {"train": "nope.conllu", "test": "t.conllu"}, "label": "UPOS"},
     "files.train: no such file"),
    ({"format": "conllu", "files": {"all": "t.conllu"}, "label": "UPOS"}, "split = {}"),
    ({"format": "conllu", "files": {"train": "t.conllu", "test": "t.conllu"}, "label": "LEMMA"},
     "label = 'LEMMA': a CoNLL-U column"),
    ({"format": "conllu", "files": {"train": "t.conllu", "test": "t.conllu"}, "label": "UPOS", "target": "pair"},
     "a pair task is labelled by the dependent's DEPREL"),
    ({"format": "jsonl", "files": {"train": "t.conllu", "test": "t.conllu"}, "label": "y"}, "name one of text"),
    ({"format": "jsonl", "files": {"train": "t.conllu", "test": "t.conllu"}, "label": "y", "text": "x", "colour": 1},
     "unknown key"),
])
def test_a_bad_definition_is_one_line_naming_the_key(tmp_path, definition, said):
    (tmp_path / "t.conllu").write_text(CONLLU)
    with pytest.raises(ValueError, match="task_definitions.mine") as e:
        _define(tmp_path, "mine", **definition)
    assert said in str(e.value), str(e.value)


def test_the_paper_tasks_are_instances_of_the_same_mechanism():
    assert tuple(data.PAPER_TASKS) == data.TASKS
    assert {t: s.target for t, s in data.PAPER_TASKS.items()} == {"pos": "word", "dep": "pair", "ps-role": "word",
                                                                   "ps-fxn": "word", "trec": "sentence"}
    with pytest.raises(ValueError, match="one of the paper's tasks"):
        data.define_task("pos", {"format": "conllu"})
    pos = data.load_task("pos", "train")
    assert pos.kind == "word" and len(pos.sentences) == data.PUD_TRAIN_SENTENCES
    assert np.all(pos.targets[:, 0] < data.PUD_TRAIN_SENTENCES)
