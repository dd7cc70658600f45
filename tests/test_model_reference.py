"""The models and the capture against PyTorch's own modules and the textbook equations."""
import pytest
import torch
import torch.nn as nn

from app.engine.capture import capture
from tests.conftest import make_model, random_text

TOL = 1e-5


def _reference_cells(model, ids):
    """Steps each layer with nn.LSTMCell / nn.GRUCell / nn.RNNCell holding the same weights."""
    cfg = model.config
    cell_class = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[cfg.arch]
    x = model.embed(ids.unsqueeze(0))[0]  # (T, in)
    per_layer = []
    for layer, module in enumerate(model.layers):
        cell = cell_class(module.input_size, module.hidden_size)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(module, f"{name}_l0").data)
        h = torch.zeros(1, module.hidden_size)
        c = torch.zeros(1, module.hidden_size)
        hs, cs = [], []
        for t in range(x.shape[0]):
            if cfg.arch == "lstm":
                h, c = cell(x[t : t + 1], (h, c))
                cs.append(c)
            else:
                h = cell(x[t : t + 1], h)
            hs.append(h)
        per_layer.append((torch.cat(hs), torch.cat(cs) if cs else None))
        x = torch.cat(hs)
    return per_layer


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_every_layer_h_matches_pytorch_cells(arch, vocab):
    model = make_model(arch, vocab.size, layers=3)
    ids = torch.from_numpy(vocab.encode(random_text(60)).ids)
    names = [f"layers.{layer}.h" for layer in range(3)]
    got = capture(model, ids, names).states
    for layer, (h_ref, _) in enumerate(_reference_cells(model, ids)):
        assert (got[f"layers.{layer}.h"][0] - h_ref).abs().max() < TOL


def test_lstm_cell_state_matches_pytorch_cells(vocab):
    model = make_model("lstm", vocab.size, layers=2)
    ids = torch.from_numpy(vocab.encode(random_text(60)).ids)
    got = capture(model, ids, ["layers.0.c", "layers.1.c"]).states
    for layer, (_, c_ref) in enumerate(_reference_cells(model, ids)):
        assert (got[f"layers.{layer}.c"][0] - c_ref).abs().max() < TOL


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_top_layer_matches_multilayer_pytorch_module(arch, vocab):
    model = make_model(arch, vocab.size, layers=2, embedding=5)
    reference = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[arch](5, 8, num_layers=2, batch_first=True)
    for layer, module in enumerate(model.layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l{layer}").data.copy_(getattr(module, f"{name}_l0").data)
    ids = torch.from_numpy(vocab.encode(random_text(40)).ids).unsqueeze(0)
    expected, _ = reference(model.embed(ids))
    got = capture(model, ids, ["layers.1.h"]).states["layers.1.h"]
    assert (got - expected).abs().max() < TOL


def test_vanilla_rnn_matches_the_formula_by_hand(vocab):
    model = make_model("rnn", vocab.size, layers=1)
    layer = model.layers[0]
    W_xh, W_hh = layer.weight_ih_l0, layer.weight_hh_l0
    b = layer.bias_ih_l0 + layer.bias_hh_l0
    W_hy, b_y = model.head.weight, model.head.bias
    text = random_text(30)
    ids = torch.from_numpy(vocab.encode(text).ids)
    h = torch.zeros(8)
    hs, ys = [], []
    for i in ids.tolist():
        x = torch.zeros(vocab.size)
        x[i] = 1.0
        h = torch.tanh(W_xh @ x + W_hh @ h + b)
        hs.append(h)
        ys.append(W_hy @ h + b_y)
    result = capture(model, ids, ["layers.0.h"], with_logits=True)
    assert (result.states["layers.0.h"][0] - torch.stack(hs)).abs().max() < TOL
    assert (result.logits[0] - torch.stack(ys)).abs().max() < TOL


def test_lstm_gates_match_the_equations(vocab):
    model = make_model("lstm", vocab.size, layers=1)
    m = model.layers[0]
    ids = torch.from_numpy(vocab.encode(random_text(25)).ids)
    x = model.embed(ids.unsqueeze(0))[0]
    names = ["layers.0.gates.i", "layers.0.gates.f", "layers.0.gates.g", "layers.0.gates.o"]
    got = capture(model, ids, names).states
    h = c = torch.zeros(8)
    for t in range(len(ids)):
        z = m.weight_ih_l0 @ x[t] + m.bias_ih_l0 + m.weight_hh_l0 @ h + m.bias_hh_l0
        i, f, g, o = z.chunk(4)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        for name, value in zip(names, (i, f, g, o)):
            assert (got[name][0, t] - value).abs().max() < TOL
        c = f * c + i * g
        h = o * torch.tanh(c)


def test_gru_gates_match_the_equations(vocab):
    model = make_model("gru", vocab.size, layers=1)
    m = model.layers[0]
    ids = torch.from_numpy(vocab.encode(random_text(25)).ids)
    x = model.embed(ids.unsqueeze(0))[0]
    got = capture(model, ids, ["layers.0.gates.r", "layers.0.gates.z", "layers.0.gates.n"]).states
    h = torch.zeros(8)
    for t in range(len(ids)):
        xi = (m.weight_ih_l0 @ x[t] + m.bias_ih_l0).chunk(3)
        hi = (m.weight_hh_l0 @ h + m.bias_hh_l0).chunk(3)
        r = torch.sigmoid(xi[0] + hi[0])
        z = torch.sigmoid(xi[1] + hi[1])
        n = torch.tanh(xi[2] + r * hi[2])
        for name, value in (("r", r), ("z", z), ("n", n)):
            assert (got[f"layers.0.gates.{name}"][0, t] - value).abs().max() < TOL
        h = (1 - z) * n + z * h
