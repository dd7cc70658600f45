"""models/README.md as a test: model directories saved by the app, reloaded with numpy alone.

The reference below uses only json, numpy and safetensors.numpy, and follows the README:
tensor names and shapes, PyTorch's gate block order, the GRU's r applied to (U_n h + d_n),
one-hot input with an all-zero unknown row (or the embedding's zero padding row), and
vocabulary ids = index in `chars` + 1. Its every state at every character and its logits
are compared with app.engine.capture on the model the app itself loads from the same
directory (so fp16 files give both sides the same rounded weights).
"""
import json
import re
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from app.engine.capture import capture
from app.engine.checkpoint import load_model_dir, save_model_dir
from app.engine.vocab import Vocabulary
from tests.conftest import TINY_TEXT, make_model, random_text

README = Path(__file__).resolve().parent.parent / "models" / "README.md"
GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ()}
BLOCKS = {"lstm": 4, "gru": 3, "rnn": 1}
TEXT = random_text(70, seed=3)  # every character in the vocabulary
UNKNOWN = "§é\u2603"  # outside the vocabulary
TEXT_WITH_UNKNOWN = random_text(30, seed=4) + UNKNOWN + random_text(20, seed=5) + UNKNOWN * 3
LAYERS, HIDDEN, EMBEDDING = 2, 8, 5

CASES = [(arch, inp, dtype) for arch in ("lstm", "gru", "rnn") for inp in ("one-hot", "embedding")
         for dtype in ("float32", "float16")]
CASE_IDS = [f"{arch}-{inp}-{dtype}" for arch, inp, dtype in CASES]


# --- the reference: json + numpy + safetensors.numpy, as models/README.md says ----------------------------------

def np_load(directory: Path) -> tuple[dict, dict[str, np.ndarray]]:
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    assert config["format"] == "cell-explorer/1" and config["vocab"]["unknown_index"] == 0
    weights = {name: t.astype(np.float32) for name, t in load_file(str(directory / "model.safetensors")).items()}
    return config, weights


def np_encode(config: dict, text: str) -> list[int]:
    ids = {ch: i + 1 for i, ch in enumerate(config["vocab"]["chars"])}
    return [ids.get(ch, 0) for ch in text]


def np_input_table(config: dict, w: dict[str, np.ndarray]) -> np.ndarray:
    m = config["model"]
    if m["embedding_size"]:
        return w["embedding.weight"]
    table = np.eye(m["vocab_size"], dtype=np.float32)
    table[0] = 0.0  # an unknown character is no input at all
    return table


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def np_step(arch: str, w: dict[str, np.ndarray], layer: int, x, h, c) -> dict[str, np.ndarray]:
    """One character through one layer: the new h (and c) and the gates, by their short state names."""
    p = f"layers.{layer}."
    xs = w[p + "weight_ih"] @ x + w[p + "bias_ih"]
    hs = w[p + "weight_hh"] @ h + w[p + "bias_hh"]
    if arch == "lstm":
        i, f, g, o = np.split(xs + hs, 4)
        i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
        c = f * c + i * g
        return {"h": o * np.tanh(c), "c": c, "gates.i": i, "gates.f": f, "gates.g": g, "gates.o": o}
    if arch == "gru":
        x_r, x_z, x_n = np.split(xs, 3)
        h_r, h_z, h_n = np.split(hs, 3)
        r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
        n = np.tanh(x_n + r * h_n)  # r multiplies the recurrent part including its bias
        return {"h": (1 - z) * n + z * h, "gates.r": r, "gates.z": z, "gates.n": n}
    return {"h": np.tanh(xs + hs)}


def np_run(directory: Path, text: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every state name -> (T, H), and the next-character logits (T, V)."""
    config, w = np_load(directory)
    m = config["model"]
    arch, L, H = m["arch"], m["n_layers"], m["hidden_size"]
    table = np_input_table(config, w)
    h = [np.zeros(H, np.float32) for _ in range(L)]
    c = [np.zeros(H, np.float32) for _ in range(L)]
    states: dict[str, list[np.ndarray]] = {}
    logits = []
    for idx in np_encode(config, text):
        x = table[idx]
        for layer in range(L):
            out = np_step(arch, w, layer, x, h[layer], c[layer])
            h[layer] = out["h"]
            c[layer] = out.get("c", c[layer])
            for kind, value in out.items():
                states.setdefault(f"layers.{layer}.{kind}", []).append(value)
            x = h[layer]
        logits.append(w["head.weight"] @ x + w["head.bias"])
    return {name: np.stack(values) for name, values in states.items()}, np.stack(logits)


# --- tiny model directories, saved by the app ------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("numpy-reload")
    vocab = Vocabulary.from_text(TINY_TEXT)

    @cache
    def directory(arch: str, inp: str, dtype: str) -> Path:
        path = root / f"tiny-{arch}-{inp}-{dtype}"
        model = make_model(arch, vocab.size, layers=LAYERS, hidden=HIDDEN,
                           embedding=EMBEDDING if inp == "embedding" else None, seed=len(path.name))
        save_model_dir(path, model, vocab, dtype=getattr(torch, dtype))
        return path

    return directory


@cache
def _app_run(directory: Path, text: str):
    """The app's side: the model as the app loads it, every state and the logits from capture."""
    model = load_model_dir(directory).model
    ids = torch.from_numpy(Vocabulary.from_json(json.loads((directory / "config.json").read_text())["vocab"])
                           .encode(text).ids)
    result = capture(model, ids, model.config.state_names(), with_logits=True)
    return {name: value[0].numpy() for name, value in result.states.items()}, result.logits[0].numpy()


def _tol(dtype: str) -> float:
    return 1e-5 if dtype == "float32" else 1e-4


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).max())


# --- tests -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch,inp,dtype", CASES, ids=CASE_IDS)
def test_file_holds_exactly_the_documented_tensors_with_their_shapes(saved, arch, inp, dtype):
    directory = saved(arch, inp, dtype)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    tensors = load_file(str(directory / "model.safetensors"))
    V, G = config["model"]["vocab_size"], BLOCKS[arch]
    first_in = EMBEDDING if inp == "embedding" else V
    expected = {"head.weight": (V, HIDDEN), "head.bias": (V,)}
    if inp == "embedding":
        expected["embedding.weight"] = (V, EMBEDDING)
    for layer in range(LAYERS):
        expected[f"layers.{layer}.weight_ih"] = (G * HIDDEN, first_in if layer == 0 else HIDDEN)
        expected[f"layers.{layer}.weight_hh"] = (G * HIDDEN, HIDDEN)
        expected[f"layers.{layer}.bias_ih"] = (G * HIDDEN,)
        expected[f"layers.{layer}.bias_hh"] = (G * HIDDEN,)
    assert {name: t.shape for name, t in tensors.items()} == expected


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_every_tensor_is_stored_in_the_configs_weights_dtype(saved, dtype):
    directory = saved("lstm", "one-hot", dtype)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    assert config["weights_dtype"] == dtype
    assert {t.dtype for t in load_file(str(directory / "model.safetensors")).values()} == {np.dtype(dtype)}


def test_config_sections_and_vocab_ids_are_as_documented(saved):
    directory = saved("gru", "embedding", "float32")
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    assert config["format"] == "cell-explorer/1"
    assert set(config["model"]) == {"vocab_size", "arch", "n_layers", "hidden_size", "embedding_size", "dropout"}
    assert config["vocab"]["unknown_index"] == 0
    assert config["model"]["vocab_size"] == len(config["vocab"]["chars"]) + 1
    vocab = Vocabulary.from_text(TINY_TEXT)
    ids = np_encode(config, TEXT_WITH_UNKNOWN)
    assert ids == vocab.encode(TEXT_WITH_UNKNOWN).ids.tolist()  # chars[i] has id i + 1
    assert ids.count(0) == 4 * len(UNKNOWN) and not np_encode(config, TEXT).count(0)


@pytest.mark.parametrize("inp", ["one-hot", "embedding"])
def test_the_unknown_characters_input_row_is_all_zeros(saved, inp):
    config, w = np_load(saved("lstm", inp, "float32"))
    assert not np.any(np_input_table(config, w)[0])


@pytest.mark.parametrize("arch,inp,dtype", CASES, ids=CASE_IDS)
def test_every_layers_h_matches_capture_at_every_step(saved, arch, inp, dtype):
    directory = saved(arch, inp, dtype)
    mine, _ = np_run(directory, TEXT)
    app, _ = _app_run(directory, TEXT)
    for layer in range(LAYERS):
        assert _max_diff(mine[f"layers.{layer}.h"], app[f"layers.{layer}.h"]) < _tol(dtype), layer


@pytest.mark.parametrize("inp,dtype", [(inp, dtype) for _, inp, dtype in CASES[:4]])
def test_every_lstm_layers_cell_state_matches_capture_at_every_step(saved, inp, dtype):
    directory = saved("lstm", inp, dtype)
    mine, _ = np_run(directory, TEXT)
    app, _ = _app_run(directory, TEXT)
    for layer in range(LAYERS):
        assert _max_diff(mine[f"layers.{layer}.c"], app[f"layers.{layer}.c"]) < _tol(dtype), layer


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_gates_in_pytorch_block_order_match_capture(saved, arch):
    directory = saved(arch, "one-hot", "float32")
    mine, _ = np_run(directory, TEXT)
    app, _ = _app_run(directory, TEXT)
    for layer in range(LAYERS):
        for gate in GATES[arch]:
            name = f"layers.{layer}.gates.{gate}"
            assert _max_diff(mine[name], app[name]) < 1e-5, name


@pytest.mark.parametrize("arch,inp,dtype", CASES, ids=CASE_IDS)
def test_logits_match_capture_at_every_step(saved, arch, inp, dtype):
    directory = saved(arch, inp, dtype)
    _, mine = np_run(directory, TEXT)
    _, app = _app_run(directory, TEXT)
    assert _max_diff(mine, app) < _tol(dtype)


@pytest.mark.parametrize("arch,inp", [(arch, inp) for arch, inp, dtype in CASES if dtype == "float32"])
def test_unknown_characters_are_no_input_for_h_and_logits(saved, arch, inp):
    directory = saved(arch, inp, "float32")
    mine, logits = np_run(directory, TEXT_WITH_UNKNOWN)
    app, app_logits = _app_run(directory, TEXT_WITH_UNKNOWN)
    for layer in range(LAYERS):
        assert _max_diff(mine[f"layers.{layer}.h"], app[f"layers.{layer}.h"]) < 1e-5, layer
    assert _max_diff(logits, app_logits) < 1e-5


@pytest.mark.parametrize("arch,inp", [("lstm", "one-hot"), ("gru", "one-hot"), ("lstm", "embedding"), ("gru", "embedding")])
def test_unknown_characters_are_no_input_for_cell_state_and_gates(saved, arch, inp):
    directory = saved(arch, inp, "float32")
    mine, _ = np_run(directory, TEXT_WITH_UNKNOWN)
    app, _ = _app_run(directory, TEXT_WITH_UNKNOWN)
    derived = [name for name in mine if not name.endswith(".h")]
    assert derived
    for name in derived:
        assert _max_diff(mine[name], app[name]) < 1e-5, name


def _readme_script() -> str:
    section = README.read_text(encoding="utf-8").split("## Running a model with numpy", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("inp,dtype", [("one-hot", "float32"), ("embedding", "float16")])
def test_the_readme_script_prints_the_apps_next_character_distribution(saved, monkeypatch, capsys, inp, dtype):
    directory = saved("lstm", inp, dtype)
    monkeypatch.setattr(sys, "argv", ["run_numpy.py", str(directory), TEXT_WITH_UNKNOWN])
    namespace = {"__name__": "__main__"}
    exec(compile(_readme_script(), "models/README.md", "exec"), namespace)
    _, app_logits = _app_run(directory, TEXT_WITH_UNKNOWN)
    expected = torch.softmax(torch.from_numpy(app_logits[-1]).double(), dim=-1).numpy()
    assert _max_diff(namespace["probs"].astype(np.float64), expected) < _tol(dtype)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 10 and float(printed[0].split()[-1]) == pytest.approx(expected.max(), abs=1e-4)
