"""Profiles are validated on load: unknown keys and wrong types are errors naming the key and the file."""
import pytest
import yaml

from closerlook.params import PARAMS_DIR, ParamsError, load_params


@pytest.mark.parametrize("name", ["default", "full", "smoke", "paper"])
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
    p.pop("name")    # the file's name names the profile
    change(p)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(p))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda p: p.update(epochs=3), r"unknown key 'epochs'"),
    (lambda p: p.update(analysis={"conventions": "theirs"}), r"'analysis.conventions' = 'theirs': 'exact'"),
    (lambda p: p["probe"].update(seed=[1]), r"unknown key 'probe.seed'"),
    (lambda p: p["probe"].update(max_iter="many"), r"'probe.max_iter' must be int, got 'many'"),
    (lambda p: p["probe"].update(hidden_sizes=[[32, "x"]]), r"'probe.hidden_sizes\[0\]\[1\]' must be int"),
    (lambda p: p["finetune"].update(lr="fast"), r"'finetune.lr' must be float"),
    (lambda p: p.update(tasks=["pos", "ner"]), r"'tasks' = 'ner': a task is one of"),
    (lambda p: p.pop("probe"), r"missing key\(s\) probe"),
    (lambda p: p.update(dynamics_model="bert-base"), r"'dynamics_model' = 'bert-base': one of the 'models' labels"),
    # ranges, and task names under data:
    (lambda p: p["data"]["max_train_sentences"].update(ps_role=200), r"'data.max_train_sentences.ps_role' = 200: keys are the profile's tasks"),
    (lambda p: p["data"]["max_train_sentences"].update(pos=0), r"'data.max_train_sentences.pos' = 0: at least 1"),
    (lambda p: p["data"]["max_train_sentences"].update(pos=-5), r"= -5: at least 1"),
    (lambda p: p["finetune"].update(snapshots=1), r"'finetune.snapshots' = 1: at least 2"),
    (lambda p: p["finetune"].update(epochs={"default": -1}), r"'finetune.epochs.default' = -1: at least 1"),
    (lambda p: p["finetune"].update(epochs={"default": 1, "bert-x": 2}), r"'finetune.epochs.bert-x' = 2: keys are 'default' or a model label"),
    (lambda p: p["finetune"].update(warmup=1.5), r"'finetune.warmup' = 1.5: a fraction"),
    (lambda p: p["finetune"].update(lr=0), r"'finetune.lr' = 0.0: a learning rate above 0"),
    (lambda p: p["directprobe"].update(rate=5.0), r"'directprobe.rate' = 5.0: a fraction of the merge history"),
    (lambda p: p["probe"].update(hidden_sizes=[[0, 0]]), r"'probe.hidden_sizes\[0\]' = \[0, 0\]: two hidden sizes"),
    (lambda p: p["probe"].update(hidden_sizes=[]), r"'probe.hidden_sizes' = \[\]: at least one"),
    (lambda p: p.update(tasks=[]), r"'tasks' = \[\]: name at least one"),
    (lambda p: p["directprobe"].update(dynamics_layers=[1, 99, "first"]), r"'directprobe.dynamics_layers\[2\]' = 'first'"),
    (lambda p: p["directprobe"].update(n_jobs=0), r"'directprobe.n_jobs' = 0: a number of worker processes"),
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


def test_float_written_as_yaml_reads_it(tmp_path):
    """YAML 1.1 reads 3e-4 (no dot) as a string; a user will type it."""
    path = tmp_path / "quick.yaml"
    path.write_text((PARAMS_DIR / "smoke.yaml").read_text().replace("lr: 3.0e-4", "lr: 3e-4")
                    .replace("name: smoke", "name: quick"))
    assert "lr: 3e-4" in path.read_text()
    assert load_params(path)["finetune"]["lr"] == 3e-4


def test_profile_by_name_or_file():
    assert load_params("smoke")["name"] == "smoke"
    assert load_params(PARAMS_DIR / "smoke.yaml")["name"] == "smoke"
    with pytest.raises(ParamsError, match=r"no such profile: 'smok' \(a YAML file, or one of: default, full, paper, smoke\)"):
        load_params("smok")
    with pytest.raises(ParamsError, match="no such profile file"):
        load_params("nowhere/profile.yaml")


@pytest.mark.parametrize("section, key", [("finetune", "lr"), ("directprobe", "rate"), ("finetune", "snapshots"),
                                          ("probe", "max_iter"), ("directprobe", "dynamics_layers")])
def test_a_key_the_code_reads_is_required(tmp_path, section, key):
    """A profile without one loaded, and the chapter failed with a KeyError minutes later."""
    path = _write(tmp_path, lambda p: p[section].pop(key))
    with pytest.raises(ParamsError, match=rf"missing key\(s\) {section}.{key}"):
        load_params(path)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "inf"])
def test_numbers_are_finite(tmp_path, value):
    """lr: .inf was accepted, and a NaN run was cached as complete."""
    path = _write(tmp_path, lambda p: None)
    path.write_text(path.read_text().replace("lr: 0.0003", f"lr: {value}"))
    assert f"lr: {value}" in path.read_text()
    with pytest.raises(ParamsError, match=r"'finetune.lr' = .*: a finite number"):
        load_params(path)


def test_a_key_given_twice_is_an_error(tmp_path):
    path = tmp_path / "twice.yaml"
    smoke = (PARAMS_DIR / "smoke.yaml").read_text()
    first, second = smoke.splitlines().index("probe:") + 1, len(smoke.splitlines()) + 1
    path.write_text(smoke.replace("name: smoke", "name: twice") + "probe:\n  max_iter: 5\n")
    with pytest.raises(ParamsError, match=rf"key 'probe' appears twice \(lines {first} and {second}\)"):
        load_params(path)


def test_the_file_names_the_profile(tmp_path):
    """A copy of a profile still named after the original would write over the original's results."""
    copy = tmp_path / "mine.yaml"
    copy.write_text((PARAMS_DIR / "default.yaml").read_text())
    with pytest.raises(ParamsError, match=r"'name' = 'default', but the file is mine.yaml.*set name: mine"):
        load_params(copy)
    copy.write_text(copy.read_text().replace("name: default", "name: mine"))
    assert load_params(copy)["name"] == "mine"
    copy.write_text("\n".join(l for l in copy.read_text().splitlines() if not l.startswith("name:")))
    assert load_params(copy)["name"] == "mine"          # no name: the file's
    outside = tmp_path / "default.yaml"                  # the name of a profile in params/, elsewhere
    outside.write_text((PARAMS_DIR / "default.yaml").read_text())
    with pytest.raises(ParamsError, match=r"a profile named 'default' is in params/ already"):
        load_params(outside)
    odd = tmp_path / "-x.yaml"
    odd.write_text(copy.read_text())
    with pytest.raises(ParamsError, match=r"use letters, digits"):
        load_params(odd)


def test_the_template_for_ones_own_tasks_loads_and_names_every_key(tmp_path):
    """params/template/mine.yaml, copied beside a treebank as the README says, is a valid profile whose defined
    tasks load; it shows every top-level key a profile can have."""
    import shutil
    from closerlook import data
    from closerlook.params import SCHEMA
    shutil.copy(PARAMS_DIR / "template" / "mine.yaml", tmp_path / "mine.yaml")
    shutil.copy(data.fetch("ud-english-pud/en_pud-ud-test.conllu"), tmp_path / "treebank.conllu")
    params = load_params(tmp_path / "mine.yaml")
    assert params["tasks"] == ["pos", "xpos", "number"]
    xpos, number = data.load_task("xpos", "train"), data.load_task("number", "test")
    assert xpos.kind == number.kind == "word" and {"Sing", "Plur"} <= set(number.label_set)
    assert len(xpos.sentences) == 800                  # test_fraction 0.2 of PUD's 1,000 sentences
    text = (PARAMS_DIR / "template" / "mine.yaml").read_text()
    assert all(f"\n{key}:" in text or f"\n# {key}:" in text or text.startswith(f"{key}:") for key in SCHEMA), \
        [k for k in SCHEMA if f"\n{k}:" not in text]
