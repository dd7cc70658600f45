"""Is a hypothesis carried by one unit, or spread over many? A linear probe beside the best unit.

    python -m app.cells.probe models/linux-lstm [--hypothesis position_in_line ...] [--states layers.1.c ...]

The ranking looks for single units. When no unit scores well, the model may still know the
feature, spread over many units. This fits a ridge regression from all units of a state
block (e.g. layers.1.c, 512 units) to the hypothesis on the first half of the model's held-out
sample and scores it on the second half, beside the best single unit chosen on the first half
and scored on the second: the same metric as the ranking (|Pearson r| for numeric features,
max(AUROC, 1 - AUROC) for binary ones).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.cells.features import FEATURES, compute_feature
from app.cells.ranking import Hypothesis, exact_auroc, pearson
from app.cells.scan import scan
from app.cells.store import SAMPLE_FILE
from app.engine.checkpoint import load_model_dir

RIDGE = 1e-3  # ridge penalty per training character, on standardised units: keeps near-duplicate units stable


@dataclass(frozen=True)
class ProbeResult:
    hypothesis: str
    state: str
    metric: str  # "auroc" or "pearson"
    probe: float  # the probe's score on the held-out half
    best_unit: int  # the best single unit on the fitting half
    unit: float  # that unit's score on the held-out half


def _score(kind: str, values: np.ndarray, target: np.ndarray) -> float:
    if kind == "binary":
        auroc = exact_auroc(values, target.astype(bool))
        return max(auroc, 1 - auroc)
    return abs(pearson(values.astype(np.float64), target.astype(np.float64)))


def probe(acts: torch.Tensor, hypothesis: Hypothesis, state: str = "") -> ProbeResult:
    """Fits on the first half of acts (N, U), scores on the second half."""
    x = acts.double().numpy()
    y = np.asarray(hypothesis.values, dtype=np.float64)
    half = len(y) // 2
    mean, std = x[:half].mean(0), x[:half].std(0)
    z = (x - mean) / np.where(std > 0, std, 1.0)  # a unit constant on the fitting half contributes nothing
    fit, held_out = z[:half], z[half:]
    gram = fit.T @ fit + RIDGE * half * np.eye(z.shape[1])
    weights = np.linalg.solve(gram, fit.T @ (y[:half] - y[:half].mean()))
    probe_score = _score(hypothesis.kind, held_out @ weights, y[half:])
    fitting_scores = [_score(hypothesis.kind, fit[:, u], y[:half]) for u in range(z.shape[1])]
    best = int(np.argmax(fitting_scores))
    return ProbeResult(hypothesis.name, state, "auroc" if hypothesis.kind == "binary" else "pearson",
                       round(probe_score, 4), best, round(_score(hypothesis.kind, held_out[:, best], y[half:]), 4))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.probe", description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--hypothesis", nargs="+", default=["position_in_line"], choices=list(FEATURES))
    parser.add_argument("--states", nargs="+", default=None, help="state names (default: every layer's h and c)")
    args = parser.parse_args(argv)
    loaded = load_model_dir(args.model_dir)
    sample_path = args.model_dir / SAMPLE_FILE
    if not sample_path.is_file():
        raise SystemExit(f"{sample_path} is missing: run python -m app.cells.build {args.model_dir} first")
    text = sample_path.read_text(encoding="utf-8")
    names = args.states or [n for n in loaded.model.config.state_names() if n.endswith((".h", ".c"))]
    blocks = scan(loaded.model, loaded.vocab.encode(text).ids, names, keep_states=True, track_top=False).states
    print(f"{loaded.name}: fitted on the first {len(text) // 2:,} characters of {SAMPLE_FILE}, "
          f"scored on the other {len(text) - len(text) // 2:,}")
    print("| hypothesis | state | metric | linear probe, all units | best single unit |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.hypothesis:
        feature = FEATURES[name]
        hypothesis = Hypothesis(name, feature.kind, compute_feature(name, text))
        if hypothesis.is_constant:
            print(f"| {name} | | | constant on this sample | |")
            continue
        for state, acts in blocks.items():
            result = probe(acts, hypothesis, state)
            label = "AUROC" if result.metric == "auroc" else r"\|r\|"
            print(f"| {name} | {state} | {label} | {result.probe:.3f} | {result.unit:.3f} (unit {result.best_unit}) |")


if __name__ == "__main__":
    main()
