"""Each unit's mean over the sample ("S.mean"), for interventions' "mean" op; and adding it to a
stored cell analysis without rebuilding it.

    python -m app.cells.means models/austen-lstm [models/linux-lstm ...]

The means come from one exact pass over the sample (the plain float32 capture, in chunks that
carry the state), not from the build's batched scan: the scan restarts each chunk after a short
warm-up, which layer 1's integrator cells never forget (docs/benchmarks.md), and on austen-lstm
the scan's mean of the quote cell (layers.1.c 378) is 0.74 where the model, reading the sample
once, averages 1.18. A mean ablation must set a unit to what it actually averages.

The script writes the means beside the other tensors of units.safetensors, which stay bit for
bit as they were (checked before the file is replaced); cells.json is not touched.
"""
from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from app.cells.commands import add_threads_option, use_threads
from app.cells.store import MEAN_SUFFIX, UNITS_FILE, load_store
from app.engine.capture import capture
from app.engine.checkpoint import load_model_dir, save_tensors
from app.engine.model import CharRNN

CHUNK = 4096  # characters per capture: every state of a 2 x 512 LSTM is then 100 MB


@torch.no_grad()
def unit_means(model: CharRNN, ids: np.ndarray, names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """{state name: (U,) float32} every unit's mean over ids, one exact pass (float64 sums)."""
    names = list(model.config.state_names() if names is None else names)
    ids_t = torch.from_numpy(np.asarray(ids))
    sums = {name: torch.zeros(model.config.hidden_size, dtype=torch.float64) for name in names}
    state = None
    for start in range(0, len(ids_t), CHUNK):
        part = capture(model, ids_t[start : start + CHUNK], names, state=state, with_final_state=True)
        state = part.final_state
        for name in names:
            sums[name] += part.states[name][0].sum(dim=0, dtype=torch.float64)
    return {name: (total / max(1, len(ids_t))).float() for name, total in sums.items()}


def add_means(model_dir: Path) -> dict[str, torch.Tensor]:
    """Writes S.mean for every state of the model into its units.safetensors; returns them {name: (U,)}."""
    model_dir = Path(model_dir)
    loaded = load_model_dir(model_dir)
    store = load_store(model_dir)
    if store is None:
        raise SystemExit(f"{model_dir}: no cell analysis; build one: python -m app.cells.build {model_dir}")
    if hashlib.sha256(store.sample.encode("utf-8")).hexdigest() != store.summary["sample"]["sha256"]:
        raise SystemExit(f"{model_dir}: sample.txt is not the text cells.json was built on; rebuild the analysis")
    means = unit_means(loaded.model, loaded.vocab.encode(store.sample).ids)
    path = model_dir / UNITS_FILE
    with safe_open(str(path), framework="pt") as old:
        metadata = old.metadata()
    kept = {key: value for key, value in store.tensors.items() if not key.endswith(MEAN_SUFFIX)}
    new_path = path.with_name(path.name + ".new")
    save_tensors(new_path, {**kept, **{name + MEAN_SUFFIX: mean for name, mean in means.items()}}, metadata)
    written = load_file(str(new_path))
    with safe_open(str(new_path), framework="pt") as new:
        same_metadata = new.metadata() == metadata
    unchanged = all(key in written and written[key].dtype == value.dtype and torch.equal(written[key], value)
                    for key, value in kept.items())
    if not (unchanged and same_metadata):
        new_path.unlink()
        raise SystemExit(f"{path}: the rewritten file would change other tensors; left as it was")
    os.replace(new_path, path)
    return means


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.means", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path)
    add_threads_option(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    for model_dir in args.model_dirs:
        means = add_means(model_dir)
        print(f"{model_dir}: S.mean for {len(means)} states added to {UNITS_FILE}; other tensors unchanged")


if __name__ == "__main__":
    main()
