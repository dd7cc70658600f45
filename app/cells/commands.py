"""What the analysis commands (python -m app.cells.build, means, match, memory, ablation, timeline) share."""
from __future__ import annotations

import argparse

import torch


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 is fastest on a busy machine)")


def use_threads(threads: int | None) -> None:
    """torch's intra-op threads for the command's run; None keeps torch's own choice."""
    if threads:
        torch.set_num_threads(threads)
