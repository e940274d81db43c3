"""Figures: saved as PNG and PDF under the paper's figure numbers (e.g. fig01_directprobe_toy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def save_figure(fig, name: str, folder) -> list[Path]:
    """Save a figure as PNG (120 dpi) and PDF under ``folder``; returns both paths.

    The PDF costs as much again as the PNG, and a forced re-run draws mostly the same figures: where the PNG's bytes
    are what is on disk, the PDF beside it is kept. The PDF is written before the PNG, so a run stopped between the
    two leaves an old PNG that no longer matches, and the next run writes both. A change smaller than a pixel at
    120 dpi keeps the PDF of before."""
    import io
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = folder / f"{name}.png", folder / f"{name}.pdf"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    pixels = buffer.getvalue()
    if not (pdf.exists() and png.exists() and png.read_bytes() == pixels):
        fig.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None})   # the same figure, the same bytes
        png.write_bytes(pixels)
    return [png, pdf]


def show_figure(fig, name: str, folder) -> None:
    """Save a figure (PNG and PDF) and show the saved PNG by its relative path: the executed notebook links to the
    one copy under figures/ instead of embedding a second one."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display
    png = save_figure(fig, name, folder)[0]
    plt.close(fig)
    display(HTML(f'<img src="{png.as_posix()}" alt="{name}" style="max-width: 100%">'))


def draw_hulls(ax, X, dp, colors):
    """Each cluster's convex hull, filled in its label's colour."""
    from scipy.spatial import ConvexHull, QhullError
    for k in range(dp.n_clusters_):
        pts = X[dp.labels_ == k]
        c = colors[dp.cluster_labels_[k]]
        if len(pts) >= 3:
            try:
                hull = ConvexHull(pts)
                ring = pts[np.r_[hull.vertices, hull.vertices[0]]]
                ax.fill(ring[:, 0], ring[:, 1], color=c, alpha=0.35, lw=1.5, ec=c)
                continue
            except QhullError:
                pass
        ax.plot(pts[:, 0], pts[:, 1], color=c, lw=2, alpha=0.6)


def min_distance_curves(ax, steps, curves: dict, top: int = 3):
    """§4.3 Figure 2/6: the `top` labels whose minimum distance grows most and the `top` that grow least."""
    growth = {lab: d[-1] - d[0] for lab, d in curves.items()}
    order = sorted(growth, key=growth.get)
    chosen = order[-top:][::-1] + [l for l in order[:top] if l not in order[-top:]]
    for lab in chosen:
        ax.plot(steps, curves[lab], marker="o", ms=3, label=f"{lab} ({growth[lab]:+.2f})")
    ax.set_xlabel("fine-tuning updates")
    ax.set_ylabel("minimum distance to another label")
    ax.legend(fontsize=7)
    return chosen


def min_distance_panels(curves: dict, model: str):
    """Figures 2 and 6: one panel per task ({task: (steps, {label: [d_0, ..., d_K]})}), last layer."""
    import matplotlib.pyplot as plt
    n = max(len(curves), 1)
    columns = min(n, 3)             # five tasks in one row leave each panel too narrow to read its labels
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for ax, (task, (steps, c)) in zip(axes.flat, curves.items()):
        min_distance_curves(ax, steps, c)
        ax.set_title(f"{task} ({model}, last layer)")
    for ax in list(axes.flat)[len(curves):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def centroid_paths_figure(paths: dict, chosen: list):
    """Figure 3: the centroids of the `chosen` labels at every snapshot, one panel per layer
    ({layer: (labels, (snapshots, labels, width))}), in a 2-D PCA fitted on the chosen paths. Stars: the start."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    fig, axes = plt.subplots(1, len(paths), figsize=(4.5 * len(paths), 4), squeeze=False)
    for ax, (layer, (labels, p)) in zip(axes[0], paths.items()):
        picked = p[:, [labels.index(l) for l in chosen]]                 # (snapshots, len(chosen), width)
        flat = PCA(2, random_state=0).fit_transform(picked.reshape(-1, picked.shape[-1]))
        flat = flat.reshape(len(p), len(chosen), 2)
        for j, lab in enumerate(chosen):
            ax.plot(flat[:, j, 0], flat[:, j, 1], marker=".", label=lab)
            ax.scatter(flat[0, j, 0], flat[0, j, 1], s=80, marker="*", color="k")
        ax.set_title(f"POS, layer {layer}")
        ax.legend()
    return fig


def shift_panels(shifts: dict, task: str):
    """Figures 5, 7-10: each label's centroid shift in a 2-D PCA, one panel per layer ({layer: (labels, xy)})."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(shifts), figsize=(3.2 * len(shifts), 3.2), squeeze=False)
    for ax, (layer, (labels, xy)) in zip(axes[0], shifts.items()):
        ax.scatter(xy[:, 0], xy[:, 1], s=12)
        for lab, (a, b) in zip(labels, xy):
            ax.annotate(lab, (a, b), fontsize=6)
        ax.set_title(f"{task}, layer {layer}")
    return fig


def layer_similarity_panels(similarity: dict, tasks: list, model: str, threshold: float = 0.5,
                            measure: str = "Pearson vs original"):
    """Figure 4: per task, each layer's similarity to its original along fine-tuning
    ({(task, layer): (steps, values)}); ``measure`` names the y axis (the Pearson of distance vectors, or CKA)."""
    import matplotlib.pyplot as plt
    n = max(len(tasks), 1)
    columns = min(n, 3)             # as Figure 6: five panels in a row are too narrow to read
    fig, axes = plt.subplots(-(-n // columns), columns, figsize=(4.6 * columns, 3.5 * -(-n // columns)),
                             squeeze=False)
    for ax in list(axes.flat)[len(tasks):]:
        ax.set_visible(False)
    for ax, task in zip(axes.flat, tasks):
        for (t, layer), (steps, values) in similarity.items():
            if t == task:
                ax.plot(steps, values, marker="o", ms=3, label=f"layer {layer}")
        ax.axhline(threshold, color="0.6", ls="--", lw=1)
        ax.set_title(f"{task} ({model})")
        ax.set_xlabel("fine-tuning updates")
        ax.set_ylabel(measure)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def dependency_arcs(words: list[str], arcs: list[tuple[int, int, str]], ax=None):
    """A sentence with its DEP examples drawn as arcs from head to dependent, each arc named by its relation."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(words)), 2.8))
    for i, w in enumerate(words):
        ax.text(i, 0, w, ha="center", va="top", fontsize=10)
    for head, dep, rel in arcs:
        # arc3 bends to the left of the travel direction: rightwards arcs need a negative radius to bulge upwards.
        rad = -0.5 if dep > head else 0.5
        ax.add_patch(FancyArrowPatch((head, 0.05), (dep, 0.05), connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=9, color="tab:blue", lw=1))
        ax.text((head + dep) / 2, 0.05 + 0.25 * abs(head - dep), rel, ha="center", va="bottom", fontsize=8,
                color="tab:blue", backgroundcolor="white")
    span = max((abs(h - d) for h, d, _ in arcs), default=1)
    ax.set_xlim(-0.7, len(words) - 0.3)
    ax.set_ylim(-0.4, 0.4 + 0.25 * span)
    ax.axis("off")
    return ax


def circle_toy_figure(X, y, dp, colors: dict, radius: float = 1.0):
    """Figure 1: left, the toy data and its circular boundary; right, DirectProbe's clusters as convex hulls on
    grey (where any separator must pass)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.3), sharex=True, sharey=True)
    for ax in axes:
        ax.set_aspect("equal")
    axes[1].set_facecolor("0.88")
    for lab, c in colors.items():
        axes[0].scatter(*X[y == lab].T, s=10, color=c, label=lab)
    axes[0].add_patch(plt.Circle((0, 0), radius, fill=False, ls="--", color="k"))
    axes[0].legend(loc="upper right")
    axes[0].set_title("circular boundary")
    draw_hulls(axes[1], X, dp, colors)
    for lab, c in colors.items():
        axes[1].scatter(*X[y == lab].T, s=6, color=c)
    axes[1].set_title(f"DirectProbe: {dp.n_clusters_} clusters\n(grey: where a separator must pass)")
    return fig


def similarity_trajectory_figure(rows: list[dict], model: str):
    """§4.1 along fine-tuning: each task's train/test similarity at every snapshot, with its bootstrap band
    (rows of ``experiments.similarity_trajectory``)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        epochs = [r["epoch"] for r in mine]
        line, = ax.plot(epochs, [r["similarity"] for r in mine], marker="o", ms=3, label=task)
        ax.fill_between(epochs, [r["low"] for r in mine], [r["high"] for r in mine], color=line.get_color(),
                        alpha=0.15, lw=0)
    ax.set_xlabel("epoch of fine-tuning")
    ax.set_ylabel("train/test similarity (Pearson)")
    ax.set_title(f"§4.1 along fine-tuning ({model}, last layer)")
    ax.legend(fontsize=7)
    return fig
