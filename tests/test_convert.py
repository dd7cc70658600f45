"""python -m app.convert: models trained elsewhere, converted exactly, and every bad input refused in one line.

The sources are tiny random models built here. For torch-rnnmodel the reference is word_language_model's
RNNModel rebuilt from torch.nn modules and run one character at a time, so that every layer's h (and c)
comes from the source model's own forward; the gates come from its weights through the equations of
torch's documentation. For min-char-rnn the reference is min-char-rnn.py's numpy recurrence.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from app.convert import UNKNOWN_MARGIN, main
from app.engine.capture import capture
from app.engine.checkpoint import load_model_dir

ROOT = Path(__file__).resolve().parent.parent
# the source's index order, deliberately not sorted: the conversion must keep it, shifted by one
CHARS = list('ehtoa snidr,.\n"lu')
TOLERANCE = 1e-5


class RNNModel(nn.Module):
    """pytorch/examples word_language_model/model.py's RNNModel: embedding, dropout, multi-layer RNN, linear decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ("LSTM", "GRU"):
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            assert nhid == ninp, "tied weights need nhid == ninp"
            self.decoder.weight = self.encoder.weight
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        zeros = weight.new_zeros(self.nlayers, bsz, self.nhid)
        return (zeros, zeros.clone()) if self.rnn_type == "LSTM" else zeros


RNN_TYPE = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN_TANH"}


def make_rnnmodel(arch: str, layers: int, emb: int = 6, hidden: int = 8, tied: bool = False, seed: int = 0,
                  vocab_size: int = len(CHARS)) -> RNNModel:
    torch.manual_seed(seed)
    dropout = 0.5 if layers > 1 else 0.0  # torch warns about dropout on one layer, where it does nothing
    model = RNNModel(RNN_TYPE[arch], vocab_size, hidden if tied else emb, hidden, layers, dropout, tie_weights=tied)
    with torch.no_grad():  # larger than the default init, so that saturation and carried state matter
        for p in model.parameters():
            p.mul_(3.0)
    return model.eval()


def source_ids(n: int = 120, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, len(CHARS), n)


def text_of(ids) -> str:
    return "".join(CHARS[i] for i in ids)


def gate_values(arch: str, state: dict, layer: int, x: torch.Tensor, h_prev: torch.Tensor) -> dict:
    """The gates of one step from the source's own weights, by the equations in torch's nn.LSTM / nn.GRU docs."""
    w_ih, w_hh = state[f"rnn.weight_ih_l{layer}"], state[f"rnn.weight_hh_l{layer}"]
    b_ih, b_hh = state[f"rnn.bias_ih_l{layer}"], state[f"rnn.bias_hh_l{layer}"]
    if arch == "lstm":
        i, f, g, o = (w_ih @ x + b_ih + w_hh @ h_prev + b_hh).chunk(4)
        return {"gates.i": i.sigmoid(), "gates.f": f.sigmoid(), "gates.g": g.tanh(), "gates.o": o.sigmoid()}
    if arch == "gru":
        x_r, x_z, x_n = (w_ih @ x + b_ih).chunk(3)
        h_r, h_z, h_n = (w_hh @ h_prev + b_hh).chunk(3)
        r = (x_r + h_r).sigmoid()
        return {"gates.r": r, "gates.z": (x_z + h_z).sigmoid(), "gates.n": (x_n + r * h_n).tanh()}
    return {}


@torch.no_grad()
def rnnmodel_reference(model: RNNModel, ids: np.ndarray) -> tuple[dict, np.ndarray]:
    """RNNModel's forward one character at a time: every layer's states {name: (T, H)}, probabilities (T, V)."""
    arch = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn"}[model.rnn_type]
    state = model.state_dict()
    hidden = model.init_hidden(1)
    states: dict[str, list] = {}
    probs = []
    for ix in ids:
        before = (hidden[0] if arch == "lstm" else hidden)[:, 0].clone()  # (L, H) h_{t-1} of every layer
        log_probs, hidden = model(torch.tensor([[int(ix)]]), hidden)
        h = (hidden[0] if arch == "lstm" else hidden)[:, 0]
        probs.append(log_probs[0].exp())
        x = model.encoder.weight[int(ix)]
        for layer in range(model.nlayers):
            values = {"h": h[layer], **gate_values(arch, state, layer, x, before[layer])}
            if arch == "lstm":
                values["c"] = hidden[1][layer, 0]
            for kind, value in values.items():
                states.setdefault(f"layers.{layer}.{kind}", []).append(value.clone())
            x = h[layer]  # the next layer's input (dropout is off in eval)
    return {k: torch.stack(v).double().numpy() for k, v in states.items()}, torch.stack(probs).double().numpy()


def min_char_rnn_params(hidden: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    V = len(CHARS)
    return {"Wxh": rng.standard_normal((hidden, V)) * 0.8, "Whh": rng.standard_normal((hidden, hidden)) * 0.5,
            "Why": rng.standard_normal((V, hidden)) * 1.5, "bh": rng.standard_normal((hidden, 1)) * 0.3,
            "by": rng.standard_normal((V, 1)) * 0.3}


def min_char_rnn_reference(p: dict, ids, unknown: set[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
    """min-char-rnn.py's forward pass (its lossFun, without the loss); positions in `unknown` get no input."""
    Wxh, Whh, Why, bh, by = p["Wxh"], p["Whh"], p["Why"], p["bh"], p["by"]
    h = np.zeros((Whh.shape[0], 1))
    hs, ps = [], []
    for t, ix in enumerate(ids):
        x = np.zeros((Wxh.shape[1], 1))
        if t not in unknown:
            x[ix] = 1
        h = np.tanh(np.dot(Wxh, x) + np.dot(Whh, h) + bh)
        y = np.dot(Why, h) + by
        e = np.exp(y)
        hs.append(h[:, 0])
        ps.append((e / np.sum(e))[:, 0])
    return np.array(hs), np.array(ps)


def write_vocab(path: Path, chars=CHARS) -> Path:
    path.write_text(json.dumps(chars, ensure_ascii=False), encoding="utf-8")
    return path


def run_convert(tmp_path: Path, source: Path, fmt: str, name: str = "conv", extra: list[str] = (),
                vocab: Path | None = None) -> int:
    vocab = vocab or write_vocab(tmp_path / "vocab.json")
    return main([str(source), "--format", fmt, "--vocab", str(vocab), "--name", name,
                 "--models-dir", str(tmp_path / "models"), *extra])


def save_rnnmodel(tmp_path: Path, model: RNNModel, file: str = "model.pt") -> Path:
    path = tmp_path / file
    torch.save(model.state_dict(), path)
    return path


def save_npz(tmp_path: Path, params: dict, file: str = "model.npz") -> Path:
    path = tmp_path / file
    np.savez(path, **params)
    return path


def converted_values(directory: Path, ids: np.ndarray) -> tuple[dict, np.ndarray]:
    """Every state and the softmax over all ids (unknown first) of the converted model, as the server computes them."""
    loaded = load_model_dir(directory)
    names = loaded.model.config.state_names()
    result = capture(loaded.model, torch.from_numpy(np.asarray(ids)), names, with_logits=True)
    states = {name: result.states[name][0].double().numpy() for name in names}
    return states, torch.softmax(result.logits[0].double(), dim=-1).numpy()


# --- exactness ---------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_rnnmodel_converts_exactly_every_layer_and_state(tmp_path, arch, layers):
    model = make_rnnmodel(arch, layers)
    extra = ["--arch", "rnn"] if arch == "rnn" else []
    assert run_convert(tmp_path, save_rnnmodel(tmp_path, model), "torch-rnnmodel", extra=extra) == 0
    ids = source_ids()
    expected_states, expected_probs = rnnmodel_reference(model, ids)
    states, probs = converted_values(tmp_path / "models" / "conv", ids + 1)  # id = source index + 1

    assert set(states) == set(expected_states)  # h, c and every gate of every layer
    for name, values in expected_states.items():
        np.testing.assert_allclose(states[name], values, atol=TOLERANCE, rtol=0, err_msg=name)
    np.testing.assert_allclose(probs[:, 1:], expected_probs, atol=TOLERANCE, rtol=0)
    assert probs[:, 0].max() < 1e-12  # the unknown symbol takes no probability from the source's characters


def test_tied_weights_convert_exactly(tmp_path):
    model = make_rnnmodel("lstm", 2, tied=True)
    assert model.decoder.weight is model.encoder.weight
    assert run_convert(tmp_path, save_rnnmodel(tmp_path, model), "torch-rnnmodel") == 0
    ids = source_ids()
    expected_states, expected_probs = rnnmodel_reference(model, ids)
    states, probs = converted_values(tmp_path / "models" / "conv", ids + 1)
    for name, values in expected_states.items():
        np.testing.assert_allclose(states[name], values, atol=TOLERANCE, rtol=0, err_msg=name)
    np.testing.assert_allclose(probs[:, 1:], expected_probs, atol=TOLERANCE, rtol=0)
    config = json.loads((tmp_path / "models" / "conv" / "config.json").read_text())
    assert config["converted"]["tied_weights"] is True


def test_min_char_rnn_converts_exactly(tmp_path):
    params = min_char_rnn_params()
    assert run_convert(tmp_path, save_npz(tmp_path, params), "min-char-rnn") == 0
    ids = source_ids()
    expected_h, expected_p = min_char_rnn_reference(params, ids)
    states, probs = converted_values(tmp_path / "models" / "conv", ids + 1)
    assert set(states) == {"layers.0.h"}
    np.testing.assert_allclose(states["layers.0.h"], expected_h, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(probs[:, 1:], expected_p, atol=TOLERANCE, rtol=0)


def test_min_char_rnn_accepts_flat_biases(tmp_path):
    params = min_char_rnn_params()
    flat = {**params, "bh": params["bh"][:, 0], "by": params["by"][:, 0]}
    assert run_convert(tmp_path, save_npz(tmp_path, flat), "min-char-rnn") == 0
    ids = source_ids(40)
    states, probs = converted_values(tmp_path / "models" / "conv", ids + 1)
    np.testing.assert_allclose(states["layers.0.h"], min_char_rnn_reference(params, ids)[0], atol=TOLERANCE, rtol=0)


def test_unknown_characters_have_no_input_and_the_unknown_output_never_wins(tmp_path):
    params = min_char_rnn_params()
    assert run_convert(tmp_path, save_npz(tmp_path, params), "min-char-rnn") == 0
    loaded = load_model_dir(tmp_path / "models" / "conv")
    text = 'the "ð" is not in, nor €.\n'
    encoded = loaded.vocab.encode(text)
    assert [text[i] for i in encoded.unknown] == ["ð", "€"]
    ids = [CHARS.index(ch) if ch in CHARS else 0 for ch in text]
    expected_h, _ = min_char_rnn_reference(params, ids, unknown=set(encoded.unknown))  # zero input there
    states, probs = converted_values(tmp_path / "models" / "conv", encoded.ids)
    np.testing.assert_allclose(states["layers.0.h"], expected_h, atol=TOLERANCE, rtol=0)
    # the unknown logit is the mean known logit minus the margin: never the largest, and a finite surprisal
    assert (probs.argmax(axis=1) != 0).all()
    log_p = np.log(probs)
    np.testing.assert_allclose(log_p[:, 0], log_p[:, 1:].mean(axis=1) - UNKNOWN_MARGIN, atol=1e-4)


def test_unknown_characters_get_a_zero_embedding(tmp_path):
    model = make_rnnmodel("gru", 2)
    assert run_convert(tmp_path, save_rnnmodel(tmp_path, model), "torch-rnnmodel") == 0
    loaded = load_model_dir(tmp_path / "models" / "conv")
    text = "a\u00e9 tie\u00df\n"
    encoded = loaded.vocab.encode(text)
    with torch.no_grad():
        emb = model.encoder(torch.tensor([CHARS.index(ch) if ch in CHARS else 0 for ch in text]))
        emb[encoded.unknown] = 0.0  # an unknown character is no input at all
        top_h, _ = model.rnn(emb.unsqueeze(1))
    states, _ = converted_values(tmp_path / "models" / "conv", encoded.ids)
    np.testing.assert_allclose(states["layers.1.h"], top_h[:, 0].double().numpy(), atol=TOLERANCE, rtol=0)


def test_config_records_the_mapping_and_the_check(tmp_path):
    source = save_rnnmodel(tmp_path, make_rnnmodel("lstm", 1))
    assert run_convert(tmp_path, source, "torch-rnnmodel") == 0
    directory = tmp_path / "models" / "conv"
    config = json.loads((directory / "config.json").read_text())
    assert config["name"] == "conv" and config["vocab"]["chars"] == CHARS
    converted = config["converted"]
    assert converted["format"] == "torch-rnnmodel" and converted["index_map"]["offset"] == 1
    assert converted["arch_from"] == "key shapes" and converted["source"]["file"] == str(source.resolve())
    assert max(converted["check"]["max_abs_difference"].values()) < 1e-6
    assert "converted from PyTorch's word_language_model" in (directory / "README.md").read_text()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["conv"]  # no staging directory left


# --- through the HTTP API ------------------------------------------------------------------

def serve(models_dir: Path, **settings):
    """A client of the app serving models_dir, as tests/api_fixtures.py builds one."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    return TestClient(create_app(Settings(models_dir=models_dir, **settings)))


def _assert_rounded(api_values, expected, what):
    # the API rounds to 4 decimals: a value within 1e-5 of the source rounds to within 5e-5 + 1e-5 of it
    np.testing.assert_allclose(np.asarray(api_values, dtype=float), expected, atol=5e-5 + TOLERANCE, rtol=0,
                               err_msg=what)


def test_converted_models_are_served_with_the_source_values(tmp_path):
    lstm = make_rnnmodel("lstm", 2)
    params = min_char_rnn_params()
    assert run_convert(tmp_path, save_rnnmodel(tmp_path, lstm), "torch-rnnmodel", name="wlm-lstm") == 0
    assert run_convert(tmp_path, save_npz(tmp_path, params), "min-char-rnn", name="karpathy") == 0
    ids = source_ids(60)
    text = text_of(ids)
    lstm_states, lstm_probs = rnnmodel_reference(lstm, ids)
    karpathy_h, karpathy_p = min_char_rnn_reference(params, ids)
    with serve(tmp_path / "models", max_text_length=10_000, max_values=100_000) as client:
        listed = {m["name"]: m for m in client.get("/api/models").json()}
        assert (listed["wlm-lstm"]["arch"], listed["wlm-lstm"]["layers"], listed["wlm-lstm"]["input"]) == \
            ("lstm", 2, "embedding:6")
        assert (listed["karpathy"]["arch"], listed["karpathy"]["input"]) == ("rnn", "one-hot")
        assert client.get("/api/models/karpathy").json()["vocab"] == CHARS

        for layer in (0, 1):
            for state in ("h", "c", "gates.f"):
                body = client.post("/api/activations", json={"model": "wlm-lstm", "text": text, "layer": layer,
                                                             "state": state, "topk": 3}).json()
                _assert_rounded(body["values"], lstm_states[f"layers.{layer}.{state}"], f"{layer} {state}")
        for body, probs in ((body, lstm_probs),
                            (client.post("/api/activations", json={"model": "karpathy", "text": text, "state": "h",
                                                                   "topk": 3}).json(), karpathy_p)):
            top = np.argsort(-probs, axis=1)[:, :3]
            assert [[p["char"] for p in row] for row in body["predictions"]] == \
                [[CHARS[i] for i in row] for row in top]
            _assert_rounded([[p["p"] for p in row] for row in body["predictions"]],
                            np.take_along_axis(probs, top, axis=1), "top-k probabilities")
            expected_bits = -np.log2(probs[np.arange(len(ids) - 1), ids[1:]])
            np.testing.assert_allclose(body["bits"][:-1], expected_bits, atol=1e-4, rtol=0)
        _assert_rounded(body["values"], karpathy_h, "karpathy h")

        # a character outside the vocabulary: listed as unknown, and the one before it gets a finite surprisal
        body = client.post("/api/activations", json={"model": "karpathy", "text": "the € sin", "state": "h"}).json()
        assert body["unknown"] == [4] and isinstance(body["bits"][3], float)
        assert body["bits"][3] > UNKNOWN_MARGIN / math.log(2)


def test_build_cells_on_the_users_text(tmp_path):
    text_file = tmp_path / "held_out.txt"
    text = text_of(source_ids(700, seed=5)) + 'And "quoted" (text), with ü unknown.\n'
    text_file.write_text(text, encoding="utf-8")
    source = save_rnnmodel(tmp_path, make_rnnmodel("lstm", 2))
    assert run_convert(tmp_path, source, "torch-rnnmodel", name="with-cells",
                       extra=["--build-cells", str(text_file)]) == 0
    directory = tmp_path / "models" / "with-cells"
    assert (directory / "sample.txt").read_text(encoding="utf-8") == text
    cells = json.loads((directory / "cells.json").read_text(encoding="utf-8"))
    assert cells["model"] == "with-cells" and cells["sample"]["chars"] == len(text)
    assert "held_out.txt" in cells["sample"]["source"] and cells["cells"]
    with serve(tmp_path / "models") as client:
        assert client.get("/api/models/with-cells").json()["has_cells"] is True
        ranked = client.get("/api/models/with-cells/cells").json()
        assert ranked and {"hypothesis", "layer", "state", "unit"} <= set(ranked[0])


# --- bad input -----------------------------------------------------------------------------

def _state(arch="lstm", layers=2, **kw) -> dict:
    return make_rnnmodel(arch, layers, **kw).state_dict()


def _save(tmp_path, obj, file="model.pt") -> Path:
    path = tmp_path / file
    torch.save(obj, path)
    return path


def _without(state, key):
    return {k: v for k, v in state.items() if k != key}


def _replace(state, key, value):
    return {**state, key: value}


def _npz(tmp_path, **changes):
    params = {k: v for k, v in {**min_char_rnn_params(), **changes}.items() if v is not None}
    return save_npz(tmp_path, params)


BAD_SOURCES = {
    # id: (make the source, its format, extra arguments, words the one-line message must hold)
    "pickled module": (lambda d: _save(d, make_rnnmodel("lstm", 1)), "torch-rnnmodel", [],
                       ["model.pt", "pickled Python object", "RNNModel", "torch.save(model.state_dict()"]),
    "not a torch file": (lambda d: (d / "model.pt", (d / "model.pt").write_bytes(b"not a checkpoint"))[0],
                         "torch-rnnmodel", [], ["model.pt", "not a file written by torch.save"]),
    "a tensor, not a dict": (lambda d: _save(d, torch.zeros(3)), "torch-rnnmodel", [], ["holds a Tensor"]),
    "training checkpoint": (lambda d: _save(d, {"model": _state(), "epoch": 3}), "torch-rnnmodel", [],
                            ["not a state dict", "model, epoch"]),
    "missing key": (lambda d: _save(d, _without(_state(), "decoder.bias")), "torch-rnnmodel", [],
                    ["model.pt", "missing decoder.bias"]),
    "missing layer key": (lambda d: _save(d, _without(_state(), "rnn.bias_hh_l1")), "torch-rnnmodel", [],
                          ["missing rnn.bias_hh_l1"]),
    "unexpected key": (lambda d: _save(d, _replace(_state(), "extra.weight", torch.zeros(2))), "torch-rnnmodel",
                       [], ["unexpected extra.weight"]),
    "DataParallel keys": (lambda d: _save(d, {f"module.{k}": v for k, v in _state().items()}), "torch-rnnmodel",
                          [], ["missing encoder.weight", "strip the 'module.' prefix"]),
    "shapes disagree": (lambda d: _save(d, _replace(_state(), "rnn.weight_ih_l1", torch.zeros(32, 6))),
                        "torch-rnnmodel", [], ["rnn.weight_ih_l1 has shape (32, 6)", "need (32, 8)"]),
    "decoder disagrees": (lambda d: _save(d, _replace(_state(), "decoder.weight", torch.zeros(len(CHARS), 7))),
                          "torch-rnnmodel", [], ["decoder.weight has shape"]),
    "recurrent shape": (lambda d: _save(d, _replace(_state(), "rnn.weight_hh_l0", torch.zeros(16, 8))),
                        "torch-rnnmodel", [], ["rnn.weight_hh_l0 has shape (16, 8)", "(4H, H)"]),
    "vocab size": (lambda d: _save(d, _state(vocab_size=len(CHARS) + 1)), "torch-rnnmodel", [],
                   ["encoder.weight has 18 rows", "vocab.json lists 17 characters"]),
    "integer weights": (lambda d: _save(d, _replace(_state(), "decoder.bias", torch.zeros(17, dtype=torch.long))),
                        "torch-rnnmodel", [], ["decoder.bias has dtype int64"]),
    "NaN weights": (lambda d: _save(d, _replace(_state(), "decoder.bias", torch.full((len(CHARS),), math.nan))),
                    "torch-rnnmodel", [], ["decoder.bias contains NaN"]),
    "four layers": (lambda d: _save(d, _state(layers=4)), "torch-rnnmodel", [], ["4 layers", "1 to 3"]),
    "rnn without --arch": (lambda d: _save(d, _state("rnn")), "torch-rnnmodel", [],
                           ["cannot tell RNN_TANH from RNN_RELU", "--arch rnn"]),
    "--arch disagrees": (lambda d: _save(d, _state("lstm")), "torch-rnnmodel", ["--arch", "gru"],
                         ["--arch gru disagrees", "4 x 8 rows for 8 units: an LSTM"]),
    "file not found": (lambda d: d / "absent.pt", "torch-rnnmodel", [], ["absent.pt: file not found"]),
    "npz missing an array": (lambda d: _npz(d, by=None), "min-char-rnn", [], ["model.npz", "missing by"]),
    "npz unexpected array": (lambda d: _npz(d, mWxh=np.zeros(3)), "min-char-rnn", [], ["unexpected mWxh"]),
    "npz object array": (lambda d: _npz(d, Wxh=np.array([{}], dtype=object)), "min-char-rnn", [],
                         ["array Wxh cannot be read"]),
    "npz vocab size": (lambda d: _npz(d, Wxh=np.zeros((8, len(CHARS) - 1))), "min-char-rnn", [],
                       ["Wxh has 16 columns", "lists 17 characters"]),
    "npz shapes disagree": (lambda d: _npz(d, Why=np.zeros((len(CHARS), 5))), "min-char-rnn", [],
                            ["Why has shape (17, 5), expected (17, 8)"]),
    "npy, not npz": (lambda d: (d / "model.npz", np.save(d / "model.npy", np.zeros(3)),
                                (d / "model.npy").rename(d / "model.npz"))[0], "min-char-rnn", [],
                     ["holds a single array"]),
    "npz with --arch lstm": (lambda d: _npz(d), "min-char-rnn", ["--arch", "lstm"], ["--arch lstm does not apply"]),
}


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_bad_sources_are_refused_in_one_line_and_nothing_is_written(tmp_path, capsys, case):
    make, fmt, extra, needles = BAD_SOURCES[case]
    source = make(tmp_path)
    assert run_convert(tmp_path, source, fmt, extra=extra) == 2
    err = _one_line_error(capsys)
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "models").exists()


BAD_VOCABS = {
    "duplicate": (CHARS[:-1] + ["e"], ['"e" is listed twice, at indices 0 and 16']),
    "multi-character entry": (CHARS[:-1] + ["<eos>"], ['entry 16 is "<eos>" (5 characters)', 'write "\\n"']),
    "empty entry": (CHARS[:-1] + [""], ["entry 16 is \"\" (0 characters)"]),
    "not a string": (CHARS[:-1] + [7], ["entry 16 is 7, not a string"]),
    "not a list": ({"a": 0}, ["must be a JSON list", "got an object"]),
    "empty list": ([], ["the list is empty"]),
}


@pytest.mark.parametrize("case", list(BAD_VOCABS))
def test_bad_vocabularies_are_refused(tmp_path, capsys, case):
    chars, needles = BAD_VOCABS[case]
    vocab = write_vocab(tmp_path / "vocab.json", chars)
    assert run_convert(tmp_path, _npz(tmp_path), "min-char-rnn", vocab=vocab) == 2
    err = _one_line_error(capsys)
    for needle in ["vocab.json", *needles]:
        assert needle in err, err
    assert not (tmp_path / "models").exists()


def test_vocabulary_that_is_not_json(tmp_path, capsys):
    vocab = tmp_path / "vocab.json"
    vocab.write_text("['a', 'b']")
    assert run_convert(tmp_path, _npz(tmp_path), "min-char-rnn", vocab=vocab) == 2
    assert "vocab.json: not valid JSON" in _one_line_error(capsys)


@pytest.mark.parametrize("name", [".hidden", "_private", "a/b", "x" * 65, ""])
def test_names_the_server_would_not_list_are_refused(tmp_path, capsys, name):
    assert run_convert(tmp_path, _npz(tmp_path), "min-char-rnn", name=name) == 2
    assert "--name" in _one_line_error(capsys)


def test_an_existing_name_is_refused_unless_forced(tmp_path, capsys):
    first, second = min_char_rnn_params(seed=0), min_char_rnn_params(seed=1)
    assert run_convert(tmp_path, save_npz(tmp_path, first, "first.npz"), "min-char-rnn") == 0
    config_path = tmp_path / "models" / "conv" / "config.json"
    before = config_path.read_text()
    capsys.readouterr()

    assert run_convert(tmp_path, save_npz(tmp_path, second, "second.npz"), "min-char-rnn") == 2
    assert "already exists; pass --force" in _one_line_error(capsys)
    assert config_path.read_text() == before

    assert run_convert(tmp_path, tmp_path / "second.npz", "min-char-rnn", extra=["--force"]) == 0
    assert "second.npz" in config_path.read_text()
    ids = source_ids(30)
    states, _ = converted_values(tmp_path / "models" / "conv", ids + 1)
    np.testing.assert_allclose(states["layers.0.h"], min_char_rnn_reference(second, ids)[0], atol=TOLERANCE, rtol=0)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["conv"]


def test_a_failure_late_in_the_conversion_leaves_nothing_and_keeps_the_old_model(tmp_path, capsys, monkeypatch):
    assert run_convert(tmp_path, _npz(tmp_path), "min-char-rnn") == 0
    before = sorted((tmp_path / "models" / "conv").iterdir())
    text_file = tmp_path / "text.txt"
    text_file.write_text("the end\n")

    def failing_build(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("app.cells.build.build", failing_build)  # convert imports it when it builds
    assert run_convert(tmp_path, tmp_path / "model.npz", "min-char-rnn",
                       extra=["--force", "--build-cells", str(text_file)]) == 2
    err = _one_line_error(capsys)
    assert "text.txt: the cell build failed (RuntimeError: disk full)" in err
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["conv"]  # no staging directory left
    assert sorted((tmp_path / "models" / "conv").iterdir()) == before  # the old model as it was: no cells.json


def test_bad_cell_texts_are_refused_before_anything_is_written(tmp_path, capsys):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\u00e9".encode("latin-1"))
    assert run_convert(tmp_path, _npz(tmp_path), "min-char-rnn", extra=["--build-cells", str(latin1)]) == 2
    assert "latin1.txt: not UTF-8 text" in _one_line_error(capsys)
    assert not (tmp_path / "models").exists()


def test_the_command_line_exits_2_with_one_line_and_no_traceback(tmp_path):
    source = _save(tmp_path, make_rnnmodel("gru", 1))  # a pickled module
    vocab = write_vocab(tmp_path / "vocab.json")
    result = subprocess.run([sys.executable, "-m", "app.convert", str(source), "--format", "torch-rnnmodel",
                             "--vocab", str(vocab), "--name", "x", "--models-dir", str(tmp_path / "models")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("python -m app.convert: error: ") and result.stderr.count("\n") == 1
    assert "state_dict()" in result.stderr and "Traceback" not in result.stderr
