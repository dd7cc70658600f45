"""Character n-gram baseline: interpolated modified Kneser-Ney (Chen & Goodman 1998).

Fitted on the training split with numpy (n-grams as integer codes in sorted arrays),
the order chosen on the validation split, scored on the test split, so a model's bits
per character can be put beside a classic baseline measured the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.engine.data import Splits
from app.engine.vocab import Vocabulary


@dataclass
class _OrderTable:
    codes: np.ndarray  # sorted n-gram codes of this order
    counts: np.ndarray  # raw count (top order) or continuation count (lower orders)
    context_codes: np.ndarray  # sorted (n-1)-gram context codes
    context_total: np.ndarray  # sum of counts over the context's followers
    context_gamma: np.ndarray  # D1*N1 + D2*N2 + D3*N3+ for the context
    discounts: np.ndarray  # (4,) discount for counts 0, 1, 2, 3+


def _ngram_codes(ids: np.ndarray, order: int, base: int) -> np.ndarray:
    """Code of the n-gram ending at each position t >= order - 1."""
    codes = ids[order - 1 :].astype(np.int64).copy()
    for back in range(1, order):
        codes += ids[order - 1 - back : len(ids) - back].astype(np.int64) * base**back
    return codes


def _discounts(counts: np.ndarray) -> np.ndarray:
    n = [np.count_nonzero(counts == k) for k in (1, 2, 3, 4)]
    if min(n) == 0:
        return np.array([0.0, 0.5, 1.0, 1.5])  # too little data for the estimate; a conventional fallback
    y = n[0] / (n[0] + 2 * n[1])
    return np.array([0.0, 1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]])


def _table(codes: np.ndarray, counts: np.ndarray, base: int) -> _OrderTable:
    discounts = _discounts(counts)
    contexts = codes // base
    context_codes, starts = np.unique(contexts, return_index=True)  # codes are sorted, so contexts are grouped
    context_total = np.add.reduceat(counts, starts).astype(np.float64)
    discount_per_ngram = discounts[np.minimum(counts, 3)]
    context_gamma = np.add.reduceat(discount_per_ngram, starts)
    return _OrderTable(codes, counts, context_codes, context_total, context_gamma, discounts)


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_keys, queries).clip(max=len(sorted_keys) - 1)
    found = sorted_keys[pos] == queries
    return np.where(found, values[pos], 0)


class KneserNey:
    def __init__(self, train_ids: np.ndarray, vocab_size: int, max_order: int):
        self.base = vocab_size
        self.max_order = max_order
        if vocab_size**max_order >= 2**63:
            raise ValueError(f"order {max_order} with {vocab_size} symbols overflows 64-bit n-gram codes")
        self.raw: dict[int, _OrderTable] = {}
        self.continuation: dict[int, _OrderTable] = {}
        unique_by_order = {}
        for order in range(1, max_order + 1):
            codes, counts = np.unique(_ngram_codes(train_ids, order, self.base), return_counts=True)
            unique_by_order[order] = codes
            self.raw[order] = _table(codes, counts, self.base)
        for order in range(1, max_order):
            # continuation count of an n-gram: how many distinct characters precede it
            suffixes = unique_by_order[order + 1] % self.base**order
            codes, counts = np.unique(suffixes, return_counts=True)
            self.continuation[order] = _table(codes, counts, self.base)

    def probabilities(self, ids: np.ndarray, order: int) -> np.ndarray:
        """P(ids[t] | preceding characters) for t >= 1, with the model of the given order."""
        targets = np.arange(1, len(ids))
        p = np.full(len(targets), 1.0 / self.base)
        for k in range(1, order + 1):
            table = self.raw[k] if k == order else self.continuation[k]
            has_context = targets >= k - 1
            t = targets[has_context]
            codes = np.zeros(len(t), dtype=np.int64)
            for back in range(k):
                codes += ids[t - back].astype(np.int64) * self.base**back
            counts = _lookup(table.codes, table.counts, codes).astype(np.float64)
            contexts = codes // self.base
            total = _lookup(table.context_codes, table.context_total, contexts)
            gamma = _lookup(table.context_codes, table.context_gamma, contexts)
            lower = p[has_context]
            discounted = np.maximum(counts - table.discounts[np.minimum(counts, 3).astype(int)], 0)
            seen = total > 0
            mixed = np.where(seen, (discounted + gamma * lower) / np.where(seen, total, 1), lower)
            p[has_context] = mixed
        return p

    def bits_per_char(self, ids: np.ndarray, order: int) -> float:
        return float(-np.log2(self.probabilities(ids, order)).mean())


def fit_best_ngram(splits: Splits, vocab: Vocabulary, max_order: int = 9) -> dict:
    """Fits orders 1..max_order on train, keeps the best on val, reports its test bits/char."""
    train, val, test = (vocab.encode(s).ids for s in (splits.train, splits.val, splits.test))
    max_order = min(max_order, int(math.log(2**63) / math.log(vocab.size)))
    model = KneserNey(train, vocab.size, max_order)
    val_bpc = {order: model.bits_per_char(val, order) for order in range(1, max_order + 1)}
    best = min(val_bpc, key=val_bpc.get)
    return {
        "method": "interpolated modified Kneser-Ney, character n-grams",
        "orders_tried": list(val_bpc),
        "val_bpc_by_order": {str(k): round(v, 4) for k, v in val_bpc.items()},
        "order": best,
        "val_bpc": round(val_bpc[best], 4),
        "test_bpc": round(model.bits_per_char(test, best), 4),
    }
