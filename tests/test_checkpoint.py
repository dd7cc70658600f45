import json

import pytest
import torch

from app.engine.capture import capture
from app.engine.checkpoint import CheckpointError, load_model_dir, save_model_dir
from tests.conftest import make_model, random_text


def _saved(tmp_path, vocab, arch="lstm", dtype=torch.float32):
    model = make_model(arch, vocab.size)
    save_model_dir(tmp_path / "m", model, vocab, {"corpus": {"name": "tiny"}}, dtype=dtype, card="# tiny\n")
    return model, tmp_path / "m"


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_checkpoint_round_trip_gives_identical_activations(tmp_path, vocab, arch):
    model, path = _saved(tmp_path, vocab, arch)
    loaded = load_model_dir(path)
    ids = torch.from_numpy(vocab.encode(random_text(30)).ids)
    names = model.config.state_names()
    before, after = capture(model, ids, names).states, capture(loaded.model, ids, names).states
    assert all(torch.equal(before[n], after[n]) for n in names)
    assert loaded.vocab == vocab and loaded.card == "# tiny\n"


def test_weights_file_uses_documented_names(tmp_path, vocab):
    from safetensors import safe_open

    _, path = _saved(tmp_path, vocab)
    with safe_open(str(path / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert {"layers.0.weight_ih", "layers.1.bias_hh", "head.weight", "head.bias"} <= keys


def test_fp16_checkpoint_loads_close_to_original(tmp_path, vocab):
    model, path = _saved(tmp_path, vocab, dtype=torch.float16)
    loaded = load_model_dir(path)
    assert json.loads((path / "config.json").read_text())["weights_dtype"] == "float16"
    for a, b in zip(model.parameters(), loaded.model.parameters()):
        assert (a - b).abs().max() < 1e-2


def test_missing_weights_file_is_named(tmp_path, vocab):
    _, path = _saved(tmp_path, vocab)
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"model\.safetensors: file not found"):
        load_model_dir(path)


def test_truncated_weights_file_is_named(tmp_path, vocab):
    _, path = _saved(tmp_path, vocab)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not a readable safetensors file"):
        load_model_dir(path)


def test_config_that_does_not_match_the_weights_is_rejected(tmp_path, vocab):
    _, path = _saved(tmp_path, vocab)
    config = json.loads((path / "config.json").read_text())
    config["model"]["hidden_size"] = 16
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="shape"):
        load_model_dir(path)


def test_invalid_config_json_is_named(tmp_path, vocab):
    _, path = _saved(tmp_path, vocab)
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"config\.json: not valid JSON"):
        load_model_dir(path)


def test_pickle_file_is_never_loaded(tmp_path, vocab):
    _, path = _saved(tmp_path, vocab)
    torch.save({"x": torch.zeros(1)}, path / "model.safetensors")  # a pickle in disguise
    with pytest.raises(CheckpointError):
        load_model_dir(path)
