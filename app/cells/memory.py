"""How far back a model remembers: over its held-out sample, how much the prediction of a character
depends on the character k positions before it (k = 1: the one just read), for k = 1 .. window, and
the gradient of that prediction with respect to each layer's state k positions back.

    python -m app.cells.memory models/austen-lstm [models/austen-rnn ...] [--window 200] [--positions 256]
        [--gradient-positions 128] [--seed 0] [--threads 1]

Writes memory.json beside the model's other files (GET /api/models/{name}/memory serves it).

Occlusion: `positions` random characters q of the sample. Stream b reads the sample from q on with
q occluded (the unknown symbol: no input), starting from the exact state the plain reading has there
(one pass over the sample collects it), and the change in surprisal of each later prediction against
the plain pass is the effect at distance k. One stream gives every k at once, so the curve costs
`positions` streams of `window` steps, not a batched attribution (app/engine/attribution.py) per
position. Stored: the median and upper quartile of |change| in bits over the positions, per k.

Gradient: `gradient_positions` random predictions. Each stream reads the `window` characters before
its prediction from the plain state there, in an explicit differentiable time loop (the fused kernels
keep no per-step state to differentiate by), and one backward pass gives ||d log2 p / d state|| at every
earlier step of every layer: for a vanilla RNN, a product of W_hh and tanh' per step, the lecture's
vanishing gradient. Stored per state (h, and c for an LSTM): median and upper quartile per k.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from app.cells.commands import add_threads_option, use_threads
from app.cells.store import SAMPLE_FILE
from app.engine.capture import capture
from app.engine.checkpoint import load_model_dir
from app.engine.model import CharRNN, State
from app.engine.names import StateName
from app.engine.vocab import UNKNOWN_INDEX

MEMORY_FILE = "memory.json"
FORMAT = "cell-explorer/memory-1"
CHUNK = 4096  # characters per capture of the plain pass
OCCLUSION_BATCH = 64  # streams per call: their gate tensors stay near 100 MB at window 200
GRADIENT_BATCH = 16  # streams per backward pass: autograd keeps every step's gates


@torch.no_grad()
def plain_pass(model: CharRNN, ids: torch.Tensor, positions: np.ndarray) -> tuple[np.ndarray, State]:
    """The plain reading of ids (T,), once: the surprisal in bits of every next character, (T - 1,) float64
    (bits[i] is after ids[i]), and every recurrent state just before each position, {name: (P, H)}."""
    cfg = model.config
    names = cfg.recurrent_state_names()
    cuts = sorted({0, len(ids), *range(CHUNK, len(ids), CHUNK), *(int(q) for q in positions)})
    bits, at = [], {}
    state = {name: torch.zeros(1, cfg.hidden_size) for name in names}
    for a, b in zip(cuts[:-1], cuts[1:]):
        at[a] = state
        part = capture(model, ids[a:b], state=state, with_logits=True, with_final_state=True)
        state = part.final_state
        log_p = torch.log_softmax(part.logits[0].double(), dim=-1)  # (n, V)
        nxt = ids[a + 1 : b + 1]
        bits.append(-log_p[torch.arange(len(nxt)), nxt].numpy() / math.log(2))
    at[len(ids)] = state
    states = {name: torch.cat([at[int(q)][name] for q in positions]) for name in names}
    return np.concatenate(bits), states


@torch.no_grad()
def occlusion_reach(model: CharRNN, ids: torch.Tensor, positions: np.ndarray, window: int,
                    base_bits: np.ndarray, states: State) -> np.ndarray:
    """(P, window): the change in bits of the prediction of character q + k when q is occluded, at column k - 1;
    `states` are the plain reading's just before each q (plain_pass)."""
    effects = np.empty((len(positions), window))
    for a in range(0, len(positions), OCCLUSION_BATCH):
        batch = positions[a : a + OCCLUSION_BATCH]
        state = {name: value[a : a + OCCLUSION_BATCH] for name, value in states.items()}
        rows = torch.stack([ids[q : q + window] for q in batch])  # (B, window)
        rows[:, 0] = UNKNOWN_INDEX
        logits = capture(model, rows, state=state, with_logits=True).logits  # (B, window, V)
        nxt = torch.stack([ids[q + 1 : q + window + 1] for q in batch])  # (B, window)
        log_p = torch.log_softmax(logits.double(), dim=-1).gather(-1, nxt.unsqueeze(-1))[..., 0]  # (B, window)
        plain = np.stack([base_bits[q : q + window] for q in batch])
        effects[a : a + len(batch)] = -log_p.numpy() / math.log(2) - plain
    return effects


def _layer_steps(arch: str, module, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None):
    """One layer as an explicit differentiable loop over x (B, N, in): every step's h (and c), each (B, H)."""
    xs = x @ module.weight_ih_l0.t() + module.bias_ih_l0  # (B, N, G*H)
    hs, cs = [], []
    for t in range(x.shape[1]):
        hh = h @ module.weight_hh_l0.t() + module.bias_hh_l0  # (B, G*H)
        if arch == "rnn":
            h = torch.tanh(xs[:, t] + hh)
        elif arch == "lstm":
            i, f, g, o = (xs[:, t] + hh).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            cs.append(c)
        else:  # gru: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
            xr, xz, xn = xs[:, t].chunk(3, dim=-1)
            hr, hz, hn = hh.chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1 - z) * torch.tanh(xn + r * hn) + z * h
        hs.append(h)
    return hs, cs


def stepwise_log2_p(model: CharRNN, rows: torch.Tensor, state: State, targets: torch.Tensor):
    """log2 p of each stream's target after reading rows (B, N) from `state`, (B,), and every step's
    recurrent states {name: [(B, H)] * N}, to differentiate by."""
    cfg = model.config
    x = model.embed(rows)  # (B, N, E)
    steps: dict[str, list[torch.Tensor]] = {}
    for layer, module in enumerate(model.layers):
        c0 = state.get(str(StateName(layer, "c")))
        hs, cs = _layer_steps(cfg.arch, module, x, state[str(StateName(layer, "h"))], c0)
        steps[str(StateName(layer, "h"))] = hs
        if cs:
            steps[str(StateName(layer, "c"))] = cs
        x = torch.stack(hs, dim=1)  # (B, N, H)
    log_p = torch.log_softmax(model.head(x[:, -1]).double(), dim=-1)  # (B, V)
    return log_p.gather(-1, targets.unsqueeze(-1))[:, 0] / math.log(2), steps


def gradient_reach(model: CharRNN, ids: torch.Tensor, positions: np.ndarray, window: int,
                   states: State) -> dict[str, np.ndarray]:
    """{state name: (G, window)}: ||d log2 p(character t + 1) / d state after reading t + 1 - k|| at column k - 1,
    for the prediction after each position t; `states` are the plain reading's just before each t - window + 1."""
    norms: dict[str, list[np.ndarray]] = {}
    for a in range(0, len(positions), GRADIENT_BATCH):
        batch = positions[a : a + GRADIENT_BATCH]
        starts = batch - window + 1
        state = {name: value[a : a + GRADIENT_BATCH] for name, value in states.items()}
        rows = torch.stack([ids[s : s + window] for s in starts])  # (B, window)
        targets = ids[torch.as_tensor(batch + 1)]
        with torch.enable_grad():
            log_p, steps = stepwise_log2_p(model, rows, state, targets)
            flat = [v for values in steps.values() for v in values]
            # the total derivative by each step's state (through the next step and the layer above); the
            # streams are independent, so the gradient of the sum is each one's own
            grads = iter(torch.autograd.grad(log_p.sum(), flat))
        for name, values in steps.items():
            by_step = torch.stack([next(grads) for _ in values], dim=1)  # (B, window, H)
            norms.setdefault(name, []).append(by_step.norm(dim=-1).flip(1).numpy())  # column k - 1
    return {name: np.concatenate(parts) for name, parts in norms.items()}


def _curve(values: np.ndarray) -> dict:
    """Median and upper quartile over the rows, per column, to 4 significant digits (log-scale values)."""
    def listed(row: np.ndarray) -> list[float]:
        return [float(f"{v:.4g}") for v in row]
    return {"median": listed(np.median(values, axis=0)), "upper_quartile": listed(np.quantile(values, 0.75, axis=0))}


def memory_reach(model: CharRNN, ids: np.ndarray, window: int, positions: int, gradient_positions: int,
                 seed: int) -> dict:
    """The curves memory.json stores (without its header)."""
    ids_t = torch.from_numpy(np.asarray(ids))
    if len(ids_t) <= 2 * window + 1:
        raise ValueError(f"the sample has {len(ids_t)} characters; window {window} needs more than {2 * window + 1}")
    rng = np.random.default_rng(seed)
    occluded = rng.choice(len(ids_t) - window - 1, size=min(positions, len(ids_t) - window - 1), replace=False)
    predicted = rng.choice(np.arange(window - 1, len(ids_t) - 1), size=min(gradient_positions, len(ids_t) - window),
                           replace=False)
    bits, states = plain_pass(model, ids_t, np.concatenate([occluded, predicted - window + 1]))
    split = len(occluded)
    effects = occlusion_reach(model, ids_t, occluded, window, bits, {k: v[:split] for k, v in states.items()})
    grads = gradient_reach(model, ids_t, predicted, window, {k: v[split:] for k, v in states.items()})
    return {"window": window, "positions": len(occluded), "gradient_positions": len(predicted), "seed": seed,
            "occlusion": _curve(np.abs(effects)), "gradient": {name: _curve(v) for name, v in grads.items()}}


def build_memory(model_dir: Path, window: int = 200, positions: int = 256, gradient_positions: int = 128,
                 seed: int = 0) -> dict:
    model_dir = Path(model_dir)
    sample_path = model_dir / SAMPLE_FILE
    if not sample_path.is_file():
        raise SystemExit(f"{model_dir}: no {SAMPLE_FILE}; build the cell analysis first: python -m app.cells.build "
                         f"{model_dir}")
    loaded = load_model_dir(model_dir)
    sample = sample_path.read_text(encoding="utf-8")
    started = time.perf_counter()
    curves = memory_reach(loaded.model, loaded.vocab.encode(sample).ids, window, positions, gradient_positions, seed)
    stored = {"format": FORMAT, "sample_sha256": hashlib.sha256(sample.encode("utf-8")).hexdigest(), **curves,
              "seconds": round(time.perf_counter() - started, 1)}
    tmp = model_dir / (MEMORY_FILE + ".tmp")
    tmp.write_text(json.dumps(stored) + "\n", encoding="utf-8")
    tmp.replace(model_dir / MEMORY_FILE)
    return stored


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.memory", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path)
    parser.add_argument("--window", type=int, default=200, help="distances k = 1 .. window (default 200)")
    parser.add_argument("--positions", type=int, default=256, help="random occluded positions (default 256)")
    parser.add_argument("--gradient-positions", type=int, default=128, help="random predictions for the gradient "
                        "curves (default 128)")
    parser.add_argument("--seed", type=int, default=0)
    add_threads_option(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    for model_dir in args.model_dirs:
        stored = build_memory(model_dir, args.window, args.positions, args.gradient_positions, args.seed)
        occ = stored["occlusion"]["median"]
        print(f"{model_dir}: {MEMORY_FILE} written in {stored['seconds']} s; median |occlusion effect| at k = 1, "
              f"10, 50, 200: {', '.join(f'{occ[k - 1]:.3g}' for k in (1, 10, 50, 200) if k <= len(occ))} bits")


if __name__ == "__main__":
    main()
