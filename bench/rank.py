"""Ranking speed: the histogram screen plus exact rescoring against sorting every unit.

    python bench/rank.py [--model models/austen-lstm] [--states layers.1.c ...] [--chars 100000]

In one process, on the same states (by default every state of every layer, all units, over
the model's held-out sample) and the built-in hypotheses:
  (a) exact for every unit: each unit's midranks (one sort per unit), then AUROC from the
      rank sum of every binary hypothesis and Pearson + Spearman for every numeric one
  (b) app.cells.ranking: histogram screen of every unit, then the best 40 units of each
      hypothesis rescored exactly (what `python -m app.cells.build` does for every block)
It prints the seconds of each, the ratio a/b, and whether (b)'s best unit of every
hypothesis is (a)'s best unit with the same score.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.cells.build import hypotheses_for  # noqa: E402
from app.cells.ranking import midranks, pearson, rank_units  # noqa: E402
from app.cells.scan import scan  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402


def exact_best(acts: np.ndarray, hypotheses) -> dict[str, tuple[int, float]]:
    """Best unit of one block and its score per hypothesis, from a full sort of every unit."""
    n, units = acts.shape
    scores = {h.name: np.zeros(units) for h in hypotheses}
    spearman = {h.name: np.zeros(units) for h in hypotheses if h.kind == "numeric"}
    feature_ranks = {h.name: midranks(h.values.astype(np.float64)) for h in hypotheses if h.kind == "numeric"}
    for unit in range(units):
        values = acts[:, unit]
        ranks = midranks(values)
        for h in hypotheses:
            if h.kind == "binary":
                n_pos = int(h.values.sum())
                auroc = (ranks[h.values].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (n - n_pos))
                scores[h.name][unit] = max(auroc, 1 - auroc)
            else:
                spearman[h.name][unit] = pearson(ranks, feature_ranks[h.name])  # reported beside r, as the ranking does
                scores[h.name][unit] = abs(pearson(values.astype(np.float64), h.values.astype(np.float64)))
    return {name: (int(np.argmax(s)), round(float(s.max()), 4)) for name, s in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/austen-lstm")
    parser.add_argument("--states", nargs="+", default=None, help="state names (default: all)")
    parser.add_argument("--chars", type=int, default=100_000)
    args = parser.parse_args()

    loaded = load_model_dir(Path(args.model))
    names = args.states or loaded.model.config.state_names()
    text = (Path(args.model) / "sample.txt").read_text(encoding="utf-8")[: args.chars]
    blocks = scan(loaded.model, loaded.vocab.encode(text).ids, names, keep_states=True, track_top=False).states
    hypotheses = [h for h in hypotheses_for(text) if not h.is_constant]
    units = sum(b.shape[1] for b in blocks.values())
    print(f"model {loaded.name}: {len(names)} states, {units:,} units x {len(hypotheses)} hypotheses, "
          f"{len(text):,} characters, torch threads {torch.get_num_threads()}")

    start = time.perf_counter()
    per_block = {name: exact_best(acts.numpy(), hypotheses) for name, acts in blocks.items()}
    exact = {h.name: max(((name, *best[h.name]) for name, best in per_block.items()), key=lambda e: e[2])
             for h in hypotheses}  # name -> (state, unit, score)
    exact_s = time.perf_counter() - start
    start = time.perf_counter()
    ranked = {name: scores[0] for name, scores in rank_units(blocks, hypotheses, top=1).items()}
    ranked_s = time.perf_counter() - start

    same = sum((ranked[name].state, ranked[name].unit, ranked[name].score) == best for name, best in exact.items())
    print(f"  (a) exact, one sort per unit          {exact_s:8.2f} s")
    print(f"  (b) histogram screen + exact rescore  {ranked_s:8.2f} s  = {exact_s / ranked_s:5.1f}x faster than (a)")
    print(f"  best unit and score identical for {same} of {len(exact)} hypotheses")
    for name, best in exact.items():
        found = (ranked[name].state, ranked[name].unit, ranked[name].score)
        if found != best:
            print(f"    {name}: exact {best}, ranking {found}")


if __name__ == "__main__":
    main()
