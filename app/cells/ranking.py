"""Scoring every unit against every hypothesis, vectorised over units.

Binary hypotheses: AUROC of the unit's activation as a detector of the hypothesis, reported
as max(AUROC, 1 - AUROC) with the sign (+1: high inside, -1: low inside). Numeric
hypotheses: Pearson and Spearman correlation, ranked by |Pearson|.

Sorting each unit's activations (N log N per unit, for thousands of units) is what makes
a naive ranking take minutes. Here the screen uses per-unit histograms (BINS bins between
the unit's min and max: values in the same bin count as ties): one bincount gives every
unit's midrank per bin, and the rank sums of all binary hypotheses at once are one matrix
product of those midranks with the labels (Mann-Whitney: AUROC = (rank sum of the positives
- n_pos (n_pos + 1) / 2) / (n_pos n_neg)). Then the best candidates of each hypothesis are
rescored exactly with a sort, so every reported number is exact.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from app.cells.hypotheses import BINARY, NUMERIC, HypothesisValues

BINS = 2048


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
    order = np.argsort(x)  # any order within ties: they all get the group's average
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
    ranks = midranks(values)
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


ROWS = 4096  # characters per piece: the screen works piece by piece on cache-sized buffers


def _pieces(n: int) -> range:
    return range(0, n, ROWS)


def _binary_screen(acts: torch.Tensor, labels: np.ndarray) -> torch.Tensor:
    """AUROC of every unit of acts (N, U) for every column of labels (N, F) bool: (U, F) float64.

    Two passes over acts, piece by piece: the first counts each unit's values per bin, the
    second looks up every value's midrank (values in one bin tied) and adds the midranks of
    each hypothesis's positives with one matrix product.
    """
    N, U = acts.shape
    lo, hi = acts.amin(0), acts.amax(0)
    scale = (BINS - 1) / torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    offsets = torch.arange(U, dtype=torch.int32) * BINS

    def bins(start: int) -> torch.Tensor:  # flat bin index of each value of a piece: (rows * U,) int32
        piece = (acts[start : start + ROWS] - lo).mul_(scale).add_(0.5)  # truncation below rounds
        return piece.to(torch.int32).add_(offsets).view(-1)

    counts = torch.zeros(U * BINS, dtype=torch.int64)
    for start in _pieces(N):
        counts += torch.bincount(bins(start), minlength=U * BINS)
    counts = counts.view(U, BINS).double()
    midrank = ((torch.cumsum(counts, dim=1) - counts) + (counts + 1) / 2).view(-1).float()  # exact below 2^24
    positives = torch.from_numpy(labels).float()  # (N, F)
    rank_sums = torch.zeros(U, labels.shape[1], dtype=torch.float64)
    for start in _pieces(N):
        ranks = torch.index_select(midrank, 0, bins(start)).view(-1, U)  # (rows, U)
        rank_sums += (ranks.t() @ positives[start : start + ROWS]).double()
    n_pos = positives.sum(0).double()  # (F,)
    pairs = n_pos * (N - n_pos)
    auroc = (rank_sums - n_pos * (n_pos + 1) / 2) / torch.where(pairs > 0, pairs, 1.0)  # Mann-Whitney
    return torch.where(pairs > 0, auroc, 0.5)  # a constant hypothesis separates nothing


def _numeric_screen(acts: torch.Tensor, targets: np.ndarray) -> torch.Tensor:
    """Pearson r of every unit of acts (N, U) with every column of targets (N, F), one per hypothesis: (U, F)."""
    N, U = acts.shape
    z_targets = _standardize(torch.from_numpy(targets)).float()  # (N, F), centred: acts need no centring
    mean = acts.mean(0)
    squares = torch.zeros(U, dtype=torch.float64)
    products = torch.zeros(U, targets.shape[1], dtype=torch.float64)
    for start in _pieces(N):
        piece = acts[start : start + ROWS]
        products += (piece.t() @ z_targets[start : start + ROWS]).double()
        squares += (piece - mean).square_().sum(0).double()
    norm = squares.sqrt()
    return (products / torch.where(norm > 0, norm, torch.ones_like(norm))[:, None]).float()


def screen_block(acts: torch.Tensor, hypotheses: list[HypothesisValues]) -> dict[str, torch.Tensor]:
    """Approximate signed scores for every unit of one (N, U) block: name -> (U,) in [-0.5, 0.5] or [-1, 1].

    Binary: AUROC - 0.5 from histogram midranks. Numeric: Pearson r (exact up to float32 sums).
    """
    acts = acts.float()
    out: dict[str, torch.Tensor] = {}
    binary = [h for h in hypotheses if h.value_type == BINARY]
    numeric = [h for h in hypotheses if h.value_type == NUMERIC]
    if binary:
        auroc = _binary_screen(acts, np.stack([np.asarray(h.values, dtype=bool) for h in binary], axis=1))
        out.update({h.name: (auroc[:, j] - 0.5).float() for j, h in enumerate(binary)})
    if numeric:
        r = _numeric_screen(acts, np.stack([np.asarray(h.values, dtype=np.float64) for h in numeric], axis=1))
        out.update({h.name: r[:, j] for j, h in enumerate(numeric)})
    return out


def exact_score(hypothesis: HypothesisValues, state: str, unit: int, values: np.ndarray,
                target_ranks: np.ndarray | None = None) -> Score:
    """`target_ranks`: midranks of a numeric hypothesis's values, when the caller scores many units against it."""
    if hypothesis.value_type == BINARY:
        auroc = exact_auroc(values, np.asarray(hypothesis.values, dtype=bool))
        return Score(hypothesis.name, state, unit, "auroc", round(max(auroc, 1 - auroc), 4), 1 if auroc >= 0.5 else -1)
    target = np.asarray(hypothesis.values, dtype=np.float64)
    r = pearson(values.astype(np.float64), target)
    rho = pearson(midranks(values), midranks(target) if target_ranks is None else target_ranks)
    return Score(hypothesis.name, state, unit, "pearson", round(abs(r), 4), 1 if r >= 0 else -1, round(rho, 4))


def screen_blocks(blocks: dict[str, torch.Tensor], hypotheses: list[HypothesisValues],
                  ) -> dict[str, dict[str, torch.Tensor]]:
    """screen_block for every block, as many at a time as torch has threads (bincount and the
    gathers run on one core each, so blocks side by side use the others)."""
    with ThreadPoolExecutor(max(1, torch.get_num_threads())) as pool:
        return dict(zip(blocks, pool.map(lambda acts: screen_block(acts, hypotheses), blocks.values())))


def rank_units(blocks: dict[str, torch.Tensor], hypotheses: list[HypothesisValues], top: int = 10,
               candidates: int = 40, screened: dict[str, dict[str, torch.Tensor]] | None = None,
               ) -> dict[str, list[Score]]:
    """Best units for each hypothesis over all state blocks {name: (N, U)}, exact scores, best first.

    `screened` takes screen_blocks's results for the same blocks when the caller already has them.
    The exact rescoring sorts run side by side too (numpy releases the GIL while sorting).
    """
    if screened is None:
        screened = screen_blocks(blocks, hypotheses)
    ranking: dict[str, list[Score]] = {}
    with ThreadPoolExecutor(max(1, torch.get_num_threads())) as workers:
        for h in hypotheses:
            pool = [(abs(float(v)), name, unit) for name, scores in screened.items()
                    for unit, v in enumerate(scores[h.name].tolist())]
            pool.sort(reverse=True)
            target_ranks = midranks(np.asarray(h.values, dtype=np.float64)) if h.value_type == NUMERIC else None
            rescored = list(workers.map(lambda c: exact_score(h, c[1], c[2], blocks[c[1]][:, c[2]].numpy(), target_ranks),
                                        pool[:candidates]))
            rescored.sort(key=lambda s: s.score, reverse=True)
            ranking[h.name] = rescored[:top]
    return ranking
