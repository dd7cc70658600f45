"""Scoring every unit against every hypothesis, vectorised over units.

Binary hypotheses: AUROC of the unit's activation as a detector of the feature, reported
as max(AUROC, 1 - AUROC) with the sign (+1: high inside, -1: low inside). Numeric
hypotheses: Pearson and Spearman correlation, ranked by |Pearson|.

Sorting each unit's activations (N log N per unit, for thousands of units) is what makes
a naive ranking take minutes. Here the screen uses per-unit histograms (BINS bins between
the unit's min and max: pairs in the same bin count as ties), which makes the whole screen
a few bincounts and matrix products; then the best candidates of each hypothesis are
rescored exactly with a sort, so every reported number is exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

BINS = 2048


@dataclass(frozen=True)
class Hypothesis:
    name: str
    kind: str  # "binary" or "numeric"
    values: np.ndarray  # (N,) bool or float

    @property
    def is_constant(self) -> bool:
        """A feature that never changes on this text (no comments in a novel) can rank nothing."""
        return len(self.values) == 0 or bool(np.all(self.values == self.values[0]))


@dataclass(frozen=True)
class Score:
    hypothesis: str
    state: str  # full state name, e.g. "layers.1.c"
    unit: int
    metric: str  # "auroc" or "pearson"
    score: float  # max(AUROC, 1 - AUROC) or |r|
    sign: int  # +1 or -1
    spearman: float | None = None


def midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    new_group = np.r_[True, sorted_x[1:] != sorted_x[:-1]]
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = ((starts + ends + 1) / 2)[group]
    return ranks


def exact_auroc(values: np.ndarray, labels: np.ndarray) -> float:
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    ranks = midranks(values.astype(np.float64))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else 0.0


def _standardize(a: torch.Tensor) -> torch.Tensor:
    a = a - a.mean(0)
    norm = a.norm(dim=0)
    return a / torch.where(norm > 0, norm, torch.ones_like(norm))


def screen_block(acts: torch.Tensor, hypotheses: list[Hypothesis]) -> dict[str, torch.Tensor]:
    """Approximate signed scores for every unit of one (N, U) block: name -> (U,) in [-0.5, 0.5] or [-1, 1].

    Binary: AUROC - 0.5 from histograms. Numeric: Pearson r (exact, one matrix product).
    """
    N, U = acts.shape
    acts = acts.float()
    out: dict[str, torch.Tensor] = {}
    binary = [h for h in hypotheses if h.kind == "binary"]
    numeric = [h for h in hypotheses if h.kind == "numeric"]
    if binary:
        lo, hi = acts.amin(0), acts.amax(0)
        scale = (BINS - 1) / torch.where(hi > lo, hi - lo, torch.ones_like(hi))
        bins = ((acts - lo) * scale).round_().clamp_(0, BINS - 1)  # (N, U) in [0, BINS - 1]
        bins = bins.add_(torch.arange(U) * BINS).to(torch.int64)  # flat bin index per unit; exact in float32
        total = torch.bincount(bins.view(-1), minlength=U * BINS).view(U, BINS).double()
        for h in binary:
            labels = torch.from_numpy(np.asarray(h.values, dtype=bool))
            n_pos = int(labels.sum())
            n_neg = N - n_pos
            if n_pos == 0 or n_neg == 0:
                out[h.name] = torch.zeros(U)
                continue
            smaller = labels if n_pos <= n_neg else ~labels  # count the smaller class, subtract for the other
            counted = torch.bincount(bins[smaller].view(-1), minlength=U * BINS).view(U, BINS).double()
            pos, neg = (counted, total - counted) if n_pos <= n_neg else (total - counted, counted)
            below = torch.cumsum(neg, dim=1) - neg  # negatives strictly below each bin
            auroc = (pos * (below + 0.5 * neg)).sum(1) / (n_pos * n_neg)
            out[h.name] = (auroc - 0.5).float()
    if numeric:  # float32 is plenty for a screen: the best candidates are rescored exactly
        features = torch.from_numpy(np.stack([np.asarray(h.values, dtype=np.float64) for h in numeric], axis=1))
        z_features = _standardize(features).float()  # (N, F), centred: so acts need no centring
        norm = torch.linalg.vector_norm(acts - acts.mean(0), dim=0)  # (U,)
        r = (acts.t() @ z_features) / torch.where(norm > 0, norm, torch.ones_like(norm))[:, None]  # (U, F)
        for j, h in enumerate(numeric):
            out[h.name] = r[:, j].float()
    return out


def exact_score(hypothesis: Hypothesis, state: str, unit: int, values: np.ndarray) -> Score:
    if hypothesis.kind == "binary":
        auroc = exact_auroc(values, np.asarray(hypothesis.values, dtype=bool))
        return Score(hypothesis.name, state, unit, "auroc", round(max(auroc, 1 - auroc), 4), 1 if auroc >= 0.5 else -1)
    feature = np.asarray(hypothesis.values, dtype=np.float64)
    r = pearson(values.astype(np.float64), feature)
    rho = pearson(midranks(values.astype(np.float64)), midranks(feature))
    return Score(hypothesis.name, state, unit, "pearson", round(abs(r), 4), 1 if r >= 0 else -1, round(rho, 4))


def rank_units(blocks: dict[str, torch.Tensor], hypotheses: list[Hypothesis], top: int = 10,
               candidates: int = 40, screened: dict[str, dict[str, torch.Tensor]] | None = None,
               ) -> dict[str, list[Score]]:
    """Best units for each hypothesis over all state blocks {name: (N, U)}, exact scores, best first.

    `screened` takes screen_block's results for the same blocks when the caller already has them.
    """
    if screened is None:
        screened = {name: screen_block(acts, hypotheses) for name, acts in blocks.items()}
    ranking: dict[str, list[Score]] = {}
    for h in hypotheses:
        pool = [(abs(float(v)), name, unit) for name, scores in screened.items()
                for unit, v in enumerate(scores[h.name].tolist())]
        pool.sort(reverse=True)
        rescored = [exact_score(h, name, unit, blocks[name][:, unit].numpy()) for _, name, unit in pool[:candidates]]
        rescored.sort(key=lambda s: s.score, reverse=True)
        ranking[h.name] = rescored[:top]
    return ranking
