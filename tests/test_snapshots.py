"""Training snapshots: the schedule, the files, lazy loading with a bounded cache, the device flag."""
import json

import pytest
import torch

from app.engine.checkpoint import CheckpointError, load_model_dir, save_model_dir
from app.engine.device import resolve_device
from app.engine.snapshots import SnapshotCache, read_index, save_snapshot, snapshot_dir, snapshot_steps
from app.engine.training import TrainConfig, Trainer
from app.engine.vocab import Vocabulary
from tests.conftest import TINY_TEXT, make_model, random_text


def test_schedule_starts_at_zero_and_ends_at_the_last_step():
    steps = snapshot_steps(16, 8000)
    assert steps[0] == 0 and steps[-1] == 8000 and len(steps) == 16


def test_schedule_is_dense_early():
    steps = snapshot_steps(16, 8000)
    gaps = [b - a for a, b in zip(steps[1:], steps[2:])]
    assert all(later >= earlier for earlier, later in zip(gaps, gaps[1:]))
    assert steps[1] == 25


def test_schedule_of_a_short_run_keeps_distinct_steps():
    assert snapshot_steps(8, 5) == [0, 1, 2, 3, 4, 5]
    assert len(set(snapshot_steps(10, 40))) == 10


def test_schedule_with_no_snapshots_is_empty():
    assert snapshot_steps(0, 100) == []


def test_schedule_rejects_negative_counts():
    with pytest.raises(ValueError, match="snapshots"):
        snapshot_steps(-1, 100)


def _model_dir(tmp_path, arch="lstm"):
    vocab = Vocabulary.from_text(TINY_TEXT)
    directory = tmp_path / f"tiny-{arch}"
    save_model_dir(directory, make_model(arch, vocab.size, layers=1, hidden=8), vocab)
    return directory


def test_snapshot_round_trips_its_weights_in_fp16(tmp_path):
    directory = _model_dir(tmp_path)
    loaded = load_model_dir(directory)
    entry = save_snapshot(directory, loaded.model, step=25, chars_seen=1600, val_bpc=4.25)
    snapshot = SnapshotCache().get(loaded, entry)
    for (name, original), (_, restored) in zip(loaded.model.state_dict().items(), snapshot.model.state_dict().items()):
        assert torch.equal(original.half().float(), restored), name


def test_index_lists_snapshots_by_step_with_their_numbers(tmp_path):
    directory = _model_dir(tmp_path)
    model = load_model_dir(directory).model
    save_snapshot(directory, model, step=50, chars_seen=3200, val_bpc=3.5)
    save_snapshot(directory, model, step=0, chars_seen=0, val_bpc=4.9)
    assert [(s.step, s.chars_seen, s.val_bpc) for s in read_index(directory)] == [(0, 0, 4.9), (50, 3200, 3.5)]


def test_saving_a_step_again_replaces_it(tmp_path):
    directory = _model_dir(tmp_path)
    model = load_model_dir(directory).model
    save_snapshot(directory, model, step=10, chars_seen=640, val_bpc=4.0)
    save_snapshot(directory, model, step=10, chars_seen=640, val_bpc=3.9)
    assert [s.val_bpc for s in read_index(directory)] == [3.9]


def test_model_without_snapshots_has_an_empty_index(tmp_path):
    assert read_index(_model_dir(tmp_path)) == []


def test_index_naming_a_path_outside_the_folder_is_refused(tmp_path):
    directory = _model_dir(tmp_path)
    save_snapshot(directory, load_model_dir(directory).model, step=0, chars_seen=0, val_bpc=4.0)
    index_path = snapshot_dir(directory) / "index.json"
    index = json.loads(index_path.read_text())
    index["snapshots"][0]["file"] = "../model.safetensors"
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="file name"):
        read_index(directory)


def test_cache_loads_a_snapshot_once(tmp_path):
    directory = _model_dir(tmp_path)
    loaded = load_model_dir(directory)
    entry = save_snapshot(directory, loaded.model, step=0, chars_seen=0, val_bpc=4.0)
    cache = SnapshotCache(capacity=2)
    first, second = cache.get(loaded, entry), cache.get(loaded, entry)
    assert first is second and cache.loads == 1


def test_cache_drops_the_least_recently_used_beyond_its_capacity(tmp_path):
    directory = _model_dir(tmp_path)
    loaded = load_model_dir(directory)
    entries = [save_snapshot(directory, loaded.model, step=s, chars_seen=0, val_bpc=4.0) for s in (0, 1, 2)]
    cache = SnapshotCache(capacity=2)
    cache.get(loaded, entries[0])
    cache.get(loaded, entries[1])
    cache.get(loaded, entries[0])  # 0 is now the most recent: 1 goes when 2 arrives
    cache.get(loaded, entries[2])
    assert len(cache) == 2
    cache.get(loaded, entries[0])
    assert cache.loads == 3
    cache.get(loaded, entries[1])
    assert cache.loads == 4


def test_device_auto_falls_back_to_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_device_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no GPU"):
        resolve_device("cuda")


def test_unknown_device_is_refused_by_the_config():
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        TrainConfig(device="tpu")


def test_train_cli_parses_device_and_snapshots():
    from app.train import build_parser

    args = build_parser().parse_args(["--corpus", "x.txt", "--device", "cpu", "--snapshots", "16"])
    assert (args.device, args.snapshots) == ("cpu", 16)


def _tiny_trainer(tmp_path, max_steps, snapshots):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(random_text(6000, seed=3))
    cfg = TrainConfig(name="tiny", corpus=[str(corpus)], out_dir=str(tmp_path / "models"),
                      resume_dir=str(tmp_path / "checkpoints"), n_layers=1, hidden_size=8, batch_size=4,
                      seq_len=16, max_steps=max_steps, eval_every=10, save_every=5, warmup_steps=2,
                      snapshots=snapshots, device="cpu", threads=1)
    return Trainer(cfg)


def test_training_keeps_the_scheduled_snapshots(tmp_path):
    trainer = _tiny_trainer(tmp_path, max_steps=30, snapshots=5)
    trainer.run()
    index = read_index(trainer.out_dir)
    assert [s.step for s in index] == snapshot_steps(5, 30)
    assert [s.chars_seen for s in index] == [s.step * 4 * 16 for s in index]


def test_a_resumed_run_writes_no_snapshot_twice_and_misses_none(tmp_path):
    trainer = _tiny_trainer(tmp_path, max_steps=30, snapshots=6)
    trainer.cfg.max_steps = 12  # stop early, as an interrupted run would
    trainer.run()
    before = {s.step: (snapshot_dir(trainer.out_dir) / s.file).stat().st_mtime_ns for s in read_index(trainer.out_dir)}
    resumed = _tiny_trainer(tmp_path, max_steps=30, snapshots=6)
    resumed.run()
    after = read_index(resumed.out_dir)
    assert [s.step for s in after] == snapshot_steps(6, 30)
    assert all((snapshot_dir(resumed.out_dir) / s.file).stat().st_mtime_ns == before[s.step]
               for s in after if s.step in before)
