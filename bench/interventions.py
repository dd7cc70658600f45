"""Interventions on a shipped model: their speed, and whether mean-ablating the cell the app names matters.

    python bench/interventions.py [--model models/austen-lstm] [--target quotes|comment] [--state c]
                                  [--random 24] [--seed 0] [--repeats 3] [--threads 1] [--no-speed | --no-effect]

--target names the cell and the characters where it should matter: "quotes" (default) the best
unit for inside_double_quotes, measured at closing quotes (and opening ones); "comment" the best
unit for inside_c_comment (linux-lstm), measured at both characters of each */ that closes a block
comment (and of each /* that opens one); both also at every character inside (the hypothesis's
positives). --state takes the hypothesis's best unit in that state. --no-speed skips the speed part,
--no-effect the effect.

Speed, on the first 2,000 characters of the model's held-out sample (one stream, best of --repeats):
  (a) plain capture: the quote cell's state and the logits, as POST /api/activations computes them
  (b) the same with the quote cell mean-ablated at every position (capture's per-step loop, float32)
  (c) the whole service call (app/services/interventions.compare, on the app's batcher): both passes,
      bits, KL, values, top-5 as JSON
  (d) 64 single-unit mean ablations of that state: as 64 parallel streams of one pass, against one
      pass after another
Effect, on the whole held-out sample:
  the cell that cells.json names (the target's hypothesis, best unit) mean-ablated at every
  position through the service: the mean change of surprisal at the target characters (the
  prediction made after the character before each), at the secondary ones and at every character;
  then --random other units of the same state, mean-ablated as parallel streams of one engine pass
  (the engine call the service makes, one stream each, with the cell as stream 0 to check the
  streams against the service): the same figures, their median and maximum.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.cells.hypotheses import _C_TOKEN, _blank_line_mask, code_points, hypothesis_values  # noqa: E402
from bench.timing import best_time  # noqa: E402
from app.cells.store import load_store  # noqa: E402
from app.engine.capture import capture  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402
from app.engine.interventions import Intervention, intervene, intervene_streams  # noqa: E402
from app.services.batcher import Batcher  # noqa: E402
from app.services.interventions import check_interventions, compare  # noqa: E402
from app.services.selection import ResolvedSelection  # noqa: E402
from app.settings import Settings  # noqa: E402

CHUNK = 4096  # characters per engine call of the parallel streams (bounds their memory)


def quote_marks(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions of opening and closing '"', by the rule of the inside_double_quotes hypothesis
    (marks alternate; a blank line closes any open quote)."""
    is_quote = code_points(text) == ord('"')
    through = np.cumsum(is_quote, dtype=np.int64)
    at_reset = np.maximum.accumulate(np.where(_blank_line_mask(text), through, 0))
    open_before = (through - is_quote - at_reset) % 2 == 1
    return np.flatnonzero(is_quote & ~open_before), np.flatnonzero(is_quote & open_before)


def comment_marks(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions of both characters of each /* that opens a block comment and of each */ that closes
    one, by the rule of the inside_c_comment hypothesis (a /* inside a string opens nothing)."""
    opening, closing = [], []
    for token in _C_TOKEN.finditer(text):  # str positions are code points, as the app counts them
        if token.lastgroup == "block_comment":
            opening += [token.start(), token.start() + 1]
            if token.group().endswith("*/") and token.end() - token.start() >= 4:
                closing += [token.end() - 2, token.end() - 1]
    return np.array(opening, dtype=np.int64), np.array(closing, dtype=np.int64)


# --target: (hypothesis naming the cell, the characters' finder, its (secondary, primary) labels)
TARGETS = {"quotes": ("inside_double_quotes", quote_marks, ("opening quotes", "closing quotes")),
           "comment": ("inside_c_comment", comment_marks, ("opening /*", "closing */"))}


def effects(delta: np.ndarray, opening: np.ndarray, closing: np.ndarray,
            inside: np.ndarray) -> tuple[float, float, float, float]:
    """Mean change of surprisal at the closing marks, the opening marks, the characters inside (the
    hypothesis's positives), every character; delta[i] is the change for the prediction of
    character i + 1, so a mark at j is delta[j - 1]."""
    return tuple(float(np.mean(delta[marks[marks > 0] - 1])) for marks in (closing, opening, inside)) + (
        float(np.nanmean(delta)),)


_BATCHER: Batcher | None = None


def served(loaded, text: str, interventions, sel: ResolvedSelection, topk: int, means) -> dict:
    """The answer of POST /api/interventions, from the service on a batcher as the app runs it: one worker per
    core, kept from call to call (its checked batch sizes with it)."""
    global _BATCHER
    if _BATCHER is None:
        _BATCHER = Batcher(workers=os.cpu_count() or 1)

    async def call() -> bytes:
        return await compare(_BATCHER, loaded, text, interventions, sel, topk, means)

    return json.loads(asyncio.run(call()))


@torch.no_grad()
def stream_deltas(loaded, ids: torch.Tensor, sets, means, base_bits: np.ndarray) -> np.ndarray:
    """Change of surprisal per stream and character, (B, N): one engine pass, the streams side by side."""
    next_ids = ids[1:]
    bits = np.full((len(sets), len(ids)), np.nan)
    state = None
    for start in range(0, len(ids), CHUNK):
        part = intervene_streams(loaded.model, ids[start : start + CHUNK], sets, means=means, state=state,
                                 offset=start, with_logits=True, with_final_state=True)
        state = part.final_state
        probs = torch.softmax(part.logits.double(), dim=-1)  # (B, n, V)
        n = min(part.logits.shape[1], len(next_ids) - start)
        picked = probs[:, torch.arange(n), next_ids[start : start + n]]  # (B, n)
        bits[:, start : start + n] = -np.log2(picked.numpy())
    return bits - base_bits[None, :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/austen-lstm")
    parser.add_argument("--target", choices=sorted(TARGETS), default="quotes",
                        help="the cell's hypothesis and the characters it should matter for")
    parser.add_argument("--state", default=None, help="the best unit of the hypothesis in this state (default: "
                        "the best of any state)")
    parser.add_argument("--random", type=int, default=24, help="random units of the cell's state")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chars", type=int, default=2000, help="characters of the speed comparison")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared machine)")
    parser.add_argument("--no-speed", action="store_true", help="only the effect on the held-out sample")
    parser.add_argument("--no-effect", action="store_true", help="only the speed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model_dir = Path(args.model)
    loaded, store = load_model_dir(model_dir), load_store(model_dir)
    hypothesis, find_marks, (second, first) = TARGETS[args.target]
    cell = next(c for c in store.summary["cells"] if c["hypothesis"] == hypothesis
                and args.state in (None, c["state"]))
    sel = ResolvedSelection(cell["layer"], cell["state"], [cell["unit"]])
    ablate = [Intervention(sel.layer, sel.state, [cell["unit"]], "mean")]
    sample, settings = store.sample, Settings()
    means = check_interventions(loaded, store, sample, ablate, sel, settings)
    print(f"{loaded.name}: {hypothesis} cell {sel.name}[{cell['unit']}] (AUROC {cell['score']}), mean "
          f"{float(means[sel.name][cell['unit']]):.4f}; torch threads {torch.get_num_threads()}")

    if not args.no_speed:
        speed(loaded, sample[: args.chars], sel, ablate, means, args.repeats)
    if args.no_effect:
        return

    opening, closing = find_marks(sample)
    inside = np.flatnonzero(hypothesis_values(hypothesis, sample) > 0)
    started = time.perf_counter()
    result = served(loaded, sample, ablate, sel, 0, means)
    service_s = time.perf_counter() - started
    delta = np.array([np.nan if d is None else d for d in result["delta_bits"]])
    close, open_, within, every = effects(delta, opening, closing, inside)
    print(f"\neffect on the held-out sample ({len(sample):,} characters; {first}: {len(closing)}, {second}: "
          f"{len(opening)}, inside: {len(inside):,}), change of surprisal in bits:")
    print(f"  {sel.name}[{cell['unit']}] mean-ablated (service, {service_s:.0f} s): {first} {close:+.3f}, "
          f"{second} {open_:+.3f}, inside ({hypothesis}) {within:+.4f}, every character {every:+.4f}")

    others = random.Random(args.seed).sample([u for u in range(loaded.model.config.hidden_size)
                                               if u != cell["unit"]], args.random)
    sets = [ablate] + [[Intervention(sel.layer, sel.state, [u], "mean")] for u in others]
    base_bits = np.array([np.nan if b is None else b for b in result["base_bits"]])
    started = time.perf_counter()
    deltas = stream_deltas(loaded, torch.from_numpy(loaded.vocab.encode(sample).ids), sets, means, base_bits)
    streams_s = time.perf_counter() - started
    check = effects(deltas[0], opening, closing, inside)[0]
    rows = [(u, *effects(d, opening, closing, inside)) for u, d in zip(others, deltas[1:])]
    closes = np.array([r[1] for r in rows])
    print(f"  the same cell as stream 0 of {len(sets)} parallel streams ({streams_s:.0f} s): {first} "
          f"{check:+.3f} (service {close:+.3f})")
    print(f"  {args.random} random units of {sel.name} (seed {args.seed}): {first} median {np.median(closes):+.4f}, "
          f"max |.| {np.abs(closes).max():.4f}; inside median {np.median([r[3] for r in rows]):+.5f}; every "
          f"character median {np.median([r[4] for r in rows]):+.5f}")
    for u, c, o, i, e in sorted(rows, key=lambda r: -abs(r[1]))[:5]:
        print(f"    unit {u:4d}: {first} {c:+.4f}  {second} {o:+.4f}  inside {i:+.4f}  every {e:+.5f}")
    ok = close >= 2.0 and abs(float(np.median(closes))) < 0.1
    print(f"\ncell >= +2 bits at {first} and random median below 0.1 bits: {'yes' if ok else 'NO'}")


def speed(loaded, text: str, sel: ResolvedSelection, ablate, means, repeats: int) -> None:
    ids = torch.from_numpy(loaded.vocab.encode(text).ids)
    plain = best_time(lambda: capture(loaded.model, ids, [sel.name], sel.units, with_logits=True), repeats)
    one = best_time(lambda: intervene(loaded.model, ids, ablate, names=[sel.name], units=sel.units, means=means,
                                      with_logits=True), repeats)
    service = best_time(lambda: served(loaded, text, ablate, sel, 5, means), repeats)
    units = list(range(64))
    sets = [[Intervention(sel.layer, sel.state, [u], "mean")] for u in units]
    batched = best_time(lambda: intervene_streams(loaded.model, ids, sets, means=means, with_logits=True), 1)
    started = time.perf_counter()
    for interventions in sets:
        intervene(loaded.model, ids, interventions, means=means, with_logits=True)
    sequential = time.perf_counter() - started
    print(f"\nspeed on {len(text):,} characters (best of {repeats}; (d) once each):")
    print(f"  (a) plain capture                        {plain * 1e3:8.0f} ms")
    print(f"  (b) the cell mean-ablated                {one * 1e3:8.0f} ms  = {one / plain:.2f}x (a)")
    print(f"  (c) service: both passes, bits, KL, top-5 {service * 1e3:7.0f} ms  = {service / plain:.2f}x (a)")
    print(f"  (d) 64 single-unit ablations, 64 streams {batched:8.2f} s   one after another {sequential:.2f} s"
          f"  = {sequential / batched:.2f}x faster")


if __name__ == "__main__":
    main()
