"""Classifier probes: the paper's two-layer MLP with grid search and five seeds (§2.1, Table 7).

The probe is scikit-learn's MLPClassifier, as in the paper: two hidden layers, ReLU, Adam, at most ``max_iter``
iterations (1000 in the paper). Hidden sizes come from {32, 64, 128, 256} x {32, 64, 128, 256} and the L2 weight
from 1e-7 to 1. The configuration is chosen on a held-out part of the *training* set, never on the test set; the
best one is retrained on the whole training set with five seeds, and the test accuracy is reported as mean and
standard deviation.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
from joblib import Memory, Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .data import cache_dir

PAPER_HIDDEN_SIZES = [(a, b) for a in (32, 64, 128, 256) for b in (32, 64, 128, 256)]
PAPER_ALPHAS = [10.0 ** k for k in range(-7, 1)]
PAPER_SEEDS = [0, 1, 2, 3, 4]


def _check_matrix(X, name="X") -> np.ndarray:
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got an array of dtype {X.dtype}")
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (examples x features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


def _check_xy(X, y, name="X", min_labels=2):
    X, y = _check_matrix(X, name), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"{name} and its labels have different lengths: {len(X)} examples, {len(y)} labels")
    if len(np.unique(y)) < min_labels:
        raise ValueError(f"y has {len(np.unique(y))} distinct label(s); a probe needs at least {min_labels}")
    return X, y


def _fit_one(X, y, hidden, alpha, seed, max_iter):
    clf = MLPClassifier(hidden_layer_sizes=tuple(hidden), activation="relu", solver="adam", alpha=alpha,
                        max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def _check_grid(hidden_sizes, alphas, seeds, max_iter):
    if len(hidden_sizes) == 0 or len(alphas) == 0:
        raise ValueError(f"the probe grid is empty ({len(hidden_sizes)} hidden sizes x {len(alphas)} alphas)")
    if any(len(tuple(h)) < 1 or min(h) < 1 for h in hidden_sizes):
        raise ValueError(f"hidden sizes must be at least 1, got {list(hidden_sizes)}")
    if any(a < 0 for a in alphas):
        raise ValueError(f"alphas must be >= 0, got {list(alphas)}")
    if len(seeds) == 0:
        raise ValueError("seeds must name at least one seed")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")


class MLPProbe(ClassifierMixin, BaseEstimator):
    """Grid-searched two-layer MLP probe, retrained with several seeds.

    Attributes after ``fit``: ``best_params_`` (hidden sizes, alpha), ``grid_scores_`` (held-out accuracy of every
    configuration), ``estimators_`` (one fitted MLP per seed), ``classes_``.
    """

    def __init__(self, hidden_sizes=tuple(PAPER_HIDDEN_SIZES), alphas=tuple(PAPER_ALPHAS), seeds=tuple(PAPER_SEEDS),
                 max_iter=1000, validation_fraction=0.1, n_jobs=-1, progress=False):
        self.hidden_sizes = hidden_sizes
        self.alphas = alphas
        self.seeds = seeds
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.progress = progress

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        _check_grid(self.hidden_sizes, self.alphas, self.seeds, self.max_iter)
        self.classes_ = np.unique(y)
        grid = list(itertools.product([tuple(h) for h in self.hidden_sizes], self.alphas))
        if len(grid) > 1:
            X_fit, X_dev, y_fit, y_dev = train_test_split(X, y, test_size=self.validation_fraction,
                                                          random_state=self.seeds[0])
            runs = Parallel(n_jobs=self.n_jobs, return_as="generator")(
                delayed(_fit_one)(X_fit, y_fit, h, a, self.seeds[0], self.max_iter) for h, a in grid)
            scores = [clf.score(X_dev, y_dev) for clf in tqdm(runs, total=len(grid), desc="probe grid",
                                                               disable=not self.progress)]
            self.grid_scores_ = {(h, a): s for (h, a), s in zip(grid, scores)}
            best = grid[int(np.argmax(scores))]
        else:
            self.grid_scores_ = {}
            best = grid[0]
        self.best_params_ = {"hidden_layer_sizes": best[0], "alpha": best[1]}
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(X, y, best[0], best[1], s, self.max_iter) for s in self.seeds)
        return self

    def seed_scores(self, X, y) -> np.ndarray:
        """Accuracy of each seed's probe."""
        check_is_fitted(self, "estimators_")
        X, y = np.asarray(X), np.asarray(y)
        return np.array([clf.score(X, y) for clf in self.estimators_])

    def predict(self, X):
        """The first seed's predictions (each seed is a full probe; scores are reported per seed)."""
        check_is_fitted(self, "estimators_")
        return self.estimators_[0].predict(X)


def _probe_result(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction, n_jobs):
    probe = MLPProbe(hidden_sizes, alphas, seeds, max_iter, validation_fraction, n_jobs, progress=True).fit(X, y)
    accs = probe.seed_scores(X_test, y_test)
    return {"acc_mean": float(accs.mean()), "acc_std": float(accs.std()), "accs": accs.tolist(),
            "best_hidden": list(probe.best_params_["hidden_layer_sizes"]), "best_alpha": probe.best_params_["alpha"],
            # Adam epochs each seed ran: equal to max_iter means the limit, not convergence, stopped it.
            "n_iter": [int(e.n_iter_) for e in probe.estimators_],
            "grid": {f"{h}|{a}": s for (h, a), s in probe.grid_scores_.items()}}


def probe_accuracy(X, y, X_test, y_test, hidden_sizes=PAPER_HIDDEN_SIZES, alphas=PAPER_ALPHAS, seeds=PAPER_SEEDS,
                   max_iter=1000, validation_fraction=0.1, n_jobs=-1, cache=True) -> dict:
    """Table 7's probe numbers for one representation: test accuracy mean and std over seeds, best sizes.

    Cached on disk (joblib) by the arrays' contents and every setting, so a re-run costs a hash.
    """
    # Everything is checked before any training, so a bad test set fails at once, not minutes later.
    X, y = _check_xy(X, y)
    X_test, y_test = _check_xy(X_test, y_test, "X_test", min_labels=1)
    if X_test.shape[1] != X.shape[1]:
        raise ValueError(f"X_test has {X_test.shape[1]} features, X has {X.shape[1]}")
    _check_grid(hidden_sizes, alphas, seeds, max_iter)
    args = (X, y, X_test, y_test, [tuple(h) for h in hidden_sizes], list(alphas), list(seeds), max_iter,
            validation_fraction)
    if not cache:
        return _probe_result(*args, n_jobs)
    memory = Memory(cache_dir() / "probes", verbose=0)
    return memory.cache(_probe_result, ignore=["n_jobs"])(*args, n_jobs)
