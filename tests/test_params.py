"""Profiles are validated on load: unknown keys and wrong types are errors naming the key and the file."""
import pytest
import yaml

from closerlook.params import PARAMS_DIR, ParamsError, load_params


@pytest.mark.parametrize("name", ["default", "smoke", "paper"])
def test_shipped_profiles_load(name):
    p = load_params(name)
    assert p["dynamics_model"] in p["models"] and p["tasks"]


def test_paper_profile_is_the_paper_setting():
    p = load_params("paper")
    assert list(p["models"]) == ["bert-tiny", "bert-mini", "bert-small", "bert-medium", "bert-base"]
    assert p["models"]["bert-base"] == "google/bert_uncased_L-12_H-768_A-12"
    assert len(p["probe"]["hidden_sizes"]) == 16 and min(p["probe"]["alphas"]) == 1e-7 and max(p["probe"]["alphas"]) == 1
    assert p["finetune"]["epochs"] == {"default": 10, "bert-base": 3} and p["finetune"]["lr"] == 3e-4
    assert p["data"]["max_train_sentences"] == {}


def _write(tmp_path, change):
    p = yaml.safe_load((PARAMS_DIR / "smoke.yaml").read_text())
    change(p)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(p))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda p: p.update(epochs=3), r"unknown key 'epochs'"),
    (lambda p: p["probe"].update(seed=[1]), r"unknown key 'probe.seed'"),
    (lambda p: p["probe"].update(max_iter="many"), r"'probe.max_iter' must be int, got 'many'"),
    (lambda p: p["probe"].update(hidden_sizes=[[32, "x"]]), r"'probe.hidden_sizes\[0\]\[1\]' must be int"),
    (lambda p: p["finetune"].update(lr="fast"), r"'finetune.lr' must be float"),
    (lambda p: p.update(tasks=["pos", "ner"]), r"unknown task 'ner'"),
    (lambda p: p.pop("probe"), r"missing key\(s\) probe"),
    (lambda p: p.update(dynamics_model="bert-base"), r"'dynamics_model' 'bert-base' is not one of 'models'"),
    (lambda p: p["finetune"].update(epochs={"minilm": 2}), r"'finetune.epochs' needs a 'default' entry"),
])
def test_bad_profile_names_key_and_file(tmp_path, change, message):
    path = _write(tmp_path, change)
    with pytest.raises(ParamsError, match=message) as e:
        load_params(path)
    assert str(path) in str(e.value)


def test_missing_profile():
    with pytest.raises(ParamsError, match="no such profile"):
        load_params("nonexistent")
