"""Top-down map of a scene (matplotlib, headless): room footprint, object boxes, camera path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geoenv.scene import STRUCTURAL_LABELS, Scene


def plot_topdown(scene: Scene, out: str | Path, dpi: int = 150) -> Path:
    """Write a PNG (world xy, metres, x right, y up) of the footprint, every non-structural
    object's oriented box with its id and label, and the camera positions and headings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 8))
    fp = scene.room_footprint
    if fp is not None:
        x, y = fp.exterior.xy
        ax.fill(x, y, color="#eeeae4", zorder=0)
        ax.plot(x, y, color="#555555", lw=2, zorder=1)
    labels = sorted({o.label for o in scene.objects.values()} - STRUCTURAL_LABELS)
    cmap = plt.get_cmap("tab20")
    colour = {lab: cmap(i % 20) for i, lab in enumerate(labels)}
    for o in scene.objects.values():
        if o.label in STRUCTURAL_LABELS:
            continue
        c = o.obb.corners()[:4, :2]
        ax.fill(c[:, 0], c[:, 1], color=colour[o.label], alpha=0.55, zorder=2)
        ax.plot(*np.vstack([c, c[:1]]).T, color=colour[o.label], lw=1.2, zorder=3)
        ax.text(*o.obb.center[:2], f"{o.label}\n#{o.id}", ha="center", va="center", fontsize=7,
                zorder=5)  # fmt: skip
    if scene.frames:
        pos = np.array([f.position for f in scene.frames])
        fwd = np.array([f.forward for f in scene.frames])
        ax.plot(pos[:, 0], pos[:, 1], "-", color="#1f3b73", lw=1, zorder=4)
        ax.quiver(pos[:, 0], pos[:, 1], fwd[:, 0], fwd[:, 1], color="#1f3b73", angles="xy",
                  scale_units="xy", scale=2.5, width=0.003, zorder=4)  # fmt: skip
        for f in scene.frames[:: max(1, len(scene.frames) // 8)]:
            ax.annotate(str(f.index), f.position[:2], fontsize=6, color="#1f3b73", zorder=6)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    area = scene.room_area
    title = f"{scene.id}: {len(scene.objects)} objects, {len(scene.frames)} frames"
    if area is not None:
        title += f", floor {area:.2f} m²"
    ax.set_title(title)
    ax.grid(True, lw=0.3, alpha=0.5)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return out
