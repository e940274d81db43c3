"""Classifier probes: the paper's two-layer MLP with grid search and five seeds (§2.1, Table 7).

Two ways to train the same probe (``backend``): scikit-learn's MLPClassifier, one fit at a time (the reference,
as in the paper), or ``batched_mlp``, which trains many configurations and seeds at once as one torch program
(stacked weights, batched matrix products; on the GPU when there is one) with scikit-learn's model, optimiser,
minibatches and stopping rule.

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
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import check_is_fitted
from .progress import tqdm

from .cachekeys import cached

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


def _check_labels(y, y_test, names=("y", "y_test")):
    """Test labels a probe trained on y can match: of the same kind (text or numbers) and sharing at least one
    label. Else every prediction is wrong and the accuracy 0 says nothing about the representation."""
    text = [np.asarray(v).dtype.kind in "USO" for v in (y, y_test)]
    if text[0] != text[1]:
        kinds = ["text" if t else "numbers" for t in text]
        raise ValueError(f"{names[0]} holds {kinds[0]} and {names[1]} {kinds[1]}: no prediction could match; give "
                         "both the same kind of labels")
    if not np.isin(np.asarray(y_test), np.asarray(y)).any():
        raise ValueError(f"none of the labels of {names[1]} is among those of {names[0]} "
                         f"(e.g. {np.asarray(y_test)[:3].tolist()} vs {np.unique(y)[:3].tolist()})")


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


# --- many MLPs at once (torch) ---------------------------------------------------------------------------------

def _glorot(rng, fan_in, fan_out, rows, cols):
    """scikit-learn's MLP initialisation (uniform, bound sqrt(6 / (fan_in + fan_out))), zero-padded to rows x cols."""
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    W, b = np.zeros((rows, cols), np.float32), np.zeros(cols, np.float32)
    W[:fan_in, :fan_out] = rng.uniform(-bound, bound, (fan_in, fan_out))
    b[:fan_out] = rng.uniform(-bound, bound, fan_out)
    return W, b


def _float_tensor(X, device):
    """X as a float32 tensor on `device`, sharing X's memory where it can. A read-only array (a cached
    representation) is shared too: nothing here writes to it, so torch's warning about such arrays does not apply
    (and would land in a student's notebook)."""
    import torch
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(np.asarray(X, np.float32), device=device)


def batched_mlp(X, y, hidden, alphas, seeds, max_iter=200, batch_size=200, lr=1e-3, tol=1e-4,
                n_iter_no_change=10, device=None, progress=False, precision="float32"):
    """Train len(hidden) two-layer ReLU MLPs at once, model m with hidden sizes hidden[m], L2 weight alphas[m] and
    seed seeds[m]; returns a predict function (X -> (models, n) class indices) and each model's epochs.

    Each model is scikit-learn's MLPClassifier (Adam, lr 1e-3, minibatches of min(200, n) in a fresh order per
    epoch, loss = mean cross-entropy + alpha/2 ||W||^2 / batch, stopping once the epoch loss has not improved by
    `tol` for `n_iter_no_change` epochs in a row, or at max_iter). Smaller models are zero-padded to the largest:
    a padded unit's weights start at 0, get no gradient (ReLU is flat at 0), and stay 0, so it changes nothing.

    precision="bfloat16" runs the matrix products in bfloat16 (weights, Adam and the loss stay float32): 3-4x
    faster products on CPUs with AMX or AVX-512 BF16 and on recent GPUs, at the cost of bit-for-bit agreement.
    """
    import torch
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    X = _float_tensor(X, device)
    classes, y = np.unique(np.asarray(y), return_inverse=True)
    Y = torch.as_tensor(y, device=device)
    n, d = X.shape
    M, C = len(hidden), len(classes)
    H1, H2 = max(h[0] for h in hidden), max(h[1] for h in hidden)
    params = {k: [] for k in ("W1", "b1", "W2", "b2", "W3", "b3")}
    orders = []
    for (h1, h2), seed in zip(hidden, seeds):
        rng = np.random.RandomState(seed)
        for k, (fi, fo, rows, cols) in zip(("1", "2", "3"), ((d, h1, d, H1), (h1, h2, H1, H2), (h2, C, H2, C))):
            W, b = _glorot(rng, fi, fo, rows, cols)
            params["W" + k].append(W)
            params["b" + k].append(b)
        orders.append(np.random.RandomState(seed + 1))
    P = {k: torch.tensor(np.stack(v), device=device, requires_grad=True) for k, v in params.items()}
    alpha = torch.tensor(alphas, dtype=torch.float32, device=device)
    m1 = {k: torch.zeros_like(p) for k, p in P.items()}
    m2 = {k: torch.zeros_like(p) for k, p in P.items()}
    active = torch.ones(M, dtype=torch.bool, device=device)
    best = np.full(M, np.inf)
    stale = np.zeros(M, int)
    epochs = np.zeros(M, int)
    batch = min(batch_size, n)
    t = 0
    for epoch in tqdm(range(max_iter), desc="batched probe", disable=not progress):
        idx = torch.as_tensor(np.stack([o.permutation(n) for o in orders]), device=device)   # (M, n)
        epoch_loss = torch.zeros(M, device=device)
        for start in range(0, n, batch):
            rows = idx[:, start:start + batch]                                  # (M, B)
            xb, yb = X[rows], Y[rows]
            with torch.autocast(device_type=X.device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
                h = torch.relu(torch.baddbmm(P["b1"][:, None], xb, P["W1"]))
                h = torch.relu(torch.baddbmm(P["b2"][:, None], h, P["W2"]))
                logits = torch.baddbmm(P["b3"][:, None], h, P["W3"]).float()
            ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), yb, reduction="none").mean(1)   # (M,)
            l2 = sum((P[k] ** 2).sum((1, 2)) for k in ("W1", "W2", "W3"))
            loss = ce + 0.5 * alpha * l2 / rows.shape[1]
            grads = torch.autograd.grad(loss.sum(), list(P.values()))
            t += 1
            step = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            with torch.no_grad():
                for (k, p), g in zip(P.items(), grads):
                    m1[k].mul_(0.9).add_(g, alpha=0.1)
                    m2[k].mul_(0.999).addcmul_(g, g, value=0.001)
                    update = m1[k] / (m2[k].sqrt() + 1e-8)
                    p.sub_(step * update * active.view(-1, *[1] * (p.dim() - 1)))
                epoch_loss += loss.detach() * rows.shape[1]
        epoch_loss = (epoch_loss / n).cpu().numpy()
        running = active.cpu().numpy()
        epochs[running] += 1
        worse = epoch_loss > best - tol
        stale = np.where(running & worse, stale + 1, np.where(running, 0, stale))
        best = np.where(running, np.minimum(best, epoch_loss), best)
        active &= torch.as_tensor(stale <= n_iter_no_change, device=device)
        if not active.any():
            break

    def predict(Xq):
        with torch.no_grad():
            Xq = _float_tensor(Xq, device).expand(M, -1, -1)
            h = torch.relu(torch.baddbmm(P["b1"][:, None], Xq, P["W1"]))
            h = torch.relu(torch.baddbmm(P["b2"][:, None], h, P["W2"]))
            return classes[torch.baddbmm(P["b3"][:, None], h, P["W3"]).argmax(-1).cpu().numpy()]
    return predict, epochs


class MLPProbe(ClassifierMixin, BaseEstimator):
    """Grid-searched two-layer MLP probe, retrained with several seeds.

    ``backend``: "sklearn" (MLPClassifier, one fit at a time, in parallel over cores) or "torch" (``batched_mlp``:
    the whole grid at once, then every seed at once; on the GPU when there is one). ``precision`` (torch only):
    "float32" or "bfloat16" matrix products (``batched_mlp``).

    Attributes after ``fit``: ``best_params_`` (hidden sizes, alpha), ``grid_scores_`` (held-out accuracy of every
    configuration), ``n_iter_`` (epochs each seed's probe ran), ``classes_``; with scikit-learn also
    ``estimators_`` (one fitted MLP per seed).
    """

    def __init__(self, hidden_sizes=tuple(PAPER_HIDDEN_SIZES), alphas=tuple(PAPER_ALPHAS), seeds=tuple(PAPER_SEEDS),
                 max_iter=1000, validation_fraction=0.1, n_jobs=-1, progress=False, backend="sklearn",
                 precision="float32"):
        self.hidden_sizes = hidden_sizes
        self.alphas = alphas
        self.seeds = seeds
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.progress = progress
        self.backend = backend
        self.precision = precision

    def _fit_many(self, X, y, configs, seeds):
        """One predict function per (hidden, alpha) config and seed, and their epochs."""
        if self.backend == "torch":
            # One batched program per hidden shape: padding a (32, 32) probe to (256, 256) would cost as much as
            # training the large one.
            predicts, epochs = [None] * len(configs), [0] * len(configs)
            for shape in dict.fromkeys(h for h, _ in configs):
                group = [i for i, (h, _) in enumerate(configs) if h == shape]
                predict, ran = batched_mlp(X, y, [shape] * len(group), [configs[i][1] for i in group],
                                           [seeds[i] for i in group], self.max_iter, progress=self.progress,
                                           precision=self.precision)
                for m, i in enumerate(group):
                    predicts[i] = lambda Xq, m=m, predict=predict: predict(Xq)[m]
                    epochs[i] = int(ran[m])
            return predicts, epochs
        fits = Parallel(n_jobs=self.n_jobs)(delayed(_fit_one)(X, y, h, a, s, self.max_iter)
                                            for (h, a), s in zip(configs, seeds))
        self.estimators_ = fits
        return [f.predict for f in fits], [f.n_iter_ for f in fits]

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        _check_grid(self.hidden_sizes, self.alphas, self.seeds, self.max_iter)
        if self.backend not in ("sklearn", "torch"):
            raise ValueError(f"backend must be 'sklearn' or 'torch', got {self.backend!r}")
        if self.precision not in ("float32", "bfloat16") or self.precision != "float32" and self.backend != "torch":
            raise ValueError(f"precision must be 'float32', or 'bfloat16' with the torch backend; got "
                             f"{self.precision!r} with {self.backend!r}")
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        grid = list(itertools.product([tuple(h) for h in self.hidden_sizes], self.alphas))
        if len(grid) > 1:
            X_fit, X_dev, y_fit, y_dev = train_test_split(X, y, test_size=self.validation_fraction,
                                                          random_state=self.seeds[0])
            predicts, _ = self._fit_many(X_fit, y_fit, grid, [self.seeds[0]] * len(grid))
            scores = [float(np.mean(f(X_dev) == y_dev)) for f in predicts]
            self.grid_scores_ = {(h, a): s for (h, a), s in zip(grid, scores)}
            best = grid[int(np.argmax(scores))]
        else:
            self.grid_scores_ = {}
            best = grid[0]
        self.best_params_ = {"hidden_layer_sizes": best[0], "alpha": best[1]}
        self.predict_seeds_, self.n_iter_ = self._fit_many(X, y, [best] * len(self.seeds), list(self.seeds))
        return self

    def seed_scores(self, X, y) -> np.ndarray:
        """Accuracy of each seed's probe."""
        check_is_fitted(self, "predict_seeds_")
        X, y = self._check_query(X), np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X and its labels have different lengths: {len(X)} examples, {len(y)} labels")
        _check_labels(self.classes_, y, ("the training labels", "y"))
        return np.array([float(np.mean(f(X) == y)) for f in self.predict_seeds_])

    def _check_query(self, X):
        X = _check_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the probe was fitted on {self.n_features_in_}")
        return X

    def predict(self, X):
        """The first seed's predictions (each seed is a full probe; scores are reported per seed)."""
        check_is_fitted(self, "predict_seeds_")
        return self.predict_seeds_[0](self._check_query(X))


def _probe_result(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction, n_jobs):
    probe = MLPProbe(hidden_sizes, alphas, seeds, max_iter, validation_fraction, n_jobs, progress=True).fit(X, y)
    accs = probe.seed_scores(X_test, y_test)
    return {"acc_mean": float(accs.mean()), "acc_std": float(accs.std()), "accs": accs.tolist(),
            "best_hidden": list(probe.best_params_["hidden_layer_sizes"]), "best_alpha": probe.best_params_["alpha"],
            # Adam epochs each seed ran: equal to max_iter means the limit, not convergence, stopped it.
            "n_iter": [int(e.n_iter_) for e in probe.estimators_],
            "grid": {f"{h}|{a}": s for (h, a), s in probe.grid_scores_.items()}}


def _torch_result(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction, precision):
    probe = MLPProbe(hidden_sizes, alphas, seeds, max_iter, validation_fraction, progress=True, backend="torch",
                     precision=precision).fit(X, y)
    accs = probe.seed_scores(X_test, y_test)
    return {"acc_mean": float(accs.mean()), "acc_std": float(accs.std()), "accs": accs.tolist(),
            "best_hidden": list(probe.best_params_["hidden_layer_sizes"]), "best_alpha": probe.best_params_["alpha"],
            "n_iter": [int(e) for e in probe.n_iter_],
            "grid": {f"{h}|{a}": s for (h, a), s in probe.grid_scores_.items()}, "backend": "torch",
            **({} if precision == "float32" else {"precision": precision})}


# One function per precision: the cache keys a call by its arguments, defaults included, so the float32 entries
# keep the key they had before there was a choice.
def _probe_result_torch(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction):
    return _torch_result(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction, "float32")


def _probe_result_torch_bf16(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction):
    return _torch_result(X, y, X_test, y_test, hidden_sizes, alphas, seeds, max_iter, validation_fraction, "bfloat16")


def probe_accuracy(X, y, X_test, y_test, hidden_sizes=PAPER_HIDDEN_SIZES, alphas=PAPER_ALPHAS, seeds=PAPER_SEEDS,
                   max_iter=1000, validation_fraction=0.1, n_jobs=-1, cache=True, backend="sklearn",
                   precision="float32") -> dict:
    """Table 7's probe numbers for one representation: test accuracy mean and std over seeds, best sizes.

    Cached on disk (joblib) by the arrays' contents and every setting, so a re-run costs a hash.
    """
    # Everything is checked before any training, so a bad test set fails at once, not minutes later.
    X, y = _check_xy(X, y)
    X_test, y_test = _check_xy(X_test, y_test, "X_test", min_labels=1)
    if X_test.shape[1] != X.shape[1]:
        raise ValueError(f"X_test has {X_test.shape[1]} features, X has {X.shape[1]}")
    _check_labels(y, y_test)
    _check_grid(hidden_sizes, alphas, seeds, max_iter)
    args = (X, y, X_test, y_test, [tuple(h) for h in hidden_sizes], list(alphas), list(seeds), max_iter,
            validation_fraction)
    if precision not in ("float32", "bfloat16") or precision != "float32" and backend != "torch":
        raise ValueError(f"precision must be 'float32', or 'bfloat16' with the torch backend; got {precision!r} "
                         f"with {backend!r}")
    if backend == "torch":
        func, name = ((_probe_result_torch, "probe_torch_v1") if precision == "float32" else
                      (_probe_result_torch_bf16, "probe_torch_bf16_v1"))
        return (cached("probes", name, func) if cache else func)(*args)
    if backend != "sklearn":
        raise ValueError(f"backend must be 'sklearn' or 'torch', got {backend!r}")
    if not cache:
        return _probe_result(*args, n_jobs)
    return cached("probes", "probe_v1", _probe_result, ignore=["n_jobs"])(*args, n_jobs)
