"""The cells table for the shipped models, from their stored analyses, with the targets checked.

    python -m app.cells.report [models_dir] [--markdown]

After the table: the best linear probes, and (where python -m app.cells.ablation has run) each
best cell's ablation effect on its own characters beside the median random unit.

Exit status 1 if a target is missed, so it works as a check. Rebuild the analyses first
with `python -m app.cells.build models/<name>` after retraining a model.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cells.store import CELLS_FILE

# (model, hypothesis) -> minimum best score: AUROC for binary hypotheses, |Pearson r| for numeric
TARGETS = {
    ("austen-lstm", "inside_double_quotes"): 0.98,
    ("austen-lstm", "position_in_line"): 0.8,
    ("linux-lstm", "inside_c_comment"): 0.98,
    ("linux-lstm", "inside_string_literal"): 0.95,
    ("linux-lstm", "position_in_line"): 0.8,
    ("linux-lstm", "brace_depth"): 0.8,
}
SHOWN = ["inside_double_quotes", "inside_single_quotes", "position_in_line", "indentation", "inside_word",
         "word_start", "after_sentence_end", "uppercase", "whitespace", "inside_c_comment", "inside_string_literal",
         "inside_condition", "paren_depth", "brace_depth", "bracket_depth"]


def best_cells(summary: dict) -> dict[str, dict]:
    best: dict[str, dict] = {}
    for cell in summary["cells"]:
        best.setdefault(cell["hypothesis"], cell)  # stored best first
    return best


def print_probes(summaries: dict[str, dict]) -> None:
    """Each hypothesis's best linear probe (all units of one layer and state) beside the best single unit there."""
    probes = {name: summary.get("probes") for name, summary in summaries.items()}
    names = [name for name, entries in probes.items() if entries]
    if not names:
        return
    print("\nLinear probes (all units of one layer and state, fitted on the first half of the sample, scored on the "
          "second), beside that state's best single unit on the same halves:\n")
    print("| hypothesis | " + " | ".join(names) + " |")
    print("| --- | " + " | ".join("---" for _ in names) + " |")
    for hypothesis in SHOWN:
        best = {name: next((p for p in probes[name] if p["hypothesis"] == hypothesis), None) for name in names}
        if all(p is None for p in best.values()):
            continue
        cells = [f"{p['score']:.3f} (L{p['layer']} {p['state']}; one unit {p['best_unit_score']:.3f})" if p else "absent"
                 for p in best.values()]
        print(f"| {hypothesis} | " + " | ".join(cells) + " |")


def print_ablations(summaries: dict[str, dict]) -> None:
    """Each shown hypothesis's best cell: its mean-ablation effect on its own characters beside the
    median random unit of the same state (python -m app.cells.ablation; absent in older analyses)."""
    rows = [(name, hypothesis, cell) for name, summary in summaries.items()
            for hypothesis, cell in best_cells(summary).items() if hypothesis in SHOWN and "ablation" in cell]
    if not rows:
        return
    print("\nMean-ablating each hypothesis's best cell: change in surprisal (bits) at the characters that end the "
          "hypothesis (app/cells/ablation.py), beside the median of random units of the same state:\n")
    print("| model | hypothesis | cell | ablation (bits) | median random unit (bits) | target characters |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, hypothesis, cell in rows:
        a = cell["ablation"]
        print(f"| {name} | {hypothesis} | L{cell['layer']} {cell['state']} {cell['unit']} | {a['bits']:+.3f} | "
              f"{a['random_median']:+.3f} | {a['targets']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cells.report", description=__doc__.split("\n")[0])
    parser.add_argument("models_dir", nargs="?", type=Path, default=Path("models"))
    args = parser.parse_args(argv)
    models = sorted(p for p in args.models_dir.iterdir() if (p / CELLS_FILE).is_file())
    if not models:
        print(f"no model in {args.models_dir} has a {CELLS_FILE}; run python -m app.cells.build first")
        return 1
    summaries = {m.name: json.loads((m / CELLS_FILE).read_text()) for m in models}
    table = {name: best_cells(summary) for name, summary in summaries.items()}
    names = list(table)
    print("| hypothesis | metric | " + " | ".join(names) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in names) + " |")
    missed = []
    for hypothesis in SHOWN:
        metric = next((t[hypothesis]["metric"] for t in table.values() if hypothesis in t), None)
        if metric is None:
            continue
        row = []
        for name in names:
            cell = table[name].get(hypothesis)
            if cell is None:
                row.append("absent")
                continue
            text = f"{cell['score']:.3f} (L{cell['layer']} {cell['state']} {cell['unit']})"
            target = TARGETS.get((name, hypothesis))
            if target is not None:
                ok = cell["score"] >= target
                text += f" {'✓' if ok else '✗'} ≥{target}"
                if not ok:
                    missed.append(f"{name} {hypothesis}: {cell['score']:.3f} < {target}")
            row.append(text)
        label = "AUROC" if metric == "auroc" else r"Pearson \|r\|"  # escaped pipes keep the Markdown table intact
        print(f"| {hypothesis} | {label} | " + " | ".join(row) + " |")
    print_probes(summaries)
    print_ablations(summaries)
    for line in missed:
        print(f"MISSED {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
