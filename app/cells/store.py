"""The stored cell analysis of a model: cells.json (ranking) and units.safetensors (per unit).

units.safetensors holds, for every state name S (e.g. "layers.1.c"):
  S.scores        (U, F) float32  signed screen score per hypothesis: AUROC - 0.5 (binary) or Pearson r
  S.top_values    (k, U) float32  the unit's k highest activations in the sample, one per 64-char segment
  S.top_positions (k, U) int32    where they are (character index into sample.txt)
  S.bottom_values, S.bottom_positions  the same for the lowest activations
  S.saturation    (U, 2) float32  sigmoid gates only: fraction of characters < 0.1 and > 0.9
  S.mean          (U,)   float32  the unit's mean over the sample (one exact pass): what an intervention's
                                  "mean" sets it to
                                  (absent in analyses built before interventions: python -m app.cells.means adds it)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from app.engine.checkpoint import save_tensors

CELLS_FILE = "cells.json"
UNITS_FILE = "units.safetensors"
SAMPLE_FILE = "sample.txt"
MEAN_SUFFIX = ".mean"


@dataclass
class CellStore:
    summary: dict  # cells.json
    tensors: dict[str, torch.Tensor]
    sample: str

    @property
    def hypotheses(self) -> list[str]:
        return [h["name"] for h in self.summary["hypotheses"]]

    @property
    def means(self) -> dict[str, torch.Tensor]:
        """{state name: (U,)} each unit's mean over the sample; empty for an analysis built before them."""
        return {key.removesuffix(MEAN_SUFFIX): value for key, value in self.tensors.items() if key.endswith(MEAN_SUFFIX)}


def save_store(directory: Path, summary: dict, tensors: dict[str, torch.Tensor]) -> None:
    save_tensors(directory / UNITS_FILE, {k: v.contiguous() for k, v in tensors.items()})
    tmp = directory / (CELLS_FILE + ".tmp")
    tmp.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(directory / CELLS_FILE)


def load_store(directory: Path) -> CellStore | None:
    """The stored analysis, or None when the model has none (the API then says how to build it)."""
    paths = [directory / name for name in (CELLS_FILE, UNITS_FILE, SAMPLE_FILE)]
    if not all(p.is_file() for p in paths):
        return None
    summary = json.loads(paths[0].read_text(encoding="utf-8"))
    return CellStore(summary=summary, tensors=load_file(str(paths[1])), sample=paths[2].read_text(encoding="utf-8"))
