"""The functions whose results are cached on disk, as thin wrappers that stay put. Read the note before editing.

joblib.Memory keys a cached function by its source text, and it reads that text from the file *at call time*,
at the line number the running code was compiled with. So a cached function in a module that is edited while a
process runs (a lib/ file changed while a JupyterLab kernel works, a checkout under a long run) looks "changed"
to that process, and joblib wipes the function's whole cache. That happened once to the full profile's run: every
DirectProbe fit gone. The wrappers below are the only cached functions; they call the real code elsewhere, which
can be edited freely. When a change makes earlier results wrong, add a wrapper with the next version number (a new
name is a new cache folder); never edit or move the ones above it.
"""


def directprobe_v1(X, y, rate):
    from .experiments import _fit_directprobe
    return _fit_directprobe(X, y, rate)


def clusters_with_twins_v1(X, y, rate):
    from .experiments import _clusters_with_twins
    return _clusters_with_twins(X, y, rate)


def probe_v1(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction, n_jobs):
    from .probes import _probe_result
    return _probe_result(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction, n_jobs)


def probe_torch_v1(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction):
    from .probes import _probe_result_torch
    return _probe_result_torch(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction)


# Below the wrappers: lines here do not move them.

# Where each wrapper's results lived before it existed (same arguments, so joblib's entry names are the same).
LEGACY = {"directprobe_v1": "closerlook/experiments/_fit_directprobe",
          "clusters_with_twins_v1": "closerlook/experiments/_clusters_with_twins",
          "probe_v1": "closerlook/probes/_probe_result",
          "probe_torch_v1": "closerlook/probes/_probe_result_torch"}


def cached(store: str, func, **kwargs):
    """``func`` (a wrapper above) cached with joblib under cache_dir()/store. Entries found in its legacy folder
    (written by an older version, which may still be running) are moved in, so that nothing is computed again."""
    from joblib import Memory
    from .data import cache_dir
    root = cache_dir() / store
    new = root / "closerlook" / "cachekeys" / func.__name__
    old = root / LEGACY.get(func.__name__, "-")
    if old.is_dir():
        new.mkdir(parents=True, exist_ok=True)
        for entry in old.iterdir():
            if entry.is_dir() and not (new / entry.name).exists():
                try:
                    entry.rename(new / entry.name)
                except OSError:   # another process moved it first
                    pass
    return Memory(root, verbose=0).cache(func, **kwargs)
