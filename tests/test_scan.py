import pytest
import torch

from app.cells.scan import SEGMENT, scan
from app.engine.capture import capture
from tests.conftest import make_model, random_text


def _setup(arch="lstm", n=3000):
    from app.engine.vocab import Vocabulary

    text = random_text(n, seed=11)
    vocab = Vocabulary.from_text(text)
    model = make_model(arch, vocab.size, hidden=16)
    return model, vocab.encode(text).ids


@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_batched_scan_matches_single_stream_capture(arch):
    model, ids = _setup(arch)
    names = model.config.state_names()
    batched = scan(model, ids, names, n_streams=8, warmup=256, window=128, keep_states=True,
                   matmul_dtype=torch.float32)
    single = capture(model, torch.from_numpy(ids), names).states
    assert all((batched.states[n] - single[n][0]).abs().max() < 1e-4 for n in names)


@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_bfloat16_scan_stays_close_to_the_exact_states(arch):
    model, ids = _setup(arch)
    names = model.config.state_names()
    batched = scan(model, ids, names, n_streams=8, keep_states=True, matmul_dtype=torch.bfloat16)
    single = capture(model, torch.from_numpy(ids), names).states
    assert all((batched.states[n] - single[n][0]).abs().mean() < 5e-3 for n in names)
    assert all((batched.states[n] - single[n][0]).abs().max() < 0.1 for n in names)


def test_scan_windows_need_not_divide_the_chunks():
    model, ids = _setup(n=1500)  # 8 streams of 192 characters, read in windows of 128 + 64 after 128 + 128 + 44
    batched = scan(model, ids, ["layers.1.c"], n_streams=8, warmup=300, window=128, keep_states=True,
                   matmul_dtype=torch.float32)
    single = capture(model, torch.from_numpy(ids), ["layers.1.c"]).states["layers.1.c"][0]
    assert batched.states["layers.1.c"].shape == single.shape
    assert (batched.states["layers.1.c"][:192] - single[:192]).abs().max() < 1e-5  # the first stream is exact
    assert (batched.states["layers.1.c"] - single).abs().mean() < 1e-3


def test_top_examples_are_the_peaks_of_distinct_segments():
    model, ids = _setup()
    result = scan(model, ids, ["layers.1.h"], n_streams=8, k=10, matmul_dtype=torch.float32)
    values = capture(model, torch.from_numpy(ids), ["layers.1.h"]).states["layers.1.h"][0]  # (N, U)
    top = result.top["layers.1.h"]
    assert torch.allclose(top.values[0], values.max(0).values, atol=1e-5)
    assert torch.allclose(values[top.positions, torch.arange(16)], top.values, atol=1e-5)
    for unit in range(16):
        assert len(set((top.positions[:, unit] // SEGMENT).tolist())) == 10


def test_bottom_examples_are_the_lowest_values():
    model, ids = _setup()
    result = scan(model, ids, ["layers.0.c"], n_streams=4, k=5)
    values = capture(model, torch.from_numpy(ids), ["layers.0.c"]).states["layers.0.c"][0]
    assert torch.allclose(result.bottom["layers.0.c"].values[0], values.min(0).values, atol=1e-5)


def test_saturation_counts_fractions_of_sigmoid_gates_only():
    model, ids = _setup()
    result = scan(model, ids, ["layers.0.gates.f", "layers.0.gates.g"], n_streams=4)
    gates = capture(model, torch.from_numpy(ids), ["layers.0.gates.f"]).states["layers.0.gates.f"][0]
    assert set(result.saturation) == {"layers.0.gates.f"}
    expected = torch.stack([(gates < 0.1).float().mean(0), (gates > 0.9).float().mean(0)], dim=1)
    assert torch.allclose(result.saturation["layers.0.gates.f"], expected, atol=1e-6)


def test_text_shorter_than_k_segments_gives_fewer_examples():
    model, ids = _setup(n=100)
    result = scan(model, ids, ["layers.1.h"], k=20)
    assert result.top["layers.1.h"].values.shape[0] == 2 and int(result.top["layers.1.h"].positions.max()) < 100


def _segment_reference(values: torch.Tensor, k: int, lowest: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Brute force: each segment's extreme per unit, then the k best segments; values (N, U)."""
    n, units = values.shape
    fill = torch.inf if lowest else -torch.inf
    padded = torch.cat([values, torch.full((-n % SEGMENT, units), fill)]).view(-1, SEGMENT, units)
    extreme, where = padded.min(dim=1) if lowest else padded.max(dim=1)  # (S, U)
    best, segment = torch.topk(extreme, k, dim=0, largest=not lowest)
    return best, segment * SEGMENT + torch.gather(where, 0, segment)


def test_streaming_top_and_bottom_examples_equal_a_brute_force_over_the_scanned_states():
    model, ids = _setup(n=2900)  # 8 streams of 384: the last stream holds 212 characters, the last windows are partial
    result = scan(model, ids, ["layers.1.c", "layers.0.h"], n_streams=8, window=128, k=7, keep_states=True)
    for name in ("layers.1.c", "layers.0.h"):
        for lowest, found in ((False, result.top[name]), (True, result.bottom[name])):
            values, positions = _segment_reference(result.states[name], 7, lowest)
            assert torch.equal(found.values, values), (name, lowest)
            assert torch.equal(found.positions, positions), (name, lowest)


def test_saturation_of_the_batched_path_counts_only_the_characters_of_the_text():
    model, ids = _setup(n=2900)
    result = scan(model, ids, ["layers.1.gates.i"], n_streams=8, window=128, keep_states=True)
    gates = result.states["layers.1.gates.i"]  # (N, U)
    expected = torch.stack([(gates < 0.1).float().mean(0), (gates > 0.9).float().mean(0)], dim=1)
    assert torch.allclose(result.saturation["layers.1.gates.i"], expected, atol=1e-6)


def test_kept_states_of_the_batched_path_are_a_view_in_text_order():
    model, ids = _setup(n=2900)
    result = scan(model, ids, ["layers.0.h"], n_streams=8, window=128, keep_states=True, matmul_dtype=torch.float32)
    single = capture(model, torch.from_numpy(ids[:384]), ["layers.0.h"]).states["layers.0.h"][0]
    assert result.states["layers.0.h"].shape == (2900, 16)
    assert (result.states["layers.0.h"][:384] - single).abs().max() < 1e-5  # the first stream starts the text exactly


def test_scanning_lower_layer_states_alone_gives_the_same_states():
    model, ids = _setup()
    alone = scan(model, ids, ["layers.0.gates.f"], n_streams=8, keep_states=True, track_top=False)
    together = scan(model, ids, model.config.state_names(), n_streams=8, keep_states=True, track_top=False)
    assert torch.equal(alone.states["layers.0.gates.f"], together.states["layers.0.gates.f"])


@pytest.mark.parametrize("native", [torch.float32, torch.bfloat16])
def test_scan_multiplies_in_bfloat16_only_where_the_cpu_does_natively(native, monkeypatch):
    model, ids = _setup(n=1024)  # 8 streams of 128 characters: the stepwise path
    names = model.config.state_names()
    by_dtype = {dtype: scan(model, ids, names, n_streams=8, keep_states=True, matmul_dtype=dtype).states
                for dtype in (torch.float32, torch.bfloat16)}
    assert any(not torch.equal(by_dtype[torch.float32][n], by_dtype[torch.bfloat16][n]) for n in names)
    monkeypatch.setattr("app.cells.scan.fast_matmul_dtype", lambda: native)
    result = scan(model, ids, names, n_streams=8, keep_states=True)
    assert result.matmul_dtype == native
    assert all(torch.equal(result.states[n], by_dtype[native][n]) for n in names)  # what ran, not just the label


def test_short_scans_run_the_exact_single_stream_kernels(monkeypatch):
    monkeypatch.setattr("app.cells.scan.fast_matmul_dtype", lambda: torch.bfloat16)
    stepwise_layers = []
    monkeypatch.setattr("app.engine.capture.run_layer", lambda *args, **kwargs: stepwise_layers.append(args))
    model, ids = _setup(n=300)  # fewer than 8 streams of one segment
    result = scan(model, ids, ["layers.1.c"], n_streams=8, keep_states=True)
    assert result.matmul_dtype == torch.float32 and stepwise_layers == []
    single = capture(model, torch.from_numpy(ids), ["layers.1.c"]).states["layers.1.c"][0]
    assert (result.states["layers.1.c"][:SEGMENT] - single[:SEGMENT]).abs().max() < 1e-6  # the first stream: exact
