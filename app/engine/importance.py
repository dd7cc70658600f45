"""Unit importance for a target: how much mean-ablating each unit of one state makes the model more
surprised at some characters (the target) than at the others.

The effect of mean-ablating unit u at every position is

    effect(u) = mean over target predictions of the change in surprisal
              - mean over every other prediction of the change in surprisal        (bits)

where the prediction made after character i, of character i + 1, counts as a target prediction
when character i + 1 is a target character. Every unit's effect is first estimated to first
order (attribution patching): with a(t, u) the unit's value at step t of the plain pass, m(u) its
stored mean and J the objective above,

    estimate(u) = sum over t of dJ/da(t, u) * (m(u) - a(t, u)),

the derivative taken through the recurrence (a change at step t reaches every later step and the
layers above). All units of a state cost one forward and one backward pass of the fused kernels:
a copy of the layer whose input also carries a zero (T, G*H) tensor through an identity block of
its input weights gives dJ/dz_t, the gradient of every step's pre-activations; the gradient of
each state's value follows from it and the plain pass's states in closed form:

LSTM   dh_t = (output layers' direct gradient)_t + U^T dz_{t+1}
       dc_t = dh_t o_t (1 - tanh^2 c_t) + dc_{t+1} f_{t+1}       (backwards, elementwise)
       di_t = dc_t g_t,  df_t = dc_t c_{t-1},  dg_t = dc_t i_t,  do_t = dh_t tanh c_t
GRU    dh_t = direct_t + U_r^T dr~_{t+1} + U_z^T dz~_{t+1} + U_n^T (r_{t+1} dn~_{t+1}) + z_{t+1} dh_{t+1}
       dn_t = dh_t (1 - z_t),  dz_t = dh_t (h_{t-1} - n_t),  dr_t = dn~_t (U_n h_{t-1} + b_hn)
       (x~: the gradient of the gate's input-side pre-activation, which is the whole one for r and z)
RNN    dh_t = direct_t + U^T dz_{t+1}

The units with the largest estimates are then ablated exactly (interventions.py, as parallel
streams of one pass).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from app.engine.capture import capture, linear_recurrence
from app.engine.interventions import Intervention, intervene_streams
from app.engine.model import CharRNN
from app.engine.names import StateName, state_kinds

CHUNK = 4096  # characters per engine call of the exact ablations (bounds their memory)


def objective(bits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean surprisal at the target predictions minus the mean at the others; bits, target (T - 1,)."""
    return bits[target].mean() - bits[~target].mean()


def next_bits(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(T, V) logits after each character -> (T - 1,) surprisal in bits of each next character."""
    log_p = torch.log_softmax(logits[:-1], dim=-1)
    return -log_p[torch.arange(len(ids) - 1, device=log_p.device), ids[1:].to(log_p.device)] / math.log(2)


def _step_gradients(model: CharRNN, layer: int, x: torch.Tensor, ids: torch.Tensor, target: torch.Tensor):
    """dJ/dz_t of layer `layer`'s input-side pre-activations, (T, G*H), and dJ/d(its output h_t)
    through the layers above and the output layer only, (T, H)."""
    module = model.layers[layer]
    H = module.hidden_size
    GH = module.weight_ih_l0.shape[0]
    copy = type(module)(x.shape[-1] + GH, H, batch_first=True, device=x.device,
                        **({"nonlinearity": "tanh"} if model.config.arch == "rnn" else {}))
    copy.requires_grad_(False)
    with torch.no_grad():
        copy.weight_ih_l0.copy_(torch.cat([module.weight_ih_l0, torch.eye(GH, device=x.device)], dim=1))
        for field in ("weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(copy, field).copy_(getattr(module, field))
    zero = torch.zeros(1, len(ids), GH, device=x.device, requires_grad=True)  # (1, T, G*H)
    with torch.enable_grad():
        out, _ = copy(torch.cat([x, zero], dim=-1))  # (1, T, H)
        y = out
        for above in model.layers[layer + 1 :]:
            y, _ = above(y)
        J = objective(next_bits(model.head(y)[0], ids), target.to(x.device))
        # autograd.grad, not backward(): nothing is written into the shared model's .grad
        pre, direct = torch.autograd.grad(J, [zero, out])
    return pre[0], direct[0]


def _backwards(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x_t = a_t x_{t+1} + b_t from the last step back (x_T = 0), for a, b (T, H)."""
    return linear_recurrence(a.flip(0)[None], b.flip(0)[None], a.new_zeros(1, a.shape[1]))[0].flip(0)


def _shifted_back(values: torch.Tensor) -> torch.Tensor:
    """v_{t+1} at row t, zeros after the last step: (T, ...)."""
    return torch.cat([values[1:], values.new_zeros(1, *values.shape[1:])])


def _shifted_forward(values: torch.Tensor) -> torch.Tensor:
    """v_{t-1} at row t, zeros (the initial state) before the first: (T, ...)."""
    return torch.cat([values.new_zeros(1, *values.shape[1:]), values[:-1]])


def state_gradients(model: CharRNN, ids: torch.Tensor, name: StateName, target: torch.Tensor,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """dJ/da(t, u) for every step and unit of the state, (T, H), and the state's plain values a, (T, H)."""
    cfg = model.config
    layer, kind = name.layer, name.kind
    with torch.no_grad():
        captured = capture(model, ids, [str(StateName(layer, k)) for k in state_kinds(cfg.arch)]).states
        device = model.head.weight.device  # capture() hands states back on the CPU; the gradients stay on the device
        states = {k: captured[str(StateName(layer, k))][0].to(device) for k in state_kinds(cfg.arch)}  # (T, H) each
        x = model.embed(ids[None].to(device))  # (1, T, in)
        for below in model.layers[:layer]:
            x, _ = below(x)
    pre, direct = _step_gradients(model, layer, x.detach(), ids, target)  # (T, G*H), (T, H)
    module = model.layers[layer]
    H = module.hidden_size
    U = module.weight_hh_l0.detach()  # (G*H, H)
    with torch.no_grad():
        if cfg.arch == "gru":
            g_r, g_z, g_n = pre.split(H, dim=1)
            r, z, n, h = states["gates.r"], states["gates.z"], states["gates.n"], states["h"]
            through_next = torch.cat([g_r, g_z, r * g_n], dim=1) @ U  # (T, H): what step t sends back to h_{t-1}
            dh = _backwards(_shifted_back(z), direct + _shifted_back(through_next))
            gradient = {"h": dh, "gates.n": dh * (1 - z), "gates.z": dh * (_shifted_forward(h) - n),
                        "gates.r": g_n * (_shifted_forward(h) @ U[2 * H :].t() + module.bias_hh_l0[2 * H :].detach())}
        else:
            dh = direct + _shifted_back(pre @ U)  # (T, H)
            gradient = {"h": dh}
            if cfg.arch == "lstm":
                i, f, g, o, c = (states[k] for k in ("gates.i", "gates.f", "gates.g", "gates.o", "c"))
                tanh_c = torch.tanh(c)
                dc = _backwards(_shifted_back(f), dh * o * (1 - tanh_c * tanh_c))
                gradient.update({"c": dc, "gates.i": dc * g, "gates.f": dc * _shifted_forward(c),
                                 "gates.g": dc * i, "gates.o": dh * tanh_c})
    return gradient[kind], states[kind]


def estimate(model: CharRNN, ids: torch.Tensor, name: StateName, mean: torch.Tensor,
             target: torch.Tensor) -> torch.Tensor:
    """Every unit's first-order estimate of its mean-ablation effect, (H,) float32.

    ids (T,); mean (H,) the state's stored unit means; target (T - 1,) bool, which predictions are
    of a target character (the target and the others both non-empty).
    """
    gradient, values = state_gradients(model, ids, name, target)
    return (gradient * (mean.to(values.device)[None, :] - values)).sum(dim=0).cpu()


@torch.no_grad()
def exact(model: CharRNN, ids: torch.Tensor, name: StateName, units: Sequence[int],
          means: Mapping[str, torch.Tensor], target: torch.Tensor) -> list[tuple[float, float, float]]:
    """Each unit mean-ablated at every position, one stream each: (effect, change at the target
    predictions, change at the others) in bits, per unit."""
    if not units:
        return []
    changes = ablation_changes(model, ids, name, units, means)  # (B, T - 1)
    at_target, at_others = changes[:, target].mean(dim=1), changes[:, ~target].mean(dim=1)
    return [(float(t - o), float(t), float(o)) for t, o in zip(at_target, at_others)]


@torch.no_grad()
def ablation_changes(model: CharRNN, ids: torch.Tensor, name: StateName, units: Sequence[int],
                     means: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(B, T - 1) float64: each unit mean-ablated at every position, one stream each, and the change
    in surprisal (bits) of every prediction of a next character."""
    sets = [[Intervention(name.layer, name.kind, [u], "mean")] for u in units]
    changes = torch.zeros(len(units), len(ids) - 1, dtype=torch.float64)  # (B, T - 1)
    state = base_state = None
    for start in range(0, len(ids), CHUNK):
        end = min(len(ids), start + CHUNK)
        base = capture(model, ids[start:end], state=base_state, with_logits=True, with_final_state=True)
        changed = intervene_streams(model, ids[start:end], sets, means=means, state=state, offset=start,
                                    with_logits=True, with_final_state=True)
        base_state, state = base.final_state, changed.final_state
        n = min(end, len(ids) - 1) - start  # the chunk's predictions of a next character
        rows, next_ids = torch.arange(n), ids[start + 1 : start + 1 + n]
        base_log_p = torch.log_softmax(base.logits[0, :n].double(), dim=-1)  # (n, V)
        log_p = torch.log_softmax(changed.logits[:, :n].double(), dim=-1)  # (B, n, V)
        changes[:, start : start + n] = (base_log_p[rows, next_ids][None] - log_p[:, rows, next_ids]) / math.log(2)
    return changes
