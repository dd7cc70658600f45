"""Memory reach (app/cells/memory.py): occlusion by distance and the gradient by earlier state, and its command."""
import json

import numpy as np
import pytest
import torch

from app.cells.memory import MEMORY_FILE, build_memory, memory_reach, plain_pass, stepwise_log2_p
from app.engine.attribution import occlusion
from tests.api_fixtures import save_tiny_model
from tests.conftest import make_model, random_text
from tests.test_attribution import _delay_line


def _ids(vocab, n: int) -> np.ndarray:
    return vocab.encode(random_text(n)).ids


def test_a_planted_delay_is_the_only_distance_that_matters(vocab):
    delay = 4
    model = _delay_line(vocab.size, delay, target=3)
    curves = memory_reach(model, _ids(vocab, 300), window=12, positions=40, gradient_positions=8, seed=0)
    occluded = np.array(curves["occlusion"]["upper_quartile"])
    assert occluded[delay] > 0  # k = delay + 1: the character read `delay` steps before the last one
    assert np.count_nonzero(np.delete(occluded, delay)) == 0


def test_occlusion_by_distance_agrees_with_the_batched_attribution(vocab):
    """Occluding q changes the prediction after q + k - 1 by what occlusion() of that prediction says of q."""
    from app.cells.memory import occlusion_reach

    model = make_model("lstm", vocab.size)
    ids = torch.from_numpy(_ids(vocab, 200))
    q, window = np.array([50]), 10
    bits, states = plain_pass(model, ids, q)
    effects = occlusion_reach(model, ids, q, window, bits, states)[0]  # (window,)
    for k in (1, 4, 10):
        position = 50 + k - 1
        single = occlusion(model, ids, position, int(ids[position + 1]), window=k)
        assert effects[k - 1] == pytest.approx(float(single.effects[0]), abs=1e-4)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_the_differentiable_loop_reads_as_the_fused_model(vocab, arch):
    model = make_model(arch, vocab.size)
    ids = torch.from_numpy(_ids(vocab, 40))
    _, state = model(ids[:20].unsqueeze(0))
    rows, targets = ids[20:39].unsqueeze(0), ids[39:40]
    log_p, steps = stepwise_log2_p(model, rows, state, targets)
    logits, _ = model(ids[:39].unsqueeze(0))
    expected = torch.log_softmax(logits[0, -1].double(), dim=-1)[targets[0]] / np.log(2)
    assert float(log_p[0].detach()) == pytest.approx(float(expected), abs=1e-5)
    assert len(steps["layers.1.h"]) == 19 and ("layers.0.c" in steps) == (arch == "lstm")


def test_the_gradient_of_the_last_state_is_the_output_layers(vocab):
    """At k = 1 the top layer's h reaches the prediction only through the output layer: W^T (onehot - p) / ln 2."""
    from app.cells.memory import gradient_reach

    model = make_model("gru", vocab.size)
    ids = torch.from_numpy(_ids(vocab, 60))
    t, window = np.array([40]), 6
    _, states = plain_pass(model, ids, t - window + 1)
    norms = gradient_reach(model, ids, t, window, states)["layers.1.h"][0]  # (window,)
    with torch.no_grad():
        logits, _ = model(ids[:41].unsqueeze(0))
        p = torch.softmax(logits[0, -1].double(), dim=-1)
        onehot = torch.zeros_like(p)
        onehot[ids[41]] = 1
        expected = (model.head.weight.double().t() @ (onehot - p)).norm() / np.log(2)
    assert norms[0] == pytest.approx(float(expected), rel=1e-4)
    assert norms[-1] < norms[0]  # six steps back, through the recurrence


def test_the_command_writes_memory_json(tmp_path, vocab):
    directory = save_tiny_model(tmp_path / "tiny-gru", "gru", analysed=True)
    stored = build_memory(directory, window=8, positions=10, gradient_positions=4)
    on_disk = json.loads((directory / MEMORY_FILE).read_text())
    assert on_disk["window"] == 8 and len(on_disk["occlusion"]["median"]) == 8
    assert set(on_disk["gradient"]) == {"layers.0.h", "layers.1.h"}
    assert on_disk == json.loads(json.dumps(stored))
