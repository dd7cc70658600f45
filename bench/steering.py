"""Steering austen-lstm's quote cell: how many quote marks the model writes with the cell clamped, against without.

    python bench/steering.py [--model models/austen-lstm] [--unit 378] [--values -3 3] [--seeds 8] [--length 300]

For each clamp value, --seeds samples (seeds 0 to n - 1) of --length characters after the prime
'"My dear', temperature 0.8, with layers.1.c[unit] clamped at every generated step
(app/engine/sampling.sample with the intervention, what POST /api/interventions/sample runs) and
without; prints the quote marks counted in each.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.engine.checkpoint import load_model_dir  # noqa: E402
from app.engine.interventions import Intervention  # noqa: E402
from app.engine.sampling import sample  # noqa: E402

PRIME = '"My dear'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/austen-lstm")
    parser.add_argument("--unit", type=int, default=378)
    parser.add_argument("--values", type=float, nargs="+", default=[-3.0, 3.0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_model_dir(Path(args.model))
    started = time.perf_counter()

    def quotes(interventions) -> int:
        return sum("".join(step.char for step in sample(loaded.model, loaded.vocab, PRIME, args.length, 0.8, seed,
                                                        interventions=interventions)).count('"')
                   for seed in range(args.seeds))

    plain = quotes([])
    print(f"{loaded.name}, prime {PRIME!r}, {args.seeds} seeds x {args.length} characters, temperature 0.8")
    print(f"  without: {plain} quote marks")
    for value in args.values:
        steered = quotes([Intervention(1, "c", [args.unit], "clamp", value)])
        print(f"  layers.1.c[{args.unit}] clamped to {value:+g}: {steered} quote marks")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
