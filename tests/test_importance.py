"""Unit importance (app/engine/importance.py): the one-pass gradients against a per-step autograd loop,
and the exact effects against single interventions."""
import math

import pytest
import torch

from app.engine.capture import capture
from app.engine.importance import exact, estimate, next_bits, objective, state_gradients
from app.engine.interventions import Intervention, intervene
from app.engine.names import StateName, state_kinds
from tests.conftest import make_model, random_text

T = 30


def _target():
    target = torch.zeros(T - 1, dtype=torch.bool)
    target[::4] = True
    return target


def reference_gradient(model, ids, name, target):
    """dJ/da(t, u): a zero perturbation added to the state where each step computes it, in a per-step
    float64 loop under autograd."""
    cfg = model.config
    H = cfg.hidden_size
    delta = torch.zeros(len(ids), H, dtype=torch.float64, requires_grad=True)
    x_seq = model.embed(ids[None])[0].double().detach()
    h = [torch.zeros(H, dtype=torch.float64) for _ in range(cfg.n_layers)]
    c = [torch.zeros(H, dtype=torch.float64) for _ in range(cfg.n_layers)]
    logits = []
    for t in range(len(ids)):
        x = x_seq[t]
        for layer, m in enumerate(model.layers):
            W, U, b, d = (p.detach().double() for p in (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0))

            def at(kind, value):
                return value + delta[t] if (layer, kind) == (name.layer, name.kind) else value

            if cfg.arch == "lstm":
                i, f, g, o = (W @ x + b + U @ h[layer] + d).chunk(4)
                i, f = at("gates.i", torch.sigmoid(i)), at("gates.f", torch.sigmoid(f))
                g, o = at("gates.g", torch.tanh(g)), at("gates.o", torch.sigmoid(o))
                c[layer] = at("c", f * c[layer] + i * g)
                h[layer] = at("h", o * torch.tanh(c[layer]))
            elif cfg.arch == "gru":
                gi, gh = W @ x + b, U @ h[layer] + d
                r = at("gates.r", torch.sigmoid(gi[:H] + gh[:H]))
                z = at("gates.z", torch.sigmoid(gi[H:2 * H] + gh[H:2 * H]))
                n = at("gates.n", torch.tanh(gi[2 * H:] + r * gh[2 * H:]))
                h[layer] = at("h", (1 - z) * n + z * h[layer])
            else:
                h[layer] = at("h", torch.tanh(W @ x + b + U @ h[layer] + d))
            x = h[layer]
        logits.append(model.head.weight.detach().double() @ x + model.head.bias.detach().double())
    (gradient,) = torch.autograd.grad(objective(next_bits(torch.stack(logits), ids), target), [delta])
    return gradient


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_one_pass_gradients_equal_a_per_step_autograd_loop(arch, vocab):
    model = make_model(arch, vocab.size)
    ids = torch.from_numpy(vocab.encode(random_text(T)).ids)
    for layer in (0, 1):
        for kind in state_kinds(arch):
            name = StateName(layer, kind)
            got, values = state_gradients(model, ids, name, _target())
            expected = reference_gradient(model, ids, name, _target())
            assert (got.double() - expected).abs().max() < 1e-6, name
            assert expected.abs().max() > 1e-3, name  # a gradient that is there to get wrong
            assert (values - capture(model, ids, [str(name)]).states[str(name)][0]).abs().max() < 1e-6


def test_model_gradients_stay_untouched(vocab):
    model = make_model("lstm", vocab.size)
    ids = torch.from_numpy(vocab.encode(random_text(T)).ids)
    estimate(model, ids, StateName(0, "c"), torch.zeros(8), _target())
    assert all(p.grad is None for p in model.parameters())


def test_the_estimate_is_the_gradient_times_the_ablations_change(vocab):
    model = make_model("gru", vocab.size)
    ids = torch.from_numpy(vocab.encode(random_text(T)).ids)
    mean = torch.linspace(-0.5, 0.5, 8)
    gradient, values = state_gradients(model, ids, StateName(1, "gates.z"), _target())
    got = estimate(model, ids, StateName(1, "gates.z"), mean, _target())
    assert torch.allclose(got, (gradient * (mean - values)).sum(dim=0))


@pytest.mark.parametrize("arch", ["lstm", "rnn"])
def test_exact_effects_equal_single_interventions(arch, vocab, monkeypatch):
    import app.engine.importance as importance

    monkeypatch.setattr(importance, "CHUNK", 11)  # several chunks, the state carried across them
    model = make_model(arch, vocab.size)
    ids = torch.from_numpy(vocab.encode(random_text(T)).ids)
    name = StateName(1, "h")
    means = {str(name): torch.linspace(-0.5, 0.5, 8)}
    target = _target()
    base = next_bits(capture(model, ids, with_logits=True).logits[0].double(), ids)
    got = exact(model, ids, name, [5, 0, 3], means, target)
    for unit, (effect, at_target, at_others) in zip([5, 0, 3], got):
        ablated = intervene(model, ids, [Intervention(1, "h", [unit], "mean")], means=means, with_logits=True)
        change = next_bits(ablated.logits[0].double(), ids) - base
        assert math.isclose(at_target, float(change[target].mean()), abs_tol=1e-5)
        assert math.isclose(at_others, float(change[~target].mean()), abs_tol=1e-5)
        assert math.isclose(effect, at_target - at_others, abs_tol=1e-12)
