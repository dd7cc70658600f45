"""Which earlier characters one prediction depends on: occlusion, and gradient x input.

Position i is the step that reads character i, as everywhere in the app; its prediction is of the
character after it (the target). The window is the `window` characters up to and including i.

Occlusion replaces one character of the window by the unknown symbol, which is no input at all (a
zero one-hot row, or the embedding's zero padding row: model.py), and measures the surprisal the
prediction gains, in bits: log2 p(target) - log2 p(target | that character occluded). Positive: the
prediction depended on it. Every occluded variant is its own stream of one batch, so the window costs
one matrix-matrix product per step instead of one pass per character; a stream whose occluded
character is q reads exactly what the plain text reads before q, so it joins the batch only at q's
block, starting from the plain stream's state there (the prefix before the window runs once, B = 1).

Gradient x input is the first-order estimate of the same number: occlusion moves the input from x_q
to 0, so log2 p changes by about grad_q . x_q. One backward pass, cheap; but the gradient at the
current state says little about what a character forty steps back did through a saturated gate, so it
is dominated by the last few characters (README, "Why did it predict that?").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from app.engine.capture import capture
from app.engine.model import CharRNN, State
from app.engine.names import StateName
from app.engine.vocab import UNKNOWN_INDEX

STREAM_STEPS = 4096  # streams x characters per batched call: small blocks let streams join late; ~35 MB of gates
PREFIX_CHUNK = 4096  # characters per capture of the prefix before the window
LN2 = math.log(2)


@dataclass(frozen=True)
class Attribution:
    start: int  # text position of effects[0], the first character of the window
    effects: torch.Tensor  # (n,) float64: bits the prediction loses when that character is occluded (estimated)
    base_bits: float  # surprisal of the target with nothing occluded


def window_start(position: int, window: int) -> int:
    """The first position of a window of `window` characters ending at `position` (clipped at the text's start)."""
    return max(0, position - window + 1)


def _check(ids: torch.Tensor, position: int, target: int, window: int, vocab_size: int) -> None:
    if not 0 <= position < len(ids):
        raise ValueError(f"position {position} is outside the text: positions are 0 to {len(ids) - 1}")
    if not 0 <= target < vocab_size:
        raise ValueError(f"target {target} is not an output class: classes are 0 to {vocab_size - 1}")
    if window < 1:
        raise ValueError("window must be at least 1")


def _zero_state(model: CharRNN, batch: int) -> State:
    cfg = model.config
    return {name: model.head.weight.new_zeros(batch, cfg.hidden_size) for name in cfg.recurrent_state_names()}


def _prefix_state(model: CharRNN, ids: torch.Tensor, start: int) -> State:
    """Every recurrent state after reading ids[:start], (1, H) each; zeros for an empty prefix."""
    state = _zero_state(model, 1)
    for a in range(0, start, PREFIX_CHUNK):  # in chunks: a 100,000-character prefix never holds all its states
        state = capture(model, ids[a:min(a + PREFIX_CHUNK, start)], state=state, with_final_state=True).final_state
    return state


def surprisal(model: CharRNN, state: State, target: int) -> torch.Tensor:
    """Bits of the target after each stream's state, (B,) float64: the top layer's h read by the output layer."""
    top = state[str(StateName(model.config.n_layers - 1, "h"))]  # (B, H)
    log_p = torch.log_softmax(model.head(top).double(), dim=-1)  # (B, V)
    return -log_p[:, target] / LN2


@torch.no_grad()
def occlusion(model: CharRNN, ids: torch.Tensor, position: int, target: int, window: int,
              stream_steps: int = STREAM_STEPS) -> Attribution:
    """The bits the prediction after `position` loses when each character of the window is occluded.

    ids (T,); target is an output class (an id). Stream 0 reads the window as it is; stream 1 + k reads it
    with character start + k occluded. Streams join block by block, so the batch grows as the window goes.
    """
    ids = ids.reshape(-1)
    _check(ids, position, target, window, model.config.vocab_size)
    start = window_start(position, window)
    state = _prefix_state(model, ids, start)  # {name: (1, H)}
    active = 1
    a = start
    while a <= position:
        # the largest block whose batch (active + block streams) x block characters fits stream_steps
        fits = int((math.sqrt(active * active + 4 * stream_steps) - active) / 2)
        block = max(1, min(position + 1 - a, fits))
        b = a + block
        plain = {name: value[:1] for name, value in state.items()}  # stream 0 at a: what the joining streams read
        state = {name: torch.cat([value, plain[name].expand(block, -1)]) for name, value in state.items()}
        chunk = ids[a:b].repeat(active + block, 1)  # (B, block): the window's characters, one row per stream
        joining = torch.arange(block, device=ids.device)
        chunk[active + joining, joining] = UNKNOWN_INDEX  # stream active + j occludes character a + j
        state = capture(model, chunk, state=state, with_final_state=True).final_state  # {name: (B, H)}
        active += block
        a = b
    bits = surprisal(model, state, target)  # (1 + n,)
    return Attribution(start=start, effects=bits[1:] - bits[0], base_bits=float(bits[0]))


def run_from_inputs(model: CharRNN, x: torch.Tensor, state: State) -> torch.Tensor:
    """The top layer's h after reading input vectors x (B, T, E) from `state`: (B, H), differentiable."""
    h = x
    for layer, module in enumerate(model.layers):
        h, _ = module(h, model.layer_state_in(layer, state, x.shape[0], h))  # (B, T, H)
    return h[:, -1]


def log2_p(model: CharRNN, x: torch.Tensor, state: State, target: int) -> torch.Tensor:
    """log2 p(target) after reading x (B, T, E) from `state`: (B,) float64."""
    return torch.log_softmax(model.head(run_from_inputs(model, x, state)).double(), dim=-1)[:, target] / LN2


def gradient_x_input(model: CharRNN, ids: torch.Tensor, position: int, target: int, window: int) -> Attribution:
    """The first-order estimate of occlusion(): grad of log2 p(target) with respect to each input, dotted with it."""
    ids = ids.reshape(-1)
    _check(ids, position, target, window, model.config.vocab_size)
    start = window_start(position, window)
    with torch.no_grad():
        state = _prefix_state(model, ids, start)
        x = model.embed(ids[start : position + 1].unsqueeze(0))  # (1, n, E)
    x.requires_grad_(True)
    with torch.enable_grad():
        log_p = log2_p(model, x, state, target)  # (1,)
        (grad,) = torch.autograd.grad(log_p.sum(), x)  # (1, n, E)
    effects = (grad * x.detach()).sum(dim=-1)[0].double()  # (n,): an unknown character has x = 0, so 0
    return Attribution(start=start, effects=effects, base_bits=-float(log_p.detach()))
