"""Figures: saved as PNG and PDF under the paper's figure numbers (e.g. fig01_directprobe_toy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def save_figure(fig, name: str, folder) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=120, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    return paths


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
