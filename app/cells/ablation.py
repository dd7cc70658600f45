"""Does the found cell matter? Each stored cell's mean-ablation effect on its own characters,
beside the median of random units of the same state, added to a stored cell analysis.

    python -m app.cells.ablation models/austen-lstm [models/linux-lstm ...] [--threads 1]

For every state with found cells, one batched pass (intervene_streams: every found unit of that
state and RANDOM_UNITS random other units of it as parallel streams, each mean-ablated at every
position) over the first CHARS characters of the sample gives each unit's change in surprisal
(bits) at every prediction. A cell's figure is the mean change at its hypothesis's target
predictions: the predictions of the characters that end what the hypothesis marks, where a cell
that tracks it should matter most:

- binary hypotheses: the last character of each marked run, where it switches off (the closing
  quote of inside_double_quotes and the closing `"` of inside_string_literal, whose runs include
  both quote marks; the `/` of `*/` for inside_c_comment; the `)` of inside_condition; a word's
  last letter for inside_word; for one-character hypotheses such as uppercase or digit, the
  character itself).
- numeric hypotheses: the characters after which the value falls (the newline for
  position_in_line and indentation, `}` for brace_depth, `)` for paren_depth).

Each cell entry of cells.json gains "ablation": {"bits": its own change at the target, "random_median":
the median over the random units of the same state at the same target, "targets": how many target
predictions}; cells whose hypothesis has no target in those characters get none, and cells.json
gains a top-level "ablation" saying how it was measured. Nothing else in cells.json changes, and
units.safetensors is not touched. Needs the stored means (python -m app.cells.means).
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from app.cells.commands import add_threads_option, use_threads
from app.cells.hypotheses import BINARY, HYPOTHESES
from app.cells.store import CELLS_FILE, load_store
from app.engine.checkpoint import load_model_dir
from app.engine.importance import ablation_changes
from app.engine.names import StateName

CHARS = 20_000  # characters of the sample read (from its start)
RANDOM_UNITS = 20  # random units per state, beside the found ones
SEED = 0


def target_predictions(hypothesis: str, text: str) -> np.ndarray:
    """(T - 1,) bool: which predictions (prediction i is of character i + 1) are of the characters
    that end what the hypothesis marks (module docstring)."""
    h = HYPOTHESES[hypothesis]
    v = h.on(text).values  # (T,)
    if h.value_type == BINARY:
        v = v.astype(bool)
        ends = np.zeros_like(v)
        ends[:-1] = v[:-1] & ~v[1:]  # the run's last character (a run still open at the end has none)
    else:
        ends = np.zeros(len(v), dtype=bool)
        ends[:-1] = v[1:] < v[:-1]  # the value falls after this character
    return ends[1:]


def measure(model_dir: Path, chars: int = CHARS, random_units: int = RANDOM_UNITS, seed: int = SEED) -> dict:
    """Adds each found cell's ablation figure to model_dir's cells.json; returns the new summary."""
    model_dir = Path(model_dir)
    loaded = load_model_dir(model_dir)
    store = load_store(model_dir)
    if store is None:
        raise SystemExit(f"{model_dir}: no cell analysis; build one: python -m app.cells.build {model_dir}")
    means = store.means
    if not means:
        raise SystemExit(f"{model_dir}: the analysis has no unit means; add them: "
                         f"python -m app.cells.means {model_dir}")
    text = store.sample[:chars]
    ids = torch.from_numpy(loaded.vocab.encode(text).ids)
    summary = store.summary
    targets = {name: target_predictions(name, text) for name in {c["hypothesis"] for c in summary["cells"]}}
    targets = {name: torch.from_numpy(t) for name, t in targets.items() if t.any()}
    by_state = defaultdict(list)
    for cell in summary["cells"]:
        cell.pop("ablation", None)  # a rerun replaces the figures
        by_state[str(StateName(cell["layer"], cell["state"]))].append(cell)
    generator = np.random.default_rng(seed)
    H = loaded.model.config.hidden_size
    for name, cells in by_state.items():
        found = sorted({c["unit"] for c in cells})
        others = [u for u in range(H) if u not in set(found)]
        randoms = sorted(generator.choice(others, size=min(random_units, len(others)), replace=False).tolist())
        units = found + randoms
        changes = ablation_changes(loaded.model, ids, StateName.parse(name), units, means)  # (B, T - 1)
        row = {u: k for k, u in enumerate(units)}
        for cell in cells:
            target = targets.get(cell["hypothesis"])
            if target is None:
                continue
            at_target = changes[:, target].mean(dim=1)  # (B,)
            cell["ablation"] = {"bits": round(float(at_target[row[cell["unit"]]]), 4),
                                "random_median": round(float(at_target[len(found):].median()), 4),
                                "targets": int(target.sum())}
    summary["ablation"] = {"chars": len(text), "random_units": random_units, "seed": seed, "op": "mean",
                           "measure": "mean change in surprisal (bits) at the predictions of the characters "
                                      "that end the hypothesis (app/cells/ablation.py)"}
    tmp = model_dir / (CELLS_FILE + ".tmp")
    tmp.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(model_dir / CELLS_FILE)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.ablation", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path)
    parser.add_argument("--chars", type=int, default=CHARS, help="characters of the sample read")
    add_threads_option(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    for model_dir in args.model_dirs:
        started = time.perf_counter()
        summary = measure(model_dir, chars=args.chars)
        done = sum("ablation" in c for c in summary["cells"])
        print(f"{model_dir}: ablation figures for {done} of {len(summary['cells'])} cells added to {CELLS_FILE} "
              f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
