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
    """Per segment of SEGMENT characters, each unit's max (or min) and where it is: (B * S, U) each.

    values (B, w, U) are w consecutive characters of each stream, starting at
    first_position (B,); n_valid (B,) limits how many of them are real text (None: all).
    """
    B, w, U = values.shape
    extreme = (torch.min if lowest else torch.max)
    seg_max, arg = extreme(values.reshape(B, w // SEGMENT, SEGMENT, U), dim=2)  # (B, S, U)
    if n_valid is not None:  # redo the few streams that run past the end of the text, masked
        short = torch.nonzero(n_valid < w).flatten()
        beyond = torch.arange(w)[None, :] >= n_valid[short, None]  # (b, w)
        masked = values[short].masked_fill(beyond[..., None], torch.inf if lowest else -torch.inf)
        seg_max[short], arg[short] = extreme(masked.view(len(short), w // SEGMENT, SEGMENT, U), dim=2)
    seg_start = first_position[:, None, None] + torch.arange(0, w, SEGMENT)[None, :, None]
    return seg_max.reshape(-1, U), (seg_start + arg).reshape(-1, U)


def _finite(top: TopK, negate: bool = False) -> TopK:
    """Drops rows that are empty segments for every unit (a text with fewer than k segments)."""
    keep = torch.isfinite(top.values).all(dim=1)
    return TopK(-top.values[keep] if negate else top.values[keep], top.positions[keep])


@torch.no_grad()
def scan(model: CharRNN, ids: np.ndarray, names: Iterable[str], n_streams: int = 64, warmup: int = 256,
         window: int = 256, k: int = 20, keep_states: bool = False, track_top: bool = True) -> ScanResult:
    """All requested states over a long text, B chunks at a time.

    Every stream reads `warmup` characters before its chunk (the first stream reads padding
    and has its state reset to zeros when its chunk begins, so it starts exactly like a
    single stream). Warm-up windows only advance the state: no gates, no bookkeeping.
    """
    names = list(names)
    N = len(ids)
    window = -(-window // SEGMENT) * SEGMENT
    warmup = -(-warmup // window) * window  # warm-up ends on a window boundary
    n_streams = max(1, min(n_streams, -(-N // SEGMENT)))
    chunk = -(-N // n_streams)
    chunk = -(-chunk // window) * window  # each chunk is whole windows
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
    kept = {name: torch.empty(n_streams, chunk, H) for name in names} if keep_states else {}
    sat = {name: torch.zeros(H, 2, dtype=torch.float64) for name in gate_names}
    result = ScanResult(n_chars=N)
    state = None
    for start in range(0, warmup, window):
        state = capture(model, inputs[:, start : start + window], (), state=state, with_final_state=True).final_state
    if state is not None:
        for value in state.values():
            value[0] = 0.0  # the first chunk starts the text: zero state, as a single stream would
    for offset in range(0, chunk, window):
        out = capture(model, inputs[:, warmup + offset : warmup + offset + window], names, state=state,
                      with_final_state=True, stepwise=n_streams >= STEPWISE_MIN_STREAMS)
        state = out.final_state
        n_valid = (n_valid_total - offset).clamp(0, window)  # (B,)
        partial = None if bool((n_valid == window).all()) else n_valid
        for name in names:
            states = out.states[name]  # (B, w, U)
            if keep_states:
                kept[name][:, offset : offset + window] = states
            if name in sat:
                real = states if partial is None else states[torch.arange(window)[None, :] < n_valid[:, None]]
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
    result.states = {name: values.view(-1, H)[:N] for name, values in kept.items()}
    return result
