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

from app.engine.ngram import fit_best_ngram
from app.engine.training import TrainConfig, Trainer

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
    parser.add_argument("--ngram-max-order", type=int, default=20,
                        help="highest n-gram order the baseline may try (it stops earlier once longer contexts stop helping)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = vars(build_parser().parse_args(argv))
    finalize_only = args.pop("finalize")
    max_order = args.pop("ngram_max_order")
    trainer = Trainer(TrainConfig(**args))
    trainer.command = "python -m app.train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    if not finalize_only:
        summary = trainer.run()
        print(json.dumps(summary))
        if summary["step"] < trainer.cfg.max_steps:
            return  # interrupted: resume later with the same command
    ngram = fit_best_ngram(trainer.splits, trainer.vocab, max_order=max_order)
    print(json.dumps(trainer.finalize(ngram), indent=2))


if __name__ == "__main__":
    main()
