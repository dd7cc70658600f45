"""Direct output effect of a top-layer h unit (Neuroscope's "direct logit effect").

The output layer reads the top layer's h: logits = W_hy h + b. A change of one unit of activation
in h[u] moves logit v by exactly W_hy[v, u], whatever the rest of h is, so the column W_hy[:, u]
says which next characters the unit pushes up and which it pushes down, not counting its effect
through later steps. The unknown symbol (UNKNOWN_INDEX) is never predicted on purpose and is left
out; a softmax is unchanged by adding the same amount to every logit, so the column is shown as it
is (a unit that raises every logit alike predicts nothing).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from app.engine.model import CharRNN
from app.engine.vocab import UNKNOWN_INDEX, Vocabulary


@dataclass(frozen=True)
class DirectEffect:
    raises: list[tuple[str, float]]  # (character, logit change per unit of activation), largest first
    lowers: list[tuple[str, float]]  # most negative first


@torch.no_grad()
def direct_effect(model: CharRNN, vocab: Vocabulary, unit: int, k: int = 8) -> DirectEffect:
    """The k characters whose logits top-layer h[unit] raises most and the k it lowers most."""
    column = model.head.weight[:, unit].detach().float().clone()  # (V,)
    known = torch.ones_like(column, dtype=torch.bool)
    known[UNKNOWN_INDEX] = False
    ids = torch.nonzero(known).squeeze(1)  # (V - 1,)
    k = min(k, len(ids))
    order = ids[torch.argsort(column[ids], descending=True, stable=True)]  # (V - 1,)
    pick = lambda idx: [(vocab.decode_id(int(i)), float(column[i])) for i in idx]
    return DirectEffect(raises=pick(order[:k]), lowers=pick(order.flip(0)[:k]))
