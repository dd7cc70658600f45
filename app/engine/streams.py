"""One recurrent pass over many streams of different texts, each with its own state and its own request.

interventions.py runs alternative edits over one text; here every row of the batch is a different
text at its own position (the batcher's requests), and each row asks for its own state and units.
The fused layers run once for all rows (one matrix-matrix product per step instead of one
matrix-vector product per stream); what a row asked for beyond h (the LSTM cell state, a gate)
is recomputed from that row alone, as capture() recomputes it, so its cost follows the row's
own units.

Exactness: a row's numbers depend on its own ids and state and on the batch's shape, never on
the other rows. The kernels give each row the same bits whatever the other rows hold and
wherever the row sits, but not whatever the batch size: a (1, H) product takes another path
than a (G, H) one. With the shipped torch on x86 every size from 2 up gives the same bits (from 4
up for a pass of one step), so callers pad a pass to one of batch_shapes() (a lone row gets one
idle row beside it), find once per model and pass length with agreeing_shapes() which of these
sizes give the bits of the largest on this machine, and pad to the smallest of those that fits.
Idle rows read the unknown symbol, which is no input at all. The LSTM cell state of every row
is one recurrence over the rows' units side by side: elementwise, so each column's bits are its own.

intervene_rows is the same pass on capture()'s per-step loop, for rows whose interventions act
throughout it: each row's edits set its own entries only, so the rule above holds there too, with
its own agreeing sizes (agreeing_shapes(..., path="intervene")).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from app.engine.capture import Stepwise, _derived_states, capture, linear_recurrence
from app.engine.interventions import Intervention, row_edits
from app.engine.model import CharRNN, State
from app.engine.names import StateName
from app.engine.stepwise import Edits
from app.engine.vocab import UNKNOWN_INDEX


@dataclass(frozen=True)
class Want:
    """What one row reads: a state (a StateName string; None: only the logits) and its units (None: every unit)."""
    name: str | None
    units: tuple[int, ...] | None = None


@dataclass
class RowResult:
    values: torch.Tensor | None  # (T, U) the wanted state, on the model's device
    logits: torch.Tensor  # (T, V) next-character logits


def batch_shapes(rows: int) -> tuple[int, ...]:
    """The batch sizes a pass may take, smallest first: 2, 4, 8, ... below `rows`, then `rows` (1 when rows is 1).

    Powers of two bound the padding (at most half a pass is idle) and keep agreeing_shapes() cheap.
    """
    if rows == 1:
        return (1,)
    shapes, size = [], 2
    while size < rows:
        shapes.append(size)
        size *= 2
    return (*shapes, rows)


def fitting_shape(n: int, shapes: Sequence[int]) -> int:
    """The smallest of `shapes` that holds n rows."""
    return next(size for size in shapes if size >= n)


PATHS = ("read", "intervene")  # read_rows, intervene_rows


@torch.no_grad()
def agreeing_shapes(model: CharRNN, shapes: Sequence[int], length: int, path: str = "read",
                    seed: int = 0) -> tuple[int, ...]:
    """The largest of `shapes` and every smaller one down to the first whose rows get other bits than at the
    largest (state, logits, final state), for passes of `length` steps on `path` (one of PATHS): random
    ids from a random state, and on the per-step path an edit in the first row.

    With the shipped torch on x86, (1, H) and, for one-step passes, (2, H) and (3, H) products take
    other kernel paths than larger ones; every size above agrees.
    """
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; valid: {', '.join(PATHS)}")
    generator = torch.Generator().manual_seed(seed)
    device, config, largest = model_device(model), model.config, max(shapes)
    wants = [Want(f"layers.{config.n_layers - 1}.h")] * largest
    names = config.recurrent_state_names()
    ids = torch.randint(1, config.vocab_size, (largest, length), generator=generator).to(device)  # (G, T)
    state = {name: (0.5 * torch.randn(largest, config.hidden_size, generator=generator)).to(device)
             for name in names}  # (G, H): a zero state would leave the first step's recurrent product untested

    def run(size: int) -> tuple[list[RowResult | None], State]:
        part = {k: v[:size] for k, v in state.items()}
        if path == "read":
            return read_rows(model, ids[:size], part, wants[:size])
        clamp = Intervention(0, "h", (0,), "clamp", 0.5)
        edits = row_edits([[(clamp, torch.tensor([0.5]))]] + [[]] * (size - 1))
        return intervene_rows(model, ids[:size], part, wants[:size], edits)

    full, full_final = run(largest)
    agreeing = [largest]
    for size in sorted(shapes, reverse=True)[1:]:
        part, part_final = run(size)
        same = all(torch.equal(part[row].values, full[row].values) and torch.equal(part[row].logits, full[row].logits)
                   for row in range(size)) and all(torch.equal(part_final[k], full_final[k][:size]) for k in names)
        if not same:
            break
        agreeing.append(size)
    return tuple(sorted(agreeing))


def model_device(model: CharRNN) -> torch.device:
    return next(model.parameters()).device


def stack_states(model: CharRNN, states: Sequence[State | None]) -> State:
    """Per-row states {name: (H,)} (None: the zero state) -> one batched state {name: (G, H)}."""
    H, device = model.config.hidden_size, model_device(model)
    zeros = torch.zeros(H, device=device)
    names = model.config.recurrent_state_names()
    return {name: torch.stack([zeros if s is None else s[name] for s in states]) for name in names}  # (G, H)


def row_state(state: State, row: int) -> State:
    """One row of a batched state, {name: (H,)}: a copy, so the batch's tensors can be dropped."""
    return {name: value[row].clone() for name, value in state.items()}


def pad_ids(chunks: Sequence[torch.Tensor | None], rows: int, steps: int, device: torch.device) -> torch.Tensor:
    """Rows of ids (each up to `steps` long; None: an idle row) -> (rows, steps), padded with the unknown symbol."""
    ids = torch.full((rows, steps), UNKNOWN_INDEX, dtype=torch.long, device=device)
    for row, chunk in enumerate(chunks):
        if chunk is not None:
            ids[row, : len(chunk)] = chunk
    return ids


@torch.no_grad()
def read_rows(model: CharRNN, ids: torch.Tensor, state: State, wants: Sequence[Want | None],
              ) -> tuple[list[RowResult | None], State]:
    """ids (G, T) from `state` {name: (G, H)}: each wanted row's state and logits, and the batch's final state.

    A row whose want is None (padding) costs its share of the fused pass and nothing else.
    The fused path is capture()'s own (embed, each layer's module, head), so one row alone in
    a batch of G gives what capture() gives for that batch.
    """
    if model.training:
        raise ValueError("read_rows needs a model in eval mode (served models are)")
    G = ids.shape[0]
    arch = model.config.arch
    parsed = [None if w is None or w.name is None else StateName.parse(w.name, arch, model.config.n_layers)
              for w in wants]
    device = ids.device
    picked: list[torch.Tensor | None] = [None] * G
    final: State = {}
    x = model.embed(ids)  # (G, T, E)
    for layer, module in enumerate(model.layers):
        init = model.layer_state_in(layer, state, G, x)
        out, last = module(x, init)  # (G, T, H)
        cells: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]] = []  # rows wanting c: row, f, i*g, c0
        for row, name in enumerate(parsed):
            if name is None or name.layer != layer:
                continue
            units = wants[row].units
            index = torch.arange(module.hidden_size, device=device) if units is None else \
                torch.tensor(units, dtype=torch.long, device=device)
            if name.kind == "h":
                picked[row] = out[row, :, index]  # (T, U)
                continue
            one_row = slice(row, row + 1)
            row_init = tuple(part[:, one_row] for part in init) if arch == "lstm" else init[:, one_row]
            kinds = ["gates.i", "gates.f", "gates.g"] if name.kind == "c" else [name.kind]
            derived = _derived_states(arch, module, x[one_row], ids[one_row], layer == 0 and model.embedding is None,
                                      out[one_row], row_init, kinds, index)
            if name.kind == "c":  # capture()'s c = the recurrence c_t = f_t c_{t-1} + i_t g_t, as below
                cells.append((row, derived["gates.f"][0], derived["gates.i"][0] * derived["gates.g"][0],
                              row_init[1][0, 0, index]))
            else:
                picked[row] = derived[name.kind][0]  # (T, U)
        if cells:  # one recurrence for every row's units side by side: elementwise, so each column's bits are its own
            c = linear_recurrence(torch.cat([f for _, f, _, _ in cells], dim=-1)[None],
                                  torch.cat([ig for _, _, ig, _ in cells], dim=-1)[None],
                                  torch.cat([c0 for _, _, _, c0 in cells])[None])[0]  # (T, sum of U)
            for (row, f, _, _), part in zip(cells, c.split([f.shape[-1] for _, f, _, _ in cells], dim=-1)):
                picked[row] = part  # (T, U)
        final.update(model.layer_state_out(layer, last))
        x = out
    logits = model.head(x)  # (G, T, V)
    results = [None if want is None else RowResult(values=picked[row], logits=logits[row])
               for row, want in enumerate(wants)]
    return results, final


@torch.no_grad()
def intervene_rows(model: CharRNN, ids: torch.Tensor, state: State, wants: Sequence[Want | None],
                   edits: dict[int, Edits]) -> tuple[list[RowResult | None], State]:
    """read_rows on capture()'s per-step path, with `edits` {layer: {kind: edit}} (interventions.row_edits)
    changing their rows' states inside the recurrence at every step: for rows whose interventions act
    throughout the pass.

    Every state of every layer is captured, whatever the rows want, so that the loop takes the same
    path for every batch (which states a loop writes decides how it computes the gates): a row's
    bits depend on its own ids, state and edits and on the batch's shape only.
    """
    if model.training:
        raise ValueError("intervene_rows needs a model in eval mode (served models are)")
    result = capture(model, ids, model.config.state_names(), None, state, with_logits=True, with_final_state=True,
                     stepwise=Stepwise(torch.float32, edits=edits))
    results = []
    for row, want in enumerate(wants):
        if want is None:
            results.append(None)
            continue
        values = None
        if want.name is not None:
            values = result.states[want.name][row]  # (T, H)
            if want.units is not None:
                values = values[:, list(want.units)]  # (T, U)
        results.append(RowResult(values=values, logits=result.logits[row]))
    return results, result.final_state
