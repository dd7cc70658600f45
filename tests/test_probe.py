import numpy as np
import pytest
import torch

from app.cells.hypotheses import HypothesisValues
from app.cells.probe import main, probe
from tests.api_fixtures import build_models_dir


def _spread(n=4000, seed=0):
    """Two independent units whose sum is the feature, plus noise units: no single unit carries it."""
    rng = np.random.default_rng(seed)
    units = rng.normal(size=(n, 6))
    return torch.from_numpy(units.astype(np.float32)), units[:, 0] + units[:, 1]


def test_probe_recovers_a_numeric_feature_spread_over_two_units():
    acts, feature = _spread()
    result = probe(acts, HypothesisValues("sum", "numeric", feature))
    assert result.metric == "pearson"
    assert result.probe > 0.99
    assert result.best_unit in (0, 1) and 0.6 < result.unit_score < 0.8  # each alone: r = 1 / sqrt(2)


def test_probe_recovers_a_binary_feature_spread_over_two_units():
    acts, feature = _spread(seed=1)
    result = probe(acts, HypothesisValues("positive_sum", "binary", feature > 0))
    assert result.metric == "auroc"
    assert result.probe > 0.99
    assert result.unit_score < 0.9


def test_probe_scores_on_the_held_out_half_only():
    rng = np.random.default_rng(2)
    acts = torch.from_numpy(rng.normal(size=(2000, 40)).astype(np.float32))
    noise = rng.normal(size=2000)  # unrelated to every unit: a probe fitted on half cannot predict the other half
    assert probe(acts, HypothesisValues("noise", "numeric", noise)).probe < 0.15


def test_probe_command_prints_a_row_per_state(tmp_path, capsys):
    models = build_models_dir(tmp_path, analysed=("lstm",))
    main([str(models / "tiny-lstm"), "--hypothesis", "position_in_line", "--states", "layers.0.h", "layers.1.c"])
    out = capsys.readouterr().out
    assert "| position_in_line | layers.0.h | \\|r\\| |" in out
    assert "| position_in_line | layers.1.c | \\|r\\| |" in out


def test_probe_command_without_a_sample_says_how_to_make_one(tmp_path):
    models = build_models_dir(tmp_path, analysed=())
    with pytest.raises(SystemExit, match="app.cells.build"):
        main([str(models / "tiny-gru")])


def test_probe_command_takes_a_regex_and_a_text_file(tmp_path, capsys):
    models = build_models_dir(tmp_path, analysed=())
    text = tmp_path / "mine.txt"
    text.write_text('He said "no" and "yes", then "maybe".\n' * 40)
    main([str(models / "tiny-lstm"), "--regex", '"[^"]*"', "--states", "layers.1.h", "--text", str(text)])
    out = capsys.readouterr().out
    assert "fitted on the first 760 characters of mine.txt" in out
    assert '| regex "[^"]*" | layers.1.h | AUROC |' in out


def test_probe_command_rejects_a_bad_regex_clearly(tmp_path):
    models = build_models_dir(tmp_path, analysed=("lstm",))
    with pytest.raises(SystemExit, match=r"--regex '\(': "):
        main([str(models / "tiny-lstm"), "--regex", "("])
