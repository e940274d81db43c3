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
