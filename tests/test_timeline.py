"""The timeline: every snapshot of a tiny trained model scanned and ranked on its sample."""
import json

import pytest

from app.cells.timeline import TIMELINE_FILE, build_timeline
from app.engine.snapshots import read_index


@pytest.fixture(scope="module")
def timeline(trained_dir):
    return json.loads((trained_dir / TIMELINE_FILE).read_text())


def test_timeline_has_a_point_per_snapshot_for_every_hypothesis(trained_dir, timeline):
    steps = [s.step for s in read_index(trained_dir)]
    assert [s["step"] for s in timeline["snapshots"]] == steps
    assert timeline["hypotheses"]
    assert all(len(h["best"]) == len(steps) == len(h["final_unit_score"]) for h in timeline["hypotheses"])


def test_timeline_final_unit_is_the_analysis_best_unit(trained_dir, timeline):
    cells = json.loads((trained_dir / "cells.json").read_text())["cells"]
    for entry in timeline["hypotheses"]:
        best = next(c for c in cells if c["hypothesis"] == entry["name"])
        assert entry["final_unit"] == {k: best[k] for k in ("layer", "state", "unit", "sign")}


def test_timeline_best_score_bounds_the_final_units_score(timeline):
    for entry in timeline["hypotheses"]:
        assert all(b["score"] >= f - 1e-4 for b, f in zip(entry["best"], entry["final_unit_score"]))


def test_timeline_at_the_last_snapshot_scores_the_final_unit_as_the_analysis(trained_dir, timeline):
    # the last snapshot holds the shipped weights (both fp16), so its score is the analysis's
    cells = json.loads((trained_dir / "cells.json").read_text())["cells"]
    for entry in timeline["hypotheses"]:
        best = next(c for c in cells if c["hypothesis"] == entry["name"])
        assert entry["final_unit_score"][-1] == pytest.approx(best["score"], abs=2e-3)


def test_timeline_build_returns_what_it_writes(tmp_path):
    from tests.conftest import train_with_snapshots

    directory = train_with_snapshots(tmp_path)
    assert build_timeline(directory) == json.loads((directory / TIMELINE_FILE).read_text())


def test_timeline_of_a_model_without_snapshots_says_how_to_get_them(tmp_path, trained_dir):
    from app.engine.checkpoint import load_model_dir, save_model_dir

    loaded = load_model_dir(trained_dir)
    bare = tmp_path / "bare"
    save_model_dir(bare, loaded.model, loaded.vocab)
    with pytest.raises(SystemExit, match="--snapshots"):
        build_timeline(bare)
