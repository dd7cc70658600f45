"""Every state of one layer from an explicit time loop: the path for many streams at once.

With a batch of B streams each step's recurrent product is a (B, H) x (H, G*H) matrix
product, so stepping in Python costs little, and the loop yields the gates and the LSTM
cell state as it goes: nothing has to be recomputed afterwards. For a single stream the
fused PyTorch kernel plus the recompute in capture.py is faster, so capture() uses this
only when asked (the batched scan asks).

Everything here is time-major, (T, B, ...), so that each step reads and writes one
contiguous block; callers get (B, T, ...) views of the same memory.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import torch

from app.engine.names import GATES
from app.engine.vocab import UNKNOWN_INDEX

LSTM_SIGMOID_FIRST = (0, 1, 3, 2)  # i, f, o, g: the three sigmoid gates side by side, then tanh

# kind -> a function that changes that state of one step in place, (B, H), right after it is
# computed and before anything reads it (interventions.py builds them)
Edits = Mapping[str, Callable[[torch.Tensor], None]]


def _tanh_from_sigmoid(squashed: torch.Tensor) -> torch.Tensor:
    """sigmoid(2x) -> tanh(x), in place."""
    return squashed.mul_(2).sub_(1)


def one_hot_table(w_ih: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """(V, R): row v is w_ih (R, V) applied to the one-hot input v, plus bias; a lookup replaces the matmul.

    The unknown symbol has no input, so its row is the bias alone (zeros without one).
    """
    table = w_ih.t().clone() if bias is None else w_ih.t() + bias
    table[UNKNOWN_INDEX] = 0.0 if bias is None else bias
    return table


@cache
def fast_matmul_dtype() -> torch.dtype:
    """bfloat16 where oneDNN multiplies it natively (AVX-512 BF16, AMX), else float32.

    Without native support bfloat16 products are emulated and slower than float32.
    """
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        native = False
    return torch.bfloat16 if native else torch.float32


def _gate_blocks(tensor: torch.Tensor, order: tuple[int, ...], H: int) -> torch.Tensor:
    """Reorders the gate blocks of a (G*H, ...) weight or (G*H,) bias."""
    return torch.cat([tensor[g * H : (g + 1) * H] for g in order])


@cache
def _onednn() -> bool:
    """Whether this torch multiplies float32 on the CPU with oneDNN's packed-weight kernels.

    Here they take a (B, 512) x (512, 2048) product 2.3-3x faster than addmm at every B from 4 to
    256 (and as fast at B = 1), and give each row the same bits at every B (agreeing_shapes checks).
    """
    try:
        ops = torch.ops.mkldnn
        probe = ops._reorder_linear_weight(torch.ones(2, 2))
        ops._linear_pointwise(torch.ones(1, 2), probe, None, "none", [], "")
        ops._linear_pointwise.binary(torch.ones(1, 2), torch.ones(1, 2), probe, None, "add")
        return torch.backends.mkldnn.is_available()
    except (AttributeError, RuntimeError):  # a torch build without them
        return False


class _Product:
    """x W^T (+ bias, or + a (B, N) tensor) for one weight W (N, K): oneDNN's packed kernel on a CPU
    where it exists for float32, else addmm in dt."""

    def __init__(self, weight: torch.Tensor, dt: torch.dtype):
        self.packed = (torch.ops.mkldnn._reorder_linear_weight(weight.float().contiguous())
                       if dt == torch.float32 and weight.device.type == "cpu" and _onednn() else None)
        self.weight_t = None if self.packed is not None else weight.t().to(dt)  # (K, N)
        self.dt = dt

    def plus_bias(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x (M, K) -> x W^T + bias (N,): (M, N), a fresh tensor."""
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), self.packed, bias, "none", [], "")
        return torch.addmm(bias.to(self.dt), x.to(self.dt), self.weight_t)

    def plus(self, x: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """x (M, K) -> base + x W^T: (M, N); base (M, N) may be overwritten."""
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise.binary(x.contiguous(), base.contiguous(), self.packed, None,
                                                             "add")
        return base.addmm_(x.to(self.dt), self.weight_t)


# per module: the versions of its weights and what _weights() made of them, so that passes over
# the same served model reorder and pack its weights once
_WEIGHTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _weights(arch: str, module, dt: torch.dtype,
             ) -> tuple[_Product, _Product, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One layer's weights reordered for its architecture's loop: the input and recurrent products, the
    input-side bias (b_ih, plus b_hh but for the GRU) and b_hh, (G*H,) float32, and W_ih (G*H, in)."""
    params = (module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0)
    key = (arch, dt, tuple(p._version for p in params), tuple(p.data_ptr() for p in params))
    cached = _WEIGHTS.get(module, {})
    if key in cached:
        return cached[key]
    H = module.hidden_size
    order = LSTM_SIGMOID_FIRST if arch == "lstm" else tuple(range(len(GATES[arch]) or 1))
    w_ih, w_hh, b_ih, b_hh = (_gate_blocks(p.detach(), order, H) for p in params)
    bias = b_ih if arch == "gru" else b_ih + b_hh  # GRU: b_hn sits inside r * (...)
    if arch == "lstm":
        # This torch's CPU tanh costs about four sigmoids, so the LSTM loop computes tanh(x) as
        # 2 sigmoid(2x) - 1 (absolute error below 3e-7), the 2x coming from doubled g rows
        # (exact: a power of two). The vanilla RNN keeps tanh: its state feeds back through
        # nothing else, and the error compounded to 1e-4 in its logits.
        for w in (w_ih, w_hh, bias):  # fresh tensors (concatenated blocks, a sum): the module is untouched
            w[3 * H :] *= 2  # the g block comes last (LSTM_SIGMOID_FIRST)
    prepared = (_Product(w_ih, dt), _Product(w_hh, dt), bias, b_hh, w_ih)
    _WEIGHTS[module] = {key: prepared}  # only the newest: a model in training changes them every step
    return prepared


@dataclass
class _Steps:
    """One layer's weights, reordered for its architecture's loop, as per-step functions.

    They are closures, not methods, so that a loop that binds them to locals pays no attribute
    lookups per step.
    """
    T: int
    B: int
    H: int
    dt: torch.dtype  # of the matrix products
    b_hh: torch.Tensor  # (G*H,) float32: only the GRU adds it apart (b_hn sits inside r * (...))
    step_input: Callable[[int], torch.Tensor]  # t -> W_ih x_t + biases: (B, G*H) in dt, free to overwrite
    recurrent: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (h, bias) -> h W_hh^T + bias: (B, G*H) in dt
    pre_activation: Callable[[torch.Tensor, int], torch.Tensor]  # (h, t) -> all of it, (B, G*H) float32


def _prepare(arch: str, module, x: torch.Tensor, ids: torch.Tensor, one_hot: bool, dt: torch.dtype) -> _Steps:
    B, T, _ = x.shape
    H = module.hidden_size
    input_product, recurrent_product, bias, b_hh, w_ih = _weights(arch, module, dt)
    if one_hot:  # one row of a (V, G*H) table per step: no (T, B, G*H) tensor ever materialises
        table = one_hot_table(w_ih, bias).to(dt)  # (V, G*H)
        ids_tm = ids.t().contiguous()  # (T, B)

        def step_input(t: int) -> torch.Tensor:  # a fresh tensor
            return torch.index_select(table, 0, ids_tm[t])
    elif B > 1 and x.stride(0) == 0:  # every stream reads the same input (interventions' shared lower layers)
        xp = input_product.plus_bias(x[0], bias)  # (T, G*H): the product once, not B times

        def step_input(t: int) -> torch.Tensor:  # a fresh copy per stream
            return xp[t].expand(B, -1).clone()
    else:
        x_tm = x.transpose(0, 1).reshape(T * B, -1)  # (T*B, in)
        xp = input_product.plus_bias(x_tm, bias).view(T, B, -1)  # (T, B, G*H)

        def step_input(t: int) -> torch.Tensor:  # a row of xp, which is read once: free to overwrite
            return xp[t]

    def recurrent(h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return recurrent_product.plus_bias(h, bias)

    # bfloat16 pre-activations are widened once per step: the gate functions then read and write
    # float32 only (mixed-dtype elementwise ops take a slow converting path)
    widened = torch.empty(B, bias.shape[0], device=x.device) if dt != torch.float32 else None

    def pre_activation(h: torch.Tensor, t: int) -> torch.Tensor:
        z = recurrent_product.plus(h, step_input(t))  # the step's input plus h W_hh^T
        return z if widened is None else widened.copy_(z)

    return _Steps(T, B, H, dt, b_hh, step_input, recurrent, pre_activation)


def _gate_writer(arch: str, dest: dict[str, torch.Tensor], scratch: torch.Tensor, H: int):
    """(gate, block, t) -> where gate g of step t goes, (B, H): its destination when wanted, else scratch."""
    gates = {g: dest[f"gates.{g}"] for g in GATES[arch] if f"gates.{g}" in dest}  # (T, B, H) each

    def gate_out(g: str, block: int, t: int) -> torch.Tensor:
        return gates[g][t] if g in gates else scratch[:, block * H : (block + 1) * H]

    return gate_out


def _lstm_loop(steps: _Steps, init, dest: dict[str, torch.Tensor], edits: Edits):
    """c_t = f c_{t-1} + i g and h_t = o tanh(c_t); the final (h, c), (1, B, H) each."""
    H = steps.H
    edit_i, edit_f, edit_g, edit_o, edit_c, edit_h = (edits.get(k) for k in ("gates.i", "gates.f", "gates.g",
                                                                              "gates.o", "c", "h"))
    any_edit = bool(edits)
    hs, cs = dest["h"], dest.get("c")
    scratch = torch.empty(steps.B, 4 * H, device=init[0].device)
    cell_scratch = torch.empty(steps.B, H, device=init[0].device)
    gate_out = _gate_writer("lstm", dest, scratch, H)
    any_gate = any(kind.startswith("gates.") for kind in dest)
    pre_activation = steps.pre_activation
    h, c = init[0][0], init[1][0]
    for t in range(steps.T):
        z = pre_activation(h, t)  # (B, 4H) pre-activations of i, f, o, g
        if any_gate:  # each gate straight into its destination
            i, f, o = (torch.sigmoid(z[:, k * H : (k + 1) * H], out=gate_out(g, k, t)) for k, g in enumerate("ifo"))
            g_ = _tanh_from_sigmoid(torch.sigmoid(z[:, 3 * H :], out=gate_out("g", 3, t)))
        else:  # one call for all four gates
            i, f, o, g_ = torch.sigmoid(z, out=scratch).split(H, dim=1)
            _tanh_from_sigmoid(g_)
        if any_edit:  # a changed gate is the one c and h read
            for edit, gate in ((edit_i, i), (edit_f, f), (edit_g, g_), (edit_o, o)):
                if edit is not None:
                    edit(gate)
        c = torch.addcmul(f * c, i, g_, out=cs[t] if cs is not None else None)
        if edit_c is not None:  # before h = o tanh(c) and the next step read it
            edit_c(c)
        squashed = torch.sigmoid(torch.mul(c, 2, out=cell_scratch), out=cell_scratch)  # sigmoid(2c)
        h = torch.mul(o, _tanh_from_sigmoid(squashed), out=hs[t])  # o * tanh(c)
        if edit_h is not None:  # before the next step, the next layer and the output layer read it
            edit_h(h)
    return h.unsqueeze(0).clone(), c.unsqueeze(0).clone()


def _gru_loop(steps: _Steps, init, dest: dict[str, torch.Tensor], edits: Edits) -> torch.Tensor:
    """h_t = (1 - z) n + z h_{t-1} with n = tanh(W_in x + b_in + r (W_hn h + b_hn)); the final h, (1, B, H)."""
    H = steps.H
    edit_r, edit_z, edit_n, edit_h = (edits.get(k) for k in ("gates.r", "gates.z", "gates.n", "h"))
    hs = dest["h"]
    gate_out = _gate_writer("gru", dest, torch.empty(steps.B, 3 * H, device=init.device), H)
    recurrent, step_input = steps.recurrent, steps.step_input
    h = init[0]
    b_hh = steps.b_hh.to(steps.dt)
    for t in range(steps.T):
        hh = recurrent(h, b_hh).float()  # (B, 3H): W_h{r,z,n} h + b_h{r,z,n}
        xt = step_input(t).float()  # (B, 3H): W_i{r,z,n} x + b_i{r,z,n}
        r, z = (torch.sigmoid(xt[:, k * H : (k + 1) * H] + hh[:, k * H : (k + 1) * H], out=gate_out(g, k, t))
                for k, g in enumerate("rz"))
        if edit_r is not None:  # before n reads it
            edit_r(r)
        if edit_z is not None:
            edit_z(z)
        n = torch.tanh(torch.addcmul(xt[:, 2 * H :], r, hh[:, 2 * H :]), out=gate_out("n", 2, t))
        if edit_n is not None:
            edit_n(n)
        h = torch.addcmul(n, z, h - n, out=hs[t])  # (1 - z) n + z h
        if edit_h is not None:  # before the next step, the next layer and the output layer read it
            edit_h(h)
    return h.unsqueeze(0).clone()


def _rnn_loop(steps: _Steps, init, dest: dict[str, torch.Tensor], edits: Edits) -> torch.Tensor:
    """h_t = tanh(W_xh x_t + W_hh h_{t-1} + b); the final h, (1, B, H)."""
    hs = dest["h"]
    pre_activation = steps.pre_activation
    edit_h = edits.get("h")
    h = init[0]
    for t in range(steps.T):
        h = torch.tanh(pre_activation(h, t), out=hs[t])
        if edit_h is not None:  # before the next step, the next layer and the output layer read it
            edit_h(h)
    return h.unsqueeze(0).clone()


_LOOPS = {"lstm": _lstm_loop, "gru": _gru_loop, "rnn": _rnn_loop}


@torch.no_grad()
def run_layer(arch: str, module, x: torch.Tensor, ids: torch.Tensor, one_hot: bool, init,
              want: set[str], matmul_dtype: torch.dtype = torch.float32,
              outputs: dict[str, torch.Tensor] | None = None, edits: Edits | None = None,
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor], object]:
    """One layer over (B, T): h (B, T, H), the wanted other states {kind: (B, T, H)}, and the final state.

    `init` is what the fused module takes: (h0, c0) for an LSTM, h0 otherwise, each (1, B, H).
    `matmul_dtype` torch.bfloat16 runs the matrix products in bfloat16 (float32 accumulation,
    pre-activations rounded to bfloat16 once; CPUs with AMX or AVX-512 BF16 run them several
    times faster); the states, the gates and the cell-state recurrence stay float32.
    `outputs` {kind: (T, B, H)} are destinations the states are written into as they are
    computed (any strides, e.g. a window of a caller's buffer for the whole text), so that a
    long scan neither allocates per window nor copies afterwards; kinds without one get fresh tensors.
    `edits` {kind: function} change a state of every step in place as soon as it is computed
    (interventions.py), so the changed value is what the rest of the step, the next step and
    the next layer read, and what is captured.
    """
    steps = _prepare(arch, module, x, ids, one_hot, matmul_dtype)
    outputs = outputs or {}
    dest = {kind: outputs[kind] if kind in outputs else torch.empty(steps.T, steps.B, steps.H, device=x.device)
            for kind in {"h"} | want}  # (T, B, H) each
    final = _LOOPS[arch](steps, init, dest, edits or {})
    others = {kind: value.transpose(0, 1) for kind, value in dest.items() if kind != "h"}
    return dest["h"].transpose(0, 1), others, final
