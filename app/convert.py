"""Bring your own model: convert a char-RNN trained elsewhere into a Cell Explorer model directory, exactly.

    python -m app.convert SOURCE --format torch-rnnmodel|min-char-rnn --vocab VOCAB.json --name NAME
                          [--models-dir DIR] [--arch lstm|gru|rnn] [--build-cells TEXT_FILE ...] [--force]

Source formats:
  torch-rnnmodel  the state dict of PyTorch's word_language_model RNNModel (pytorch/examples), saved with
                  torch.save(model.state_dict(), path): encoder.weight (V, E), rnn.weight_ih_l{k},
                  rnn.weight_hh_l{k}, rnn.bias_ih_l{k}, rnn.bias_hh_l{k}, decoder.weight (V, H), decoder.bias (V,);
                  tied weights allowed. It is read with torch.load(weights_only=True) only, so nothing beyond
                  tensors is ever unpickled; a whole pickled model (torch.save(model)) is refused.
  min-char-rnn    Karpathy's min-char-rnn.py parameters in an .npz: Wxh (H, V), Whh (H, H), Why (V, H),
                  bh (H, 1), by (V, 1); one tanh layer, one-hot input.

VOCAB.json is a JSON list of one-character strings: the source model's characters in its index order.

The vocabulary shift: Cell Explorer's id 0 is the unknown symbol, so source index i becomes id i + 1
(config.json records the mapping). The unknown input carries no weight (a zero embedding row, or a
zero column for one-hot input), as in the models Cell Explorer trains. The unknown output's logit is
the mean of the known logits minus UNKNOWN_MARGIN nats (a weight row and a bias, so it needs no
engine change): the mean is never above the largest logit, so the unknown symbol never wins, its
probability is e^-30 times the geometric mean of the known ones (the known probabilities move by a
relative 1e-13, below float32 resolution), and the surprisal the API reports for a character outside
the vocabulary stays finite.

The architecture comes from the key shapes: rnn.weight_hh_l{k} is (G*H, H) with G = 4 (LSTM), 3 (GRU)
or 1 (vanilla RNN), so the gate count is never in doubt. What shapes cannot tell is a vanilla RNN's
nonlinearity: RNN_TANH and RNN_RELU have the same tensors, and Cell Explorer runs tanh only, so a
one-gate state dict needs --arch rnn, the caller's word that it is RNN_TANH. Elsewhere --arch is
optional and must agree with the shapes.

Before anything is kept, the converted model is loaded back through the server's own loader and run
on a probe text next to the source model's own computation (torch's multi-layer module for
torch-rnnmodel, the numpy recurrence for min-char-rnn); config.json records the largest differences.
Everything is written into a hidden directory beside the target (.NAME.converting-*, which the server
skips), the cell build included, and renamed into place only when all of it succeeded. Errors are one
line naming the file and the problem, with exit status 2.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import secrets
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from app.cells.store import CELLS_FILE, SAMPLE_FILE
from app.engine.capture import capture
from app.engine.checkpoint import CheckpointError, load_model_dir, save_model_dir
from app.engine.model import CharRNN, ModelConfig
from app.engine.vocab import UNKNOWN_INDEX, Vocabulary

FORMATS = ("torch-rnnmodel", "min-char-rnn")
ARCH_BY_GATES = {4: "lstm", 3: "gru", 1: "rnn"}
UNKNOWN_MARGIN = 30.0  # nats below the mean known logit: never wins, yet a finite surprisal
MIN_CHAR_RNN_ARRAYS = ("Wxh", "Whh", "Why", "bh", "by")
RNN_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
RNN_KEY = re.compile(r"rnn\.(?:weight|bias)_(?:ih|hh)_l(\d+)")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # no leading "." or "_": the server skips those
PROBE_CHARS = 256
PROBE_LIMIT = 1e-4  # well above float32 rounding, far below any mapping mistake


class ConvertError(Exception):
    """One line for the user: the file (or option) and what is wrong with it."""


@dataclass
class Converted:
    model: CharRNN
    record: dict  # what config.json records about the source beyond the model and the vocabulary
    # the source model run by its own code: source ids (T,) -> top layer h (T, H), final h (layers, H), probs (T, V)
    reference: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


# --- reading the inputs ----------------------------------------------------------------

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ConvertError(f"{path}: file not found")
    if not path.is_file():
        raise ConvertError(f"{path}: not a file")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_vocab(path: Path) -> tuple[str, ...]:
    """VOCAB.json: a list of distinct one-character strings, in the source model's index order."""
    _check_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConvertError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ConvertError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        kind = {dict: "an object", str: "a string"}.get(type(data), f"a {type(data).__name__}")
        raise ConvertError(f"{path}: must be a JSON list of one-character strings in the source model's index "
                           f"order, got {kind}")
    if not data:
        raise ConvertError(f"{path}: the list is empty; it must hold the source model's characters")
    seen: dict[str, int] = {}
    for index, entry in enumerate(data):
        if not isinstance(entry, str):
            raise ConvertError(f"{path}: entry {index} is {json.dumps(entry)}, not a string")
        if len(entry) != 1:
            hint = ' (if it stands for the end of a line, write "\\n" in its place)' if len(entry) > 1 else ""
            raise ConvertError(f"{path}: entry {index} is {json.dumps(entry, ensure_ascii=False)} ({len(entry)} "
                               f"characters); every entry must be exactly one character{hint}")
        if entry in seen:
            raise ConvertError(f"{path}: {json.dumps(entry, ensure_ascii=False)} is listed twice, at indices "
                               f"{seen[entry]} and {index}; every character must appear once")
        seen[entry] = index
    return tuple(data)


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict of tensors, read without unpickling anything else."""
    _check_file(path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))  # weights_only names the class it refused
        if found:
            raise ConvertError(
                f"{path}: holds a pickled Python object ({found[1]}), not a state dict: a model saved with "
                "torch.save(model) loads only by running code from the file, which this converter never does; "
                "where the model was trained, save its weights with torch.save(model.state_dict(), "
                "'model_state.pt') and convert that file") from None
        raise ConvertError(f"{path}: not a file written by torch.save ({_first_line(exc)})") from None
    except Exception as exc:  # a file that is no checkpoint fails in torch with KeyError, RuntimeError, EOFError...
        raise ConvertError(f"{path}: not a file written by torch.save ({type(exc).__name__}: "
                           f"{_first_line(exc)})") from None
    if not isinstance(loaded, dict):
        raise ConvertError(f"{path}: holds a {type(loaded).__name__}, not a state dict; save model.state_dict()")
    bad = [str(k) for k, v in loaded.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        raise ConvertError(f"{path}: not a state dict: entries {', '.join(bad[:5])} are not tensors "
                           "(a training checkpoint? save model.state_dict() itself)")
    return dict(loaded)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """The five min-char-rnn arrays, read with allow_pickle=False."""
    _check_file(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError, BadZipFile... for what is not an .npz
        raise ConvertError(f"{path}: not a readable .npz archive ({type(exc).__name__}: {_first_line(exc)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ConvertError(f"{path}: holds a single array, not an .npz archive of named arrays; save with "
                           "np.savez(path, Wxh=Wxh, Whh=Whh, Why=Why, bh=bh, by=by)")
    with archive:
        missing = [name for name in MIN_CHAR_RNN_ARRAYS if name not in archive.files]
        unexpected = sorted(set(archive.files) - set(MIN_CHAR_RNN_ARRAYS))
        if missing or unexpected:
            found = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                                f"unexpected {', '.join(unexpected)}" if unexpected else "") if part)
            raise ConvertError(f"{path}: not a min-char-rnn .npz: {found} (it must hold exactly "
                               f"{', '.join(MIN_CHAR_RNN_ARRAYS)})")
        arrays = {}
        for name in MIN_CHAR_RNN_ARRAYS:
            try:
                arrays[name] = archive[name]
            except Exception as exc:  # object arrays (pickles) are refused here, as are damaged members
                raise ConvertError(f"{path}: array {name} cannot be read ({_first_line(exc)})") from None
    return arrays


def _check_values(source: str, name: str, values: torch.Tensor) -> None:
    if not values.is_floating_point():
        raise ConvertError(f"{source}: {name} has dtype {str(values.dtype).removeprefix('torch.')}, "
                           "expected floating-point weights")
    if not bool(torch.isfinite(values).all()):
        raise ConvertError(f"{source}: {name} contains NaN or infinite values")


def _shape(values) -> str:
    return str(tuple(values.shape))


# --- the vocabulary shift ----------------------------------------------------------------

def shifted_input(table: torch.Tensor) -> torch.Tensor:
    """(V, E) rows per source index -> (V + 1, E) rows per Cell Explorer id: the unknown row is zero."""
    return torch.cat([table.new_zeros(1, table.shape[1]), table]).float()


def shifted_output(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(V, H), (V,) -> (V + 1, H), (V + 1,): the unknown logit is the mean known logit minus the margin.

    Linear in h, so one more row of the same layer does it; computed in float64 so that the only
    rounding is the final one to float32.
    """
    weight, bias = weight.double(), bias.double()
    unknown_weight = weight.mean(dim=0, keepdim=True)
    unknown_bias = bias.mean().reshape(1) - UNKNOWN_MARGIN
    return torch.cat([unknown_weight, weight]).float(), torch.cat([unknown_bias, bias]).float()


# --- torch-rnnmodel ------------------------------------------------------------------------

def rnnmodel_keys(n_layers: int) -> list[str]:
    keys = ["encoder.weight"]
    for k in range(n_layers):
        keys += [f"rnn.{p}_l{k}" for p in RNN_PARAMS]
    return keys + ["decoder.weight", "decoder.bias"]


def _key_hint(unexpected: list[str]) -> str:
    """Why a state dict that is not RNNModel's looks the way it does, where a common cause shows in its keys."""
    if any(k.startswith("module.") for k in unexpected):
        return " (saved from nn.DataParallel: strip the 'module.' prefix from the keys)"
    if any("_reverse" in k for k in unexpected):
        return " (a bidirectional RNN, which Cell Explorer does not run)"
    if any("weight_hr" in k for k in unexpected):
        return " (an LSTM with proj_size, which Cell Explorer does not run)"
    if any(k.startswith(("transformer_encoder.", "pos_encoder.")) for k in unexpected):
        return " (word_language_model's TransformerModel; only its RNN models convert)"
    return ""


def resolve_arch(shaped: str, requested: str | None, source: str, evidence: str) -> tuple[str, str]:
    """The architecture and how it was decided; --arch must agree with the shapes and is needed only for an RNN."""
    if requested is not None and requested != shaped:
        label = {"lstm": "an LSTM", "gru": "a GRU", "rnn": "a vanilla RNN"}[shaped]
        raise ConvertError(f"{source}: --arch {requested} disagrees with the tensors: {evidence}: {label}")
    if shaped == "rnn" and requested is None:
        raise ConvertError(f"{source}: {evidence}: a vanilla RNN, and a state dict cannot tell RNN_TANH from "
                           "RNN_RELU (same tensors); Cell Explorer runs tanh only: pass --arch rnn if the model "
                           "is RNN_TANH")
    if shaped == "rnn":
        return shaped, "--arch rnn (a vanilla RNN's key shapes cannot tell tanh from relu)"
    return shaped, "key shapes" + (" (--arch agrees)" if requested else "")


def from_rnnmodel(state: dict[str, torch.Tensor], chars: tuple[str, ...], arch: str | None, source: str,
                  vocab_source: str) -> Converted:
    layer_numbers = {int(m[1]) for key in state if (m := RNN_KEY.fullmatch(key))}
    n_layers = max(layer_numbers) + 1 if layer_numbers else 1  # with no rnn keys, layer 0's are the missing ones
    expected = rnnmodel_keys(n_layers)
    missing = [k for k in expected if k not in state]
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        found = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                            f"unexpected {', '.join(unexpected[:8])}"
                                            + (" ..." if len(unexpected) > 8 else "") if unexpected else "") if part)
        raise ConvertError(f"{source}: not the state dict of a word_language_model RNNModel: {found}"
                           f"{_key_hint(unexpected)}")
    for key in expected:
        _check_values(source, key, state[key])

    encoder, recurrent = state["encoder.weight"], state["rnn.weight_hh_l0"]
    if encoder.dim() != 2:
        raise ConvertError(f"{source}: encoder.weight has shape {_shape(encoder)}, expected "
                           "(vocabulary size, embedding size)")
    if encoder.shape[0] != len(chars):
        raise ConvertError(f"{source}: encoder.weight has {encoder.shape[0]} rows, one per source character, but "
                           f"{vocab_source} lists {len(chars)} characters")
    gates = recurrent.shape[0] // recurrent.shape[1] if recurrent.dim() == 2 and recurrent.shape[1] else 0
    if gates not in ARCH_BY_GATES or recurrent.shape[0] != gates * recurrent.shape[1]:
        raise ConvertError(f"{source}: rnn.weight_hh_l0 has shape {_shape(recurrent)}; an LSTM, GRU or RNN has "
                           "(4H, H), (3H, H) or (H, H)")
    V, E, H = len(chars), encoder.shape[1], recurrent.shape[1]
    arch, arch_from = resolve_arch(ARCH_BY_GATES[gates], arch, source,
                                   f"rnn.weight_hh_l0 has {gates} x {H} rows for {H} units")
    if n_layers > 3:
        raise ConvertError(f"{source}: {n_layers} layers (rnn.*_l0 to _l{n_layers - 1}); Cell Explorer runs 1 to 3")

    shapes = {"encoder.weight": (V, E)}
    for k in range(n_layers):
        shapes |= {f"rnn.weight_ih_l{k}": (gates * H, E if k == 0 else H), f"rnn.weight_hh_l{k}": (gates * H, H),
                   f"rnn.bias_ih_l{k}": (gates * H,), f"rnn.bias_hh_l{k}": (gates * H,)}
    shapes |= {"decoder.weight": (V, H), "decoder.bias": (V,)}
    for key, shape in shapes.items():
        if tuple(state[key].shape) != shape:
            raise ConvertError(
                f"{source}: {key} has shape {_shape(state[key])}, but the other tensors and {vocab_source} need "
                f"{shape} ({arch}: {V} characters, embedding size {E} from encoder.weight, hidden size {H} from "
                f"rnn.weight_hh_l0, {n_layers} layers)")

    config = ModelConfig(vocab_size=V + 1, arch=arch, n_layers=n_layers, hidden_size=H, embedding_size=E, dropout=0.0)
    model = CharRNN(config)
    weights = {"embedding.weight": shifted_input(encoder)}
    for k in range(n_layers):  # one fused multi-layer module -> one single-layer module per layer, same tensors
        weights |= {f"layers.{k}.{p}_l0": state[f"rnn.{p}_l{k}"].float() for p in RNN_PARAMS}
    weights["head.weight"], weights["head.bias"] = shifted_output(state["decoder.weight"], state["decoder.bias"])
    model.load_state_dict(weights, strict=True)  # strict: every tensor of the model comes from the source
    model.eval()
    tied = E == H and torch.equal(state["decoder.weight"], encoder)

    def reference(ids: np.ndarray):
        """RNNModel's own forward, in eval mode (dropout off): one multi-layer torch module, sequence first."""
        module_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[arch]
        module = module_class(E, H, n_layers)
        module.load_state_dict({f"{p}_l{k}": state[f"rnn.{p}_l{k}"].float()
                                for k in range(n_layers) for p in RNN_PARAMS})
        module.eval()
        with torch.no_grad():
            emb = F.embedding(torch.as_tensor(ids).unsqueeze(1), encoder.float())  # (T, 1, E)
            output, hidden = module(emb)
            logits = F.linear(output[:, 0], state["decoder.weight"].float(), state["decoder.bias"].float())
        final_h = (hidden[0] if arch == "lstm" else hidden)[:, 0]  # (layers, H)
        return output[:, 0].double().numpy(), final_h.double().numpy(), torch.softmax(logits.double(), -1).numpy()

    dtypes = sorted({str(state[k].dtype).removeprefix("torch.") for k in expected})
    recorded = {"format": "torch-rnnmodel", "arch_from": arch_from, "tied_weights": tied, "source_dtypes": dtypes,
                "unknown_input": "a zero embedding row"}
    return Converted(model=model, record=recorded, reference=reference)


# --- min-char-rnn ------------------------------------------------------------------------

def from_min_char_rnn(arrays: dict[str, np.ndarray], chars: tuple[str, ...], arch: str | None, source: str,
                      vocab_source: str) -> Converted:
    if arch not in (None, "rnn"):
        raise ConvertError(f"{source}: --arch {arch} does not apply: min-char-rnn is a one-layer tanh RNN")
    for name, values in arrays.items():
        if not np.issubdtype(values.dtype, np.floating):
            raise ConvertError(f"{source}: {name} has dtype {values.dtype}, expected floating-point weights")
        if not np.isfinite(values).all():
            raise ConvertError(f"{source}: {name} contains NaN or infinite values")
    Wxh, Whh, Why, bh, by = (arrays[name] for name in MIN_CHAR_RNN_ARRAYS)
    if Whh.ndim != 2 or Whh.shape[0] != Whh.shape[1] or Whh.shape[0] == 0:
        raise ConvertError(f"{source}: Whh has shape {Whh.shape}, expected (H, H)")
    V, H = len(chars), Whh.shape[0]
    context = f"{V} characters in {vocab_source}, hidden size {H} from Whh"
    if Wxh.ndim == 2 and Wxh.shape[0] == H and Wxh.shape[1] != V:
        raise ConvertError(f"{source}: Wxh has {Wxh.shape[1]} columns, one per source character, but {vocab_source} "
                           f"lists {V} characters")
    for name, values, shapes in (("Wxh", Wxh, [(H, V)]), ("Why", Why, [(V, H)]),
                                 ("bh", bh, [(H, 1), (H,)]), ("by", by, [(V, 1), (V,)])):
        if values.shape not in shapes:
            raise ConvertError(f"{source}: {name} has shape {values.shape}, expected {shapes[0]} ({context})")

    config = ModelConfig(vocab_size=V + 1, arch="rnn", n_layers=1, hidden_size=H, embedding_size=None, dropout=0.0)
    model = CharRNN(config)
    as_tensor = lambda values: torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))  # noqa: E731
    head_weight, head_bias = shifted_output(as_tensor(Why), as_tensor(by).reshape(V))
    model.load_state_dict({
        # the one-hot input's column per id: the unknown column (id 0) is zero, the rest are Wxh's columns
        "layers.0.weight_ih_l0": shifted_input(as_tensor(Wxh).t()).t().contiguous(),
        "layers.0.weight_hh_l0": as_tensor(Whh).float(),
        "layers.0.bias_ih_l0": as_tensor(bh).reshape(H).float(),  # torch adds two biases; bh is their sum
        "layers.0.bias_hh_l0": torch.zeros(H),
        "head.weight": head_weight, "head.bias": head_bias,
    }, strict=True)
    model.eval()

    def reference(ids: np.ndarray):
        """min-char-rnn's forward pass: h = tanh(Wxh x + Whh h + bh), y = Why h + by, p = softmax(y)."""
        h = np.zeros((H, 1))
        hs, ps = [], []
        for ix in ids:
            x = np.zeros((V, 1))
            x[ix] = 1
            h = np.tanh(Wxh @ x + Whh @ h + bh.reshape(H, 1))
            y = Why @ h + by.reshape(V, 1)
            p = np.exp(y - y.max())
            hs.append(h[:, 0])
            ps.append((p / p.sum())[:, 0])
        return np.array(hs), np.array(hs[-1:]), np.array(ps)

    recorded = {"format": "min-char-rnn", "arch_from": "the min-char-rnn format (one tanh layer)",
                "source_dtypes": sorted({str(a.dtype) for a in arrays.values()}),
                "unknown_input": "a zero one-hot column"}
    return Converted(model=model, record=recorded, reference=reference)


# --- checking and writing ------------------------------------------------------------------

def compare_with_source(directory: Path, converted: Converted, n_chars: int, source: str) -> dict:
    """The written model, loaded as the server loads it, against the source's own computation on a probe text.

    The probe is a fixed pseudo-random sequence of the source's characters; the largest differences
    of the top layer's hidden states, every layer's final state and the next-character
    probabilities are returned (and refused above PROBE_LIMIT: a conversion that is not exact is no conversion).
    """
    loaded = load_model_dir(directory)
    cfg = loaded.model.config
    source_ids = np.random.default_rng(0).integers(0, n_chars, PROBE_CHARS)
    top_h, final_h, probs = converted.reference(source_ids)
    names = [f"layers.{k}.h" for k in range(cfg.n_layers)]
    ours = capture(loaded.model, torch.from_numpy(source_ids + 1), names, with_logits=True)  # id = index + 1
    our_probs = torch.softmax(ours.logits[0].double(), dim=-1).numpy()
    our_final = np.stack([ours.states[name][0, -1].double().numpy() for name in names])
    differences = {
        "hidden": float(np.abs(ours.states[names[-1]][0].double().numpy() - top_h).max()),
        "final_state": float(np.abs(our_final - final_h).max()),
        "probabilities": float(np.abs(our_probs[:, 1:] - probs).max()),
    }
    worst = max(differences, key=differences.get)
    if differences[worst] > PROBE_LIMIT:
        raise ConvertError(f"{source}: the converted model differs from the source by {differences[worst]:.2e} in "
                           f"{worst} on a {PROBE_CHARS}-character probe (limit {PROBE_LIMIT}); please report this")
    return {"probe_chars": PROBE_CHARS, "max_abs_difference": {k: float(f"{v:.3g}") for k, v in differences.items()},
            "max_unknown_probability": float(f"{our_probs[:, UNKNOWN_INDEX].max():.3g}")}


def render_card(name: str, config: dict) -> str:
    """The model card of a converted model: what it is, where it came from, how the vocabulary was shifted."""
    model, converted = config["model"], config["converted"]
    arch = {"lstm": "LSTM", "gru": "GRU", "rnn": "vanilla RNN (tanh)"}[model["arch"]]
    source_kind = {"torch-rnnmodel": "PyTorch's word_language_model `RNNModel` state dict",
                   "min-char-rnn": "Karpathy's min-char-rnn parameters"}[converted["format"]]
    input_kind = f"embedding of size {model['embedding_size']}" if model.get("embedding_size") else "one-hot"
    differences = converted["check"]["max_abs_difference"]
    lines = [
        f"# {name}",
        "",
        f"A character-level {arch} language model trained elsewhere and converted from {source_kind} "
        f"(`{converted['source']['file']}`, sha256 `{converted['source']['sha256']}`): {model['n_layers']} "
        f"layer{'s' if model['n_layers'] > 1 else ''} x {model['hidden_size']} units, {input_kind} input, "
        f"{config['parameters']:,} parameters, a vocabulary of {model['vocab_size'] - 1} characters plus the "
        "unknown symbol.",
        "",
        "## Conversion",
        "",
        f"- Weights stored as float32 (the source's are {', '.join(converted['source_dtypes'])})"
        + ("; the tied encoder and decoder weights are copied to both." if converted.get("tied_weights") else "."),
        f"- Vocabulary: source index i is id i + 1; id 0 is the unknown symbol, for characters outside the source "
        f"vocabulary. It has no input ({converted['unknown_input']}), and its output logit is the mean of the known "
        f"logits minus {UNKNOWN_MARGIN:g} nats, so it never wins.",
        f"- Architecture from {converted['arch_from']}.",
        f"- Checked against the source model's own computation on {converted['check']['probe_chars']} characters: "
        f"largest differences {differences['hidden']:.1e} (hidden states), {differences['final_state']:.1e} (every "
        f"layer's final state), {differences['probabilities']:.1e} (next-character probabilities).",
        "- The training data, split and bits per character are not known here.",
        "",
        "Reproduce:",
        "",
        "```",
        converted["command"],
        "```",
        "",
    ]
    return "\n".join(lines)


def read_texts(paths: list[Path]) -> str:
    texts = []
    for path in paths:
        _check_file(path)
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ConvertError(f"{path}: not UTF-8 text") from None
    text = "".join(texts)
    if not text:
        raise ConvertError(f"{', '.join(map(str, paths))}: no text to build the cells on")
    return text


def build_cells(directory: Path, name: str, text: str, paths: list[Path]) -> dict:
    """The cell build on the user's text: it becomes the model's sample.txt, as a held-out sample does."""
    from app.cells.build import build  # here, not at the top: a plain conversion needs none of the cell machinery

    (directory / SAMPLE_FILE).write_text(text, encoding="utf-8")
    try:
        summary = build(directory, corpus_root=directory, sample_chars=0, resample=False)
    except Exception as exc:  # the build's own failures, reported in the one-line form; nothing is kept
        raise ConvertError(f"{', '.join(map(str, paths))}: the cell build failed ({type(exc).__name__}: "
                           f"{_first_line(exc)})") from None
    # the build ran in the hidden directory and describes its sample as a test split: say what it is
    summary["model"] = name
    summary["sample"]["source"] = f"given to python -m app.convert --build-cells: {', '.join(p.name for p in paths)}"
    cells = directory / CELLS_FILE
    cells.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def _move_into_place(staged: Path, target: Path, force: bool) -> None:
    if target.exists() or target.is_symlink():
        if not force:
            raise ConvertError(f"{target}: already exists; pass --force to replace it")
        old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
        os.rename(target, old)
        try:
            os.rename(staged, target)
        except OSError:
            os.rename(old, target)  # put the old model back: a failed replace changes nothing
            raise
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        os.rename(staged, target)


def convert(source: Path, fmt: str, vocab_path: Path, name: str, models_dir: Path, arch: str | None = None,
            cell_texts: list[Path] | None = None, force: bool = False, command: str = "") -> tuple[Path, dict]:
    """Converts SOURCE into models_dir/name and returns the directory and its config; ConvertError otherwise."""
    if not NAME.fullmatch(name):
        raise ConvertError(f"--name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
                           "or digit")
    if fmt not in FORMATS:
        raise ConvertError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    target = Path(models_dir) / name
    if (target.exists() or target.is_symlink()) and not force:
        raise ConvertError(f"{target}: already exists; pass --force to replace it")
    chars = read_vocab(vocab_path)
    if fmt == "torch-rnnmodel":
        converted = from_rnnmodel(load_state_dict(source), chars, arch, str(source), str(vocab_path))
    else:
        converted = from_min_char_rnn(load_npz(source), chars, arch, str(source), str(vocab_path))
    text = read_texts(cell_texts) if cell_texts else None  # read before anything is written

    vocab = Vocabulary(chars)  # char i has id i + 1: the source order is kept, so the map is a shift by one
    extra = {
        "name": name,  # save_model_dir would name the config after the hidden staging directory
        "parameters": converted.model.num_parameters(),
        "converted": {
            **converted.record,
            "source": {"file": str(Path(source).resolve()), "sha256": _sha256(Path(source))},
            "vocab_file": {"file": str(Path(vocab_path).resolve()), "sha256": _sha256(Path(vocab_path))},
            "index_map": {"offset": 1, "unknown_id": UNKNOWN_INDEX,
                          "rule": "Cell Explorer id = source index + 1; id 0 is the unknown symbol"},
            "unknown_output": {"margin_nats": UNKNOWN_MARGIN,
                               "rule": "weight row = mean of the known rows, bias = mean of the known biases "
                                       "- margin: the mean known logit minus the margin, never the largest"},
            "command": command,
        },
    }
    models_dir = Path(models_dir)
    created_dir = not models_dir.exists()
    staged = models_dir / f".{name}.converting-{os.getpid()}-{secrets.token_hex(4)}"

    def clean_up() -> None:  # leave no trace of a failed run: no staging directory, no models dir made for it
        shutil.rmtree(staged, ignore_errors=True)
        if created_dir:
            try:
                models_dir.rmdir()  # only if still empty
            except OSError:
                pass

    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        staged.mkdir()  # a plain mkdir, not mkdtemp: its 0700 would keep a server running as another user out
        save_model_dir(staged, converted.model, vocab, extra)
        try:
            extra["converted"]["check"] = compare_with_source(staged, converted, len(chars), str(source))
        except CheckpointError as exc:  # the engine refusing what was just written: a converter bug, said plainly
            raise ConvertError(f"{staged}: the written model does not load ({exc})") from None
        config = json.loads((staged / "config.json").read_text(encoding="utf-8"))
        # written again, now that config.json and the card can carry the check's results
        save_model_dir(staged, converted.model, vocab, extra, card=render_card(name, {**config, **extra}))
        if text is not None:
            build_cells(staged, name, text, cell_texts)
        _move_into_place(staged, target, force)
    except OSError as exc:  # a full disk, a read-only models directory...
        clean_up()
        raise ConvertError(f"{models_dir}: cannot write the model ({exc.strerror or exc})") from None
    except BaseException:
        clean_up()
        raise
    return target, {**config, **extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.convert", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="See docs/convert.md for the two recipes and VOCAB.json.")
    parser.add_argument("source", type=Path, metavar="SOURCE", help="the state dict (.pt) or the .npz")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    parser.add_argument("--vocab", required=True, type=Path, metavar="VOCAB.json",
                        help="JSON list of the source model's characters, in index order")
    parser.add_argument("--name", required=True, help="the model directory's name, as the server will list it")
    parser.add_argument("--models-dir", type=Path, default=None, metavar="DIR",
                        help="where model directories live (default: the server's, CELLX_MODELS_DIR or models/)")
    parser.add_argument("--arch", choices=("lstm", "gru", "rnn"), default=None,
                        help="needed only for a vanilla RNN (rnn: RNN_TANH), whose shapes cannot tell tanh from relu")
    parser.add_argument("--build-cells", nargs="+", type=Path, default=None, metavar="TEXT_FILE",
                        help="run the cell build on these UTF-8 texts (your held-out text), kept as sample.txt")
    parser.add_argument("--force", action="store_true", help="replace an existing model of that name")
    args = parser.parse_args(argv)
    if args.models_dir is None:
        from app.settings import Settings  # the server's own default, so the converted model is where it looks
        args.models_dir = Settings().models_dir
    command = shlex.join(["python", "-m", "app.convert", *(sys.argv[1:] if argv is None else argv)])
    try:
        target, config = convert(args.source, args.fmt, args.vocab, args.name, args.models_dir, args.arch,
                                 args.build_cells, args.force, command)
    except ConvertError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    model, converted = config["model"], config["converted"]
    differences = converted["check"]["max_abs_difference"]
    print(f"wrote {target}: {model['arch']}, {model['n_layers']} x {model['hidden_size']} units, "
          f"{'embedding ' + str(model['embedding_size']) if model['embedding_size'] else 'one-hot'} input, "
          f"{model['vocab_size'] - 1} characters + unknown; arch from {converted['arch_from']}")
    print(f"  matches the source within {max(differences['hidden'], differences['final_state']):.1e} (states) and "
          f"{differences['probabilities']:.1e} (probabilities) on {converted['check']['probe_chars']} characters")
    if args.build_cells:
        cells = json.loads((target / CELLS_FILE).read_text(encoding="utf-8"))
        print(f"  cells built on {cells['sample']['chars']:,} characters: {len(cells['cells'])} ranked units")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
