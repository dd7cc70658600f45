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


def _stream_layout(n: int, n_streams: int, warmup: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Start of each stream's input and of its own chunk; every stream runs warmup + L steps."""
    n_streams = max(1, min(n_streams, n // max(1, warmup)))
    chunk = -(-n // n_streams)
    own_start = np.arange(n_streams) * chunk
    input_start = np.maximum(0, own_start - warmup)
    return input_start, own_start, chunk


def _merge_top(current: TopK | None, values: torch.Tensor, positions: torch.Tensor, k: int) -> TopK:
    if current is not None:
        values = torch.cat([current.values, values])
        positions = torch.cat([current.positions, positions])
    k = min(k, values.shape[0])
    best, idx = torch.topk(values, k, dim=0)
    return TopK(best, torch.gather(positions, 0, idx))


def _segment_peaks(values: torch.Tensor, positions: torch.Tensor, valid: torch.Tensor):
    """Per segment of SEGMENT characters, the max of each unit and where it is: (S, U) each."""
    seg = positions // SEGMENT  # (M,)
    segments, local = torch.unique(seg[valid], return_inverse=True)
    vals, pos = values[valid], positions[valid]  # (M', U), (M',)
    U = vals.shape[1]
    seg_max = torch.full((len(segments), U), -torch.inf).scatter_reduce(
        0, local[:, None].expand(-1, U), vals, "amax")
    is_max = vals == seg_max[local]
    candidate = torch.where(is_max, pos[:, None].expand(-1, U), -1)
    seg_pos = torch.full((len(segments), U), -1, dtype=torch.long).scatter_reduce(
        0, local[:, None].expand(-1, U), candidate, "amax")
    return seg_max, seg_pos


@torch.no_grad()
def scan(model: CharRNN, ids: np.ndarray, names: Iterable[str], n_streams: int = 64, warmup: int = 256,
         window: int = 256, k: int = 20, keep_states: bool = False, track_top: bool = True) -> ScanResult:
    names = list(names)
    N = len(ids)
    input_start, own_start, chunk = _stream_layout(N, n_streams, warmup)
    B = len(input_start)
    steps = int((own_start - input_start).max()) + chunk
    grid = torch.from_numpy(input_start)[:, None] + torch.arange(steps)[None, :]  # (B, steps) text positions
    owned = (grid >= torch.from_numpy(own_start)[:, None]) & (grid < torch.from_numpy(own_start)[:, None] + chunk) & (grid < N)
    padded = np.append(ids, 0)  # position N stands for "past the end"; its outputs are never used
    inputs = torch.from_numpy(padded[grid.clamp(max=N).numpy()])  # (B, steps)

    arch = model.config.arch
    gate_names = [n for n in names if n.rsplit(".", 1)[-1] in SIGMOID_GATES[arch] and ".gates." in n]
    result = ScanResult(n_chars=N)
    kept: dict[str, torch.Tensor] = {}
    if keep_states:
        kept = {name: torch.empty(N, model.config.hidden_size) for name in names}
    sat = {name: torch.zeros(model.config.hidden_size, 2, dtype=torch.float64) for name in gate_names}
    state = None
    for start in range(0, steps, window):
        stop = min(steps, start + window)
        out = capture(model, inputs[:, start:stop], names, state=state, with_final_state=True)
        state = out.final_state
        valid = owned[:, start:stop].reshape(-1)  # (B*w,)
        positions = grid[:, start:stop].reshape(-1)
        for name in names:
            values = out.states[name].reshape(-1, out.states[name].shape[-1])  # (B*w, U)
            if keep_states:
                kept[name][positions[valid]] = values[valid]
            if name in sat:
                v = values[valid]
                sat[name][:, 0] += (v < LOW).sum(0)
                sat[name][:, 1] += (v > HIGH).sum(0)
            if track_top and valid.any():
                seg_max, seg_pos = _segment_peaks(values, positions, valid)
                result.top[name] = _merge_top(result.top.get(name), seg_max, seg_pos, k)
                seg_min, seg_min_pos = _segment_peaks(-values, positions, valid)
                result.bottom[name] = _merge_top(result.bottom.get(name), seg_min, seg_min_pos, k)
    for name, bottom in result.bottom.items():
        result.bottom[name] = TopK(-bottom.values, bottom.positions)
    result.saturation = {name: (counts / N).float() for name, counts in sat.items()}
    result.states = kept
    return result
