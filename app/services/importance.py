"""Unit importance for a target (POST /api/models/{name}/importance): every unit of a state ranked by
the estimated effect of its mean ablation on the target characters versus the others, the top
ones ablated exactly, and how well the estimate agrees (app/engine/importance.py)."""
from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch

from app.cells.hypotheses import BINARY
from app.cells.ranking import midranks, pearson
from app.cells.store import CellStore
from app.engine import importance
from app.engine.checkpoint import LoadedModel
from app.engine.names import StateName
from app.errors import InputError
from app.services.activations import DECIMALS
from app.services.cells import _hypothesis
from app.services.selection import ResolvedSelection

DEFAULT_CHARS = 12_000  # of the held-out sample when no text is sent: the estimate in seconds, the check in tens


def spearman(a: list[float], b: list[float]) -> float | None:
    """Rank correlation, ties at their mean rank; None for fewer than 3 pairs or a constant side."""
    if len(a) < 3:
        return None
    ra, rb = midranks(np.asarray(a, dtype=np.float64)), midranks(np.asarray(b, dtype=np.float64))
    return None if ra.std() == 0 or rb.std() == 0 else round(pearson(ra, rb), DECIMALS)


def prepare(loaded: LoadedModel, store: CellStore, target, text: str | None, max_chars: int
            ) -> tuple[str, torch.Tensor]:
    """The text and which of its predictions are of a target character, (T - 1,) bool; 422 / 413 otherwise."""
    if not store.means:
        raise InputError(422, f"{loaded.name}'s cell analysis predates unit means, which the ablations set units "
                              f"to; add them: python -m app.cells.means models/{loaded.name}")
    text = store.sample[:DEFAULT_CHARS] if text is None else text
    if len(text) > max_chars:
        raise InputError(413, f"text has {len(text):,} characters; the limit is {max_chars:,}")
    if len(text) < 3:
        raise InputError(422, "text needs at least 3 characters: a target prediction and another")
    hypothesis = _hypothesis(target, text)
    if hypothesis.value_type != BINARY:
        raise InputError(422, f"hypothesis {hypothesis.name!r} is numeric; a target is a set of characters: give "
                              "a binary hypothesis or a regex")
    is_target = torch.from_numpy(np.asarray(hypothesis.values[1:], dtype=bool))  # prediction i is of character i + 1
    if not is_target.any() or is_target.all():
        which = "no" if not is_target.any() else "every"
        raise InputError(422, f"{which} character after the first is a target character in this text, so there is "
                              "nothing to compare the target with; choose another target or text")
    return text, is_target


def rank(loaded: LoadedModel, store: CellStore, sel: ResolvedSelection, text: str, is_target: torch.Tensor,
         confirm: int, compute_slot: AbstractContextManager = nullcontext()) -> dict:
    name = StateName(sel.layer, sel.state)
    ids = torch.from_numpy(loaded.vocab.encode(text).ids)
    started = time.perf_counter()
    with compute_slot:
        estimates = importance.estimate(loaded.model, ids, name, store.means[str(name)], is_target)  # (H,)
    estimate_s = time.perf_counter() - started
    order = torch.argsort(estimates, descending=True).tolist()
    started = time.perf_counter()
    with compute_slot:
        exact = importance.exact(loaded.model, ids, name, order[:confirm], store.means, is_target)
    confirm_s = time.perf_counter() - started
    confirmed = [{"unit": u, "estimate": round(float(estimates[u]), DECIMALS), "effect": round(e, DECIMALS),
                  "target_change": round(t, DECIMALS), "other_change": round(o, DECIMALS)}
                 for u, (e, t, o) in zip(order, exact)]
    return {
        "model": loaded.name, "layer": sel.layer, "state": sel.state, "name": str(name),
        "chars": len(text), "target_chars": int(is_target.sum()),
        "units": [{"unit": u, "estimate": round(float(estimates[u]), DECIMALS)} for u in order],
        "confirmed": confirmed,
        "spearman": spearman([float(estimates[u]) for u in order[:confirm]], [e for e, _, _ in exact]),
        "timing_s": {"estimate": round(estimate_s, 2), "confirm": round(confirm_s, 2)},
    }
