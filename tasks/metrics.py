"""Answer metrics: mean relative accuracy for numbers, exact match for the rest.

MRA (VSI-Bench): ``mean over theta in {0.50, 0.55, ..., 0.95} of 1[|pred - gt| / gt < 1 - theta]``.
Undefined for ``gt == 0``: templates never emit a zero numeric answer.
"""

from __future__ import annotations

import numpy as np

#: The ten MRA confidence thresholds 0.50, 0.55, ..., 0.95.
MRA_THRESHOLDS = np.round(np.arange(0.50, 0.951, 0.05), 2)


def mra(pred: float | np.ndarray, gt: float | np.ndarray) -> np.ndarray:
    """Mean relative accuracy in [0, 1], elementwise over broadcast ``pred`` and ``gt``.

    ``gt`` must be non-zero; a non-finite prediction scores 0.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if np.any(gt == 0):
        raise ValueError("MRA is undefined for a ground truth of 0")
    with np.errstate(invalid="ignore", over="ignore"):
        rel = np.abs(pred - gt) / np.abs(gt)
    rel = np.where(np.isfinite(rel), rel, np.inf)
    return (rel[..., None] < (1.0 - MRA_THRESHOLDS)).mean(axis=-1)


def exact(pred: str, gt: str) -> float:
    """1.0 when the canonical strings match (case- and surrounding-space-insensitive)."""
    return float(pred.strip().lower() == gt.strip().lower())
