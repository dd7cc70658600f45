import re

import numpy as np
import pytest
import torch

from app.cells.hypotheses import HYPOTHESES, HypothesisValues, regex_values
from app.cells.probe import main, probe
from app.cells.scan import scan
from app.engine.checkpoint import load_model_dir


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


def _table(out: str) -> list[list[str]]:
    """The cells of the printed Markdown table's body rows; an escaped pipe stays inside its cell."""
    rows = [line for line in out.splitlines() if line.startswith("| ")][2:]  # after the header and the rule
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def _expected_row(model_dir, text: str, hypothesis: HypothesisValues, state: str) -> list[str]:
    """The row the command should print, from a probe run here on the same states."""
    loaded = load_model_dir(model_dir)
    acts = scan(loaded.model, loaded.vocab.encode(text).ids, [state], keep_states=True, track_top=False).states[state]
    result = probe(acts, hypothesis, state)
    label = "AUROC" if result.metric == "auroc" else r"\|r\|"
    return [hypothesis.name, state, label, f"{result.probe:.3f}", f"{result.unit_score:.3f} (unit {result.best_unit})"]


def test_probe_command_prints_a_row_per_state(analysed_models_dir, capsys):
    model_dir = analysed_models_dir / "tiny-lstm"
    main([str(model_dir), "--hypothesis", "position_in_line", "--states", "layers.0.h", "layers.1.c"])
    text = (model_dir / "sample.txt").read_text()
    position = HYPOTHESES["position_in_line"].on(text)
    assert _table(capsys.readouterr().out) == [_expected_row(model_dir, text, position, "layers.0.h"),
                                               _expected_row(model_dir, text, position, "layers.1.c")]


def test_probe_command_without_a_sample_says_how_to_make_one(analysed_models_dir):
    with pytest.raises(SystemExit, match="app.cells.build"):
        main([str(analysed_models_dir / "tiny-rnn")])


def test_probe_command_takes_a_regex_and_a_text_file(analysed_models_dir, tmp_path, capsys):
    text = tmp_path / "mine.txt"
    text.write_text('He said "no" and "yes", then "maybe".\n' * 40)
    main([str(analysed_models_dir / "tiny-lstm"), "--regex", '"[^"]*"', "--states", "layers.1.h", "--text", str(text)])
    out = capsys.readouterr().out
    assert "fitted on the first 760 characters of mine.txt" in out
    quoted = HypothesisValues('regex "[^"]*"', "binary", regex_values('"[^"]*"', text.read_text()))
    assert _table(out) == [_expected_row(analysed_models_dir / "tiny-lstm", text.read_text(), quoted, "layers.1.h")]


def test_probe_command_rejects_a_bad_regex_clearly(analysed_models_dir):
    with pytest.raises(SystemExit, match=r"--regex '\(': "):
        main([str(analysed_models_dir / "tiny-lstm"), "--regex", "("])
