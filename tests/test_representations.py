"""Word = mean of its subwords at every layer; DEP = concat(head, dependent); TREC = [CLS]; cached."""
import numpy as np
import pytest
import torch

from closerlook.data import TaskData
from closerlook.representations import Encoder, ModelLoadError, represent


def _data(task, sentences, targets, labels):
    return TaskData(task, "test", sentences, np.array(targets).reshape(len(labels), -1), np.array(labels, dtype=object))


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    return Encoder.load(tiny_bert, device="cpu")


SENT = ["the", "unbelievably", "photosynthesizing", "cat", "sat"]


def _own_hidden_states(encoder, words):
    enc = encoder.tokenizer([words], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        hs = encoder.model(**enc, output_hidden_states=True).hidden_states
    return torch.stack(hs)[:, 0].numpy(), enc.word_ids(0)


def test_word_is_mean_of_its_subwords_at_every_layer(encoder):
    hidden, word_ids = _own_hidden_states(encoder, SENT)
    pieces = [t for t, w in enumerate(word_ids) if w == 2]
    assert len(pieces) >= 3, "the test needs a word split into several subwords"
    X = encoder.embed(_data("pos", [SENT], [(0, 2), (0, 3)], ["X", "N"]), progress=False)
    assert X.shape == (encoder.n_layers + 1, 2, encoder.hidden_size)
    for layer in range(encoder.n_layers + 1):
        np.testing.assert_allclose(X[layer, 0], hidden[layer, pieces].mean(0), rtol=1e-5, atol=1e-6)


def test_word_vectors_do_not_depend_on_batch_padding(encoder):
    long = SENT + ["on", "the", "extraordinarily", "comfortable", "mat"] * 3
    alone = encoder.embed(_data("pos", [SENT], [(0, 1)], ["A"]), progress=False)
    padded = encoder.embed(_data("pos", [SENT, long], [(0, 1), (1, 0)], ["A", "B"]), progress=False)
    np.testing.assert_allclose(alone[:, 0], padded[:, 0], rtol=1e-4, atol=1e-5)


def test_dep_is_concat_of_head_and_dependent(encoder):
    words = encoder.embed(_data("pos", [SENT], [(0, 4), (0, 3)], ["V", "N"]), progress=False)
    pair = encoder.embed(_data("dep", [SENT], [(0, 4, 3)], ["nsubj"]), progress=False)
    assert pair.shape[-1] == 2 * encoder.hidden_size
    np.testing.assert_allclose(pair[:, 0], np.concatenate([words[:, 0], words[:, 1]], -1), rtol=1e-5, atol=1e-6)


def test_trec_row_is_position_zero(encoder):
    hidden, _ = _own_hidden_states(encoder, SENT)
    X = encoder.embed(_data("trec", [SENT], [(0,)], ["DESC:manner"]), progress=False)
    np.testing.assert_allclose(X[:, 0], hidden[:, 0], rtol=1e-5, atol=1e-6)


def test_layer_selection(encoder):
    X = encoder.embed(_data("pos", [SENT], [(0, 0)], ["D"]), layers=[0, encoder.n_layers], progress=False)
    assert X.shape[0] == 2
    with pytest.raises(ValueError, match="layers must lie in 0..2"):
        encoder.embed(_data("pos", [SENT], [(0, 0)], ["D"]), layers=[3], progress=False)


def test_second_call_hits_the_cache(encoder, monkeypatch):
    d = _data("pos", [SENT], [(0, 0), (0, 1)], ["D", "A"])
    first = represent(encoder, d, progress=False)
    last = represent(encoder, d, layers=[2], progress=False)
    np.testing.assert_array_equal(last, first[[2]])

    def must_not_run(*a, **k):
        raise AssertionError("the model ran although the representations were cached")
    monkeypatch.setattr(Encoder, "embed", must_not_run)
    np.testing.assert_array_equal(represent(encoder, d, progress=False), first)
    np.testing.assert_array_equal(represent(encoder, d, layers=[2], progress=False), first[[2]])


def test_a_cached_read_is_one_read_only_array_until_its_file_changes(encoder):
    """The cached calls on a representation are named by its identity (cachekeys._entries) only if a second read
    hands out the same read-only array; a file written anew is read anew."""
    import os
    from closerlook.data import cache_dir
    d = _data("pos", [SENT], [(0, 1), (0, 2)], ["A", "B"])
    first = represent(encoder, d, layers=[1], progress=False)
    again = represent(encoder, d, layers=[1], progress=False)
    assert again is first and not first.flags.writeable and first.flags.owndata
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0, 0] = 1.0
    assert represent(encoder, d, layers=[2], progress=False) is not first   # another layer, another array
    [path] = [p for p in (cache_dir() / "representations").glob("pos-test-*.npy")
              if np.load(p, mmap_mode="r").shape[:2] == (1, 2) and np.allclose(np.load(p)[0], first[0])]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))           # the file as if written again
    moved = represent(encoder, d, layers=[1], progress=False)
    assert moved is not first
    np.testing.assert_array_equal(moved, first)


def test_too_long_sentence_is_an_error_not_a_cut(encoder):
    long = ["word"] * 200  # the tiny model allows 128 positions
    with pytest.raises(ValueError, match=r"has 202 subword tokens, more than the model's limit of 128"):
        encoder.embed(_data("pos", [long], [(0, 0)], ["N"]), progress=False)


def test_unloadable_model_is_one_line(tmp_path):
    with pytest.raises(ModelLoadError) as e:
        Encoder.load(tmp_path / "nowhere")
    assert "\n" not in str(e.value) and "cannot load model" in str(e.value)
    with pytest.raises(ModelLoadError, match=r"cannot load model 'bert-tiny' from google/bert_uncased_L-2_H-128_A-2.*Hub"):
        Encoder.load("bert-tiny")


def test_embedded_default_model_loads_offline():
    enc = Encoder.load("default", device="cpu")
    assert (enc.n_layers, enc.hidden_size) == (6, 384)


def test_model_card_counts_parameters_as_table1(tmp_path):
    """BERT-tiny's config (Table 1: 2 layers, 2 heads, width 128, 4.4 M parameters), saved locally: the card reads
    it without weights."""
    from transformers import BertConfig
    from closerlook.paper import table1
    from closerlook.representations import model_card
    BertConfig(vocab_size=30522, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
               intermediate_size=512).save_pretrained(tmp_path)
    card = model_card(tmp_path)
    tiny = table1().set_index("model").loc["bert-tiny"]
    assert (card["layers"], card["heads"], card["width"], card["params_m"]) == \
        (tiny.layers, tiny.heads, tiny.width, tiny.params_m)


def test_model_table_has_the_papers_five_and_the_embedded_model_offline():
    from closerlook.representations import DEFAULT_MODEL, model_table
    table = model_table([DEFAULT_MODEL]).set_index("model")
    assert list(table.index[:5]) == ["bert-tiny", "bert-mini", "bert-small", "bert-medium", "bert-base"]
    assert table.loc[DEFAULT_MODEL, ["layers", "heads", "width"]].tolist() == [6, 12, 384]
    assert table.loc["bert-base", "params_m (paper)"] == 110.1


def test_loading_is_quiet_unless_weights_are_missing(tmp_path, capfd):
    """transformers' loading report and bars stay out of a notebook (they were a red block at every load); a
    checkpoint that lacks weights the model needs (initialised at random) is said, in one warning."""
    import json
    import shutil
    import warnings as w
    from conftest import make_tiny_bert
    from closerlook.representations import Encoder
    folder = make_tiny_bert(tmp_path / "tiny")
    capfd.readouterr()
    with w.catch_warnings():
        w.simplefilter("error")               # no warning at all for a complete checkpoint
        Encoder.load(folder)
    out, err = capfd.readouterr()
    assert "LOAD REPORT" not in out + err and "Loading weights" not in out + err and err.strip() == ""
    short = tmp_path / "short"
    shutil.copytree(folder, short)
    config = json.loads((short / "config.json").read_text())
    config["num_hidden_layers"] += 1          # a layer the weights do not have
    (short / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match=r"weight\(s\) not loaded .* initialised at random \(encoder\.layer\.2"):
        Encoder.load(short)


def test_the_vocabulary_fingerprint_is_computed_once_and_follows_an_added_token(tiny_bert):
    from closerlook.representations import Encoder
    enc = Encoder.load(tiny_bert, device="cpu")
    first = enc.vocab_fingerprint
    assert enc.vocab_fingerprint == first == Encoder.load(tiny_bert, device="cpu").vocab_fingerprint
    enc.tokenizer.add_tokens(["qqzzxyy"])
    assert enc.vocab_fingerprint != first
