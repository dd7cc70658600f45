"""Every state of one layer from an explicit time loop: the path for many streams at once.

With a batch of B streams each step's recurrent product is a (B, H) x (H, G*H) matrix
product, so stepping in Python costs little, and the loop yields the gates and the LSTM
cell state as it goes: nothing has to be recomputed afterwards. For a single stream the
fused PyTorch kernel plus the recompute in capture.py is faster, so capture() uses this
only when asked (the batched scan asks).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from app.engine.model import GATES
from app.engine.vocab import UNKNOWN_INDEX


def project_input(w_ih: torch.Tensor, x: torch.Tensor, ids: torch.Tensor, one_hot: bool) -> torch.Tensor:
    """w_ih (R, in) applied to every step at once: (B, T, R)."""
    if one_hot:  # a column lookup replaces the one-hot matmul; the unknown symbol's input is all zeros
        table = w_ih.t().clone()  # (V, R)
        table[UNKNOWN_INDEX] = 0.0
        return F.embedding(ids, table)
    return x @ w_ih.t()


def input_projection(module, x: torch.Tensor, ids: torch.Tensor, one_hot: bool) -> torch.Tensor:
    """W_ih x_t + b_ih for every step at once: (B, T, G*H)."""
    return project_input(module.weight_ih_l0, x, ids, one_hot) + module.bias_ih_l0


@torch.no_grad()
def run_layer(arch: str, module, x: torch.Tensor, ids: torch.Tensor, one_hot: bool, init,
              want: set[str]) -> tuple[torch.Tensor, dict[str, torch.Tensor], object]:
    """One layer over (B, T): h (B, T, H), the wanted other states {kind: (B, T, H)}, and the final state.

    `init` is what the fused module takes: (h0, c0) for an LSTM, h0 otherwise, each (1, B, H).
    """
    B, T, _ = x.shape
    H = module.hidden_size
    xp = input_projection(module, x, ids, one_hot).transpose(0, 1).contiguous()  # (T, B, G*H)
    w_hh_t = module.weight_hh_l0.t()  # (H, G*H)
    b_hh = module.bias_hh_l0
    hs = torch.empty(T, B, H)
    gate_names = GATES[arch]
    keep_gates = any(k.startswith("gates.") for k in want)
    gates_out = torch.empty(T, B, len(gate_names) * H) if keep_gates else None
    cs = torch.empty(T, B, H) if "c" in want else None
    if arch == "lstm":
        h, c = init[0][0], init[1][0]
        xp += b_hh  # both biases add before the nonlinearity
        for t in range(T):
            z = torch.addmm(xp[t], h, w_hh_t)  # (B, 4H) pre-activations of i, f, g, o
            act = torch.sigmoid(z)
            torch.tanh(z[:, 2 * H : 3 * H], out=act[:, 2 * H : 3 * H])
            c = torch.addcmul(act[:, H : 2 * H] * c, act[:, :H], act[:, 2 * H : 3 * H])
            h = act[:, 3 * H :] * torch.tanh(c)
            hs[t] = h
            if cs is not None:
                cs[t] = c
            if gates_out is not None:
                gates_out[t] = act
        final = (h.unsqueeze(0), c.unsqueeze(0))
    elif arch == "gru":
        h = init[0]
        for t in range(T):
            hh = torch.addmm(b_hh, h, w_hh_t)  # (B, 3H): W_h{r,z,n} h + b_h{r,z,n}
            rz = torch.sigmoid(xp[t, :, : 2 * H] + hh[:, : 2 * H])
            n = torch.tanh(torch.addcmul(xp[t, :, 2 * H :], rz[:, :H], hh[:, 2 * H :]))
            h = torch.addcmul(n, rz[:, H:], h - n)  # (1 - z) n + z h
            hs[t] = h
            if gates_out is not None:
                gates_out[t, :, : 2 * H] = rz
                gates_out[t, :, 2 * H :] = n
        final = h.unsqueeze(0)
    else:
        h = init[0]
        xp += b_hh
        for t in range(T):
            h = torch.tanh(torch.addmm(xp[t], h, w_hh_t))
            hs[t] = h
        final = h.unsqueeze(0)
    others: dict[str, torch.Tensor] = {}
    if cs is not None:
        others["c"] = cs.transpose(0, 1)
    for k, g in enumerate(gate_names):
        if f"gates.{g}" in want:
            others[f"gates.{g}"] = gates_out[:, :, k * H : (k + 1) * H].transpose(0, 1)
    return hs.transpose(0, 1), others, final
