"""Batched scan of a long text: all states of all units, top examples and gate saturation.

The text is cut into B chunks that run side by side as a batch (matrix-matrix work instead
of one matrix-vector product per character). Each chunk is first warmed up on the
characters before it, so its state at the chunk start is close to the one a single
stream would have (except in cells that keep integrating over thousands of characters:
docs/benchmarks.md measures how far); the warm-up outputs are discarded. Top examples are kept with a
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
from app.engine.names import StateName
from app.engine.stepwise import fast_matmul_dtype

SEGMENT = 64
PART = 8  # the top-k's first reduction step: SEGMENT is a multiple of it
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
    matmul_dtype: torch.dtype  # of the products that computed the states
    states: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (N, U), when kept
    top: dict[str, TopK] = field(default_factory=dict)
    bottom: dict[str, TopK] = field(default_factory=dict)
    saturation: dict[str, torch.Tensor] = field(default_factory=dict)  # gate name -> (U, 2): left, right fraction


class _StreamingTopK:
    """Each unit's k highest (or lowest) values so far, at most one per segment of SEGMENT characters.

    A window's candidates are its segment maxima: one reduction over parts of PART characters,
    then a small one over each segment's parts. The position of a peak inside its segment is
    looked up only for candidates that make the top k, first among the segment's parts and then
    among that part's characters, so a new peak costs two short gathers, not one of SEGMENT values.
    """

    def __init__(self, k: int, lowest: bool):
        self.k, self.lowest = k, lowest
        self.empty = torch.inf if lowest else -torch.inf  # what a segment with no text scores
        self.values: torch.Tensor | None = None  # (k', U): -value when lowest, so larger is always better
        self.positions: torch.Tensor | None = None  # (k', U)

    def add(self, states: torch.Tensor, first_position: torch.Tensor, n_valid: torch.Tensor, partial: list[int]) -> None:
        """states (w, B, U): w consecutive characters of each stream, starting at first_position (B,);
        only the first n_valid (B,) of them are text, which is less than w for the streams in `partial`."""
        w, B, U = states.shape
        reduce = torch.amin if self.lowest else torch.amax
        parts = reduce(states.reshape(w // PART, PART, B, U), dim=1)  # (w / PART, B, U)
        for b in partial:  # past the end of the text nothing can be a peak
            full, rest = divmod(int(n_valid[b]), PART)
            parts[full:, b] = self.empty
            if rest:
                parts[full, b] = reduce(states[full * PART : full * PART + rest, b], dim=0)
        peaks = reduce(parts.view(w // SEGMENT, SEGMENT // PART, B, U), dim=1)  # (S, B, U)
        candidates = (-peaks if self.lowest else peaks).reshape(-1, U)  # (S * B, U), row = s * B + b
        before = 0 if self.values is None else self.values.shape[0]
        pool = candidates if self.values is None else torch.cat([self.values, candidates])
        best, index = torch.topk(pool, min(self.k, pool.shape[0]), dim=0)  # (k, U)
        positions = torch.empty_like(index)
        new = index >= before
        if before:
            positions[~new] = torch.gather(self.positions, 0, index.clamp(max=before - 1))[~new]
        rank, unit = new.nonzero(as_tuple=True)
        candidate = index[rank, unit] - before  # row of `candidates`: s * B + b
        segment, stream = candidate.div(B, rounding_mode="floor"), candidate % B
        pick = torch.argmin if self.lowest else torch.argmax
        first_part = segment * (SEGMENT // PART)
        part_rows = first_part[:, None] + torch.arange(SEGMENT // PART)[None, :]  # (M, SEGMENT / PART)
        part = first_part + pick(parts[part_rows, stream[:, None], unit[:, None]], dim=1)
        steps = part[:, None] * PART + torch.arange(PART)[None, :]  # (M, PART): the characters of the peak's part
        values = states[steps, stream[:, None], unit[:, None]]  # (M, PART)
        if partial:
            values = values.masked_fill(steps >= n_valid[stream][:, None], self.empty)
        positions[rank, unit] = first_position[stream] + part * PART + pick(values, dim=1)
        self.values, self.positions = best, positions

    def result(self) -> TopK:
        """Best first; rows that are empty segments for every unit (a text shorter than k segments) dropped."""
        keep = torch.isfinite(self.values).all(dim=1)
        return TopK(-self.values[keep] if self.lowest else self.values[keep], self.positions[keep])


def _count_saturated(sat: torch.Tensor, states: torch.Tensor, buffer: torch.Tensor, n_valid: torch.Tensor,
                     partial: list[int]) -> None:
    """Adds each unit's count of values < LOW and > HIGH among the real characters of states (w, B, U) to sat (U, 2).

    The comparisons are written as 0.0 / 1.0 into a float buffer and summed: on the CPU that is
    several times faster than counting booleans.
    """
    w, _, U = states.shape
    for column, compare, threshold in ((0, torch.lt, LOW), (1, torch.gt, HIGH)):
        flags = compare(states, threshold, out=buffer[:w])  # (w, B, U)
        for b in partial:
            flags[int(n_valid[b]) :, b] = 0.0
        sat[:, column] += flags.view(-1, U).sum(dim=0)


@torch.no_grad()
def scan(model: CharRNN, ids: np.ndarray, names: Iterable[str], n_streams: int = 64, warmup: int = 256,
         window: int = 256, k: int = 20, keep_states: bool = False, track_top: bool = True,
         matmul_dtype: torch.dtype | None = None) -> ScanResult:
    """All requested states over a long text, B chunks at a time.

    Every stream reads `warmup` characters before its chunk (the first stream reads padding
    and has its state reset to zeros when its chunk begins, so it starts exactly like a
    single stream). Warm-up windows only advance the state: no gates, no bookkeeping.
    `matmul_dtype` is the dtype of the matrix products (see stepwise.run_layer); None takes
    bfloat16 where the CPU multiplies it natively (2-2.5x faster here) and float32 elsewhere.
    With bfloat16 products no ranking score of the three shipped models moved by more than
    0.0002 and every best unit stayed the same (docs/benchmarks.md).
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

    cfg = model.config
    H = cfg.hidden_size
    parsed = [StateName.parse(name, cfg.arch, cfg.n_layers) for name in names]
    gate_names = [name for name, p in zip(names, parsed) if p.gate in SIGMOID_GATES[cfg.arch]]
    stepwise = n_streams >= STEPWISE_MIN_STREAMS
    if not stepwise:
        matmul_dtype = torch.float32  # the fused single-stream kernels run in float32
    elif matmul_dtype is None:
        matmul_dtype = fast_matmul_dtype()
    # Stream b's chunk is text[b * chunk : (b + 1) * chunk], so a (B, chunk, H) buffer viewed as
    # (B * chunk, H) is in text order: the stepwise path writes every state straight into its place.
    kept = {name: torch.empty(n_streams, chunk, H) for name in names} if keep_states else {}
    n_layers = max((p.layer for p in parsed), default=cfg.n_layers - 1) + 1  # layers above: never run
    every_h = [str(StateName(layer, "h")) for layer in range(n_layers)]  # each layer's input to the next
    computed = names + [n for n in every_h if n not in names]
    # window-sized buffers for what is not kept, and for every h during the warm-up
    scratch = {name: torch.empty(n_streams, window, H) for name in computed
               if name not in kept or name in every_h} if stepwise else {}
    sat_buffer = torch.empty(window, n_streams, H) if gate_names else None
    sat = {name: torch.zeros(H, 2, dtype=torch.float64) for name in gate_names}
    top = {name: _StreamingTopK(k, lowest=False) for name in names} if track_top else {}
    bottom = {name: _StreamingTopK(k, lowest=True) for name in names} if track_top else {}

    def destinations(offset: int, w: int) -> dict[str, torch.Tensor] | None:
        if not stepwise:
            return None
        return {name: kept[name][:, offset : offset + w] if name in kept else scratch[name][:, :w] for name in computed}

    state = None
    for start in range(0, warmup, window):  # warm-up: only the state advances
        w = min(window, warmup - start)
        state = capture(model, inputs[:, start : start + w], every_h if stepwise else (), state=state,
                        with_final_state=True, stepwise=stepwise, matmul_dtype=matmul_dtype,
                        outputs={n: scratch[n][:, :w] for n in every_h} if stepwise else None,
                        n_layers=n_layers).final_state
    if state is not None:
        for value in state.values():
            value[0] = 0.0  # the first chunk starts the text: zero state, as a single stream would
    for offset in range(0, chunk, window):
        w = min(window, chunk - offset)
        out = capture(model, inputs[:, warmup + offset : warmup + offset + w], computed if stepwise else names,
                      state=state, with_final_state=True, stepwise=stepwise, matmul_dtype=matmul_dtype,
                      outputs=destinations(offset, w), n_layers=n_layers)
        state = out.final_state
        n_valid = (n_valid_total - offset).clamp(0, w)  # (B,)
        partial = torch.nonzero(n_valid < w).flatten().tolist()
        first = own_start + offset
        for name in names:
            if keep_states and not stepwise:
                kept[name][:, offset : offset + w] = out.states[name]
            states = out.states[name].transpose(0, 1)  # (w, B, U): time-major, as the stepwise path writes them
            if name in sat:
                _count_saturated(sat[name], states, sat_buffer, n_valid, partial)
            if track_top:
                top[name].add(states, first, n_valid, partial)
                bottom[name].add(states, first, n_valid, partial)
    return ScanResult(
        n_chars=N,
        matmul_dtype=matmul_dtype,
        states={name: buffer.view(-1, H)[:N] for name, buffer in kept.items()},  # a view: no copy
        top={name: t.result() for name, t in top.items()},
        bottom={name: b.result() for name, b in bottom.items()},
        saturation={name: (counts / N).float() for name, counts in sat.items()},
    )
