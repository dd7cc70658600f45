"""Is a hypothesis carried by one unit, or spread over many? A linear probe beside the best unit.

    python -m app.cells.probe models/linux-lstm [--hypothesis position_in_line ...] [--regex PATTERN ...]
                              [--states layers.1.c ...] [--text FILE]

The ranking looks for single units. When no unit scores well, the model may still know the
hypothesis, spread over many units. This fits a ridge regression from all units of a state
block (e.g. layers.1.c, 512 units) to the hypothesis on the first half of the model's held-out
sample and scores it on the second half, beside the best single unit chosen on the first half
and scored on the second: the same metric as the ranking (|Pearson r| for numeric hypotheses,
max(AUROC, 1 - AUROC) for binary ones). The probe is a least-squares fit, not a classifier,
so for a binary hypothesis one saturating unit can still score higher than the probe.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.cells.hypotheses import BINARY, HYPOTHESES, HypothesisValues, RegexError, RegexTimeout, regex_values
from app.cells.ranking import exact_auroc, pearson, screen_block
from app.cells.scan import scan
from app.cells.store import SAMPLE_FILE
from app.engine.checkpoint import load_model_dir
from app.engine.names import StateName

RIDGE = 1e-3  # ridge penalty per training character, on standardised units: keeps near-duplicate units stable


@dataclass(frozen=True)
class ProbeResult:
    hypothesis: str
    state: str
    metric: str  # "auroc" or "pearson"
    probe: float  # the probe's score on the held-out half
    best_unit: int  # the best single unit on the fitting half
    unit_score: float  # that unit's score on the held-out half


def _score(value_type: str, values: np.ndarray, target: np.ndarray) -> float:
    if value_type == BINARY:
        auroc = exact_auroc(values, target.astype(bool))
        return max(auroc, 1 - auroc)
    return abs(pearson(values.astype(np.float64), target.astype(np.float64)))


def probe_block(acts: torch.Tensor, hypotheses: list[HypothesisValues], state: str = "") -> list[ProbeResult]:
    """Every hypothesis against one block acts (N, U): fitted on the first half, scored on the second.

    The ridge system is shared by all hypotheses (one Gram matrix per block, one solve with a
    right-hand side per hypothesis); the best single unit on the fitting half comes from the
    ranking's screen and is scored exactly on the held-out half.
    """
    half = acts.shape[0] // 2
    mean = acts[:half].float().mean(0)
    fit = acts[:half].float() - mean  # (half, U), centred: its Gram matrix has no cancellation
    gram = (fit.t() @ fit).double()  # (U, U)
    std = (gram.diagonal() / half).sqrt()
    scale = torch.where(std > 0, std, torch.ones_like(std))  # a unit constant on the fitting half contributes nothing
    targets = np.stack([np.asarray(h.values, dtype=np.float64) for h in hypotheses], axis=1)  # (N, F)
    centred = torch.from_numpy(targets[:half] - targets[:half].mean(0))
    # the ridge regression on standardised units, solved without materialising them
    standardised_gram = gram / torch.outer(scale, scale) + RIDGE * half * torch.eye(len(scale), dtype=torch.float64)
    products = (fit.t() @ centred.float()).double()  # (U, F)
    weights = torch.linalg.solve(standardised_gram, products / scale[:, None]) / scale[:, None]
    held_out = acts[half:].float()
    predictions = (held_out @ weights.float() - mean @ weights.float()).numpy()  # (N - half, F)
    screened = screen_block(fit, [HypothesisValues(h.name, h.value_type, np.asarray(h.values)[:half])
                                  for h in hypotheses])
    results = []
    for j, h in enumerate(hypotheses):
        best = int(screened[h.name].abs().argmax())
        results.append(ProbeResult(
            h.name, state, "auroc" if h.value_type == BINARY else "pearson",
            round(_score(h.value_type, predictions[:, j], targets[half:, j]), 4), best,
            round(_score(h.value_type, held_out[:, best].numpy(), targets[half:, j]), 4)))
    return results


def probe(acts: torch.Tensor, hypothesis: HypothesisValues, state: str = "") -> ProbeResult:
    """One hypothesis against one block (see probe_block)."""
    return probe_block(acts, [hypothesis], state)[0]


def _hypotheses(names: list[str], patterns: list[str], text: str) -> list[HypothesisValues]:
    """Built-in hypotheses by name and regular expressions (characters inside a match are 1), on text."""
    found = [HYPOTHESES[name].on(text) for name in names]
    for pattern in patterns:
        try:
            found.append(HypothesisValues(f"regex {pattern}", BINARY, regex_values(pattern, text)))
        except (RegexError, RegexTimeout) as exc:
            raise SystemExit(f"--regex {pattern!r}: {exc}") from exc
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.probe", description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--hypothesis", nargs="*", default=None, choices=list(HYPOTHESES),
                        help="built-in hypotheses (default: position_in_line unless --regex is given)")
    parser.add_argument("--regex", nargs="+", default=[], help="regular expressions: characters inside a match are 1")
    parser.add_argument("--states", nargs="+", default=None, help="state names (default: every layer's h and c)")
    parser.add_argument("--text", type=Path, default=None, help="a UTF-8 text file to probe on (default: the "
                        "model's held-out sample.txt)")
    args = parser.parse_args(argv)
    loaded = load_model_dir(args.model_dir)
    text_path = args.text or args.model_dir / SAMPLE_FILE
    if not text_path.is_file():
        raise SystemExit(f"{text_path} is missing: run python -m app.cells.build {args.model_dir} first, "
                         "or give --text")
    text = text_path.read_text(encoding="utf-8")
    names = ["position_in_line"] if args.hypothesis is None and not args.regex else (args.hypothesis or [])
    hypotheses = _hypotheses(names, args.regex, text)
    states = args.states or [n for n in loaded.model.config.state_names() if StateName.parse(n).kind in ("h", "c")]
    blocks = scan(loaded.model, loaded.vocab.encode(text).ids, states, keep_states=True, track_top=False).states
    print(f"{loaded.name}: fitted on the first {len(text) // 2:,} characters of {text_path.name}, "
          f"scored on the other {len(text) - len(text) // 2:,}")
    print("| hypothesis | state | metric | linear probe, all units | best single unit |")
    print("| --- | --- | --- | --- | --- |")
    varying = [h for h in hypotheses if not h.is_constant]
    results = {state: probe_block(acts, varying, state) for state, acts in blocks.items()} if varying else {}
    for hypothesis in hypotheses:
        if hypothesis.is_constant:
            print(f"| {hypothesis.name} | | | constant on this text | |")
            continue
        for state in blocks:
            result = results[state][varying.index(hypothesis)]
            label = "AUROC" if result.metric == "auroc" else r"\|r\|"
            print(f"| {result.hypothesis} | {result.state} | {label} | {result.probe:.3f} | "
                  f"{result.unit_score:.3f} (unit {result.best_unit}) |")


if __name__ == "__main__":
    main()
