"""Attribution of one prediction (app/engine/attribution.py): batched occlusion, gradient x input."""
import math

import pytest
import torch

from app.engine.attribution import gradient_x_input, log2_p, occlusion, window_start
from app.engine.model import CharRNN, ModelConfig
from app.engine.vocab import UNKNOWN_INDEX
from tests.conftest import make_model, random_text


def _ids(vocab, n: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(vocab.encode(random_text(n, seed=seed)).ids)


@torch.no_grad()
def _separate(model, ids, position, target, start):
    """One forward pass of the whole text per occluded character: the reference."""
    def bits(text_ids):
        logits, _ = model(text_ids[: position + 1].unsqueeze(0))
        return -float(torch.log_softmax(logits[0, -1].double(), dim=-1)[target]) / math.log(2)

    base = bits(ids)
    effects = []
    for q in range(start, position + 1):
        occluded = ids.clone()
        occluded[q] = UNKNOWN_INDEX
        effects.append(bits(occluded) - base)
    return torch.tensor(effects, dtype=torch.float64), base


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_occlusion_equals_separate_forward_passes(vocab, arch):
    model = make_model(arch, vocab.size, hidden=16)
    ids = _ids(vocab, 90)
    position, target = 80, int(ids[81])
    # a small stream budget, so that the window runs as many blocks with streams joining each
    result = occlusion(model, ids, position, target, window=40, stream_steps=200)
    effects, base = _separate(model, ids, position, target, result.start)
    assert result.start == 41 and len(result.effects) == 40
    assert torch.allclose(result.effects, effects, atol=1e-5, rtol=0)  # float32 rounding: the batch sizes differ
    assert abs(result.base_bits - base) < 1e-5
    assert result.effects.abs().max() > 1e-3  # the check compares something


def test_occlusion_of_an_embedding_model_equals_separate_passes(vocab):
    model = make_model("lstm", vocab.size, hidden=12, embedding=6)
    ids = _ids(vocab, 30, seed=3)
    result = occlusion(model, ids, 25, int(ids[26]), window=10)
    effects, _ = _separate(model, ids, 25, int(ids[26]), result.start)
    assert torch.allclose(result.effects, effects, atol=1e-5, rtol=0)


def test_a_window_longer_than_the_text_covers_the_whole_text(vocab):
    model = make_model("lstm", vocab.size)
    ids = _ids(vocab, 12)
    result = occlusion(model, ids, 11, 3, window=1000)
    effects, _ = _separate(model, ids, 11, 3, 0)
    assert result.start == 0 and len(result.effects) == 12
    assert torch.allclose(result.effects, effects, atol=1e-5, rtol=0)
    assert len(gradient_x_input(model, ids, 11, 3, window=1000).effects) == 12


def test_the_first_position_has_a_window_of_one(vocab):
    model = make_model("gru", vocab.size)
    ids = _ids(vocab, 5)
    assert window_start(0, 200) == 0
    assert len(occlusion(model, ids, 0, 2, window=200).effects) == 1


def test_an_unknown_character_has_no_effect(vocab):
    model = make_model("lstm", vocab.size)
    ids = _ids(vocab, 20)
    ids[7] = UNKNOWN_INDEX  # occluding it changes nothing: it already is no input
    assert occlusion(model, ids, 15, 4, window=20).effects[7] == 0.0
    assert gradient_x_input(model, ids, 15, 4, window=20).effects[7] == 0.0


def test_position_and_target_are_checked(vocab):
    model = make_model("rnn", vocab.size)
    ids = _ids(vocab, 10)
    with pytest.raises(ValueError, match="positions are 0 to 9"):
        occlusion(model, ids, 10, 1, window=5)
    with pytest.raises(ValueError, match=f"classes are 0 to {vocab.size - 1}"):
        gradient_x_input(model, ids, 3, vocab.size, window=5)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_gradient_x_input_matches_finite_differences(vocab, arch):
    model = make_model(arch, vocab.size, hidden=8, embedding=5).double()
    ids = _ids(vocab, 25, seed=1)
    position, target, window = 20, int(ids[21]), 8
    result = gradient_x_input(model, ids, position, target, window)
    start = result.start
    with torch.no_grad():
        _, state = model(ids[:start].unsqueeze(0))
        x = model.embed(ids[start : position + 1].unsqueeze(0))  # (1, n, E)
        eps = 1e-6
        for k in range(len(result.effects)):
            # d/da log2 p with input k scaled by a, at a = 1: grad_k . x_k
            up, down = x.clone(), x.clone()
            up[0, k] *= 1 + eps
            down[0, k] *= 1 - eps
            slope = float(log2_p(model, up, state, target) - log2_p(model, down, state, target)) / (2 * eps)
            assert slope == pytest.approx(float(result.effects[k]), rel=1e-5, abs=1e-8)


def test_gradient_x_input_reports_the_plain_surprisal(vocab):
    model = make_model("lstm", vocab.size)
    ids = _ids(vocab, 30)
    assert gradient_x_input(model, ids, 20, 5, 7).base_bits == pytest.approx(occlusion(model, ids, 20, 5, 7).base_bits,
                                                                             abs=1e-5)


def _delay_line(vocab_size: int, delay: int, target: int) -> CharRNN:
    """A vanilla RNN whose prediction reads only the character `delay` steps before the one just read.

    Unit 0 is on for any known character; unit j copies unit j - 1 of the step before; the output layer
    reads unit `delay` alone. Every other path has weight exactly 0.
    """
    model = CharRNN(ModelConfig(vocab_size=vocab_size, arch="rnn", n_layers=1, hidden_size=delay + 1))
    layer = model.layers[0]
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        layer.weight_ih_l0[0] = 1.5
        for j in range(1, delay + 1):
            layer.weight_hh_l0[j, j - 1] = 1.5
        model.head.weight[target, delay] = 4.0
    return model.eval()


@pytest.mark.parametrize("method", [occlusion, gradient_x_input])
def test_a_planted_dependence_is_found_exactly(vocab, method):
    delay, position, target = 5, 30, 3
    model = _delay_line(vocab.size, delay, target)
    ids = _ids(vocab, 40, seed=2)
    result = method(model, ids, position, target, window=20)
    expected = position - delay - result.start
    assert result.effects[expected] > 1e-3  # occluding it removes the evidence for the target
    others = torch.cat([result.effects[:expected], result.effects[expected + 1 :]])
    assert torch.count_nonzero(others) == 0


def test_a_prefix_read_in_chunks_gives_the_same_answer(vocab, monkeypatch):
    import app.engine.attribution as attribution

    model = make_model("lstm", vocab.size)
    ids = _ids(vocab, 60)
    whole = occlusion(model, ids, 55, 4, window=10)
    monkeypatch.setattr(attribution, "PREFIX_CHUNK", 7)  # the 46-character prefix in 7 pieces
    assert torch.allclose(occlusion(model, ids, 55, 4, window=10).effects, whole.effects, atol=1e-6, rtol=0)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_in_float64_occlusion_equals_separate_passes_to_rounding(vocab, arch):
    """The float32 tolerance above is the batch sizes' rounding, not a different computation."""
    model = make_model(arch, vocab.size, hidden=16).double()
    ids = _ids(vocab, 70, seed=4)
    result = occlusion(model, ids, 60, int(ids[61]), window=30, stream_steps=100)
    effects, _ = _separate(model, ids, 60, int(ids[61]), result.start)
    assert torch.allclose(result.effects, effects, atol=1e-12, rtol=0)
