import numpy as np
import torch

from app.cells.hypotheses import HypothesisValues
from app.cells.ranking import exact_auroc, midranks, rank_units, screen_block


def test_midranks_average_ties():
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_exact_auroc_of_a_perfect_and_a_useless_detector():
    labels = np.array([0, 0, 1, 1], dtype=bool)
    assert exact_auroc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert exact_auroc(np.array([1.0, 1.0, 1.0, 1.0]), labels) == 0.5


def test_histogram_screen_is_close_to_exact_auroc():
    rng = np.random.default_rng(0)
    labels = rng.random(5000) < 0.3
    acts = torch.from_numpy(rng.normal(size=(5000, 6)).astype(np.float32))
    acts[:, 2] += torch.from_numpy(labels.astype(np.float32))
    screened = screen_block(acts, [HypothesisValues("f", "binary", labels)])["f"]
    exact = [exact_auroc(acts[:, u].numpy(), labels) - 0.5 for u in range(6)]
    assert np.allclose(screened.numpy(), exact, atol=2e-3)


def _planted(n=4000, units=16, seed=0):
    rng = np.random.default_rng(seed)
    feature = rng.random(n) < 0.4
    depth = np.cumsum(rng.choice([-1, 1], n)).astype(float)
    acts = torch.from_numpy(rng.normal(size=(n, units)).astype(np.float32))
    return feature, depth, acts


def test_planted_binary_unit_ranks_first_with_auroc_one():
    feature, _, acts = _planted()
    acts[:, 5] = -torch.from_numpy(feature.astype(np.float32))  # low inside: sign -1
    ranking = rank_units({"layers.1.c": acts, "layers.0.h": torch.randn(4000, 16)},
                         [HypothesisValues("inside", "binary", feature)])
    best = ranking["inside"][0]
    assert (best.state, best.unit, best.score, best.sign, best.metric) == ("layers.1.c", 5, 1.0, -1, "auroc")


def test_planted_numeric_unit_ranks_first_with_r_one():
    _, depth, acts = _planted()
    acts[:, 9] = torch.from_numpy(0.5 * depth).float() + 3
    best = rank_units({"layers.0.h": acts}, [HypothesisValues("depth", "numeric", depth)])["depth"][0]
    assert (best.unit, best.score, best.sign, best.spearman) == (9, 1.0, 1, 1.0)


def test_constant_hypothesis_scores_no_unit():
    _, _, acts = _planted()
    ranking = rank_units({"layers.0.h": acts}, [HypothesisValues("never", "binary", np.zeros(4000, dtype=bool))], top=3)
    assert [s.score for s in ranking["never"]] == [0.5] * 3  # three units ranked, none better than chance
