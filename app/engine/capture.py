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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from app.engine.model import CharRNN, State
from app.engine.names import GATES, StateName
from app.engine.stepwise import Edits, one_hot_table, run_layer


@dataclass
class Capture:
    states: dict[str, torch.Tensor]  # name -> (B, T, U), U = number of requested units
    logits: torch.Tensor | None  # (B, T, V) next-character logits, when requested
    final_state: State | None  # every layer's recurrent state after the last character, when requested


def linear_recurrence(a: torch.Tensor, b: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """x_t = a_t * x_{t-1} + b_t for a, b of shape (B, T, U) and x0 (B, U) -> x (B, T, U)."""
    if a.device.type != "cpu":  # on a GPU the loop stays there; NumPy's is the faster one on a CPU
        out = torch.empty_like(b)
        prev = x0
        for t in range(a.shape[1]):
            prev = torch.addcmul(b[:, t], a[:, t], prev, out=out[:, t])
        return out
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


@dataclass(frozen=True)
class Stepwise:
    """capture()'s explicit time loop (stepwise.py): faster than the fused kernel plus recompute
    when many streams run at once, so the batched scan takes it.

    `matmul_dtype` torch.bfloat16 runs the matrix products in bfloat16 (approximate: for batch
    scans); `outputs` {name: (B, T, H)} are tensors to write requested states into (all units);
    `edits` {layer: {kind: function}} change states inside the recurrence (interventions.py).
    """
    matmul_dtype: torch.dtype = torch.float32
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    edits: Mapping[int, Edits] = field(default_factory=dict)


@torch.no_grad()
def capture(
    model: CharRNN,
    ids: torch.Tensor,
    names: Iterable[str] = (),
    units: Sequence[int] | None = None,
    state: State | None = None,
    with_logits: bool = False,
    with_final_state: bool = False,
    stepwise: Stepwise | None = None,
    n_layers: int | None = None,
    inputs: torch.Tensor | None = None,
    first_layer: int = 0,
) -> Capture:
    """Runs ids (B, T) or (T,) and returns the requested states for the requested units.

    Layers above the highest requested one run only when logits or the final state are
    asked for. `state` is a previous call's final_state, to continue a text in O(new chars).
    `stepwise` computes every state in one explicit time loop instead (see Stepwise).
    `n_layers` runs only the first n layers (no logits then): the final state covers just those,
    which is all a caller continuing lower-layer states needs.
    `inputs` (B, T, H) with `first_layer` L > 0 starts at layer L, reading inputs as the output of
    layer L - 1 (the caller ran the layers below, e.g. once for many streams that differ only from
    L up): the states asked for and the final state then cover layers L and up.
    The pass runs where the model is (CELLX_DEVICE); the states and logits come back on the CPU,
    the final state stays on the model's device for the next call.
    """
    cfg = model.config
    device = model.head.weight.device
    if ids.dim() == 1:
        ids = ids.unsqueeze(0)
    ids = ids.to(device)
    wanted = _kinds_by_layer(names, cfg.arch, cfg.n_layers)
    unit_index = (torch.arange(cfg.hidden_size) if units is None else torch.as_tensor(list(units), dtype=torch.long)
                  ).to(device)
    if unit_index.numel() and (unit_index.min() < 0 or unit_index.max() >= cfg.hidden_size):
        raise ValueError(f"units must be in 0..{cfg.hidden_size - 1}")
    if stepwise is not None and stepwise.outputs and units is not None:
        raise ValueError("stepwise outputs need all units")
    top = _layers_to_run(cfg.n_layers, wanted, with_logits, with_final_state, n_layers)
    if (inputs is None) != (first_layer == 0) or any(layer < first_layer for layer in wanted):
        raise ValueError("inputs and first_layer > 0 go together, and the states asked for must be in layers "
                         "first_layer and up")

    was_training = model.training
    if was_training:  # served models are already in eval mode: they are never written to, so threads can share them
        model.eval()
    states: dict[str, torch.Tensor] = {}
    final: State = {}
    x = model.embed(ids) if inputs is None else inputs.to(device)  # (B, T, E), or (B, T, H) into first_layer
    for layer in range(first_layer, top):
        init = model.layer_state_in(layer, state, ids.shape[0], x)
        x, layer_states, last = _capture_layer(model, layer, x, ids, init, wanted.get(layer, []),
                                               None if units is None else unit_index, stepwise)  # (B, T, H)
        states.update(layer_states)
        final.update(model.layer_state_out(layer, last))
    logits = model.head(x) if with_logits else None  # (B, T, V)
    if was_training:
        model.train()
    if device.type != "cpu":  # callers read results on the CPU; the final state stays for the next call
        states = {name: value.cpu() for name, value in states.items()}
        logits = None if logits is None else logits.cpu()
    return Capture(states=states, logits=logits, final_state=final if with_final_state else None)


def _kinds_by_layer(names: Iterable[str], arch: str, n_layers: int) -> dict[int, list[str]]:
    """The requested state kinds of each layer, in the order asked; ValueError naming the valid ones."""
    wanted: dict[int, list[str]] = {}
    for name in names:
        parsed = StateName.parse(name, arch, n_layers)
        wanted.setdefault(parsed.layer, []).append(parsed.kind)
    return wanted


def _layers_to_run(total: int, wanted: dict[int, list[str]], with_logits: bool, with_final_state: bool,
                   n_layers: int | None) -> int:
    highest = max(wanted, default=-1)
    if n_layers is None:
        return total if (with_logits or with_final_state) else highest + 1
    if with_logits or not highest < n_layers <= total:
        raise ValueError(f"n_layers must cover the requested states, be at most {total} and exclude logits")
    return n_layers


def _capture_layer(model: CharRNN, layer: int, x: torch.Tensor, ids: torch.Tensor, init, kinds: list[str],
                   units: torch.Tensor | None, stepwise: Stepwise | None):
    """One layer on its input x (B, T, in): its output h (B, T, H), its requested states by name
    (B, T, U), and the final state as the fused module returns it.

    `units` None keeps every unit, without a gather or a copy.
    """
    module = model.layers[layer]
    arch = model.config.arch
    one_hot = layer == 0 and model.embedding is None
    names = {kind: str(StateName(layer, kind)) for kind in kinds}
    derived = [k for k in kinds if k != "h"]

    def pick(values: torch.Tensor) -> torch.Tensor:
        return values if units is None else values[..., units]

    states: dict[str, torch.Tensor] = {}
    if stepwise is not None:
        destinations = {kind: stepwise.outputs[name].transpose(0, 1)  # (T, B, H)
                        for kind, name in names.items() if name in stepwise.outputs}
        # the loop writes into its destinations as it goes, so they must live where the model does
        elsewhere = {kind: dest for kind, dest in destinations.items() if dest.device != x.device}
        local = {kind: dest for kind, dest in destinations.items() if kind not in elsewhere}
        out, others, last = run_layer(arch, module, x, ids, one_hot, init, set(derived) | set(elsewhere),
                                      stepwise.matmul_dtype, local, stepwise.edits.get(layer))
        for kind, dest in elsewhere.items():
            dest.copy_(out.transpose(0, 1) if kind == "h" else others[kind].transpose(0, 1))
        states.update({names[k]: pick(v) for k, v in others.items()})
        derived = []  # the loop computed them
    else:
        out, last = module(x, init)  # (B, T, H)
    if "h" in kinds:
        states[names["h"]] = pick(out)
    if derived:
        all_units = torch.arange(module.hidden_size) if units is None else units
        computed = _derived_states(arch, module, x, ids, one_hot, out, init, derived, all_units)
        states.update({names[k]: v for k, v in computed.items()})
    return out, states, last


def _derived_states(arch, module, x, ids, one_hot, out, init, kinds, units) -> dict[str, torch.Tensor]:
    """The gates and the LSTM cell state of the fused path, {kind: (B, T, U)}, recomputed from its h."""
    H = module.hidden_size
    h0 = init[0] if arch == "lstm" else init
    h_prev = torch.cat([h0[0].unsqueeze(1), out[:, :-1]], dim=1)  # (B, T, H)
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
    result = {f"gates.{g}": gates[g] for g in gate_names if f"gates.{g}" in kinds}
    if "c" in kinds:
        c0 = init[1][0][:, units]  # (B, U)
        result["c"] = linear_recurrence(gates["f"], gates["i"] * gates["g"], c0)
    return result
