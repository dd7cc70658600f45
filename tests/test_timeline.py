"""The timeline: every snapshot of a tiny trained model scanned and ranked on its sample."""
import json

import pytest

from app.cells.build import build
from app.cells.timeline import TIMELINE_FILE, build_timeline
from app.engine.snapshots import read_index
from app.engine.training import TrainConfig, Trainer
from tests.conftest import TINY_TEXT


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("timeline")
    corpus = root / "corpus.txt"
    corpus.write_text(TINY_TEXT * 40)
    cfg = TrainConfig(name="tiny", corpus=[str(corpus)], out_dir=str(root / "models"),
                      resume_dir=str(root / "checkpoints"), n_layers=1, hidden_size=8, batch_size=4, seq_len=16,
                      max_steps=24, eval_every=8, save_every=100, warmup_steps=2, snapshots=4, device="cpu", threads=1)
    trainer = Trainer(cfg)
    trainer.run()
    (trainer.out_dir / "sample.txt").write_text(TINY_TEXT * 6)
    build(trainer.out_dir, corpus_root=root, sample_chars=0, resample=False, top=3, k=4)
    return trainer.out_dir


@pytest.fixture(scope="module")
def timeline(trained_dir):
    return build_timeline(trained_dir)


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


def test_timeline_is_written_beside_the_model(trained_dir, timeline):
    assert json.loads((trained_dir / TIMELINE_FILE).read_text()) == timeline


def test_timeline_of_a_model_without_snapshots_says_how_to_get_them(tmp_path, trained_dir):
    from app.engine.checkpoint import load_model_dir, save_model_dir

    loaded = load_model_dir(trained_dir)
    bare = tmp_path / "bare"
    save_model_dir(bare, loaded.model, loaded.vocab)
    with pytest.raises(SystemExit, match="--snapshots"):
        build_timeline(bare)
