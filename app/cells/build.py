"""Regenerate a model's cell analysis: held-out sample, unit ranking, top examples, saturation.

    python -m app.cells.build models/austen-lstm [--corpus-root ..] [--sample-chars 100000]

The sample is taken from the model's test split (the same per-file tails as in training,
rebuilt from the corpus files named in config.json, checked against their sha256): an
equal share of every file's test tail, each cut at a line start. With an existing
sample.txt and no --resample, the sample is reused as it is.
"""
from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
import torch

from app.cells.commands import add_threads_option, use_threads
from app.cells.hypotheses import (CODE, HYPOTHESES, HypothesisValues, bracket_depth, c_lexical_state, code_points,
                                  paren_depth)
from app.cells.means import unit_means
from app.cells.probe import probe_block
from app.cells.ranking import rank_units, screen_blocks
from app.cells.scan import scan
from app.cells.store import SAMPLE_FILE, save_store
from app.engine.checkpoint import load_model_dir
from app.engine.names import StateName


def top_level_starts(text: str) -> np.ndarray:
    """Positions where a piece can start or end cleanly: the start of a line after a blank line,
    outside comments and literals, with no bracket open (between functions, between paragraphs).

    The hypotheses are evaluated on the sample as one text, so a piece that began inside a
    comment or a function would be labelled as code at depth 0, wrongly.
    """
    newline = code_points(text) == ord("\n")
    after_blank = np.zeros(len(text) + 1, dtype=bool)
    after_blank[2:] = newline[1:] & newline[:-1]
    lexical = c_lexical_state(text)
    depth = bracket_depth(text) + paren_depth(text)  # bracket_depth counts braces too
    clean_before = np.zeros(len(text) + 1, dtype=bool)  # the character before the position is at top level
    clean_before[1:] = (lexical == CODE) & (depth == 0)
    clean = after_blank & clean_before
    clean[0] = clean[len(text)] = True
    return np.flatnonzero(clean)


def held_out_sample(config: dict, corpus_root: Path, sample_chars: int) -> str:
    """About sample_chars characters of the test split, in pieces that start and end at top level.

    Every file gets an equal share of its test tail; files are visited in a spread-out order
    and the sample stops growing once it is long enough (a corpus of many small files then
    contributes pieces from files across the whole corpus, not just the first ones).
    """
    files = config["corpus"]["files"]
    share = -(-sample_chars // len(files))
    pieces: dict[int, str] = {}
    total = 0
    for index in sorted(range(len(files)), key=lambda i: (i * 0.6180339887) % 1.0):
        entry = files[index]
        path = Path(entry["path"])
        path = path if path.is_file() else corpus_root / path
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
            raise SystemExit(f"{path}: sha256 differs from the one the model was trained on")
        text = raw.decode("utf-8")
        tail_start = len(text) - max(1, round(len(text) * config["split"]["test_fraction"]))
        starts = top_level_starts(text)
        starts = starts[starts >= tail_start]
        if len(starts) < 2:
            continue
        start = starts[0]
        within = starts[(starts > start) & (starts <= start + share)]
        end = within[-1] if len(within) else starts[1]
        pieces[index] = text[start:end]
        total += end - start
        if total >= sample_chars:
            break
    return "".join(pieces[i] for i in sorted(pieces))


def hypotheses_for(text: str) -> list[HypothesisValues]:
    return [h.on(text) for h in HYPOTHESES.values()]


def build(model_dir: Path, corpus_root: Path, sample_chars: int, resample: bool, top: int = 10, k: int = 20,
          matmul_dtype: torch.dtype | None = None) -> dict:
    loaded = load_model_dir(model_dir)
    sample_path = model_dir / SAMPLE_FILE
    if resample or not sample_path.is_file():
        sample_path.write_text(held_out_sample(loaded.config, corpus_root, sample_chars), encoding="utf-8")
    sample = sample_path.read_text(encoding="utf-8")
    ids = loaded.vocab.encode(sample).ids
    names = loaded.model.config.state_names()

    started = time.perf_counter()
    scanned = scan(loaded.model, ids, names, k=k, keep_states=True, matmul_dtype=matmul_dtype)
    scan_s = time.perf_counter() - started
    started = time.perf_counter()
    all_hypotheses = hypotheses_for(sample)
    hypotheses = [h for h in all_hypotheses if not h.is_constant]
    screened = screen_blocks(scanned.states, all_hypotheses)
    ranking = rank_units(scanned.states, hypotheses, top=top, screened=screened)
    rank_s = time.perf_counter() - started
    started = time.perf_counter()
    probes = [r for name, acts in scanned.states.items() for r in probe_block(acts, hypotheses, name)]
    order = {h.name: i for i, h in enumerate(hypotheses)}
    probes.sort(key=lambda r: (order[r.hypothesis], -r.probe))  # best first within each hypothesis
    probe_s = time.perf_counter() - started

    def where(name: str) -> dict:  # "layers.1.c" -> {"layer": 1, "state": "c"}, as the API names them
        parsed = StateName.parse(name, loaded.model.config.arch, loaded.model.config.n_layers)
        return {"layer": parsed.layer, "state": parsed.kind}

    means = unit_means(loaded.model, ids, names)  # one exact pass: the scan's chunks restart integrator cells
    tensors: dict[str, torch.Tensor] = {}
    for name in names:
        tensors[f"{name}.scores"] = torch.stack([screened[name][h.name] for h in all_hypotheses], dim=1)
        tensors[f"{name}.top_values"] = scanned.top[name].values
        tensors[f"{name}.top_positions"] = scanned.top[name].positions.to(torch.int32)
        tensors[f"{name}.bottom_values"] = scanned.bottom[name].values
        tensors[f"{name}.bottom_positions"] = scanned.bottom[name].positions.to(torch.int32)
        if name in scanned.saturation:
            tensors[f"{name}.saturation"] = scanned.saturation[name]
        tensors[f"{name}.mean"] = means[name]
    summary = {
        "model": loaded.name,
        "sample": {"file": SAMPLE_FILE, "chars": len(sample),
                   "sha256": hashlib.sha256(sample.encode("utf-8")).hexdigest(),
                   "source": "model's test split: an equal share of every file's held-out tail"},
        "hypotheses": [{"name": h.name, "value_type": h.value_type, "description": h.description}
                       for h in HYPOTHESES.values()],
        "absent": [h.name for h in all_hypotheses if h.is_constant],  # constant on the sample: nothing to rank
        "timing_s": {"scan": round(scan_s, 2), "rank": round(rank_s, 2), "probe": round(probe_s, 2)},
        "scan_matmul_dtype": str(scanned.matmul_dtype).removeprefix("torch."),
        "cells": [{"hypothesis": s.hypothesis, **where(s.state), "unit": s.unit, "metric": s.metric, "score": s.score, "sign": s.sign,
                   **({"spearman": s.spearman} if s.spearman is not None else {})}
                  for h in hypotheses for s in ranking[h.name]],
        "probes": [{"hypothesis": r.hypothesis, **where(r.state), "metric": r.metric, "score": r.probe, "best_unit": r.best_unit, "best_unit_score": r.unit_score}
                   for r in probes],
    }
    save_store(model_dir, summary, tensors)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.build", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path)
    parser.add_argument("--corpus-root", type=Path, default=Path("."), help="where relative corpus paths start")
    parser.add_argument("--sample-chars", type=int, default=100_000)
    parser.add_argument("--resample", action="store_true", help="rebuild sample.txt from the corpus")
    add_threads_option(parser)
    parser.add_argument("--matmul", choices=["float32", "bfloat16", "auto"], default="auto",
                        help="dtype of the scan's matrix products: float32 (exact), bfloat16 (2-2.5x faster with "
                             "AVX-512 BF16 or AMX, emulated and slower elsewhere), auto (bfloat16 where native)")
    args = parser.parse_args(argv)
    matmul_dtype = None if args.matmul == "auto" else getattr(torch, args.matmul)
    use_threads(args.threads)
    for model_dir in args.model_dirs:
        summary = build(model_dir, args.corpus_root, args.sample_chars, args.resample, matmul_dtype=matmul_dtype)
        timing = summary["timing_s"]
        print(f"{summary['model']}: {summary['sample']['chars']:,} chars, scan {timing['scan']} s, "
              f"rank {timing['rank']} s, probes {timing['probe']} s")
        best = {}
        for cell in summary["cells"]:
            best.setdefault(cell["hypothesis"], cell)
        for hypothesis, cell in best.items():
            print(f"  {hypothesis:24s} {StateName(cell['layer'], cell['state'])}[{cell['unit']}] "
                  f"{cell['metric']} {cell['score']:.4f} sign {cell['sign']:+d}")


if __name__ == "__main__":
    main()
