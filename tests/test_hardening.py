"""Bad input gives one clear line; two processes on one cache never break each other (issue: hardening)."""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import MIRROR, REPO
from closerlook.representations import Encoder, ModelLoadError


def _env(cache: Path) -> dict:
    return dict(os.environ, CLOSERLOOK_CACHE_DIR=str(cache), CLOSERLOOK_DATA_DIR=str(MIRROR), HF_HUB_OFFLINE="1",
                PYTHONPATH=str(REPO / "lib"))


def _cli(args, cache, timeout=600):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=_env(cache),
                          timeout=timeout, cwd=REPO)


# --- two processes, one cache -----------------------------------------------------------------------------------

FINETUNE = textwrap.dedent("""
    import sys
    from closerlook.data import load_task
    from closerlook.finetune import FinetuneConfig, finetune
    from closerlook.representations import Encoder
    enc = Encoder.load(sys.argv[1], device="cpu")
    train, test = load_task("pos", "train").subset(64), load_task("pos", "test").subset(10)
    run = finetune(enc, train, test, FinetuneConfig(lr=3e-3, batch_size=8, epochs=2, snapshots=3), progress=False)
    print(run.folder.name, run.snapshot(2).sum())
""")


def test_two_fine_tunings_of_one_run_share_a_cache(tiny_bert, tmp_path):
    """Before: the second process deleted the first one's live temporary folder (FileNotFoundError)."""
    cache = tmp_path / "cache"
    procs = []
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, "-c", FINETUNE, str(tiny_bert)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=_env(cache)))
        time.sleep(2)
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert outs[0][0] == outs[1][0]                              # the same run, the same numbers
    runs = [p for p in (cache / "finetune").iterdir() if p.is_dir()]
    assert len(runs) == 1 and (runs[0] / "COMPLETE").exists(), runs


def test_a_dead_process_leaves_no_trace_that_matters(tiny_bert, tmp_path):
    """A temporary folder of a killed run is removed by the next run, which completes."""
    cache = tmp_path / "cache"
    p = subprocess.Popen([sys.executable, "-c", FINETUNE, str(tiny_bert)], env=_env(cache),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if list((cache / "finetune").glob("*.tmp*/snapshots/000.npz")) if (cache / "finetune").exists() else []:
            break
        time.sleep(0.1)
    p.kill()
    p.wait()
    assert list((cache / "finetune").glob("*.tmp*"))
    done = subprocess.run([sys.executable, "-c", FINETUNE, str(tiny_bert)], capture_output=True, text=True,
                          env=_env(cache), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list((cache / "finetune").glob("*.tmp*"))


REPRESENT = textwrap.dedent("""
    import sys, time
    import closerlook.representations as r
    from closerlook.data import load_task
    enc = r.Encoder.load(sys.argv[1], device="cpu")
    real = r.Encoder.embed
    def slow(self, *a, **k):
        print("computed", flush=True)
        time.sleep(3)
        return real(self, *a, **k)
    r.Encoder.embed = slow
    X = r.represent(enc, load_task("pos", "test").subset(20), progress=False)
    print(X.shape, float(X.sum()))
""")


def test_two_processes_compute_representations_once(tiny_bert, tmp_path):
    """Before: both processes did all the work."""
    cache = tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, "-c", REPRESENT, str(tiny_bert)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env(cache)) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert sum(o[0].count("computed") for o in outs) == 1
    assert outs[0][0].splitlines()[-1] == outs[1][0].splitlines()[-1]
    assert len(list((cache / "representations").glob("*.npy"))) == 1


# --- command lines: one line on stderr, non-zero exit, never a traceback ----------------------------------------

@pytest.mark.parametrize("args, message", [
    (["closerlook.finetune", "--task", "ner"], "invalid choice: 'ner'"),
    (["closerlook.finetune", "--task", "pos", "--epochs", "0"], "error: fine-tuning setting epochs = 0: at least 1"),
    (["closerlook.finetune", "--task", "pos", "--model", "./no/such/model"], "no such folder ./no/such/model"),
    (["closerlook.representations", "--tasks", "ner"], "invalid choice: 'ner'"),
    (["closerlook.representations", "--tasks", "pos", "--model", "/no/such/model"], "no such folder /no/such/model"),
    # before: a traceback from torch ("Torch not compiled with CUDA enabled")
    pytest.param(["closerlook.representations", "--tasks", "pos", "--device", "cuda"], "sees no GPU; use --device cpu",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")),
    # before: exit 0 and every value "None -> None"
    (["closerlook.provenance", "/no/such/run", "/no/other/run"], "not a run folder (no numbers/ inside)"),
    (["closerlook.provenance", "--record-golden", "/no/such/run", "golden.json"], "not a run folder"),
])
def test_command_lines_end_a_known_failure_with_one_line(args, message, tmp_path):
    proc = _cli(args, tmp_path / "cache", timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and message in proc.stderr, proc.stderr
    assert len([l for l in proc.stderr.splitlines() if l.startswith(("error", "python -m"))]) == 1


def test_corrupt_data_file_is_one_line_before_the_model_loads(tmp_path):
    mirror = tmp_path / "mirror"
    for name in ("ud-english-pud/en_pud-ud-test.conllu",):
        (mirror / name).parent.mkdir(parents=True)
        (mirror / name).write_bytes((MIRROR / name).read_bytes()[:5000])
    proc = subprocess.run([sys.executable, "-m", "closerlook.finetune", "--task", "pos", "--data-dir", str(mirror),
                           "--model", "bert-tiny"], capture_output=True, text=True, env=_env(tmp_path / "c"), timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "sha256 mismatch" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_unreadable_data_mirror_is_one_line(tmp_path, monkeypatch, capsys):
    """Before: python -m closerlook.data ended in a traceback when a mirror file could not be read (permissions;
    the tests run as root, who reads every file, so the read is made to fail)."""
    from closerlook import data
    path = MIRROR / "ud-english-pud" / "en_pud-ud-test.conllu"

    def unreadable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(data, "summary", unreadable)
    with pytest.raises(SystemExit) as e:
        data.main([])
    assert str(e.value) == f"error: cannot read {path}: Permission denied"


def test_a_cache_folder_that_cannot_be_written_is_one_line(tmp_path):
    """Before: a traceback after the first notebook."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, str(REPO / "run_all.py"), "--no-book", "--params", "smoke", "--only",
                           "00_directprobe_primer", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env=_env(blocker / "cache"), timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        f"error: the cache folder {blocker / 'cache'} is not writable (Not a directory): every expensive block is "
        "kept there; set CLOSERLOOK_CACHE_DIR to a folder you can write"]


def test_a_stamp_cut_short_means_not_up_to_date(tmp_path, monkeypatch):
    """Before: a 0-byte stamp (a full disk while it was written) crashed every later run until --force."""
    sys.path.insert(0, str(REPO))
    import run_all
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    stamp = run_all._stamp("01_divergence", tmp_path / "out")
    stamp.parent.mkdir(parents=True)
    for text in ("", "{", "[]", '{"inputs": 1'):
        stamp.write_text(text)
        assert run_all.up_to_date("01_divergence", "digest", tmp_path / "out") is False


def test_a_copied_profile_writes_under_its_own_name(tmp_path):
    """Before: a copy of default.yaml still named default wrote over the committed results/default."""
    mine = tmp_path / "mine.yaml"
    mine.write_text((REPO / "params" / "smoke.yaml").read_text())
    proc = subprocess.run([sys.executable, str(REPO / "run_all.py"), "--no-book", "--params", str(mine), "--only",
                           "00_directprobe_primer"], capture_output=True, text=True, env=_env(tmp_path / "c"),
                          timeout=120)
    assert proc.returncode == 2
    assert "'name' = 'smoke', but the file is mine.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_help_describes_every_option_with_its_default():
    for module, options in (("closerlook.finetune", ["--model", "--task", "--epochs", "--snapshots", "--lr",
                                                     "--warmup", "--batch-size", "--seed", "--data-dir"]),
                            ("closerlook.representations", ["--model", "--tasks", "--data-dir", "--device"])):
        text = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                              env=_env(Path("/tmp")), timeout=60).stdout
        flat = " ".join(text.split())
        for option in options:
            assert option in flat, (module, option)
        assert flat.count("(default:") >= len(options) - 1, flat


# --- models, sentences, probes, readers, downloads, cached probes -----------------------------------------------

def test_model_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match=r"is not a model \(no config.json; a model folder holds"):
        Encoder.load(tmp_path)
    with pytest.raises(ModelLoadError, match="no such folder"):
        Encoder.load(tmp_path / "missing" / "model")


def test_long_sentence_named_even_when_it_is_not_first_in_its_batch(tiny_bert):
    from closerlook.data import TaskData
    enc = Encoder.load(tiny_bert, device="cpu")
    short, long = "The cat sat on the mat .".split(), ["word"] * 200
    data = TaskData("pos", "train", [short, long], np.array([[0, 0], [1, 0]]), np.array(["D", "N"]))
    with pytest.raises(ValueError) as e:
        enc.embed(data, progress=False)
    assert "'word word" in str(e.value) and "The cat" not in str(e.value) and "202 subword tokens" in str(e.value)


def test_equal_weights_share_caches_whatever_the_name(tiny_bert):
    a, b = Encoder.load(tiny_bert, device="cpu"), Encoder.load(tiny_bert, device="cpu")
    b.name = "another name"
    assert a.identity() == b.identity()


def test_truncated_vis_file_is_an_error(tmp_path):
    from closerlook.data import DataFormatError, read_vis
    text = (MIRROR / "streusle/streusle.ud_dev.vis").read_text(encoding="utf-8")
    cut = tmp_path / "cut.vis"
    cut.write_text(text[: len(text) // 2].rsplit(" ", 1)[0], encoding="utf-8")
    with pytest.raises(DataFormatError, match="ends in the middle of a line"):
        read_vis(cut)
    whole = tmp_path / "whole.vis"
    whole.write_text(text, encoding="utf-8")
    assert len(read_vis(whole)) > 0


def test_failed_download_leaves_no_empty_folder(tmp_path, monkeypatch):
    import pooch
    from closerlook import data
    monkeypatch.delenv("CLOSERLOOK_DATA_DIR", raising=False)
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))

    def offline(*a, **k):
        raise ConnectionError("no network")
    monkeypatch.setattr(pooch, "retrieve", lambda *a, path=None, **k: (Path(path).mkdir(parents=True), offline())[1])
    with pytest.raises(data.DataError, match="not available"):
        data.fetch("trec/TREC_10.label")
    assert not (tmp_path / "cache" / "data" / "trec").exists()


def test_a_cached_directprobe_can_predict_score_and_measure(tmp_path, monkeypatch):
    from closerlook import experiments as ex
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (30, 2)), rng.normal(3, 1, (30, 2))]).astype(np.float32)
    y = np.repeat(["a", "b"], 30)
    X = np.vstack([X, X[:1]])        # one point repeated under the other label: left out, and said so
    y = np.append(y, "b")
    params = {"directprobe": {"rate": 0.05}}
    first = ex.directprobe(params, X, y)
    again = ex.directprobe(params, X, y)          # from the cache
    assert again.dropped_rows_.tolist() == [0, 60]
    assert again.score(X[1:60], y[1:60]) == 1.0
    assert again.hull_distances(X[1:3]).shape == (2, again.n_clusters_)
    assert first.n_clusters_ == again.n_clusters_ == 2


def test_a_notebook_executed_with_the_same_inputs_is_up_to_date(tmp_path):
    """run_all.py executes a notebook again only when something it reads changed (its source, the library, the
    profile, the packages) or what it left was touched; --force executes it anyway."""
    def run(*extra):
        proc = subprocess.run([sys.executable, str(REPO / "run_all.py"), "--no-book", "--params", "smoke", "--only",
                               "00_directprobe_primer", "--out", str(tmp_path / "out"), "--figures",
                               str(tmp_path / "figures"), *extra], capture_output=True, text=True,
                              env=_env(tmp_path / "cache"), timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return [line for line in proc.stdout.splitlines() if line.startswith("[run_all] 00_directprobe_primer:")]

    assert run()[0].startswith("[run_all] 00_directprobe_primer: ok")
    assert run()[0].startswith("[run_all] 00_directprobe_primer: up to date")
    figures = sorted((tmp_path / "figures").iterdir())
    assert figures                                      # what it left includes its figures
    figures[0].write_bytes(b"changed")
    assert run()[0].startswith("[run_all] 00_directprobe_primer: ok")
    assert run("--force")[0].startswith("[run_all] 00_directprobe_primer: ok")
    assert run()[0].startswith("[run_all] 00_directprobe_primer: up to date")
    numbers = tmp_path / "out" / "numbers" / "00_directprobe_primer.json"
    numbers.write_text(numbers.read_text().replace("{", "{ ", 1))
    assert run()[0].startswith("[run_all] 00_directprobe_primer: ok")


def test_run_all_stops_on_ctrl_c(tmp_path):
    """Before: the interrupted notebook was reported as failed (its kernel died) and the next one started."""
    import signal
    env = _env(tmp_path / "cache")
    proc = subprocess.Popen([sys.executable, str(REPO / "run_all.py"), "--no-book", "--params", "smoke", "--only",
                             "00_directprobe_primer", "01_divergence", "02_linearity", "--out", str(tmp_path / "out" / "smoke"),
                             "--figures", str(tmp_path / "fig")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    time.sleep(8)
    os.killpg(proc.pid, signal.SIGINT)                  # as Ctrl-C does: run_all, its kernel and its workers
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err[-2000:]
    started = [l.split()[1] for l in out.splitlines() if l.endswith(" ...")]
    ended = [l.split()[1].rstrip(":") for l in out.splitlines() if " in " in l and l.endswith(" s")]
    # Every notebook stopped (one per lane: 01_divergence beside the primer on 2 cores) is named, none other.
    [line] = [l for l in out.splitlines() if "interrupted in" in l]
    stopped = line.split("interrupted in ", 1)[1].split(":", 1)[0].split(", ")
    assert sorted(stopped) == sorted(set(started) - set(ended)) and stopped, out
    assert "summary" not in out and len(started) <= 2   # nothing started after the interrupted ones
    # Before: up to 504 lines of the kernel's traceback followed, logged by asyncio for the destroyed tasks.
    assert out.rstrip().splitlines()[-1].startswith("[run_all] interrupted in"), out[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]


def test_directprobe_fits_made_ahead_in_parallel_are_the_ones_read_later(tiny_bert, tmp_path, monkeypatch):
    """``fit_directprobes_ahead`` fits across worker processes into the cache; the sequential reads then hit it and
    give the same probes as a fit made in this process."""
    from closerlook import experiments as ex
    from closerlook.params import load_params
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    params = load_params("smoke")
    params["models"] = {"tiny": str(tiny_bert)}
    params["dynamics_model"] = "tiny"
    params["directprobe"].update(dynamics_layers=[1, "last"], n_jobs=2)
    params["data"]["max_train_sentences"]["pos"] = 20
    fits = [("pos", i, layer, None, "train") for i in range(3) for layer in (1, "last")]
    # joblib keeps its workers between calls, with the environment they started with: started under another cache
    # folder, they wrote their fits there and the reads below made every fit again (CI, 1c5ea0a).
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "another-cache"))
    assert ex.fit_directprobes_ahead(params, "tiny", fits[:2]) == 2
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    assert ex.fit_directprobes_ahead(params, "tiny", fits) == 6
    assert ex.fit_directprobes_ahead(params, "tiny", fits) == 0          # all cached now
    train, _ = ex.task_data(params, "pos")
    for task, i, layer, _, _ in fits:
        cached = ex.snapshot_directprobe(params, "tiny", task, i, layer)
        here = ex._fit_directprobe(ex.snapshot(params, "tiny", task, i, layer), train.labels, 0.01)
        assert cached.n_clusters_ == here.n_clusters_
        assert np.array_equal(cached.labels_, here.labels_)


def test_a_run_found_once_is_remembered_and_checked_again_when_its_folder_goes(tiny_bert, tmp_path, monkeypatch):
    """The warm path: a notebook reads a run hundreds of times; after the first, no data is hashed and no run is
    looked up on disk. A run whose folder was removed (a cleared cache) is trained again, and another setting is
    another run."""
    import shutil
    from closerlook import experiments as ex
    from closerlook.params import load_params
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    params = load_params("smoke")
    params.update(models={"tiny": str(tiny_bert)}, dynamics_model="tiny")
    params["directprobe"].update(dynamics_layers=[1, "last"])
    params["data"]["max_train_sentences"]["pos"] = 20
    trained = []
    real = ex.finetune
    monkeypatch.setattr(ex, "finetune", lambda *a, **k: trained.append(a[3]) or real(*a, **k))
    first = ex.finetuned_run(params, "tiny", "pos")
    assert ex.finetuned_run(params, "tiny", "pos") is first and len(trained) == 1
    shutil.rmtree(first.folder)
    again = ex.finetuned_run(params, "tiny", "pos")
    assert len(trained) == 2 and (again.folder / "COMPLETE").exists()
    params["finetune"]["lr"] = params["finetune"]["lr"] * 2
    assert ex.finetuned_run(params, "tiny", "pos").folder != again.folder and trained[-1].lr == params["finetune"]["lr"]


def test_blocks_go_to_a_dask_cluster_when_a_scheduler_is_named(tiny_bert, tmp_path, monkeypatch):
    """run_all.py --scheduler: fine-tuning runs and DirectProbe fits run on the cluster's workers (here a
    LocalCluster of two processes sharing this machine's cache), and the notebooks' reads hit the cache."""
    from distributed import Client, LocalCluster, get_task_stream
    from closerlook import experiments as ex
    from closerlook.params import load_params
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))   # before the workers start: they inherit it
    params = load_params("smoke")
    params.update(models={"tiny": str(tiny_bert)}, dynamics_model="tiny", tasks=["pos", "trec"])
    params["directprobe"].update(dynamics_layers=[1, "last"])
    params["data"]["max_train_sentences"].update(pos=20, trec=60)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        monkeypatch.setenv(ex.SCHEDULER_ENV, cluster.scheduler_address)
        with get_task_stream(client) as stream:
            runs = ex.finetune_ahead(params)
        assert runs >= 2 and len(stream.data) >= 2           # the two main runs at least, on the workers
        fits = [(task, i, 1, None, "train") for task in ("pos", "trec") for i in range(3)]   # none fitted yet
        with get_task_stream(client) as stream:
            assert ex.fit_directprobes_ahead(params, "tiny", fits) == 6
        assert len(stream.data) >= 6
    monkeypatch.delenv(ex.SCHEDULER_ENV)
    assert ex.fit_directprobes_ahead(params, "tiny", fits) == 0         # every fit is in the shared cache
    assert all(ex.finetuned_run(params, "tiny", t).meta for t in ("pos", "trec"))


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "run_all.py"), "--no-book", "--params", "smoke", "--only", "01_divergence",
                           "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"],
                          capture_output=True, text=True, env=_env(tmp_path / "cache"), timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: CLOSERLOOK_SCHEDULER=tcp://127.0.0.1:9: no Dask")


EDITED_UNDER = textwrap.dedent("""
    import sys
    import numpy as np
    from closerlook import experiments as ex
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (30, 2)), rng.normal(3, 1, (30, 2))]).astype(np.float32)
    y = np.repeat(["a", "b"], 30)
    params = {"directprobe": {"rate": 0.05}}
    for line in sys.stdin:          # one fit per line; say each time whether it was in the cache
        call, args = ex._directprobe_call(params, X, y)
        print("cached" if call.check_call_in_cache(*args) else "computed", flush=True)
        call(*args)
""")


def test_editing_the_library_under_a_running_process_keeps_its_cache(tmp_path):
    """Before: joblib read a cached function's source from the file at call time, at the line the running code was
    compiled with; a line added above it (an edit in JupyterLab, a checkout under a long run) made the running
    process see a "changed" function and wipe every cached DirectProbe fit."""
    import shutil
    lib = tmp_path / "lib"
    shutil.copytree(REPO / "lib" / "closerlook", lib / "closerlook", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(_env(tmp_path / "cache"), PYTHONPATH=str(lib))
    first = subprocess.run([sys.executable, "-c", EDITED_UNDER], input="fit\n", capture_output=True, text=True,
                           env=env, timeout=120)                # an earlier run fills the cache
    assert first.stdout.split() == ["computed"], first.stderr[-2000:]
    proc = subprocess.Popen([sys.executable, "-c", EDITED_UNDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env)                 # the running kernel, which only reads it
    proc.stdin.write("fit\n"); proc.stdin.flush()
    assert proc.stdout.readline().strip() == "cached"
    for name in ("experiments.py", "probes.py"):       # the edit: every line moves down
        path = lib / "closerlook" / name
        path.write_text("# an edit while the kernel runs\n\n" + path.read_text())
    proc.stdin.write("fit\n"); proc.stdin.flush()
    assert proc.stdout.readline().strip() == "cached"
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0


def test_a_cache_from_before_the_stable_keys_is_adopted(tmp_path, monkeypatch):
    """Entries of the old cache folder (joblib's name for experiments._fit_directprobe) are moved to the wrapper's
    folder on first use, so that nothing cached before is computed again."""
    from closerlook import experiments as ex
    from closerlook.cachekeys import LEGACY
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (20, 2)), rng.normal(3, 1, (20, 2))]).astype(np.float32)
    y = np.repeat(["a", "b"], 20)
    params = {"directprobe": {"rate": 0.05}}
    ex.directprobe(params, X, y)
    root = tmp_path / "cache" / "directprobe"
    new = root / "closerlook" / "cachekeys" / "directprobe_v1"
    old = root / LEGACY["directprobe_v1"]
    old.parent.mkdir(parents=True)
    new.rename(old)                                     # as an older version left it
    call, args = ex._directprobe_call(params, X, y)
    assert call.check_call_in_cache(*args)
    assert not any(p.is_dir() for p in old.iterdir())


def test_a_fit_made_in_a_worker_on_a_memmap_is_found_by_the_ndarray_read(tmp_path, monkeypatch):
    """joblib's workers get arrays over 1 MB as memmaps, which hash apart from ndarrays: a fit made ahead on one
    must be stored under the key the sequential read (an ndarray) asks for, or every large fit is made twice."""
    from closerlook import experiments as ex
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (30, 2)), rng.normal(3, 1, (30, 2))]).astype(np.float32)
    y = np.repeat(["a", "b"], 30)
    mm = np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    ex._fit_ahead(np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="r", shape=X.shape), y, 0.05)
    call, args = ex._directprobe_call({"directprobe": {"rate": 0.05}}, X, y)
    assert call.check_call_in_cache(*args)


def test_provenance_calls_a_resumed_run_clean_when_only_its_outputs_changed(tmp_path):
    """A run stopped and started again finds results/ and figures/ written by its first stretch: that is not dirty
    code. A change to anything else tracked is."""
    from closerlook.provenance import code_dirty

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    for name in ["results/full/numbers.json", "figures/full/fig.png", "lib/stage.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("first\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "start")
    assert code_dirty(tmp_path) is False
    (tmp_path / "results/full/numbers.json").write_text("second\n")
    (tmp_path / "figures/full/fig.png").write_text("second\n")
    assert code_dirty(tmp_path) is False
    (tmp_path / "lib/stage.py").write_text("second\n")
    assert code_dirty(tmp_path) is True
    assert code_dirty(tmp_path / "nowhere") is None


def test_an_interrupted_cell_says_one_line_and_stops_the_notebook():
    """Ctrl-C in a chapter's long cell: one line saying what is kept, not a traceback through the library, and
    the notebook stops there (the interrupt is still an error to the kernel's client, e.g. papermill)."""
    import nbclient
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import closerlook.experiments"),
                # Loading a model imports trio, which warns in red if a handler was set before it came.
                nbformat.v4.new_code_cell("from transformers import AutoModel, BertModel"),
                nbformat.v4.new_code_cell("raise KeyboardInterrupt"),
                nbformat.v4.new_code_cell("print('went on')")]
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    assert not nb.cells[0].outputs and not nb.cells[1].outputs, [nb.cells[0].outputs, nb.cells[1].outputs]
    said = nb.cells[2].outputs
    assert len(said) == 1 and said[0]["output_type"] == "stream" and said[0]["text"].count("\n") == 1
    assert said[0]["text"].startswith("Interrupted.") and not nb.cells[3].outputs


def test_provenance_records_the_cpus_bfloat16_instructions_and_the_optimizer(tmp_path, monkeypatch):
    """bfloat16 products are fast only with AMX or AVX-512 BF16 (emulated, 35-100x slower than float32 on an
    AVX2-only CPU): the run's record says which the CPU has, read off /proc/cpuinfo's flags."""
    from pathlib import Path as RealPath
    from closerlook import provenance
    cpuinfo = tmp_path / "cpuinfo"
    real_read = RealPath.read_text

    def read(self, *a, **k):
        return real_read(cpuinfo if str(self) == "/proc/cpuinfo" else self, *a, **k)
    monkeypatch.setattr(RealPath, "read_text", read)
    cpuinfo.write_text("model name\t: X\nflags\t\t: fpu avx2 fma avx512f avx512_bf16 amx_tile amx_bf16\n")
    assert provenance.cpu_bfloat16() == ["amx_bf16", "avx512_bf16"]
    cpuinfo.write_text("model name\t: X\nflags\t\t: fpu avx2 fma\n")
    assert provenance.cpu_bfloat16() == []
    record = provenance.collect()
    assert record["cpu_bfloat16"] == "none" and isinstance(record["fused_adamw"], bool)
    assert record["cpu_capability"] in ("DEFAULT", "AVX2", "AVX512", "NEON", "SVE256", "ZVECTOR", "VSX")
