"""Batched occlusion of one prediction against occluding each character in its own forward pass.

    python bench/attribution.py [--model models/austen-lstm] [--window 200] [--context 1000] [--repeats 3] [--threads 1]

One prediction of the model's held-out sample (after --context characters) is attributed to each of
the --window characters before it:
  (a) app/engine/attribution.occlusion: every occluded variant a stream of one batch, the prefix before
      the window read once, the streams joining block by block from the plain stream's state
  (b) --window separate forward passes of the whole text, one character occluded in each
  (c) --window separate passes of the window alone, each from the prefix's state (read once): (b) without
      the repeated prefix, the fairest one-at-a-time baseline
  (d) gradient x input: one forward and one backward pass
and the largest difference between (a) and (b), in bits.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.cells.store import SAMPLE_FILE  # noqa: E402
from app.engine.attribution import _prefix_state, gradient_x_input, occlusion, surprisal, window_start  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402
from app.engine.vocab import UNKNOWN_INDEX  # noqa: E402
from bench.timing import best_time  # noqa: E402


@torch.no_grad()
def separate(model, ids, position, target, window, from_prefix: bool) -> torch.Tensor:
    """(n,) bits lost per occluded character, one forward pass each."""
    start = window_start(position, window)
    prefix = _prefix_state(model, ids, start) if from_prefix else None
    first = start if from_prefix else 0

    def bits(text_ids: torch.Tensor) -> float:
        _, state = model(text_ids[first : position + 1].unsqueeze(0), prefix)
        return float(surprisal(model, state, target)[0])

    base = bits(ids)
    out = []
    for q in range(start, position + 1):
        occluded = ids.clone()
        occluded[q] = UNKNOWN_INDEX
        out.append(bits(occluded) - base)
    return torch.tensor(out, dtype=torch.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/austen-lstm")
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--context", type=int, default=1000, help="characters read before the prediction")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_model_dir(Path(args.model))
    text = (Path(args.model) / SAMPLE_FILE).read_text(encoding="utf-8")[: args.context + 1]
    ids = torch.from_numpy(loaded.vocab.encode(text).ids)
    model, position, target = loaded.model, args.context - 1, int(ids[args.context])
    cfg = model.config
    print(f"{loaded.name} ({cfg.arch} {cfg.n_layers}x{cfg.hidden_size}): the prediction after {args.context:,} "
          f"characters, {args.window} occluded; torch threads {torch.get_num_threads()}")

    batched = best_time(lambda: occlusion(model, ids, position, target, args.window), args.repeats)
    whole = best_time(lambda: separate(model, ids, position, target, args.window, False), 1)
    windows = best_time(lambda: separate(model, ids, position, target, args.window, True), 1)
    gradient = best_time(lambda: gradient_x_input(model, ids, position, target, args.window), args.repeats)
    diff = (occlusion(model, ids, position, target, args.window).effects
            - separate(model, ids, position, target, args.window, False)).abs().max()
    print(f"  (a) batched occlusion                        {batched * 1e3:8.0f} ms")
    print(f"  (b) {args.window} separate passes of the whole text    {whole * 1e3:8.0f} ms  = {whole / batched:.1f}x (a)")
    print(f"  (c) {args.window} separate passes of the window        {windows * 1e3:8.0f} ms  = {windows / batched:.1f}x (a)")
    print(f"  (d) gradient x input                         {gradient * 1e3:8.0f} ms  = {batched / gradient:.1f}x "
          f"faster than (a)")
    print(f"  largest |(a) - (b)|: {float(diff):.2g} bits (float32 rounding)")
    ok = windows / batched >= 5 and math.isfinite(float(diff))
    print(f"\nbatched occlusion at least 5x faster than one pass per character (c): {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
