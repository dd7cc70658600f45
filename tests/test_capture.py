import pytest
import torch

from app.engine.capture import Stepwise, capture, linear_recurrence
from tests.conftest import make_model, random_text


def _ids(vocab, n=50, seed=0):
    return torch.from_numpy(vocab.encode(random_text(n, seed=seed)).ids)


def test_capture_returns_one_row_per_character(vocab):
    model = make_model("lstm", vocab.size)
    text = random_text(37)
    got = capture(model, torch.from_numpy(vocab.encode(text).ids), ["layers.1.c"]).states["layers.1.c"]
    assert got.shape == (1, len(text), 8)


def test_unit_subset_equals_slice_of_all_units(vocab):
    model = make_model("lstm", vocab.size)
    names = ["layers.0.c", "layers.1.gates.f", "layers.1.h"]
    full = capture(model, _ids(vocab), names).states
    part = capture(model, _ids(vocab), names, units=[5, 2]).states
    for name in names:
        assert torch.allclose(part[name], full[name][..., [5, 2]], atol=1e-6)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_text_in_two_calls_equals_text_in_one(arch, vocab):
    model = make_model(arch, vocab.size)
    ids = _ids(vocab, 80)
    names = [n for n in model.config.state_names()]
    whole = capture(model, ids, names, with_logits=True)
    first = capture(model, ids[:33], names, with_logits=True, with_final_state=True)
    second = capture(model, ids[33:], names, state=first.final_state, with_logits=True)
    for name in names:
        joined = torch.cat([first.states[name], second.states[name]], dim=1)
        assert (joined - whole.states[name]).abs().max() < 1e-5, name
    assert (torch.cat([first.logits, second.logits], dim=1) - whole.logits).abs().max() < 1e-5


def test_only_needed_layers_run_without_logits(vocab):
    model = make_model("gru", vocab.size, layers=3)
    calls = []
    model.layers[2].register_forward_hook(lambda *args: calls.append("layer 2"))
    capture(model, _ids(vocab), ["layers.0.h"])
    assert calls == []


def test_capture_rejects_a_state_the_model_does_not_have(vocab):
    with pytest.raises(ValueError, match=r"unknown state 'layers.0.c'; valid: layers.0..1 with \['h', 'gates.r'"):
        capture(make_model("gru", vocab.size), _ids(vocab), ["layers.0.c"])


def test_units_out_of_range_are_rejected(vocab):
    with pytest.raises(ValueError, match="0..7"):
        capture(make_model("lstm", vocab.size), _ids(vocab), ["layers.0.h"], units=[8])


def test_linear_recurrence_matches_a_python_loop():
    torch.manual_seed(0)
    a, b, x0 = torch.rand(2, 30, 4), torch.randn(2, 30, 4), torch.randn(2, 4)
    x, expected = x0, []
    for t in range(30):
        x = a[:, t] * x + b[:, t]
        expected.append(x)
    assert torch.allclose(linear_recurrence(a, b, x0), torch.stack(expected, dim=1), atol=1e-6)


def test_batch_capture_equals_single_stream_capture(vocab):
    model = make_model("lstm", vocab.size)
    batch = torch.stack([_ids(vocab, 40, seed=1), _ids(vocab, 40, seed=2)])
    together = capture(model, batch, ["layers.1.c"]).states["layers.1.c"]
    alone = capture(model, batch[1], ["layers.1.c"]).states["layers.1.c"]
    assert (together[1] - alone[0]).abs().max() < 1e-5


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_stepwise_capture_equals_fused_capture(arch, vocab):
    model = make_model(arch, vocab.size, layers=2)
    batch = torch.stack([_ids(vocab, 40, seed=s) for s in range(3)])
    batch[1, 7] = 0  # an unknown character: no input on either path
    names = model.config.state_names()
    fused = capture(model, batch, names, units=[1, 6], with_logits=True, with_final_state=True)
    stepwise = capture(model, batch, names, units=[1, 6], with_logits=True, with_final_state=True,
                       stepwise=Stepwise())
    # two float32 summation orders (the loop's products are oneDNN's blocked ones where it has them), through
    # saturating weights (x3) and two layers; the vanilla RNN's logits differ by up to 9e-5 relative
    tol = 1e-4
    for name in names:
        assert (fused.states[name] - stepwise.states[name]).abs().max() < tol, name
    assert ((fused.logits - stepwise.logits).abs() / (1 + fused.logits.abs())).max() < tol  # logits are unbounded
    assert all((fused.final_state[k] - stepwise.final_state[k]).abs().max() < tol for k in fused.final_state)


def test_capture_can_stop_after_the_first_layers(vocab):
    model = make_model("lstm", vocab.size, layers=2)
    ids = _ids(vocab, 30, seed=4)
    lower = capture(model, ids, ["layers.0.c"], with_final_state=True, n_layers=1)
    full = capture(model, ids, ["layers.0.c"], with_final_state=True)
    assert set(lower.final_state) == {"layers.0.h", "layers.0.c"}
    assert torch.equal(lower.states["layers.0.c"], full.states["layers.0.c"])
    with pytest.raises(ValueError, match="n_layers"):
        capture(model, ids, ["layers.1.h"], n_layers=1)
