"""Exact hidden-state capture: every named state of every layer at every character.

The fused PyTorch layer gives h for every step. What it does not return (the LSTM cell
state c and the gates) is recomputed from h_{t-1} with one matrix multiply over all
steps at once, for the requested units only, so capturing one unit of one gate costs a
sliver of capturing everything. The cell state needs the recurrence
c_t = f_t * c_{t-1} + i_t * g_t, which is elementwise and runs as a tight loop.

State names: "layers.{l}.h", "layers.{l}.c" (LSTM), "layers.{l}.gates.{g}" with g in
i, f, g, o (LSTM) or r, z, n (GRU); names.py builds and parses them.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from app.engine.model import CharRNN, State
from app.engine.names import GATES, StateName
from app.engine.stepwise import one_hot_table, run_layer


@dataclass
class Capture:
    states: dict[str, torch.Tensor]  # name -> (B, T, U), U = number of requested units
    logits: torch.Tensor | None  # (B, T, V) next-character logits, when requested
    final_state: State | None  # every layer's recurrent state after the last character, when requested


def linear_recurrence(a: torch.Tensor, b: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """x_t = a_t * x_{t-1} + b_t for a, b of shape (B, T, U) and x0 (B, U) -> x (B, T, U)."""
    a_np = a.transpose(0, 1).contiguous().numpy()  # (T, B, U): each step is one contiguous block
    b_np = b.transpose(0, 1).contiguous().numpy()
    out = np.empty_like(b_np)
    prev = x0.contiguous().numpy()
    for t in range(a_np.shape[0]):
        np.multiply(a_np[t], prev, out=out[t])
        out[t] += b_np[t]
        prev = out[t]
    return torch.from_numpy(out).transpose(0, 1)


def _gate_parts(module, x: torch.Tensor, ids: torch.Tensor, one_hot: bool, h_prev: torch.Tensor,
                blocks: list[int], units: torch.Tensor, H: int, summed: bool,
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Input and recurrent pre-activations of the chosen gate blocks and units: (B, T, len(blocks) * U) each.

    All blocks go through one matrix multiply per side, over every step at once. `summed`
    returns their sum (both biases included) and None: the recurrent product is accumulated
    into the input one in place, with no third tensor and no extra pass over them.
    """
    rows = torch.cat([units + block * H for block in blocks])
    B, T = h_prev.shape[:2]
    w_ih, b_ih = module.weight_ih_l0[rows], module.bias_ih_l0[rows]
    w_hh, b_hh = module.weight_hh_l0[rows], module.bias_hh_l0[rows]
    x_bias = b_ih + b_hh if summed else b_ih
    if one_hot:
        x_part = F.embedding(ids, one_hot_table(w_ih, x_bias)).view(B * T, -1)  # (B*T, k*U)
    else:
        x_part = torch.addmm(x_bias, x.flatten(0, 1), w_ih.t())  # (B*T, k*U)
    h_flat = h_prev.flatten(0, 1)  # (B*T, H)
    if summed:
        return x_part.addmm_(h_flat, w_hh.t()).view(B, T, -1), None
    return x_part.view(B, T, -1), torch.addmm(b_hh, h_flat, w_hh.t()).view(B, T, -1)


@torch.no_grad()
def capture(
    model: CharRNN,
    ids: torch.Tensor,
    names: Iterable[str] = (),
    units: Sequence[int] | None = None,
    state: State | None = None,
    with_logits: bool = False,
    with_final_state: bool = False,
    stepwise: bool = False,
    matmul_dtype: torch.dtype = torch.float32,
    outputs: dict[str, torch.Tensor] | None = None,
    n_layers: int | None = None,
) -> Capture:
    """Runs ids (B, T) or (T,) and returns the requested states for the requested units.

    Layers above the highest requested one run only when logits or the final state are
    asked for. `state` is a previous call's final_state, to continue a text in O(new chars).
    `stepwise` computes every state in one explicit time loop (stepwise.py): faster than
    the fused kernel plus recompute when many streams run at once; with it, `matmul_dtype`
    torch.bfloat16 runs the matrix products in bfloat16 (approximate: for batch scans), and
    `outputs` {name: (B, T, H)} are tensors to write requested states into (all units).
    `n_layers` runs only the first n layers (no logits then): the final state covers just those,
    which is all a caller continuing lower-layer states needs.
    """
    cfg = model.config
    if ids.dim() == 1:
        ids = ids.unsqueeze(0)
    B, T = ids.shape
    H = cfg.hidden_size
    wanted: dict[int, list[str]] = {}
    for name in names:
        parsed = StateName.parse(name, cfg.arch, cfg.n_layers)
        wanted.setdefault(parsed.layer, []).append(parsed.kind)
    unit_index = torch.arange(H) if units is None else torch.as_tensor(list(units), dtype=torch.long)
    if unit_index.numel() and (unit_index.min() < 0 or unit_index.max() >= H):
        raise ValueError(f"units must be in 0..{H - 1}")
    if outputs and (not stepwise or units is not None):
        raise ValueError("outputs need the stepwise path and all units")
    outputs = outputs or {}
    top = cfg.n_layers if (with_logits or with_final_state) else max(wanted, default=-1) + 1
    if n_layers is not None:
        if with_logits or not max(wanted, default=-1) < n_layers <= cfg.n_layers:
            raise ValueError(f"n_layers must cover the requested states, be at most {cfg.n_layers} and exclude logits")
        top = n_layers

    def pick(values: torch.Tensor) -> torch.Tensor:  # all units: no gather, no copy
        return values if units is None else values[..., unit_index]

    was_training = model.training
    if was_training:  # served models are already in eval mode: they are never written to, so threads can share them
        model.eval()
    states: dict[str, torch.Tensor] = {}
    final: State = {}
    x = model.embed(ids)  # (B, T, E)
    for layer in range(top):
        module = model.layers[layer]
        init = model.layer_state_in(layer, state, B, x)
        kinds = wanted.get(layer, [])
        derived = [k for k in kinds if k != "h"]
        one_hot = layer == 0 and model.embedding is None
        if stepwise:
            destinations = {kind: outputs[str(StateName(layer, kind))].transpose(0, 1)  # (T, B, H)
                            for kind in kinds if str(StateName(layer, kind)) in outputs}
            out, others, last = run_layer(cfg.arch, module, x, ids, one_hot, init, set(derived), matmul_dtype,
                                          destinations)
            states.update({str(StateName(layer, k)): pick(v) for k, v in others.items()})
            derived = []
        else:
            out, last = module(x, init)  # (B, T, H)
        final.update(model.layer_state_out(layer, last))
        if "h" in kinds:
            states[str(StateName(layer, "h"))] = pick(out)
        if derived:
            h0 = init[0] if cfg.arch == "lstm" else init
            h_prev = torch.cat([h0[0].unsqueeze(1), out[:, :-1]], dim=1)  # (B, T, H)
            states.update(_derived_states(cfg.arch, module, x, ids, one_hot, h_prev, init, derived, unit_index, H, layer))
        x = out
    logits = model.head(x) if with_logits else None  # (B, T, V)
    if was_training:
        model.train()
    return Capture(states=states, logits=logits, final_state=final if with_final_state else None)


def _derived_states(arch, module, x, ids, one_hot, h_prev, init, kinds, units, H, layer) -> dict[str, torch.Tensor]:
    gate_names = GATES[arch]
    needed = {k.removeprefix("gates.") for k in kinds if k.startswith("gates.")}
    if "c" in kinds:
        needed |= {"i", "f", "g"}
    if arch == "gru" and "n" in needed:
        needed.add("r")  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    order = sorted(needed, key=gate_names.index)
    blocks = [gate_names.index(g) for g in order]
    gates: dict[str, torch.Tensor] = {}
    if arch == "gru":  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): the two sides stay apart
        x_part, h_part = _gate_parts(module, x, ids, one_hot, h_prev, blocks, units, H, summed=False)
        x_parts = dict(zip(order, x_part.chunk(len(order), dim=-1)))
        h_parts = dict(zip(order, h_part.chunk(len(order), dim=-1)))
        for g in order:
            if g == "n":
                gates[g] = torch.tanh(x_parts[g] + gates["r"] * h_parts[g])
            else:
                gates[g] = torch.sigmoid(x_parts[g] + h_parts[g])
    else:  # each gate squashed in place in its slice of the summed pre-activations
        summed, _ = _gate_parts(module, x, ids, one_hot, h_prev, blocks, units, H, summed=True)
        for g, pre in zip(order, summed.chunk(len(order), dim=-1)):
            gates[g] = pre.tanh_() if g == "g" else pre.sigmoid_()
    result = {str(StateName(layer, f"gates.{g}")): gates[g] for g in gate_names if f"gates.{g}" in kinds}
    if "c" in kinds:
        c0 = init[1][0][:, units]  # (B, U)
        result[str(StateName(layer, "c"))] = linear_recurrence(gates["f"], gates["i"] * gates["g"], c0)
    return result
