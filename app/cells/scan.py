"""Batched scan of a long text: all states of all units, top examples and gate saturation.

The text is cut into B chunks that run side by side as a batch (matrix-matrix work instead
of one matrix-vector product per character). Each chunk is first warmed up on the
characters before it, so its state at the chunk start is close to the one a single
stream would have; the warm-up outputs are discarded. Top examples are kept with a
streaming top-k per unit: one candidate per segment of SEGMENT characters (so the k
examples are k different places, not k neighbouring characters of one peak).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from app.engine.capture import capture
from app.engine.model import CharRNN

SEGMENT = 64
STEPWISE_MIN_STREAMS = 8  # from here on one explicit time loop beats the fused kernel plus recompute
SIGMOID_GATES = {"lstm": ("i", "f", "o"), "gru": ("r", "z"), "rnn": ()}
LOW, HIGH = 0.1, 0.9  # saturation thresholds of Karpathy et al. 2015, Fig. 3


@dataclass
class TopK:
    values: torch.Tensor  # (k, U), best first
    positions: torch.Tensor  # (k, U) character index of each example's peak


@dataclass
class ScanResult:
    n_chars: int
    states: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (N, U), when kept
    top: dict[str, TopK] = field(default_factory=dict)
    bottom: dict[str, TopK] = field(default_factory=dict)
    saturation: dict[str, torch.Tensor] = field(default_factory=dict)  # gate name -> (U, 2): left, right fraction


def _merge_top(current: TopK | None, values: torch.Tensor, positions: torch.Tensor, k: int) -> TopK:
    if current is not None:
        values = torch.cat([current.values, values])
        positions = torch.cat([current.positions, positions])
    k = min(k, values.shape[0])
    best, idx = torch.topk(values, k, dim=0)
    return TopK(best, torch.gather(positions, 0, idx))


def _segment_peaks(values: torch.Tensor, first_position: torch.Tensor, n_valid: torch.Tensor | None,
                   lowest: bool = False):
    """Per segment of SEGMENT characters, each unit's max (or min) and where it is: (S * B, U) each.

    values (w, B, U) are w consecutive characters of each stream (time-major: the reduction
    runs over whole (B, U) blocks), starting at first_position (B,); n_valid (B,) limits
    how many of them are real text (None: all).
    """
    w, B, U = values.shape
    if n_valid is not None:  # characters past the end of the text can never be a peak
        beyond = torch.arange(w)[:, None] >= n_valid[None, :]  # (w, B)
        values = values.masked_fill(beyond[..., None], torch.inf if lowest else -torch.inf)
    extreme = torch.min if lowest else torch.max
    seg_max, arg = extreme(values.reshape(w // SEGMENT, SEGMENT, B, U), dim=1)  # (S, B, U)
    seg_start = first_position[None, :, None] + torch.arange(0, w, SEGMENT)[:, None, None]  # (S, B, 1)
    return seg_max.reshape(-1, U), (seg_start + arg).reshape(-1, U)


def _finite(top: TopK, negate: bool = False) -> TopK:
    """Drops rows that are empty segments for every unit (a text with fewer than k segments)."""
    keep = torch.isfinite(top.values).all(dim=1)
    return TopK(-top.values[keep] if negate else top.values[keep], top.positions[keep])


@torch.no_grad()
def scan(model: CharRNN, ids: np.ndarray, names: Iterable[str], n_streams: int = 64, warmup: int = 256,
         window: int = 256, k: int = 20, keep_states: bool = False, track_top: bool = True,
         matmul_dtype: torch.dtype = torch.float32) -> ScanResult:
    """All requested states over a long text, B chunks at a time.

    Every stream reads `warmup` characters before its chunk (the first stream reads padding
    and has its state reset to zeros when its chunk begins, so it starts exactly like a
    single stream). Warm-up windows only advance the state: no gates, no bookkeeping.
    `matmul_dtype` torch.bfloat16 runs the matrix products in bfloat16 (see stepwise.run_layer):
    faster where the CPU has it natively, and the LSTM's rankings move by at most 0.002, but a
    vanilla RNN's states come straight out of rounded pre-activations, so its saturated units
    tie and their AUROCs drop by up to 0.03. The default stays float32.
    """
    names = list(names)
    N = len(ids)
    window = -(-window // SEGMENT) * SEGMENT
    n_streams = max(1, min(n_streams, -(-N // SEGMENT)))
    chunk = -(-N // n_streams)
    chunk = -(-chunk // SEGMENT) * SEGMENT  # each chunk is whole segments; its last window may be short
    n_streams = -(-N // chunk)
    own_start = torch.arange(n_streams) * chunk  # (B,)
    steps = warmup + chunk
    grid = own_start[:, None] - warmup + torch.arange(steps)[None, :]  # (B, steps) text position read
    padded = np.append(ids, 0)  # index N: padding (the unknown id: no input) before the text and after it
    inputs = torch.from_numpy(padded[torch.where((grid >= 0) & (grid < N), grid, N).numpy()])  # (B, steps)
    n_valid_total = (N - own_start).clamp(max=chunk)  # (B,) real characters in each chunk

    H = model.config.hidden_size
    arch = model.config.arch
    gate_names = [n for n in names if ".gates." in n and n.rsplit(".", 1)[-1] in SIGMOID_GATES[arch]]
    kept = {name: torch.empty(chunk, n_streams, H) for name in names} if keep_states else {}  # time-major
    sat = {name: torch.zeros(H, 2, dtype=torch.float64) for name in gate_names}
    result = ScanResult(n_chars=N)
    stepwise = n_streams >= STEPWISE_MIN_STREAMS
    if not stepwise:
        matmul_dtype = torch.float32  # the fused single-stream kernels run in float32
    state = None
    for start in range(0, warmup, window):
        state = capture(model, inputs[:, start : min(start + window, warmup)], (), state=state, with_final_state=True,
                        stepwise=stepwise, matmul_dtype=matmul_dtype).final_state
    if state is not None:
        for value in state.values():
            value[0] = 0.0  # the first chunk starts the text: zero state, as a single stream would
    for offset in range(0, chunk, window):
        w = min(window, chunk - offset)
        out = capture(model, inputs[:, warmup + offset : warmup + offset + w], names, state=state,
                      with_final_state=True, stepwise=stepwise, matmul_dtype=matmul_dtype)
        state = out.final_state
        n_valid = (n_valid_total - offset).clamp(0, w)  # (B,)
        partial = None if bool((n_valid == w).all()) else n_valid
        for name in names:
            states = out.states[name].transpose(0, 1)  # (w, B, U): the stepwise path's own layout, no copy
            if keep_states:
                kept[name][offset : offset + w] = states
            if name in sat:
                real = states if partial is None else states[torch.arange(w)[:, None] < n_valid[None, :]]
                real = real.reshape(-1, H)
                sat[name][:, 0] += torch.count_nonzero(real < LOW, dim=0)
                sat[name][:, 1] += torch.count_nonzero(real > HIGH, dim=0)
            if track_top:
                first = own_start + offset
                seg_max, seg_pos = _segment_peaks(states, first, partial)
                result.top[name] = _merge_top(result.top.get(name), seg_max, seg_pos, k)
                seg_min, seg_min_pos = _segment_peaks(states, first, partial, lowest=True)
                result.bottom[name] = _merge_top(result.bottom.get(name), -seg_min, seg_min_pos, k)  # top-k of -x
    for name in result.top:
        result.top[name] = _finite(result.top[name])
        result.bottom[name] = _finite(result.bottom[name], negate=True)
    result.saturation = {name: (counts / N).float() for name, counts in sat.items()}
    result.states = {name: values.transpose(0, 1).reshape(-1, H)[:N] for name, values in kept.items()}
    return result
