"""The claims ledger on synthetic results: each of the three verdicts, and the interval rule behind them."""
import numpy as np
import pytest

from closerlook import claims as C
from closerlook.ledger import ledger_table


def _vectors(n_pairs, noise, seed):
    """A train and a test distance vector whose correlation falls as `noise` grows."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(1, 5, n_pairs)
    return base + rng.normal(0, 0.05, n_pairs), base + rng.normal(0, noise, n_pairs)


def _drop_case(name, n_pairs, noise_before, noise_after, seeds=(0, 1, 2)):
    """Train/test distance vectors before and after fine-tuning; the test set's noise sets each similarity."""
    out = []
    for s in seeds:
        rng = np.random.default_rng(s)
        base = rng.uniform(1, 5, n_pairs)
        train = base + rng.normal(0, 0.05, n_pairs)
        before, after = base + rng.normal(0, noise_before, n_pairs), base + rng.normal(0, noise_after, n_pairs)
        drop, low, high = C.bootstrap_pearson_drop(train, before, train, after)
        out.append({"seed": s, "drop": drop, "low": low, "high": high})
    return {"case": name, "seeds": out}


def test_similarity_drop_yields_each_verdict():
    clear = _drop_case("clear drop", 300, 0.1, 2.0)          # many pairs, a large drop: interval above 0
    assert C.similarity_drops([clear]).verdict == C.HOLDS
    assert C.similarity_drops([]).verdict == C.UNTESTABLE
    # A small drop over few label pairs: every point estimate is above 0, but the bootstrap interval spans 0.
    small = _drop_case("small drop", 6, 0.6, 0.9)
    assert all(s["drop"] > 0 for s in small["seeds"]), small
    assert any(s["low"] <= 0 for s in small["seeds"]), small
    claim = C.similarity_drops([clear, small])
    # Without the interval rule (a verdict read off the point estimates) this would say "holds".
    assert claim.verdict == C.FAILS
    assert "not supported" in claim.reason and "small drop" in claim.reason
    rise = _drop_case("rise", 300, 2.0, 0.1)
    assert C.similarity_drops([rise]).verdict == C.FAILS
    assert "rises" in C.similarity_drops([rise]).reason


def test_threshold_claim_needs_the_lower_end_above_the_threshold():
    above = {"case": "layer 6", "r": 0.8, "low": 0.7, "high": 0.9}
    near = {"case": "layer 4", "r": 0.56, "low": 0.45, "high": 0.66}   # point above 0.5, interval reaches it
    held = C.higher_layers_correlated([above])
    assert held.verdict == C.HOLDS and held.margin == pytest.approx(0.2)
    failed = C.higher_layers_correlated([above, near])
    assert failed.verdict == C.FAILS and "reaches 0.5" in failed.reason
    assert failed.margin == pytest.approx(-0.05)
    assert C.higher_layers_correlated([]).verdict == C.UNTESTABLE


def test_seed_rule_every_seed_must_agree():
    grows = {"task": "pos", "seeds": [{"seed": s, "change": {"NOUN": 0.3, "VERB": 0.2}} for s in range(3)]}
    assert C.every_label_grows([grows]).verdict == C.HOLDS
    one_seed_shrinks = {"task": "pos", "seeds": grows["seeds"][:2] + [{"seed": 2, "change": {"NOUN": 0.3, "VERB": -0.01}}]}
    claim = C.every_label_grows([one_seed_shrinks])
    assert claim.verdict == C.FAILS and "pos/VERB" in claim.reason
    assert C.every_label_grows([]).verdict == C.UNTESTABLE


def test_accuracy_and_hurt_claims():
    cases = [{"case": f"m/{t}", "original": [80, 81, 80.5, 80.2, 80.8], "fine-tuned": [85, 86, 85.5, 85.1, 85.9]}
             for t in "abcd"]
    assert C.accuracy_improves(cases).verdict == C.HOLDS
    flat = {"case": "m/e", "original": [80, 82, 81, 79, 83], "fine-tuned": [81, 80, 83, 80, 82]}
    assert C.accuracy_improves(cases + [flat]).verdict == C.HOLDS          # one case may fail to improve
    assert C.accuracy_improves(cases + [flat, dict(flat, case="m/f")]).verdict == C.FAILS
    # No case hurts beyond its interval: the claim about the hurt case cannot be tested.
    no_hurt = [{"case": "m/a", "gain": 1.0, "gain_high": 2.0, "similarity": 0.5}]
    assert C.hurt_diverges_most(no_hurt).verdict == C.UNTESTABLE
    hurt = no_hurt + [{"case": "m/b", "gain": -2.0, "gain_high": -1.0, "similarity": 0.3}]
    assert C.hurt_diverges_most(hurt).verdict == C.HOLDS
    hurt[0]["similarity"] = 0.1
    assert C.hurt_diverges_most(hurt).verdict == C.FAILS


def test_bootstrap_interval_covers_the_estimate_and_shrinks_with_pairs():
    u, v = _vectors(20, 0.5, 0)
    r, low, high = C.bootstrap_pearson(u, v)
    assert low <= r <= high
    U, V = _vectors(2000, 0.5, 0)
    R, LOW, HIGH = C.bootstrap_pearson(U, V)
    assert HIGH - LOW < (high - low) / 3
    with pytest.raises(ValueError):
        C.bootstrap_pearson([1, 2], [1, 2])


def test_ledger_joins_profiles_and_explains_differences():
    a = C.similarity_drops([_drop_case("x", 300, 0.1, 2.0)]).to_dict()
    b = C.similarity_drops([_drop_case("x", 300, 2.0, 0.1)]).to_dict()
    t = C.similarity_drops([]).to_dict()
    table = ledger_table({"default": [b], "full": [a], "smoke": [t]})
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["default: verdict"], row["full: verdict"], row["smoke: verdict"]) == (C.FAILS, C.HOLDS, C.UNTESTABLE)
    assert "default: does not hold" in row["where they differ"] and "full: holds" in row["where they differ"]
    same = ledger_table({"default": [a], "full": [a]}).iloc[0]
    assert same["where they differ"] == ""


def test_claim_rejects_an_unknown_verdict():
    with pytest.raises(ValueError):
        C.Claim("x", "s", "c", "p", "o", "yes", "r")


# --- the chapters' claim helpers (tables in, claims out) ------------------------------------------------------

HOLDS, FAILS, UNTESTABLE = C.HOLDS, C.FAILS, C.UNTESTABLE

def test_primer_claims_follow_their_inputs():
    from closerlook.claims import primer
    ok = primer(5, 2, 3, 3, 0.95)
    assert [c.verdict for c in ok] == [HOLDS, HOLDS, HOLDS]
    bad = primer(2, 2, 4, 3, 0.85)
    assert [c.verdict for c in bad] == [FAILS, FAILS, FAILS]


def test_linearity_claims_from_rows():
    from closerlook.claims import linearity
    rows = [{"model": "m", "task": t, "rep": rep, "clusters": n, "linear": lin}
            for t, (a, b) in {"pos": (30, 17), "dep": (46, 46)}.items()
            for rep, n, lin in (("original", a, a == 17 or a == 46), ("fine-tuned", b, True))]
    trec = [{"model": "m", "rep": "original", "#clusters, twins kept (authors)": 52,
             "#clusters, twins dropped (ours)": 50, "labels": 50}]
    simpler, linear, kept, dropped = linearity(rows, trec)
    assert simpler.verdict == HOLDS and linear.verdict == HOLDS
    assert kept.verdict == HOLDS and dropped.verdict == FAILS        # 52 > 50 labels; 50 = 50 is linear
    rows[1]["clusters"] = 40                                          # pos: more clusters after than before
    assert linearity(rows, [])[0].verdict == FAILS and linearity(rows, [])[2].verdict == UNTESTABLE


def test_cross_task_claims_from_rows():
    from closerlook.claims import cross_task
    nan = float("nan")
    rows = [{"fine-tuned on": "original", "average inc": nan, "accs": [80, 80.5, 79.5]},
            {"fine-tuned on": "ps-fxn", "average inc": 2.0, "accs": [90, 90.5, 89.5]},
            {"fine-tuned on": "ps-role", "average inc": 1.0, "accs": [85, 85.5, 84.5]},
            {"fine-tuned on": "pos", "average inc": -1.0, "accs": [70, 70.5, 69.5]}]
    distances, accuracy = cross_task(rows)
    assert distances.verdict == HOLDS and accuracy.verdict == HOLDS
    rows[2]["average inc"] = 3.0                                      # the related task widens more than the own
    assert cross_task(rows)[0].verdict == FAILS


def test_cross_task_claims_hold_only_for_every_pairing_of_fine_tuning_seeds():
    """Seed 0 alone orders PS-fxn above PS-role clearly; seed 1 reverses both gaps. Pooled, the means would still
    order them (own 2.9 > related 1.9, accuracy 88.3 > 86.0), and each seed's probe seeds agree closely, so only
    the rule over fine-tuning seeds can say "does not hold"."""
    from closerlook.claims import cross_task
    nan = float("nan")

    def row(name, seed, inc, acc):
        return {"fine-tuned on": name, "seed": seed, "average inc": inc, "accs": [acc - 0.2, acc, acc + 0.2]}

    rows = [row("original", None, nan, 80), row("ps-fxn", 0, 4.0, 91), row("ps-fxn", 1, 1.8, 85.6),
            row("ps-role", 0, 1.0, 84), row("ps-role", 1, 2.8, 88), row("pos", 0, -1.0, 70)]
    distances, accuracy = cross_task(rows)
    assert distances.verdict == FAILS and "own > related" in distances.reason
    assert accuracy.verdict == FAILS and "ps-fxn seed 1 > ps-role seed 1" in accuracy.reason
    assert distances.details["seeds"]["ps-fxn"] == {"0": 4.0, "1": 1.8}
    one_seed = [r for r in rows if r["seed"] in (None, 0)]
    assert [c.verdict for c in cross_task(one_seed)] == [HOLDS, HOLDS]
    rows[2] = row("ps-fxn", 1, 3.5, 90)                               # seed 1 now agrees with seed 0
    distances, accuracy = cross_task(rows)
    assert distances.verdict == HOLDS and accuracy.verdict == HOLDS and "every pairing" in accuracy.reason


def test_layer_behavior_claims_from_tables():
    from closerlook.claims import layer_behavior
    final = [{"task": "pos", "layer": 4, "final similarity": 0.8, "low": 0.7, "high": 0.9},
             {"task": "pos", "layer": 2, "final similarity": 0.2, "low": 0.1, "high": 0.3}]   # layer 2 is not "higher"
    ranges = [{"task": "pos", "seed": s, "layer": l, "range": r} for s in (0, 1) for l, r in ((1, 1.0), (6, 5.0))]
    correlated, moves = layer_behavior(final, ranges, higher_layers=[4, 6], low_layer=1, high_layer=6)
    assert correlated.verdict == HOLDS and moves.verdict == HOLDS and "2 of 2" in moves.ours
    ranges[0]["range"] = 9.0                                          # seed 0: layer 1 moves more than layer 6
    assert layer_behavior(final, ranges, [4, 6], 1, 6)[1].verdict == FAILS


def test_min_distance_tables():
    from closerlook.experiments import min_distance_summary, seed_change_rows
    curves = {"pos": ([0, 5, 10], {"NOUN": [1.0, 0.8, 2.0], "VERB": [1.0, 1.2, 0.9]})}
    (row,) = min_distance_summary(curves)
    assert (row["grew"], row["shrank"], row["dipped along the way"]) == (1, 1, 2)
    assert row["mean change"] == pytest.approx((1.0 - 0.1) / 2)
    changes = [{"task": "pos", "seeds": [{"seed": 0, "change": {"NOUN": 1.0, "VERB": -0.1}, "mean_change": 0.45}]}]
    assert seed_change_rows(changes) == [{"task": "pos", "seed": 0, "labels": 2, "grew": 1, "mean change": 0.45}]


def test_seed_flips_name_the_cross_task_seeds_that_disagree(tmp_path):
    import json
    from closerlook.ledger import seed_flips
    table5 = [{"fine-tuned on": "original", "seed": None, "average inc": None, "acc": 80.0},
              {"fine-tuned on": "ps-fxn", "seed": 0, "average inc": 4.0, "acc": 91.0},
              {"fine-tuned on": "ps-fxn", "seed": 1, "average inc": 3.5, "acc": 85.0},
              {"fine-tuned on": "ps-role", "seed": 0, "average inc": 1.0, "acc": 84.0},
              {"fine-tuned on": "ps-role", "seed": 1, "average inc": 1.2, "acc": 88.0},
              {"fine-tuned on": "pos", "seed": 0, "average inc": -1.0, "acc": 70.0}]
    (tmp_path / "04_cross_task.json").write_text(json.dumps({"numbers": {"table5": table5}}))
    flips = seed_flips(tmp_path)
    assert flips == ["§4.4: PS-fxn's probe accuracy is larger after PS-fxn fine-tuning than after PS-role "
                     "fine-tuning in seeds [0], not in [1]"]
    table5[2]["acc"] = 89.0
    (tmp_path / "04_cross_task.json").write_text(json.dumps({"numbers": {"table5": table5}}))
    assert seed_flips(tmp_path) == []


def test_verdicts_are_marked_in_the_text_not_only_in_colour():
    """JupyterLab drops a Styler's <style> block from an untrusted notebook: the mark in the cell survives it."""
    import re
    from closerlook.report import claims_table
    claims = [{"id": "a", "section": "§4.1", "claim": "x", "paper": "p", "ours": "o", "verdict": v, "reason": "r"}
              for v in ("holds", "does not hold", "not testable here")]
    html = claims_table(claims).to_html()
    cells = re.sub(r"<style.*?</style>", "", html, flags=re.S)        # what an untrusted notebook shows
    for text in ("✔ holds", "✘ does not hold", "– not testable here"):
        assert text in cells
    assert "background-color: #f6d6d6" in html
