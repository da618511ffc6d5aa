"""Isotonic calibration of breach probabilities and the measures of a probability forecast.

Isotonic regression (pool adjacent violators) is a few lines of numpy; it is stored
as breakpoints in the model's JSON and applied by linear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Isotonic", "auc", "brier", "fit_isotonic", "reliability"]


@dataclass(frozen=True)
class Isotonic:
    x: list[float]
    y: list[float]

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if not self.x:
            return raw
        return np.interp(raw, np.asarray(self.x), np.asarray(self.y))

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Isotonic:
        return cls([float(v) for v in raw["x"]], [float(v) for v in raw["y"]])


def fit_isotonic(score: np.ndarray, label: np.ndarray) -> Isotonic:
    """Non-decreasing map from raw score to observed frequency (PAV on sorted scores)."""
    if score.size == 0:
        return Isotonic([], [])
    order = np.argsort(score, kind="stable")
    xs, ys = score[order], label[order].astype(np.float64)
    # Blocks: value, weight, first and last x.
    val: list[float] = []
    wt: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        val.append(y)
        wt.append(1.0)
        lo.append(x)
        hi.append(x)
        while len(val) > 1 and val[-2] >= val[-1]:
            w = wt[-2] + wt[-1]
            v = (val[-2] * wt[-2] + val[-1] * wt[-1]) / w
            h = hi[-1]
            for stack in (val, wt, lo, hi):
                stack.pop()
            val[-1], wt[-1], hi[-1] = v, w, h
    bx: list[float] = []
    by: list[float] = []
    for v, a, b in zip(val, lo, hi, strict=True):
        bx.append(a)
        by.append(v)
        if b != a:
            bx.append(b)
            by.append(v)
    return Isotonic([round(v, 9) for v in bx], [round(v, 9) for v in by])


def brier(prob: np.ndarray, label: np.ndarray) -> float | None:
    if prob.size == 0:
        return None
    return float(np.mean((prob - label) ** 2))


def auc(prob: np.ndarray, label: np.ndarray) -> float | None:
    """Area under the ROC curve via mean ranks (ties share their rank)."""
    pos = int(label.sum())
    neg = label.size - pos
    if pos == 0 or neg == 0:
        return None
    ranks = _mean_ranks(prob)
    return float((ranks[label == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def _mean_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (scipy.stats.rankdata's default; not
    imported for it: scipy.stats costs the detector a second or more at start-up)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], ordered.size]
    mean = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = mean[group]
    return ranks


def reliability(prob: np.ndarray, label: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Per probability decile: how many, mean forecast, observed breach rate."""
    rows = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(prob, edges[1:-1], right=False), 0, bins - 1)
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        rows.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "count": n,
                "mean_predicted": float(prob[mask].mean()) if n else None,
                "observed_rate": float(label[mask].mean()) if n else None,
            }
        )
    return rows
