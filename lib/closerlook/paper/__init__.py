"""The paper's own numbers, typed from ../shared/paper/ into CSV tables (one row per reported value set)."""
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def table7() -> pd.DataFrame:
    """Table 7 (Appendix C): every model x task x (original, fine-tuned). Table 2-4 are slices of it."""
    df = pd.read_csv(HERE / "table7.csv", comment="#", keep_default_na=True)
    df["linear"] = df["linear"] == "Y"
    return df


def table5() -> pd.DataFrame:
    """Table 5 (§4.4): PS-fxn on BERT-base fine-tuned on PS-fxn, PS-role and POS."""
    return pd.read_csv(HERE / "table5.csv", comment="#").fillna({"finetuned_on": "original"})


def table1() -> pd.DataFrame:
    """Table 1 (§3.1): the five BERTs: layers, attention heads, width and parameters (millions)."""
    return pd.read_csv(HERE / "table1.csv", comment="#")


def table6() -> pd.DataFrame:
    """Table 6 (Appendix B): the five tasks: training and test examples, labels, what an example is, its kind."""
    return pd.read_csv(HERE / "table6.csv", comment="#")


def table7_beside(rows: list[dict]) -> pd.DataFrame:
    """Our Table 7 rows (``experiments.table7_rows``) beside the paper's: the same model where the paper has it,
    else its BERT-small (the model of its Table 2). A task the paper does not have (one a profile defined) keeps
    its row, with the paper's columns empty."""
    paper = table7()
    side = []
    for r in rows:
        model = r["model"] if r["model"] in set(paper.model) else "bert-small"
        match = paper[(paper.model == model) & (paper.task == r["task"]) & (paper.rep == r["rep"])]
        p = match.iloc[0] if len(match) else None
        side.append({"model": r["model"], "task": r["task"], "rep": r["rep"],
                     "paper model": model if p is not None else "-",
                     "acc (paper)": p.acc if p is not None else None, "acc (ours)": round(r["acc"], 2),
                     "#clusters (paper)": p.clusters if p is not None else None, "#clusters (ours)": r["clusters"],
                     "similarity (paper)": p.similarity if p is not None else None,
                     "similarity (ours)": round(r["similarity"], 2)})
    return pd.DataFrame(side)
