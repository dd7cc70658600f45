"""A text read with and without interventions: per character, what the model now predicts differently.

Both passes run in the same chunks as the activations (activations.chunk_bounds), the plain one
exactly as POST /api/activations computes it, so `base_*` equal its numbers and, before the
first intervened position, the intervened pass equals the plain one bit for bit (delta 0, KL 0).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch

from app.cells.store import CellStore
from app.engine.capture import capture
from app.engine.checkpoint import LoadedModel
from app.engine.interventions import Intervention, check, intervene
from app.errors import InputError
from app.schemas import MAX_INTERVENTIONS  # documented there, in the request's schema
from app.services.activations import DECIMALS, check_size, chunk_bounds
from app.services.predictions import top_dicts
from app.services.selection import ResolvedSelection
from app.settings import Settings


def check_interventions(loaded: LoadedModel, store: CellStore | None, text: str,
                        interventions: Sequence[Intervention], sel: ResolvedSelection,
                        settings: Settings, snapshot: int | None = None) -> dict[str, torch.Tensor]:
    """422 / 413 for a request that cannot be served as asked; the unit means the interventions need."""
    check_size(text, len(sel.units), settings)
    if 2 * len(text) * len(sel.units) > settings.max_values:
        raise InputError(413, f"{len(text):,} characters x {len(sel.units)} units x 2 (with and without the "
                              f"interventions) = {2 * len(text) * len(sel.units):,} values; the limit is "
                              f"{settings.max_values:,}: ask for fewer units or a shorter text")
    return check_list(loaded, store, interventions, len(text), snapshot)


def check_list(loaded: LoadedModel, store: CellStore | None, interventions: Sequence[Intervention],
               length: int, snapshot: int | None = None) -> dict[str, torch.Tensor]:
    """422 for interventions that do not fit the model or `length` positions; the unit means they need."""
    if len(interventions) > MAX_INTERVENTIONS:
        raise InputError(422, f"{len(interventions)} interventions; at most {MAX_INTERVENTIONS} per request")
    means = store.means if store is not None else {}
    for index, intervention in enumerate(interventions):
        if intervention.op == "mean" and snapshot is not None:
            # the stored means are the final model's: at an earlier step a unit averages something else
            raise InputError(422, f"interventions[{index}]: mean uses the final model's stored unit means, which "
                                  f"are not what the units average at snapshot {snapshot}; with a snapshot use "
                                  "zero or clamp, or omit snapshot")
        if intervention.op == "mean" and not means:
            how = (f"it has none; build it: python -m app.cells.build models/{loaded.name}" if store is None else
                   f"its analysis predates unit means; add them: python -m app.cells.means models/{loaded.name}")
            raise InputError(422, f"interventions[{index}]: mean needs {loaded.name}'s stored cell analysis (the "
                                  f"unit means over its held-out sample), and {how}; zero and clamp need none")
    try:
        check(interventions, loaded.model.config, means, length)
    except ValueError as exc:
        raise InputError(422, str(exc)) from None
    return means


def _surprisal(probs: torch.Tensor, next_ids: torch.Tensor) -> np.ndarray:
    """Bits of each actual next character, (n,) float64, as activations.py computes them; NaN after the last."""
    p_next = np.full(probs.shape[0], math.nan)
    p_next[: len(next_ids)] = probs[torch.arange(len(next_ids)), next_ids].numpy()
    return -np.log2(p_next)


def _listed(bits: np.ndarray) -> list[float | None]:
    return [None if math.isnan(b) else b for b in np.round(bits, DECIMALS).tolist()]


def compare(loaded: LoadedModel, text: str, interventions: Sequence[Intervention], sel: ResolvedSelection,
            topk: int, means: Mapping[str, torch.Tensor] | None = None,
            compute_slot: AbstractContextManager = nullcontext()) -> dict:
    """Both passes over the text (check_interventions first): bits, their difference, the KL divergence
    of the two next-character distributions, the selected values and the top-k predictions of each."""
    encoded = loaded.vocab.encode(text)
    ids = torch.from_numpy(encoded.ids)
    base_state = state = None
    out: dict[str, list] = {key: [] for key in ("bits", "base_bits", "delta_bits", "kl", "values", "base_values",
                                                 "predictions", "base_predictions")}
    for start, end in chunk_bounds(len(ids)):
        with compute_slot:
            base = capture(loaded.model, ids[start:end], [sel.name], sel.units, base_state,
                           with_logits=True, with_final_state=True)
            changed = intervene(loaded.model, ids[start:end], interventions, names=[sel.name], units=sel.units,
                                means=means, state=state, offset=start, with_logits=True, with_final_state=True)
        base_state, state = base.final_state, changed.final_state
        base_probs, probs = (torch.softmax(r.logits[0].double(), dim=-1) for r in (base, changed))  # (n, V) each
        base_log_p, log_p = (torch.log_softmax(r.logits[0].double(), dim=-1) for r in (base, changed))
        next_ids = ids[start + 1 : end + 1]
        bits, base_bits = _surprisal(probs, next_ids), _surprisal(base_probs, next_ids)
        # KL(base || intervened) in bits; float rounding can leave a -1e-17 where they are equal
        kl = ((base_probs * (base_log_p - log_p)).sum(dim=-1) / math.log(2)).clamp(min=0.0)  # (n,)
        out["bits"] += _listed(bits)
        out["base_bits"] += _listed(base_bits)
        out["delta_bits"] += _listed(bits - base_bits)
        out["kl"] += np.round(kl.numpy(), DECIMALS).tolist()
        for key, result in (("values", changed), ("base_values", base)):
            out[key] += np.round(result.states[sel.name][0].numpy().astype(np.float64), DECIMALS).tolist()
        if topk:
            out["predictions"] += top_dicts(probs.cpu().numpy(), loaded.vocab, topk)
            out["base_predictions"] += top_dicts(base_probs.cpu().numpy(), loaded.vocab, topk)
    if not topk:
        out["predictions"] = out["base_predictions"] = None
    return {"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name, "units": sel.units,
            "chars": list(text), "unknown": encoded.unknown, **out}
