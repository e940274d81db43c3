"""The paper's claims as verdicts, with the uncertainty they rest on.

Every claim ends in one of three states, each with its reason:

- ``holds``: the evidence supports it, and where the verdict rests on a difference or a threshold, the whole
  interval lies on the claim's side;
- ``does not hold``: the evidence contradicts it, or its interval reaches the wrong side (not supported);
- ``not testable here``: the run cannot test it (no case where fine-tuning hurts, no linear space, a task the
  profile leaves out), which is not the same as "no".

Intervals come from two sources. A Pearson similarity gets a bootstrap interval over label pairs (the pairs are
resampled; both vectors of a difference are resampled together). A difference between before and after
fine-tuning gets its spread over fine-tuning seeds: the claim holds for a case only when it holds for every seed,
each seed's own interval included. The functions here take plain numbers, so that each rule is tested on
synthetic results (tests/test_claims.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

HOLDS, FAILS, UNTESTABLE = "holds", "does not hold", "not testable here"
STATES = (HOLDS, FAILS, UNTESTABLE)


@dataclass
class Claim:
    id: str                       # stable across profiles: the ledger joins on it
    section: str                  # the paper's section or figure
    claim: str
    paper: str                    # the paper's evidence
    ours: str                     # our evidence, one line
    verdict: str                  # one of STATES
    reason: str
    interval: list | None = None  # [low, high] of the quantity the verdict rests on, where there is one
    margin: float | None = None   # distance of that quantity's worst case from the claim's threshold
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in STATES:
            raise ValueError(f"verdict must be one of {STATES}, got {self.verdict!r}")

    def to_dict(self) -> dict:
        return asdict(self)


# --- intervals -------------------------------------------------------------------------------------------------

def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of a with the same row of b."""
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    denom = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(1) / denom


def bootstrap_pearson(u, v, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Pearson r of two distance vectors and its percentile bootstrap interval over label pairs: (r, low, high)."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    if u.shape != v.shape or u.ndim != 1 or len(u) < 3:
        raise ValueError(f"need two 1-D vectors of equal length >= 3, got {u.shape} and {v.shape}")
    r = float(_pearson_rows(u[None], v[None])[0])
    idx = np.random.default_rng(seed).integers(0, len(u), (n_boot, len(u)))
    rs = _pearson_rows(u[idx], v[idx])
    low, high = np.nanquantile(rs, [(1 - level) / 2, (1 + level) / 2])
    return r, float(low), float(high)


def bootstrap_pearson_drop(u0, v0, u1, v1, n_boot: int = 2000, level: float = 0.95,
                           seed: int = 0) -> tuple[float, float, float]:
    """r(u0, v0) - r(u1, v1) over the same label pairs, resampled together: (drop, low, high)."""
    u0, v0, u1, v1 = (np.asarray(x, float) for x in (u0, v0, u1, v1))
    if not u0.shape == v0.shape == u1.shape == v1.shape or u0.ndim != 1 or len(u0) < 3:
        raise ValueError("need four 1-D distance vectors over the same label pairs (>= 3)")
    drop = float(_pearson_rows(u0[None], v0[None])[0] - _pearson_rows(u1[None], v1[None])[0])
    idx = np.random.default_rng(seed).integers(0, len(u0), (n_boot, len(u0)))
    drops = _pearson_rows(u0[idx], v0[idx]) - _pearson_rows(u1[idx], v1[idx])
    low, high = np.nanquantile(drops, [(1 - level) / 2, (1 + level) / 2])
    return drop, float(low), float(high)


def mean_difference_interval(a, b, level: float = 0.95) -> tuple[float, float, float]:
    """mean(b) - mean(a) and a Welch t interval (e.g. probe accuracy over probe seeds): (diff, low, high)."""
    from scipy import stats
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, diff, diff
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    t = stats.t.ppf((1 + level) / 2, dof)
    return diff, float(diff - t * se), float(diff + t * se)


def side(low: float, high: float, threshold: float = 0.0) -> str:
    """Where an interval lies against a threshold: 'above', 'below' or 'spans'."""
    if low > threshold:
        return "above"
    if high < threshold:
        return "below"
    return "spans"


def _fmt(x, digits=3):
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:+.{digits}f}"


def _interval_text(low, high, digits=3):
    return f"[{low:+.{digits}f}, {high:+.{digits}f}]"


# --- the paper's evidence, computed from its tables (closerlook.paper), never typed ------------------------------

def paper_evidence() -> dict[str, str]:
    """The paper's evidence for each table-based claim, read off Tables 5 and 7."""
    from .paper import table5, table7
    t7, t5 = table7(), table5().set_index("finetuned_on")
    wide = t7.pivot_table(index=["model", "task"], columns="rep", values=["acc", "similarity", "clusters", "linear"],
                          aggfunc="first")
    gain = wide["acc"]["fine-tuned"] - wide["acc"]["original"]
    sims = wide["similarity"].dropna()
    hurt = gain[gain <= 0]
    hurt_text = ", ".join(f"{m} {t} ({g:+.2f}, similarity {wide['similarity']['fine-tuned'][(m, t)]:.2f})"
                          for (m, t), g in hurt.items())
    trec = t7[(t7.task == "trec") & (t7.rep == "original")].clusters
    ft = t7[t7.rep == "fine-tuned"]
    order = ["ps-fxn", "ps-role", "original", "pos"]
    return {
        "4.1-accuracy": f"Table 7: {int((gain > 0).sum())} of {len(gain)} improve",
        "4.1-similarity": f"Table 7: {int((sims['fine-tuned'] < sims['original']).sum())} of {len(sims)} defined pairs drop",
        "4.1-hurt": f"Table 7: fine-tuning hurts {hurt_text}",
        "4.2-simpler": f"Table 7: clusters fall or stay in {int((wide['clusters']['fine-tuned'] <= wide['clusters']['original']).sum())} "
                       f"of {len(wide)} cases",
        "4.2-linear": f"Table 7: {int(ft.linear.sum())} of {len(ft)} linear after fine-tuning",
        "4.2-trec": f"Table 4: {trec.min()}-{trec.max()} clusters for 50 labels before fine-tuning",
        "4.4-distances": "Table 5: " + ", ".join(f"{t5.avg_inc[k]:+.2f} ({k})" for k in ("ps-fxn", "ps-role", "pos")),
        "4.4-accuracy": "Table 5: " + " > ".join(f"{t5.acc[k]:.2f} ({k})" for k in order),
    }


def check(cid: str, section: str, claim: str, paper: str, ours: str, ok: bool, why: str) -> Claim:
    """A claim decided by one exact check (no sampling behind it, e.g. the primer's toy data): holds when `ok`;
    `why` says what was checked."""
    return Claim(cid, section, claim, paper, ours, HOLDS if ok else FAILS, why if ok else f"not so: {why}")


# --- §4.1 -------------------------------------------------------------------------------------------------------

def accuracy_improves(cases: list[dict], rare: float = 0.05) -> Claim:
    """Fine-tuning improves probe accuracy in all but rare cases (paper: 24 of 25).

    cases: [{"case": "minilm/pos", "original": [acc per probe seed], "fine-tuned": [...]}, ...]. A case improves
    when the whole interval of its gain lies above 0; "rare" allows max(1, rare * n) cases that do not.
    """
    if not cases:
        return Claim("4.1-accuracy", "§4.1, Table 7", "Fine-tuning improves probe accuracy in all but rare cases",
                     paper_evidence()["4.1-accuracy"], "no case", UNTESTABLE, "the profile has no model and task")
    rows, worst = [], None
    for c in cases:
        gain, low, high = mean_difference_interval(c["original"], c["fine-tuned"])
        rows.append((c["case"], gain, low, high, side(low, high)))
        worst = low if worst is None else min(worst, low)
    improved = [r for r in rows if r[4] == "above"]
    allowed = max(1, int(rare * len(rows)))
    not_improved = [f"{r[0]} {_fmt(r[1], 2)} {_interval_text(r[2], r[3], 2)}" for r in rows if r[4] != "above"]
    ours = f"{len(improved)} of {len(rows)} improve (gain interval above 0)"
    if len(rows) - len(improved) <= allowed:
        verdict = HOLDS
        reason = f"at most {allowed} case(s) may fail to improve; " + (
            f"not improved: {'; '.join(not_improved)}" if not_improved else "every gain interval lies above 0")
    else:
        verdict = FAILS
        reason = f"{len(rows) - len(improved)} cases do not improve beyond their interval: {'; '.join(not_improved)}"
    return Claim("4.1-accuracy", "§4.1, Table 7", "Fine-tuning improves probe accuracy in all but rare cases",
                 paper_evidence()["4.1-accuracy"], ours, verdict, reason, margin=worst,
                 details={"gains": {r[0]: {"gain": r[1], "low": r[2], "high": r[3]} for r in rows}})


def similarity_drops(cases: list[dict]) -> Claim:
    """Fine-tuning lowers the train/test spatial similarity (paper: every defined pair drops).

    cases: [{"case": "minilm/ps-fxn", "seeds": [{"seed": 0, "drop": d, "low": l, "high": h}, ...]}, ...] where
    drop = similarity before - after and [low, high] its bootstrap interval over label pairs for that seed. A case
    drops when every seed's interval lies above 0.
    """
    text = "Fine-tuning lowers the train/test spatial similarity"
    if not cases:
        return Claim("4.1-similarity", "§4.1, Tables 2 and 7", text, paper_evidence()["4.1-similarity"],
                     "no defined pair", UNTESTABLE,
                     "no representation is linear on both its training and its test set before and after fine-tuning")
    verdicts, parts, lows, highs = [], [], [], []
    for c in cases:
        lo = min(s["low"] for s in c["seeds"])
        hi = max(s["high"] for s in c["seeds"])
        lows.append(lo)
        highs.append(hi)
        sides = {side(s["low"], s["high"]) for s in c["seeds"]}
        verdicts.append("above" if sides == {"above"} else "below" if sides == {"below"} else "spans")
        drops = ", ".join(_fmt(s["drop"]) for s in c["seeds"])
        parts.append(f"{c['case']} drop {drops} over {len(c['seeds'])} seed(s), interval {_interval_text(lo, hi)}")
    n_drop = verdicts.count("above")
    ours = f"{n_drop} of {len(cases)} defined pairs drop in every seed"
    if n_drop == len(cases):
        verdict, reason = HOLDS, "every case's interval (all seeds) lies above 0: " + "; ".join(parts)
    else:
        rises = [p for p, v in zip(parts, verdicts) if v == "below"]
        spans = [p for p, v in zip(parts, verdicts) if v == "spans"]
        reason = "; ".join(([f"rises (every seed's interval below 0): {'; '.join(rises)}"] if rises else []) +
                           ([f"not supported (an interval reaches 0): {'; '.join(spans)}"] if spans else []))
        verdict = FAILS
    return Claim("4.1-similarity", "§4.1, Tables 2 and 7", text, paper_evidence()["4.1-similarity"], ours, verdict,
                 reason, interval=[min(lows), max(highs)], margin=min(lows))


def hurt_diverges_most(cases: list[dict]) -> Claim:
    """Where fine-tuning hurts, train and test diverge most (paper: BERT-small PS-fxn, similarity 0.44).

    cases: [{"case": ..., "gain": acc gain, "gain_high": upper end of its interval, "similarity": fine-tuned
    train/test similarity or None}, ...]. A case hurts when its gain interval lies below 0.
    """
    text = "Where fine-tuning hurts, train and test diverge most"
    paper = paper_evidence()["4.1-hurt"]
    hurt = [c for c in cases if c["gain_high"] < 0]
    if not hurt:
        return Claim("4.1-hurt", "§4.1, Table 2", text, paper, "fine-tuning hurt no case", UNTESTABLE,
                     "no case where fine-tuning lowers accuracy beyond its interval, so there is nothing to compare")
    defined = {c["case"]: c["similarity"] for c in cases if c.get("similarity") is not None}
    undefined = [c["case"] for c in hurt if c["case"] not in defined]
    if undefined:
        return Claim("4.1-hurt", "§4.1, Table 2", text, paper, f"hurt: {', '.join(undefined)}", UNTESTABLE,
                     "the similarity of a case where fine-tuning hurts is not defined (not linear)")
    smallest = min(defined, key=defined.get)
    names = ", ".join(f"{c['case']} (similarity {defined[c['case']]:.3f})" for c in hurt)
    ours = f"hurt: {names}; smallest similarity: {smallest} {defined[smallest]:.3f}"
    ok = all(defined[c["case"]] == defined[smallest] for c in hurt)
    return Claim("4.1-hurt", "§4.1, Table 2", text, paper, ours, HOLDS if ok else FAILS,
                 "the hurt case has the smallest similarity" if ok else "another case diverges more")


# --- §4.2 -------------------------------------------------------------------------------------------------------

def space_simpler(cases: list[dict]) -> Claim:
    """Fine-tuning makes the space simpler: no more clusters after than before.

    cases: [{"case": ..., "original": n, "fine-tuned": [n per seed]}, ...].
    """
    text = "Fine-tuning makes the space simpler (no more clusters than before)"
    paper = paper_evidence()["4.2-simpler"]
    if not cases:
        return Claim("4.2-simpler", "§4.2, Tables 3 and 4", text, paper, "no case", UNTESTABLE, "no model and task")
    bad = [f"{c['case']} {c['original']} -> {max(c['fine-tuned'])}" for c in cases if max(c["fine-tuned"]) > c["original"]]
    seeds = max(len(c["fine-tuned"]) for c in cases)
    ours = f"{len(cases) - len(bad)} of {len(cases)} cases (every seed of {seeds})"
    return Claim("4.2-simpler", "§4.2, Tables 3 and 4", text, paper, ours, FAILS if bad else HOLDS,
                 ("more clusters after fine-tuning: " + "; ".join(bad)) if bad else
                 "in every case and seed the fine-tuned space has at most as many clusters",
                 margin=float(min(c["original"] - max(c["fine-tuned"]) for c in cases)))


def mostly_linear_after(cases: list[dict]) -> Claim:
    """After fine-tuning most representations are linear. cases: [{"case": ..., "linear": [bool per seed]}]."""
    text = "After fine-tuning most representations are linear"
    paper = paper_evidence()["4.2-linear"]
    if not cases:
        return Claim("4.2-linear", "§4.2, Table 7", text, paper, "no case", UNTESTABLE, "no model and task")
    counts = [sum(bool(c["linear"][k]) for c in cases if k < len(c["linear"]))
              for k in range(max(len(c["linear"]) for c in cases))]
    ours = f"{min(counts)}-{max(counts)} of {len(cases)} linear over {len(counts)} seed(s)" if len(counts) > 1 else \
        f"{counts[0]} of {len(cases)} linear"
    ok = min(counts) > len(cases) / 2
    return Claim("4.2-linear", "§4.2, Table 7", text, paper, ours, HOLDS if ok else FAILS,
                 "a majority is linear in every seed" if ok else "in some seed at most half are linear",
                 margin=float(min(counts) - len(cases) / 2))


def trec_not_linear(original_clusters: int | None, labels: int | None, handling: str,
                    paper: str | None = None) -> Claim:
    """TREC-50 is not linear before fine-tuning (Table 4), under one handling of the conflicting question."""
    text = "TREC-50 is not linear before fine-tuning"
    paper = paper or paper_evidence()["4.2-trec"]
    if handling not in ("kept", "dropped"):
        raise ValueError(f"handling is 'kept' or 'dropped', got {handling!r}")
    cid = f"4.2-trec-{handling}"
    text += " (the question asked twice kept, as the authors' code does)" if handling == "kept" else \
        " (the question asked twice dropped, as ours does)"
    if original_clusters is None:
        return Claim(cid, "§4.2, Table 4", text, paper, "TREC-50 not run", UNTESTABLE,
                     "the profile leaves TREC-50 out")
    ours = f"{original_clusters} clusters for {labels} labels"
    ok = original_clusters > labels
    return Claim(cid, "§4.2, Table 4", text, paper, ours, HOLDS if ok else FAILS,
                 "more clusters than labels" if ok else "one cluster per label: linear")


# --- §4.3 -------------------------------------------------------------------------------------------------------

def every_label_grows(cases: list[dict]) -> Claim:
    """Every label's minimum distance grows during fine-tuning (Figures 2 and 6).

    cases: [{"task": ..., "seeds": [{"seed": s, "change": {label: last - first}}, ...]}, ...]. A label grows when
    its change is above 0 in every seed.
    """
    text = "Every label's minimum distance grows during fine-tuning"
    paper = "Figures 2 and 6: all labels of all four tasks"
    if not cases:
        return Claim("4.3-every-label", "§4.3, Figures 2 and 6", text, paper, "no linear task", UNTESTABLE,
                     "no task is linear before and after fine-tuning, so no label has a minimum distance")
    n, grew, shrank, worst = 0, 0, [], None
    for c in cases:
        labels = set().union(*(s["change"] for s in c["seeds"]))
        for lab in sorted(labels):
            changes = [s["change"][lab] for s in c["seeds"] if lab in s["change"]]
            n += 1
            worst = min(changes) if worst is None else min(worst, min(changes))
            if min(changes) > 0:
                grew += 1
            else:
                shrank.append(f"{c['task']}/{lab} {min(changes):+.3f}")
    seeds = max(len(c["seeds"]) for c in cases)
    ours = f"{grew} of {n} labels grew in every seed ({seeds}) over {len(cases)} task(s)"
    return Claim("4.3-every-label", "§4.3, Figures 2 and 6", text, paper, ours, HOLDS if grew == n else FAILS,
                 "every label's change is above 0 in every seed" if grew == n else
                 f"{len(shrank)} label(s) shrank in some seed: " + ", ".join(shrank[:8]) + (" ..." if len(shrank) > 8 else ""),
                 margin=worst)


def labels_move_apart(cases: list[dict]) -> Claim:
    """On average labels move apart: the mean change of the minimum distances is above 0 for every task and seed.

    cases: [{"task": ..., "seeds": [{"seed": s, "mean_change": m}, ...]}, ...].
    """
    text = "On average labels move apart"
    paper = "§4.3: the gaps between label clusters enlarge"
    if not cases:
        return Claim("4.3-mean", "§4.3", text, paper, "no linear task", UNTESTABLE, "no task is linear")
    lows = {c["task"]: min(s["mean_change"] for s in c["seeds"]) for c in cases}
    highs = {c["task"]: max(s["mean_change"] for s in c["seeds"]) for c in cases}
    ours = "mean change " + ", ".join(f"{t} [{lows[t]:+.3f}, {highs[t]:+.3f}]" for t in lows)
    bad = [t for t in lows if lows[t] <= 0]
    return Claim("4.3-mean", "§4.3", text, paper, ours, FAILS if bad else HOLDS,
                 ("not above 0 in every seed: " + ", ".join(bad)) if bad else "above 0 for every task in every seed",
                 interval=[min(lows.values()), max(highs.values())], margin=min(lows.values()))


def close_labels_split_late(first: list[float], last: list[float], first_layer, last_layer) -> Claim:
    """Close labels move apart more in the last layer than in the first (Figure 3): mean centroid shift of the
    three closest POS labels, one value per seed."""
    text = "Close labels move apart more in the last layer than in the first"
    paper = "Figure 3: layer-1 paths overlap, layer-12 paths diverge"
    if not first:
        return Claim("4.3-figure3", "§4.3, Figure 3", text, paper, "POS not run", UNTESTABLE, "the profile leaves POS out")
    diffs = [b - a for a, b in zip(first, last)]
    def spread(values):     # one seed: its value; several: their range
        return f"{values[0]:.3f}" if len(values) == 1 else f"{min(values):.3f}-{max(values):.3f}"
    ours = (f"mean centroid shift, layer {first_layer} {spread(first)} vs layer {last_layer} {spread(last)} "
            f"({len(diffs)} seed(s))")
    ok = min(diffs) > 0
    return Claim("4.3-figure3", "§4.3, Figure 3", text, paper, ours, HOLDS if ok else FAILS,
                 "larger in the last layer in every seed" if ok else "not larger in the last layer in every seed",
                 interval=[min(diffs), max(diffs)], margin=min(diffs))


# --- §4.4 -------------------------------------------------------------------------------------------------------

def cross_task_distances(changes: dict) -> Claim:
    """PS-fxn's label gaps: own task widens them most, a related task less, an opposing task shrinks them.

    changes: {"ps-fxn": {fine-tuning seed: mean change}, "ps-role": ..., "pos": ...} (None where PS-fxn is not
    linear under that model). With several seeds a step holds only when it holds for every pairing of them: the
    smallest own change above the largest related one, every related one above 0, every opposing one below 0.
    """
    text = "Distances: own task widens gaps most, a related task less, an opposing task shrinks them"
    paper = paper_evidence()["4.4-distances"]
    order = ("ps-fxn", "ps-role", "pos")
    per_seed = {t: {s: v for s, v in changes.get(t, {}).items() if v is not None} for t in order}
    missing = [t for t in order if not per_seed[t]]
    if missing:
        return Claim("4.4-distances", "§4.4, Table 5", text, paper, f"no value for {missing}", UNTESTABLE,
                     "a fine-tuning task is not run, or PS-fxn is not linear under it")
    own, related, opposing = (list(per_seed[t].values()) for t in order)
    if all(len(v) == 1 for v in (own, related, opposing)):
        ours = f"{own[0]:+.3f} (PS-fxn), {related[0]:+.3f} (PS-role), {opposing[0]:+.3f} (POS)"
    else:
        ours = ", ".join(f"{min(v):+.3f}..{max(v):+.3f} ({name}, {len(v)} seed(s))" for v, name in
                         ((own, "PS-fxn"), (related, "PS-role"), (opposing, "POS")))
    checks = {"own > related": min(own) > max(related), "related > 0": min(related) > 0,
              "opposing < 0": max(opposing) < 0}
    failed = [k for k, v in checks.items() if not v]
    several = any(len(v) > 1 for v in (own, related, opposing))
    reason = "own > related > 0 > opposing" + (" in every fine-tuning seed" if several else "")
    return Claim("4.4-distances", "§4.4, Table 5", text, paper, ours, FAILS if failed else HOLDS,
                 ("fails: " + ", ".join(failed) + (" (over the fine-tuning seeds)" if several else "")) if failed
                 else reason, margin=min(min(own) - max(related), min(related), -max(opposing)),
                 details={"seeds": {t: {str(s): v for s, v in per_seed[t].items()} for t in order}})


def cross_task_accuracy(acc: dict) -> Claim:
    """PS-fxn probe accuracy: own > related > original > opposing.

    acc: {name: {fine-tuning seed: [accuracy per probe seed]}} (the original model's one seed is None). A step holds
    when the interval of its accuracy gap over probe seeds lies above 0 for every pairing of fine-tuning seeds:
    the probe seeds alone do not see how much another fine-tuning draw moves an accuracy.
    """
    text = "Accuracy: own > related > original > opposing"
    paper = paper_evidence()["4.4-accuracy"]
    order = ["ps-fxn", "ps-role", "original", "pos"]
    per_seed = {k: {s: v for s, v in acc.get(k, {}).items() if v} for k in order}
    if any(not per_seed[k] for k in order):
        return Claim("4.4-accuracy", "§4.4, Table 5", text, paper, "a model is missing", UNTESTABLE,
                     "a fine-tuning task is not run")
    several = any(len(per_seed[k]) > 1 for k in order)
    ours = " > ".join(f"{np.mean([np.mean(a) for a in per_seed[k].values()]):.2f} ({k})" for k in order)
    if several:
        ours += " (mean over fine-tuning seeds: " + ", ".join(f"{k} {len(per_seed[k])}" for k in order
                                                             if k != "original") + ")"
    steps = []
    for a, b in zip(order, order[1:]):
        worst = None
        for sa, acc_a in per_seed[a].items():
            for sb, acc_b in per_seed[b].items():
                gap, low, high = mean_difference_interval(acc_b, acc_a)
                if worst is None or low < worst[2]:
                    worst = (f"{a}{f' seed {sa}' if len(per_seed[a]) > 1 else ''} > "
                             f"{b}{f' seed {sb}' if len(per_seed[b]) > 1 else ''}", gap, low, high)
        steps.append(worst)
    bad = [f"{s[0]}: {s[1]:+.2f} {_interval_text(s[2], s[3], 2)}" for s in steps if s[2] <= 0]
    spread = "the probe seeds' spread" + (", for every pairing of fine-tuning seeds" if several else "")
    return Claim("4.4-accuracy", "§4.4, Table 5", text, paper, ours, FAILS if bad else HOLDS,
                 (f"not supported beyond {spread}: " + "; ".join(bad)) if bad else
                 "each step's interval over probe seeds lies above 0" +
                 (" for every pairing of fine-tuning seeds" if several else ""), margin=min(s[2] for s in steps))


# --- §4.5 -------------------------------------------------------------------------------------------------------

def higher_layers_correlated(cases: list[dict], threshold: float = 0.5) -> Claim:
    """Higher layers stay correlated with their original version (> 0.5) (Figure 4).

    cases: [{"case": "pos/layer 4", "r": final similarity, "low": bootstrap low, "high": bootstrap high}, ...].
    Holds when every lower end is above the threshold; the margin is the smallest lower end minus the threshold.
    """
    text = f"Higher layers stay correlated with their original (> {threshold})"
    paper = "Figure 4: BERT-base layers 8-12 stay above 0.5"
    if not cases:
        return Claim("4.5-correlated", "§4.5, Figure 4", text, paper, "no linear higher layer", UNTESTABLE,
                     "no higher layer is linear at the start of fine-tuning, so no similarity is defined")
    low = min(c["low"] for c in cases)
    ours = ", ".join(f"{c['case']} {c['r']:.2f} [{c['low']:.2f}, {c['high']:.2f}]" for c in cases)
    worst = min(cases, key=lambda c: c["low"])
    if low > threshold:
        verdict, reason = HOLDS, f"every interval lies above {threshold} (margin {low - threshold:+.3f})"
    else:
        how = "lies below" if worst["high"] < threshold else "reaches"
        verdict, reason = FAILS, (f"{worst['case']}: interval [{worst['low']:.3f}, {worst['high']:.3f}] {how} "
                                  f"{threshold}")
    return Claim("4.5-correlated", "§4.5, Figure 4", text, paper, ours, verdict, reason,
                 interval=[low, max(c["high"] for c in cases)], margin=low - threshold)


def lower_layers_move_less(ranges: list[dict]) -> Claim:
    """Lower layers' labels move within a smaller range than higher layers' (Figure 5).

    ranges: [{"task": ..., "seed": s, "low_layer": range, "high_layer": range}, ...].
    """
    text = "Lower layers' labels move in a smaller range than higher layers'"
    paper = "Figure 5: layer 2 spans about -3..3, layer 12 about -12..13"
    if not ranges:
        return Claim("4.5-ranges", "§4.5, Figure 5", text, paper, "no task", UNTESTABLE, "no task with labels to move")
    ratios = [r["high_layer"] / r["low_layer"] for r in ranges if r["low_layer"] > 0]
    bad = [f"{r['task']} (seed {r['seed']}) {r['low_layer']:.2f} vs {r['high_layer']:.2f}" for r in ranges
           if not r["low_layer"] < r["high_layer"]]
    tasks = sorted({r["task"] for r in ranges})
    seeds = sorted({r["seed"] for r in ranges})
    ours = (f"{len(ranges) - len(bad)} of {len(ranges)} (task, seed) cases, {len(tasks)} task(s) x {len(seeds)} "
            f"seed(s); high/low range ratio {min(ratios):.2f}-{max(ratios):.2f}")
    return Claim("4.5-ranges", "§4.5, Figure 5", text, paper, ours, FAILS if bad else HOLDS,
                 ("not smaller: " + "; ".join(bad)) if bad else "the lowest stored layer's range is the smaller in every case",
                 interval=[min(ratios), max(ratios)], margin=min(ratios) - 1)


def layer_behavior(final_similarity: list[dict], ranges: list[dict], higher_layers, low_layer, high_layer) -> list[Claim]:
    """§4.5's two claims from chapter 05's tables: the final similarity of the higher layers (rows of
    ``experiments.layer_similarity``) and the ranges of centroid shifts (rows of ``experiments.shift_ranges``),
    compared between the lowest and the highest stored layer."""
    correlated = [{"case": f"{r['task']}/layer {r['layer']}", "r": r["final similarity"], "low": r["low"],
                   "high": r["high"]} for r in final_similarity if r["layer"] in higher_layers]
    by_case: dict = {}
    for r in ranges:
        by_case.setdefault((r["task"], r["seed"]), {})[r["layer"]] = r["range"]
    moves = [{"task": t, "seed": s, "low_layer": by_layer[low_layer], "high_layer": by_layer[high_layer]}
             for (t, s), by_layer in sorted(by_case.items())]
    return [higher_layers_correlated(correlated), lower_layers_move_less(moves)]


def cross_task(rows: list[dict]) -> list[Claim]:
    """§4.4's two claims from the rows of ``experiments.cross_task_rows`` (one per model and fine-tuning seed):
    distances and accuracy."""
    changes, accs = {}, {}
    for r in rows:
        name, seed = r["fine-tuned on"], r.get("seed")
        accs.setdefault(name, {})[seed] = r["accs"]
        if name != "original":
            changes.setdefault(name, {})[seed] = None if r["average inc"] != r["average inc"] else float(r["average inc"])
    return [cross_task_distances(changes), cross_task_accuracy(accs)]


def linearity(rows: list[dict], trec_rows: list[dict]) -> list[Claim]:
    """§4.2's claims from chapter 02's tables: the Table 7 rows (``experiments.table7_rows``: clusters and linearity,
    original and fine-tuned) and the TREC-50 rows (``experiments.trec_twins_rows``), whose first model's original
    representation is judged both ways."""
    def key(r):
        return f"{r['model']}/{r['task']}"
    simpler = [{"case": key(r), "original": r["clusters"],
                "fine-tuned": [f["clusters"] for f in rows if f["rep"] == "fine-tuned" and key(f) == key(r)]}
               for r in rows if r["rep"] == "original"]
    linear_after = [{"case": key(r), "linear": [r["linear"]]} for r in rows if r["rep"] == "fine-tuned"]
    first = next((r for r in trec_rows if r["rep"] == "original"), None)
    labels = None if first is None else int(first["labels"])
    return [space_simpler(simpler), mostly_linear_after(linear_after),
            trec_not_linear(None if first is None else int(first["#clusters, twins kept (authors)"]), labels, "kept"),
            trec_not_linear(None if first is None else int(first["#clusters, twins dropped (ours)"]), labels, "dropped")]


def primer(circle_clusters: int, circle_labels: int, blob_clusters: int, blob_labels: int, heldout_accuracy: float) -> list[Claim]:
    """§2.2's three claims on the primer's toys: a circular boundary needs more clusters than labels, linearly
    separable labels get one cluster each, and the clusters classify held-out points (accuracy above 0.9)."""
    return [check("2.2-circle", "§2.2, Figure 1", "A circular boundary is not linear: more clusters than labels",
                  "Figure 1 (right): the outer label is cut into several clusters",
                  f"{circle_clusters} clusters for {circle_labels} labels", circle_clusters > circle_labels,
                  "more clusters than labels"),
            check("2.2-blobs", "§2.2", "Linearly separable labels give one cluster per label",
                  "§2.2, 'Number of Clusters'", f"{blob_clusters} clusters for {blob_labels} labels",
                  blob_clusters == blob_labels, "one cluster per label"),
            check("2.2-classifier", "§2.2", "The clusters support a nearest-hull classifier",
                  "§2.2: decision boundaries pass between clusters", f"held-out accuracy {heldout_accuracy:.3f}",
                  heldout_accuracy > 0.9, "held-out accuracy above 0.9")]
