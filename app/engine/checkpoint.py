"""Model directories: weights in safetensors (never pickled) plus config.json.

A model directory holds:
  model.safetensors  tensors named as in models/README.md (fp16 or fp32)
  config.json        {"format", "name", "model": ModelConfig, "vocab": {...}, "training": {...}, ...}
  README.md          the model card (optional)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from app.engine.model import CharRNN, ModelConfig
from app.engine.vocab import Vocabulary

FORMAT = "cell-explorer/1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"


class CheckpointError(Exception):
    """A model directory that cannot be loaded; the message names the file and the problem."""


@dataclass
class LoadedModel:
    name: str
    model: CharRNN
    vocab: Vocabulary
    config: dict  # the whole config.json, for training details and results
    card: str = ""
    path: Path | None = field(default=None)


def _file_name(module_name: str) -> str:
    # nn.LSTM names its tensors weight_ih_l0 even when it has one layer; drop that suffix.
    return module_name.removesuffix("_l0")


def to_file_tensors(model: CharRNN, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    return {_file_name(k): v.detach().cpu().to(dtype).contiguous() for k, v in model.state_dict().items()}


def from_file_tensors(model: CharRNN, tensors: dict[str, torch.Tensor], source: str) -> None:
    expected = model.state_dict()
    by_file_name = {_file_name(k): k for k in expected}
    missing = sorted(set(by_file_name) - set(tensors))
    unexpected = sorted(set(tensors) - set(by_file_name))
    if missing or unexpected:
        raise CheckpointError(f"{source}: tensors do not match the config: missing {missing}, unexpected {unexpected}")
    state = {}
    for file_name, module_name in by_file_name.items():
        tensor = tensors[file_name]
        if tensor.shape != expected[module_name].shape:
            raise CheckpointError(
                f"{source}: tensor {file_name!r} has shape {tuple(tensor.shape)}, "
                f"the config needs {tuple(expected[module_name].shape)}"
            )
        state[module_name] = tensor.to(torch.float32)
    model.load_state_dict(state)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.chmod(tmp, 0o644)  # safetensors creates it owner-only: a server running as another user must read it
    os.replace(tmp, path)  # an interrupted save never leaves a half-written file behind


def save_model_dir(
    directory: Path,
    model: CharRNN,
    vocab: Vocabulary,
    extra: dict | None = None,
    dtype: torch.dtype = torch.float32,
    card: str | None = None,
) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_tensors(directory / WEIGHTS_FILE, to_file_tensors(model, dtype), metadata={"format": FORMAT})
    config = {
        "format": FORMAT,
        "name": directory.name,
        "model": model.config.to_json(),
        "vocab": vocab.to_json(),
        "weights_dtype": str(dtype).removeprefix("torch."),
        **(extra or {}),
    }
    atomic_write_text(directory / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    if card is not None:
        atomic_write_text(directory / CARD_FILE, card)


def read_config(directory: Path) -> dict:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format must be {FORMAT!r}, got {config.get('format') if isinstance(config, dict) else config!r}")
    return config


def load_model_dir(directory: Path) -> LoadedModel:
    directory = Path(directory)
    config = read_config(directory)
    try:
        vocab = Vocabulary.from_json(config["vocab"])
        model_config = ModelConfig(**config["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory / CONFIG_FILE}: invalid model or vocab section ({exc})") from exc
    if model_config.vocab_size != vocab.size:
        raise CheckpointError(
            f"{directory / CONFIG_FILE}: model.vocab_size is {model_config.vocab_size} "
            f"but the vocabulary has {vocab.size} symbols (including unknown)"
        )
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{weights}: file not found")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights}: not a readable safetensors file ({exc})") from exc
    model = CharRNN(model_config)
    from_file_tensors(model, tensors, str(weights))
    model.eval()
    card_path = directory / CARD_FILE
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    return LoadedModel(name=directory.name, model=model, vocab=vocab, config=config, card=card, path=directory)
