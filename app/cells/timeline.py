"""Cells followed through training: every snapshot of a model scanned and ranked on the model's sample.

    python -m app.cells.timeline models/austen-lstm-256 [--threads 1]

Needs the model's snapshots (python -m app.train ... --snapshots N) and its cell analysis
(python -m app.cells.build), whose sample and best units it reuses. It writes timeline.json:

  {"model", "sample_sha256", "thresholds": {"auroc": 0.9, "pearson": 0.7},
   "snapshots": [{"step", "chars_seen", "val_bpc"}, ...],
   "hypotheses": [{"name", "metric",
                   "final_unit": {"layer", "state", "unit", "sign"},   # the final model's best unit
                   "best": [{"layer", "state", "unit", "score", "sign"}, ...],  # per snapshot
                   "final_unit_score": [...],  # per snapshot: that unit's score, read with its final sign
                   "emerged": {"step", "layer", "state", "unit", "is_final_unit"} or null,
                   "final_unit_emerged": step or null}, ...]}

"emerged" is the first snapshot at which some unit reached the threshold (AUROC 0.9 or |r| 0.7)
and whether that unit is the one the final model uses; "final_unit_emerged" is the first at which
the final unit itself did. Scores are exact (rank_units rescores its best candidates with a sort).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch

from app.cells.commands import add_threads_option, use_threads
from app.cells.build import hypotheses_for
from app.cells.ranking import exact_score, rank_units
from app.cells.scan import scan
from app.cells.store import load_store
from app.engine.checkpoint import atomic_write_text, load_model_dir
from app.engine.names import StateName
from app.engine.snapshots import load_snapshot, read_index

TIMELINE_FILE = "timeline.json"
THRESHOLDS = {"auroc": 0.9, "pearson": 0.7}


def _oriented(score: float, sign: int, final_sign: int, metric: str) -> float:
    """A unit's score read in the direction the final model uses it (a unit that flips counts as poor)."""
    if sign == final_sign:
        return score
    return round(1 - score, 4) if metric == "auroc" else -score


def build_timeline(model_dir: Path, matmul_dtype: torch.dtype | None = None) -> dict:
    model_dir = Path(model_dir)
    loaded = load_model_dir(model_dir)
    snapshots = read_index(model_dir)
    if not snapshots:
        raise SystemExit(f"{model_dir}: no snapshots; train with --snapshots N to keep them")
    store = load_store(model_dir)
    if store is None:
        raise SystemExit(f"{model_dir}: no cell analysis; run python -m app.cells.build {model_dir} first")
    ids = loaded.vocab.encode(store.sample).ids
    names = loaded.model.config.state_names()
    hypotheses = [h for h in hypotheses_for(store.sample) if not h.is_constant]
    final_cells: dict[str, dict] = {}
    for cell in store.summary["cells"]:  # best first within each hypothesis
        final_cells.setdefault(cell["hypothesis"], cell)
    hypotheses = [h for h in hypotheses if h.name in final_cells]

    rows = {h.name: {"best": [], "final_unit_score": []} for h in hypotheses}
    for snapshot in snapshots:
        started = time.perf_counter()
        model = load_snapshot(loaded, snapshot).model  # each snapshot is read once
        scanned = scan(model, ids, names, keep_states=True, track_top=False, matmul_dtype=matmul_dtype)
        ranking = rank_units(scanned.states, hypotheses, top=1)
        for h in hypotheses:
            best, final = ranking[h.name][0], final_cells[h.name]
            where = StateName.parse(best.state)
            rows[h.name]["best"].append({"layer": where.layer, "state": where.kind, "unit": best.unit,
                                         "score": best.score, "sign": best.sign})
            final_name = str(StateName(final["layer"], final["state"]))
            now = exact_score(h, final_name, final["unit"], scanned.states[final_name][:, final["unit"]].numpy())
            rows[h.name]["final_unit_score"].append(_oriented(now.score, now.sign, final["sign"], now.metric))
        del scanned
        print(f"  step {snapshot.step:>6}: {time.perf_counter() - started:.1f} s", flush=True)

    entries = []
    for h in hypotheses:
        final = final_cells[h.name]
        metric = final["metric"]
        final_unit = {"layer": final["layer"], "state": final["state"], "unit": final["unit"], "sign": final["sign"]}
        best, final_scores = rows[h.name]["best"], rows[h.name]["final_unit_score"]
        threshold = THRESHOLDS[metric]
        emerged = next(({"step": s.step, **{k: b[k] for k in ("layer", "state", "unit")},
                         "is_final_unit": all(b[k] == final_unit[k] for k in ("layer", "state", "unit"))}
                        for s, b in zip(snapshots, best) if b["score"] >= threshold), None)
        final_emerged = next((s.step for s, score in zip(snapshots, final_scores) if score >= threshold), None)
        entries.append({"name": h.name, "metric": metric, "final_unit": final_unit, "best": best,
                        "final_unit_score": final_scores, "emerged": emerged, "final_unit_emerged": final_emerged})
    timeline = {
        "model": loaded.name,
        "sample_sha256": hashlib.sha256(store.sample.encode("utf-8")).hexdigest(),
        "thresholds": THRESHOLDS,
        "snapshots": [{"step": s.step, "chars_seen": s.chars_seen, "val_bpc": s.val_bpc} for s in snapshots],
        "hypotheses": entries,
    }
    atomic_write_text(model_dir / TIMELINE_FILE, json.dumps(timeline, indent=1) + "\n")
    return timeline


def load_timeline(model_dir: Path) -> dict | None:
    path = Path(model_dir) / TIMELINE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.timeline", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path)
    add_threads_option(parser)
    parser.add_argument("--matmul", choices=["float32", "bfloat16", "auto"], default="auto",
                        help="dtype of the scan's matrix products, as for python -m app.cells.build")
    args = parser.parse_args(argv)
    use_threads(args.threads)
    matmul_dtype = None if args.matmul == "auto" else getattr(torch, args.matmul)
    for model_dir in args.model_dirs:
        timeline = build_timeline(model_dir, matmul_dtype)
        print(f"{timeline['model']}: {len(timeline['snapshots'])} snapshots")
        for entry in timeline["hypotheses"]:
            emerged = entry["emerged"]
            when = (f"step {emerged['step']} ({StateName(emerged['layer'], emerged['state'])}[{emerged['unit']}], "
                    f"{'the final unit' if emerged['is_final_unit'] else 'not the final unit'})") if emerged else "never"
            final_when = "never" if entry["final_unit_emerged"] is None else f"step {entry['final_unit_emerged']}"
            print(f"  {entry['name']:24s} {entry['metric']} {THRESHOLDS[entry['metric']]} first reached: {when}; "
                  f"by the final unit: {final_when}")


if __name__ == "__main__":
    main()
