"""Interventions: set units of a state to a value inside the recurrence, and capture what follows.

An Intervention names one state of one layer (StateName(layer, kind)), some of its units, an
op and a span of positions [start, end) (default: every position). At every step t in the
span, right after the step computes that state and before anything reads it, each listed
unit is set to:

- "zero":  0
- "mean":  the unit's mean over the model's held-out sample (the stored cell analysis,
           units.safetensors "S.mean", computed by app/cells/build.py or app/cells/means.py)
- "clamp": `value` (any finite number, also outside the state's natural range: steering)

Position t is the step that reads character t, as everywhere in the app. What the changed
value then does, per architecture (the equations are those of models/README.md):

LSTM
- "gates.i", "gates.f", "gates.g": the gate of the same step, before c_t = f c_{t-1} + i g
  reads it (so c_t, h_t and everything after them follow).
- "gates.o": before h_t = o tanh(c_t) reads it; c_t is unchanged.
- "c": c_t after c_t = f c_{t-1} + i g: h_t = o tanh(c_t) of the same step is computed from
  the changed c_t, and step t + 1 carries the changed c_t (f_{t+1} c_t + ...).
- "h": h_t after h_t = o tanh(c_t): what step t + 1 of the same layer reads, what the next
  layer reads at step t, and (top layer) what the output layer reads for the prediction
  after character t. c_t is unchanged.

GRU
- "gates.r": before n_t = tanh(W_in x + b_in + r (W_hn h_{t-1} + b_hn)) reads it.
- "gates.z", "gates.n": before h_t = (1 - z) n + z h_{t-1} reads them.
- "h": as for the LSTM: the next step, the next layer and the output layer read it.

RNN
- "h": as above (the only state).

A changed gate is no longer the gate's function of its inputs: clamping f to 1 keeps c_{t-1}
whole, whatever the input. Several interventions compose: within one step each state is
changed as the step computes it (gates, then c, then h), and where two interventions set the
same unit of the same state at the same step, the later one in the list wins. An empty list
runs the plain capture() itself, so its numbers are exactly the plain ones (bit for bit).

Positions outside every span run the plain capture() too, continuing from the changed state;
the positions inside one run capture()'s explicit per-step loop (stepwise.py) in float32 with
the changes applied in place. The plain and the per-step path agree to float32 rounding, so
an intervention's effect is its own, not the path's; positions before the first span are
bit-identical to a plain run.

intervene_streams runs several alternative lists over the same text side by side, one stream
each (one matrix-matrix product per step for all of them), e.g. "ablate each of these 64
units in turn" as one pass.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from app.engine.capture import Capture, Stepwise, capture
from app.engine.model import CharRNN, ModelConfig, State
from app.engine.names import StateName, state_kinds
from app.engine.stepwise import Edits

OPS = ("zero", "mean", "clamp")


@dataclass(frozen=True)
class Intervention:
    layer: int
    state: str  # the state's kind within the layer: "h", "c", "gates.f", ...
    units: tuple[int, ...]  # a list is accepted and kept as a tuple, so the value stays immutable
    op: str  # one of OPS
    value: float | None = None  # clamp only
    start: int | None = None  # first position it acts on; None: 0
    end: int | None = None  # position after the last one; None: the end of the text

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))

    @property
    def name(self) -> StateName:
        return StateName(self.layer, self.state)

    def covers(self, position: int) -> bool:
        return (self.start is None or self.start <= position) and (self.end is None or position < self.end)


def check(interventions: Sequence[Intervention], config: ModelConfig, means: Mapping[str, torch.Tensor] | None = None,
          length: int | None = None) -> None:
    """ValueError saying what is allowed, for the first intervention that does not fit this model
    (and, with `length`, a text of that many characters); prefixed "interventions[i]: "."""
    for index, intervention in enumerate(interventions):
        problem = _problem(intervention, config, means, length)
        if problem:
            raise ValueError(f"interventions[{index}]: {problem}")


def _problem(iv: Intervention, config: ModelConfig, means: Mapping[str, torch.Tensor] | None,
             length: int | None) -> str | None:
    kinds = state_kinds(config.arch)
    if not 0 <= iv.layer < config.n_layers:
        return f"layer {iv.layer} is out of range; the model has layers 0 to {config.n_layers - 1}"
    if iv.state not in kinds:
        return f"unknown state {iv.state!r} for a {config.arch} model; valid states: {', '.join(kinds)}"
    if iv.op not in OPS:
        return f"unknown op {iv.op!r}; valid ops: {', '.join(OPS)}"
    if not iv.units:
        return "units is empty; give at least one unit index"
    bad = [u for u in iv.units if not 0 <= u < config.hidden_size]
    if bad:
        return f"units {bad} out of range; the model has units 0 to {config.hidden_size - 1}"
    if len(set(iv.units)) != len(iv.units):
        return "units lists a unit more than once"
    if iv.op == "clamp" and iv.value is None:
        return "clamp needs a value"
    if iv.op != "clamp" and iv.value is not None:
        return f"{iv.op} takes no value (only clamp does)"
    if iv.value is not None and not math.isfinite(iv.value):
        return "value must be a finite number"
    if iv.op == "mean" and (means is None or str(iv.name) not in means):
        return f"mean needs the unit means of {iv.name} from the model's stored cell analysis, and there are none"
    if iv.start is not None and iv.start < 0:
        return f"start {iv.start} is negative; positions start at 0"
    if iv.start is not None and iv.end is not None and iv.start >= iv.end:
        return f"start {iv.start} is not before end {iv.end}; the span is [start, end)"
    if length is not None:
        if iv.start is not None and iv.start >= length:
            return f"start {iv.start} is outside the text: positions are 0 to {length - 1}"
        if iv.end is not None and not 0 < iv.end <= length:
            return f"end {iv.end} is outside the text: end is 1 to {length} (the span is [start, end))"
    return None


def _values(iv: Intervention, means: Mapping[str, torch.Tensor] | None) -> torch.Tensor:
    """What each of the intervention's units is set to: (U,) float32."""
    if iv.op == "mean":
        return means[str(iv.name)].float()[list(iv.units)]
    value = 0.0 if iv.op == "zero" else float(iv.value)
    return torch.full((len(iv.units),), value)


def _set_units(rows: torch.Tensor, units: torch.Tensor, values: torch.Tensor):
    placed: dict[torch.device, tuple[torch.Tensor, ...]] = {}  # moved once to the model's device, not per step

    def edit(state: torch.Tensor) -> None:  # state (B, H), in place
        if state.device not in placed:
            placed[state.device] = tuple(t.to(state.device) for t in (rows, units, values))
        r, u, v = placed[state.device]
        state.index_put_((r, u), v)
    return edit


def acting(interventions: Sequence[Intervention], position: int, values: Mapping[Intervention, torch.Tensor],
           ) -> tuple[tuple[Intervention, torch.Tensor], ...]:
    """(intervention, the values it sets) of each intervention acting at `position`, in their order (a later one
    on the same unit wins): what row_edits takes. `values` as unit_values() makes them."""
    return tuple((iv, values[iv]) for iv in interventions if iv.covers(position))


def next_edge(interventions: Sequence[Intervention], position: int) -> int | None:
    """The first span edge (start or end) after `position`: where the acting interventions may change next."""
    edges = [edge for iv in interventions for edge in (iv.start, iv.end) if edge is not None and edge > position]
    return min(edges, default=None)


def row_edits(rows: Sequence[Sequence[tuple[Intervention, torch.Tensor]]]) -> dict[int, Edits]:
    """{layer: {kind: edit}} setting, in row b of a batch, the units of each (intervention, values) of rows[b].

    Each edit writes its own rows' entries only (an indexed put), so a row's numbers never depend
    on what the other rows of the batch change.
    """
    # (layer, kind) -> {(row, unit): value}: a dict, so that a later intervention on the same unit wins
    targets: dict[tuple[int, str], dict[tuple[int, int], float]] = {}
    for row, pairs in enumerate(rows):
        for iv, values in pairs:
            target = targets.setdefault((iv.layer, iv.state), {})
            for unit, value in zip(iv.units, values.tolist()):
                target[(row, unit)] = value
    edits: dict[int, Edits] = {}
    for (layer, kind), target in targets.items():
        index, units = (torch.tensor(column, dtype=torch.long) for column in zip(*target))
        edits.setdefault(layer, {})[kind] = _set_units(index, units, torch.tensor(list(target.values())))
    return edits


def unit_values(interventions: Sequence[Intervention], means: Mapping[str, torch.Tensor] | None,
                ) -> dict[Intervention, torch.Tensor]:
    """What each intervention sets its units to, {intervention: (U,) float32} (check() them first)."""
    return {iv: _values(iv, means) for iv in interventions}


def _segment_edits(sets: Sequence[Sequence[Intervention]], position: int,
                   values: Mapping[Intervention, torch.Tensor]) -> dict[int, Edits]:
    """{layer: {kind: edit}} for the interventions of every stream that act at `position`."""
    return row_edits([acting(interventions, position, values) for interventions in sets])


def _boundaries(sets: Sequence[Sequence[Intervention]], offset: int, T: int) -> list[int]:
    """Where the set of acting interventions may change, in 0..T (positions of ids, not of the text)."""
    cuts = {0, T}
    for interventions in sets:
        for iv in interventions:
            for edge in (iv.start, iv.end):
                if edge is not None and 0 < edge - offset < T:
                    cuts.add(edge - offset)
    return sorted(cuts)


def _shared_layers(sets: Sequence[Sequence[Intervention]]) -> int:
    """How many lower layers every stream computes alike: those below the lowest intervened layer
    (0 for a single stream, where there is nothing to share)."""
    layers = [iv.layer for interventions in sets for iv in interventions]
    return min(layers) if len(sets) > 1 and layers else 0


def _split_capture(model: CharRNN, ids: torch.Tensor, shared: int, names: Sequence[str],
                   units: Sequence[int] | None, state: State | None, with_logits: bool,
                   stepwise: Stepwise | None) -> Capture:
    """capture() of streams that differ only from layer `shared` up: the layers below run once, for
    stream 0, and their output is what every stream's layer `shared` reads."""
    B, arch, n = ids.shape[0], model.config.arch, model.config.n_layers
    below = [name for name in names if StateName.parse(name, arch, n).layer < shared]
    feed = str(StateName(shared - 1, "h"))  # the output of the last shared layer, every unit
    state = state or {}
    lower_state = {k: v[:1] for k, v in state.items() if StateName.parse(k, arch, n).layer < shared}
    lower = capture(model, ids[:1], [*below, feed], None, lower_state, with_final_state=True, n_layers=shared)
    upper = capture(model, ids, [name for name in names if name not in below], units,
                    {k: v for k, v in state.items() if k not in lower_state}, with_logits=with_logits,
                    with_final_state=True, stepwise=stepwise,
                    inputs=lower.states[feed].expand(B, -1, -1), first_layer=shared)  # (B, T, H)
    index = slice(None) if units is None else list(units)
    states = {name: lower.states[name][..., index].expand(B, -1, -1).contiguous() for name in below}
    final = {k: v.expand(B, -1).contiguous() for k, v in lower.final_state.items()}
    return Capture(states={**states, **upper.states}, logits=upper.logits, final_state={**final, **upper.final_state})


@torch.no_grad()
def intervene_streams(model: CharRNN, ids: torch.Tensor, sets: Sequence[Sequence[Intervention]],
                      names: Sequence[str] = (), units: Sequence[int] | None = None,
                      means: Mapping[str, torch.Tensor] | None = None, state: State | None = None,
                      offset: int = 0, with_logits: bool = False, with_final_state: bool = False) -> Capture:
    """ids (T,) read by len(sets) streams side by side, stream b under the interventions sets[b]:
    the requested states (B, T, U), logits (B, T, V) and final state as capture() returns them.

    `offset` is the text position of ids[0] (spans are text positions), and `state` a previous
    call's final_state (B streams), so a long text runs in chunks exactly as in one call.
    `means` {state name: (H,)} are the stored unit means, for "mean".
    When every stream's interventions are in layer L or above, the layers below L (the same in every
    stream) run once, for one stream, and are broadcast: e.g. 64 ablations of layer 1 skip 63 passes
    of layer 0.
    """
    for interventions in sets:
        check(interventions, model.config, means)
    ids = ids.reshape(1, -1).expand(len(sets), -1)  # (B, T): one copy of the text per stream
    T = ids.shape[1]
    if T == 0 or not sets:
        raise ValueError("intervene_streams needs at least one character and one stream")
    values = {iv: _values(iv, means) for interventions in sets for iv in interventions}
    parts: list[Capture] = []
    cuts = _boundaries(sets, offset, T)
    shared = _shared_layers(sets)
    for a, b in zip(cuts[:-1], cuts[1:]):
        edits = _segment_edits(sets, offset + a, values)
        # where nothing acts, the plain path: exactly the plain numbers, and faster for one stream
        stepwise = Stepwise(torch.float32, edits=edits) if edits else None
        if shared:
            part = _split_capture(model, ids[:, a:b], shared, names, units, state, with_logits, stepwise)
        else:
            part = capture(model, ids[:, a:b], names, units, state, with_logits=with_logits,
                           with_final_state=True, stepwise=stepwise)
        state = part.final_state
        parts.append(part)
    if len(parts) == 1:
        whole = parts[0]
    else:
        whole = Capture(states={name: torch.cat([p.states[name] for p in parts], dim=1) for name in parts[0].states},
                        logits=torch.cat([p.logits for p in parts], dim=1) if with_logits else None,
                        final_state=state)
    return Capture(states=whole.states, logits=whole.logits, final_state=state if with_final_state else None)


def intervene(model: CharRNN, ids: torch.Tensor, interventions: Sequence[Intervention], **options) -> Capture:
    """One stream under one list of interventions (B = 1); options as intervene_streams."""
    return intervene_streams(model, ids, [interventions], **options)
