"""Batched scan against single-stream capture, on the same text and states.

    python bench/scan.py [--model models/austen-lstm] [--chars 20000] [--streams 64]

Two comparisons, each on the same text and states:
  h and c of every layer (what bench/capture.py's engine capture computes), and
  every state (h, c and all gates: what the cell analysis needs).
For each:
  (a) app.engine.capture on the text as one stream (B = 1: one matrix-vector product per step)
  (b) app.cells.scan: the text cut into --streams chunks run side by side, each warmed up
      on the 256 characters before it (matrix-matrix work), with the streaming top-k per unit
It prints characters per second, the speed-up (target >= 5x), and how far the batched
states are from the single-stream ones (the warm-up makes them agree closely).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.cells.scan import scan  # noqa: E402
from app.engine.capture import capture  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/austen-lstm")
    parser.add_argument("--chars", type=int, default=20_000)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    loaded = load_model_dir(Path(args.model))
    sample_path = Path(args.model) / "sample.txt"
    text = sample_path.read_text() if sample_path.is_file() else "".join(loaded.vocab.chars) * 1000
    text = (text * (args.chars // len(text) + 1))[: args.chars]
    ids = loaded.vocab.encode(text).ids
    cfg = loaded.model.config
    print(f"model {loaded.name}: {cfg.n_layers} x {cfg.hidden_size} {cfg.arch}, {len(ids):,} characters, "
          f"{args.streams} streams, torch threads {torch.get_num_threads()}")
    every = cfg.state_names()
    h_and_c = [n for n in every if n.endswith((".h", ".c"))]
    for label, names in (("h and c of every layer", h_and_c), ("every state", every)):
        start = time.perf_counter()
        single = capture(loaded.model, torch.from_numpy(ids), names).states
        single_s = time.perf_counter() - start
        start = time.perf_counter()
        batched = scan(loaded.model, ids, names, n_streams=args.streams, keep_states=True)
        batched_s = time.perf_counter() - start
        h_names = [n for n in names if n.endswith(".h")]
        mean_h = sum((batched.states[n] - single[n][0]).abs().mean().item() for n in h_names) / len(h_names)
        print(f"{label} ({len(names)} states):")
        print(f"  (a) single-stream capture   {len(ids) / single_s:>10,.0f} chars/s")
        print(f"  (b) batched scan + top-k    {len(ids) / batched_s:>10,.0f} chars/s")
        print(f"  speed-up (b)/(a) = {single_s / batched_s:.1f}x  (target >= 5x); "
              f"mean |h batched - h single| {mean_h:.1e}")


if __name__ == "__main__":
    main()
