"""Character n-gram baseline: interpolated modified Kneser-Ney (Chen & Goodman 1998).

Fitted on the training split with numpy, the order chosen on the validation split,
scored on the test split, so a model's bits per character can be put beside a classic
baseline measured the same way.

An n-gram is stored as the integer key `id(prefix) * V + last character`, where id(prefix)
is the prefix's index among the distinct (n-1)-grams of the training text. Keys stay far
below 2**63 at any order (there are at most as many distinct prefixes as characters), so
the order is limited by the data, not by integer width.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.data import Splits
from app.engine.vocab import Vocabulary

MIN_ORDERS_TRIED = 8  # the search always covers 1..8, then stops once longer contexts stop helping


@dataclass
class _OrderTable:
    keys: np.ndarray  # sorted n-gram keys: id(prefix) * V + last
    counts: np.ndarray  # raw count (top order) or continuation count (lower orders), aligned with keys
    context_ids: np.ndarray  # sorted distinct prefix ids that have followers here
    context_total: np.ndarray  # sum of counts over each context's followers
    context_gamma: np.ndarray  # D1*N1 + D2*N2 + D3*N3+ of each context
    discounts: np.ndarray  # (4,) discount for counts 0, 1, 2, 3+


def _discounts(counts: np.ndarray) -> np.ndarray:
    n = [np.count_nonzero(counts == k) for k in (1, 2, 3, 4)]
    if min(n) == 0:
        return np.array([0.0, 0.5, 1.0, 1.5])  # too little data for the estimate; a conventional fallback
    y = n[0] / (n[0] + 2 * n[1])
    return np.array([0.0, 1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]])


def _table(keys: np.ndarray, counts: np.ndarray, base: int) -> _OrderTable:
    keep = counts > 0
    keys, counts = keys[keep], counts[keep]
    discounts = _discounts(counts)
    context_ids, starts = np.unique(keys // base, return_index=True)  # keys are sorted: contexts are grouped
    context_total = np.add.reduceat(counts, starts).astype(np.float64)
    context_gamma = np.add.reduceat(discounts[np.minimum(counts, 3)], starts)
    return _OrderTable(keys, counts, context_ids, context_total, context_gamma, discounts)


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray, missing=0) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.full(len(queries), missing, dtype=values.dtype)
    pos = np.searchsorted(sorted_keys, queries).clip(max=len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == queries, values[pos], missing)


def _extend(prefix_ids: np.ndarray, ids: np.ndarray, base: int) -> np.ndarray:
    """Keys of the n-grams ending at each position, from the (n-1)-gram ids ending one before (-1: none)."""
    keys = np.full(len(ids), -1, dtype=np.int64)
    known = np.zeros(len(ids), dtype=bool)
    known[1:] = prefix_ids[:-1] >= 0
    keys[known] = prefix_ids[:-1][known[1:]] * base + ids[known]
    return keys


class KneserNey:
    def __init__(self, train_ids: np.ndarray, vocab_size: int, max_order: int):
        self.base = vocab_size
        self.max_order = max_order
        ids = train_ids.astype(np.int64)
        self.raw: dict[int, _OrderTable] = {}
        self.continuation: dict[int, _OrderTable] = {}
        self.distinct: dict[int, np.ndarray] = {}  # order -> sorted keys of every distinct n-gram
        prefix_ids = np.zeros(len(ids), dtype=np.int64)  # the empty context has id 0, everywhere
        keys = ids.copy()
        previous_ids = None
        for order in range(1, max_order + 1):
            if order > 1:
                keys = _extend(prefix_ids, ids, self.base)
            present = keys >= 0
            distinct, counts = np.unique(keys[present], return_counts=True)
            self.distinct[order] = distinct
            self.raw[order] = _table(distinct, counts, self.base)
            order_ids = np.full(len(ids), -1, dtype=np.int64)
            order_ids[present] = np.searchsorted(distinct, keys[present])
            if previous_ids is not None:
                # continuation count of an (order-1)-gram: distinct characters seen before it,
                # i.e. how many distinct order-grams end with it
                both = present & (previous_ids >= 0)
                _, first = np.unique(order_ids[both], return_index=True)
                suffix = previous_ids[both][first]
                counts_below = np.bincount(suffix, minlength=len(self.distinct[order - 1]))
                self.continuation[order - 1] = _table(self.distinct[order - 1], counts_below, self.base)
            # an order-gram's id doubles as the prefix id of the (order+1)-grams that follow it
            previous_ids, prefix_ids = order_ids, order_ids

    def probabilities(self, ids: np.ndarray, order: int) -> np.ndarray:
        """P(ids[t] | preceding characters) for t >= 1, with the model of the given order."""
        ids = ids.astype(np.int64)
        p = np.full(len(ids), 1.0 / self.base)
        prefix_ids = np.zeros(len(ids), dtype=np.int64)
        for k in range(1, order + 1):
            table = self.raw[k] if k == order else self.continuation[k]
            keys = ids.copy() if k == 1 else _extend(prefix_ids, ids, self.base)
            has_context = keys >= 0
            has_context[0] = False  # the first character is not predicted
            q = keys[has_context]
            counts = _lookup(table.keys, table.counts, q).astype(np.float64)
            contexts = q // self.base
            total = _lookup(table.context_ids, table.context_total, contexts)
            gamma = _lookup(table.context_ids, table.context_gamma, contexts)
            lower = p[has_context]
            discounted = np.maximum(counts - table.discounts[np.minimum(counts, 3).astype(int)], 0)
            seen = total > 0
            p[has_context] = np.where(seen, (discounted + gamma * lower) / np.where(seen, total, 1), lower)
            # ids of the k-grams ending at each position, as contexts for order k+1 (-1: unseen in training)
            prefix_ids = np.full(len(ids), -1, dtype=np.int64)
            present = keys >= 0
            prefix_ids[present] = _lookup(self.distinct[k], np.arange(len(self.distinct[k])), keys[present], -1)
        return p[1:]

    def bits_per_char(self, ids: np.ndarray, order: int) -> float:
        return float(-np.log2(self.probabilities(ids, order)).mean())


def fit_best_ngram(splits: Splits, vocab: Vocabulary, max_order: int = 20) -> dict:
    """Fits orders 1..max_order on train, keeps the best on val, reports its test bits/char.

    Orders are tried upwards; past MIN_ORDERS_TRIED the search stops after two orders in a
    row that do not improve the validation loss.
    """
    train, val, test = (vocab.encode(s).ids for s in (splits.train, splits.val, splits.test))
    model = KneserNey(train, vocab.size, max_order)
    val_bpc: dict[int, float] = {}
    for order in range(1, max_order + 1):
        val_bpc[order] = model.bits_per_char(val, order)
        best = min(val_bpc, key=val_bpc.get)
        if order >= max(MIN_ORDERS_TRIED, best + 2):
            break
    best = min(val_bpc, key=val_bpc.get)
    return {
        "method": "interpolated modified Kneser-Ney, character n-grams",
        "orders_tried": list(val_bpc),
        "val_bpc_by_order": {str(k): round(v, 4) for k, v in val_bpc.items()},
        "order": best,
        "val_bpc": round(val_bpc[best], 4),
        "test_bpc": round(model.bits_per_char(test, best), 4),
    }
