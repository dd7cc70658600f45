"""Batched scan against single-stream capture, on the same text and states.

    python bench/scan.py [--model models/austen-lstm] [--chars 100000] [--streams 64]

Two comparisons, each on the same text and states:
  h and c of every layer (what bench/capture.py's engine capture computes), and
  every state (h, c and all gates: what the cell analysis needs).
For each:
  (a) app.engine.capture on the text as one stream (B = 1: one matrix-vector product per
      step), exact float32
  (b) app.cells.scan: the text cut into --streams chunks run side by side, each warmed up
      on the 256 characters before it (matrix-matrix work), with the streaming top-k per
      unit, gate saturation and every state kept, matrix products in float32
  (c) the same scan with bfloat16 matrix products: the default where the CPU has them
      natively (AVX-512 BF16, AMX), emulated and slower elsewhere (see app/cells/scan.py)
It prints characters per second, the speed-ups over (a) (target >= 5x), and how far the
batched states are from the single-stream ones (warm-up and bfloat16 rounding).
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
from app.engine.stepwise import fast_matmul_dtype  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/austen-lstm")
    parser.add_argument("--chars", type=int, default=100_000)
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
    native = fast_matmul_dtype() == torch.bfloat16
    print(f"bfloat16 products native on this CPU: {native}")
    # Each run keeps every state (gigabytes). Memory a process touches for the first time costs
    # several times more than memory freed and reused (on a VM, most of all), so the runs would
    # be timed by the machine's memory history: touch what they need once before timing any.
    torch.ones(2 * len(every) * len(ids) * cfg.hidden_size)
    for label, names in (("h and c of every layer", h_and_c), ("every state", every)):
        start = time.perf_counter()
        single = capture(loaded.model, torch.from_numpy(ids), names).states
        single_s = time.perf_counter() - start
        print(f"{label} ({len(names)} states):")
        print(f"  (a) single-stream capture, float32       {len(ids) / single_s:>10,.0f} chars/s")
        for tag, dtype in (("(b)", torch.float32), ("(c)", torch.bfloat16)):
            start = time.perf_counter()
            batched = scan(loaded.model, ids, names, n_streams=args.streams, keep_states=True, matmul_dtype=dtype)
            batched_s = time.perf_counter() - start
            print(f"  {tag} batched scan + top-k, {str(dtype).removeprefix('torch.'):9s}"
                  f"{len(ids) / batched_s:>10,.0f} chars/s  = {single_s / batched_s:4.1f}x (a)  (target >= 5x)"
                  + ("  [emulated: no native bfloat16 here]" if dtype == torch.bfloat16 and not native else ""))
            for n in h_and_c:  # warm-up (and bfloat16) error against the single stream, per state
                error = (batched.states[n] - single[n][0]).abs()
                print(f"        {n}: |batched - single| mean {error.mean():.1e}, max {error.max():.2f}; "
                      f"values off by > 0.05: {(error > 0.05).float().mean():.2%}")
            del batched, error  # freed before the next run, which then reuses that memory
        del single


if __name__ == "__main__":
    main()
