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

from app.engine.capture import Stepwise, capture
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


@dataclass(frozen=True)
class _Chunks:
    """The text cut into one chunk of whole segments per stream: stream b's is text[b * chunk : (b + 1) * chunk]."""
    n_chars: int
    n_streams: int
    chunk: int
    starts: torch.Tensor  # (B,) where each stream's chunk begins in the text

    @classmethod
    def cut(cls, n_chars: int, n_streams: int) -> _Chunks:
        n_streams = max(1, min(n_streams, -(-n_chars // SEGMENT)))
        chunk = -(-n_chars // n_streams)
        chunk = -(-chunk // SEGMENT) * SEGMENT  # each chunk is whole segments; its last window may be short
        n_streams = -(-n_chars // chunk)
        return cls(n_chars, n_streams, chunk, torch.arange(n_streams) * chunk)

    def inputs(self, ids: np.ndarray, warmup: int) -> torch.Tensor:
        """The ids each stream reads, its warm-up and then its chunk: (B, warmup + chunk), padding outside the text."""
        N = self.n_chars
        grid = self.starts[:, None] - warmup + torch.arange(warmup + self.chunk)[None, :]  # (B, steps) text position
        padded = np.append(ids, 0)  # index N: padding (the unknown id: no input) before the text and after it
        return torch.from_numpy(padded[torch.where((grid >= 0) & (grid < N), grid, N).numpy()])  # (B, steps)

    def valid(self, offset: int, w: int) -> tuple[torch.Tensor, list[int]]:
        """How many of each stream's characters offset..offset + w are text, (B,), and the streams with fewer than w."""
        n_valid = ((self.n_chars - self.starts).clamp(max=self.chunk) - offset).clamp(0, w)  # (B,)
        return n_valid, torch.nonzero(n_valid < w).flatten().tolist()


class _Tally:
    """What the scan keeps of each window as it passes: gate saturation counts and every unit's top and bottom k."""

    def __init__(self, names: list[str], sigmoid_gates: list[str], k: int, track_top: bool, n_streams: int,
                 window: int, H: int):
        self.saturation = {name: torch.zeros(H, 2, dtype=torch.float64) for name in sigmoid_gates}
        self.buffer = torch.empty(window, n_streams, H) if sigmoid_gates else None
        self.top = {name: _StreamingTopK(k, lowest=False) for name in names} if track_top else {}
        self.bottom = {name: _StreamingTopK(k, lowest=True) for name in names} if track_top else {}

    def add(self, name: str, states: torch.Tensor, first: torch.Tensor, n_valid: torch.Tensor,
            partial: list[int]) -> None:
        """states (w, B, U) of one window, time-major; see _StreamingTopK.add for the rest."""
        if name in self.saturation:
            _count_saturated(self.saturation[name], states, self.buffer, n_valid, partial)
        if name in self.top:
            self.top[name].add(states, first, n_valid, partial)
            self.bottom[name].add(states, first, n_valid, partial)


def _product_dtype(stepwise: bool, requested: torch.dtype | None) -> torch.dtype:
    if not stepwise:
        return torch.float32  # the fused single-stream kernels run in float32
    return fast_matmul_dtype() if requested is None else requested


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
    cfg = model.config
    H = cfg.hidden_size
    parsed = [StateName.parse(name, cfg.arch, cfg.n_layers) for name in names]
    window = -(-window // SEGMENT) * SEGMENT
    chunks = _Chunks.cut(len(ids), n_streams)
    B, chunk = chunks.n_streams, chunks.chunk
    inputs = chunks.inputs(ids, warmup)  # (B, warmup + chunk)
    stepwise = B >= STEPWISE_MIN_STREAMS
    matmul_dtype = _product_dtype(stepwise, matmul_dtype)
    n_layers = max((p.layer for p in parsed), default=cfg.n_layers - 1) + 1  # layers above: never run
    every_h = [str(StateName(layer, "h")) for layer in range(n_layers)]  # each layer's input to the next
    computed = names + [n for n in every_h if n not in names] if stepwise else names
    # Stream b's chunk is text[b * chunk : (b + 1) * chunk], so a (B, chunk, H) buffer viewed as
    # (B * chunk, H) is in text order: the stepwise path writes every state straight into its place.
    kept = {name: torch.empty(B, chunk, H) for name in names} if keep_states else {}
    # window-sized buffers for what is not kept, and for every h during the warm-up
    scratch = {name: torch.empty(B, window, H) for name in computed
               if name not in kept or name in every_h} if stepwise else {}
    tally = _Tally(names, [n for n, p in zip(names, parsed) if p.gate in SIGMOID_GATES[cfg.arch]], k, track_top,
                   B, window, H)

    def run(window_ids: torch.Tensor, wanted: list[str], state, outputs: dict[str, torch.Tensor]):
        return capture(model, window_ids, wanted, state=state, with_final_state=True, n_layers=n_layers,
                       stepwise=Stepwise(matmul_dtype, outputs) if stepwise else None)

    state = None
    for start in range(0, warmup, window):  # warm-up: only the state advances
        w = min(window, warmup - start)
        state = run(inputs[:, start : start + w], every_h if stepwise else [], state,
                    {n: scratch[n][:, :w] for n in every_h} if stepwise else {}).final_state
    if state is not None:
        for value in state.values():
            value[0] = 0.0  # the first chunk starts the text: zero state, as a single stream would
    for offset in range(0, chunk, window):
        w = min(window, chunk - offset)
        destinations = {name: kept[name][:, offset : offset + w] if name in kept else scratch[name][:, :w]
                        for name in computed} if stepwise else {}
        out = run(inputs[:, warmup + offset : warmup + offset + w], computed, state, destinations)
        state = out.final_state
        n_valid, partial = chunks.valid(offset, w)
        first = chunks.starts + offset  # (B,) text position of each stream's first character in the window
        for name in names:
            if keep_states and not stepwise:
                kept[name][:, offset : offset + w] = out.states[name]
            states = out.states[name].transpose(0, 1)  # (w, B, U): time-major, as the stepwise path writes them
            tally.add(name, states, first, n_valid, partial)
    N = chunks.n_chars
    return ScanResult(
        n_chars=N,
        matmul_dtype=matmul_dtype,
        states={name: buffer.view(-1, H)[:N] for name, buffer in kept.items()},  # a view: no copy
        top={name: t.result() for name, t in tally.top.items()},
        bottom={name: b.result() for name, b in tally.bottom.items()},
        saturation={name: (counts / N).float() for name, counts in tally.saturation.items()},
    )
