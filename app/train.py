"""Command line: train a char-RNN on text files.

    python -m app.train --name austen-lstm --corpus ../shared/corpora/austen --arch lstm \
        --layers 2 --hidden 512 --max-steps 8000 --max-minutes 120

Run it again with the same --name to resume from the last checkpoint. Ctrl-C stops
cleanly after saving. When the schedule is finished (or with --finalize) the best
model is scored on the test split, beside the n-gram baseline.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import fields
from pathlib import Path

from app.engine.data import corpus_sha256
from app.engine.ngram import fit_best_ngram
from app.engine.training import TrainConfig, Trainer, unsupported_precision

_FLAGS = {"n_layers": "layers", "hidden_size": "hidden", "embedding_size": "embedding"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.train", description=__doc__.split("\n")[1])
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        flag = "--" + _FLAGS.get(f.name, f.name).replace("_", "-")
        default = getattr(defaults, f.name)
        if f.name == "corpus":
            parser.add_argument(flag, nargs="+", required=True, help="text files or directories")
        elif f.name in ("embedding_size", "max_minutes", "threads"):
            parser.add_argument(flag, dest=f.name, type=float if f.name == "max_minutes" else int, default=default)
        else:
            parser.add_argument(flag, dest=f.name, type=type(default), default=default, help=f"default {default!r}")
    parser.add_argument("--finalize", action="store_true", help="only score the best model and the n-gram baseline")
    parser.add_argument("--baseline-only", action="store_true", help="only fit (and cache) the n-gram baseline")
    parser.add_argument("--ngram-max-order", type=int, default=20,
                        help="highest n-gram order the baseline may try (it stops earlier once longer contexts stop helping)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    finalize_only = args.pop("finalize")
    baseline_only = args.pop("baseline_only")
    max_order = args.pop("ngram_max_order")
    trainer = Trainer(TrainConfig(**args))
    if baseline_only:
        print(json.dumps(cached_ngram(trainer, max_order), indent=2))
        return
    trainer.command = "python -m app.train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    if not finalize_only:
        problem = unsupported_precision(trainer.cfg)
        if problem:  # a setting this machine cannot run: say so instead of a traceback
            parser.error(problem)
        summary = trainer.run()
        print(json.dumps(summary))
        if summary["step"] < trainer.cfg.max_steps:
            return  # interrupted: resume later with the same command
    print(json.dumps(trainer.finalize(cached_ngram(trainer, max_order)), indent=2))


def cached_ngram(trainer: Trainer, max_order: int) -> dict:
    """The n-gram baseline of this corpus and split, fitted once and kept beside the resume state.

    Models trained on the same corpus and split (austen-lstm and austen-rnn) share it.
    """
    cfg = trainer.cfg
    key = f"{corpus_sha256(trainer.files)[:16]}-val{cfg.val_fraction}-test{cfg.test_fraction}-max{max_order}"
    path = Path(cfg.resume_dir) / f"ngram-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = fit_best_ngram(trainer.splits, trainer.vocab, max_order=max_order)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
