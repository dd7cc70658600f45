"""Interventions inside the recurrence (app/engine/interventions.py) against a hand-written per-step loop."""
import pytest
import torch

from app.engine.capture import capture
from app.engine.interventions import OPS, Intervention, check, intervene, intervene_streams
from app.engine.names import state_kinds
from tests.conftest import make_model, random_text

T = 40
TOL = 1e-5


def _ids(vocab, n=T, seed=0):
    return torch.from_numpy(vocab.encode(random_text(n, seed=seed)).ids)


def _means(model, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.rand(model.config.hidden_size, generator=generator) - 0.5
            for name in model.config.state_names()}


def reference(model, ids, interventions, means):
    """The equations of models/README.md one step at a time in float64, with each state changed
    as the module docstring says: {state name: (T, H)} and logits (T, V)."""
    cfg = model.config
    H = cfg.hidden_size
    x_seq = model.embed(ids[None])[0].double()  # (T, in)
    h = [torch.zeros(H, dtype=torch.float64) for _ in range(cfg.n_layers)]
    c = [torch.zeros(H, dtype=torch.float64) for _ in range(cfg.n_layers)]
    record = {name: [] for name in cfg.state_names()}
    logits = []

    def changed(layer, kind, t, value):
        for iv in interventions:
            if iv.layer == layer and iv.state == kind and iv.covers(t):
                value = value.clone()
                for unit in iv.units:
                    value[unit] = float(means[str(iv.name)][unit]) if iv.op == "mean" else (iv.value or 0.0)
        record[f"layers.{layer}.{kind}"].append(value)
        return value

    for t in range(len(ids)):
        x = x_seq[t]
        for layer, module in enumerate(model.layers):
            W, U = module.weight_ih_l0.double(), module.weight_hh_l0.double()
            b, d = module.bias_ih_l0.double(), module.bias_hh_l0.double()
            if cfg.arch == "lstm":
                a = W @ x + b + U @ h[layer] + d
                i, f, g, o = a.chunk(4)
                i = changed(layer, "gates.i", t, torch.sigmoid(i))
                f = changed(layer, "gates.f", t, torch.sigmoid(f))
                g = changed(layer, "gates.g", t, torch.tanh(g))
                o = changed(layer, "gates.o", t, torch.sigmoid(o))
                c[layer] = changed(layer, "c", t, f * c[layer] + i * g)
                h[layer] = changed(layer, "h", t, o * torch.tanh(c[layer]))
            elif cfg.arch == "gru":
                gi, gh = W @ x + b, U @ h[layer] + d
                r = changed(layer, "gates.r", t, torch.sigmoid(gi[:H] + gh[:H]))
                z = changed(layer, "gates.z", t, torch.sigmoid(gi[H:2 * H] + gh[H:2 * H]))
                n = changed(layer, "gates.n", t, torch.tanh(gi[2 * H:] + r * gh[2 * H:]))
                h[layer] = changed(layer, "h", t, (1 - z) * n + z * h[layer])
            else:
                h[layer] = changed(layer, "h", t, torch.tanh(W @ x + b + U @ h[layer] + d))
            x = h[layer]
        logits.append(model.head.weight.double() @ x + model.head.bias.double())
    return {name: torch.stack(values) for name, values in record.items()}, torch.stack(logits)


def _assert_matches_reference(model, ids, interventions, means):
    names = model.config.state_names()
    got = intervene(model, ids, interventions, names=names, means=means, with_logits=True)
    expected, expected_logits = reference(model, ids, interventions, means)
    for name in names:
        assert (got.states[name][0].double() - expected[name]).abs().max() < TOL, name
    assert (got.logits[0].double() - expected_logits).abs().max() < TOL


def _intervention(kind, op, layer=0, start=None, end=None, units=(1, 5)):
    return Intervention(layer=layer, state=kind, units=list(units), op=op, value=0.7 if op == "clamp" else None,
                        start=start, end=end)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_every_state_and_op_matches_a_hand_written_loop(arch, op, vocab):
    model = make_model(arch, vocab.size)
    ids, means = _ids(vocab), _means(model)
    for layer in (0, 1):  # layer 1 feeds the output layer directly
        for kind in state_kinds(arch):
            _assert_matches_reference(model, ids, [_intervention(kind, op, layer, start=7, end=29)], means)
            _assert_matches_reference(model, ids, [_intervention(kind, op, layer)], means)  # every position


def test_the_intervention_changes_the_prediction(vocab):
    """Not a no-op on the reference side too: clamping the top layer's h moves the logits."""
    model = make_model("lstm", vocab.size)
    ids = _ids(vocab)
    plain = capture(model, ids, with_logits=True).logits
    changed = intervene(model, ids, [_intervention("h", "clamp", layer=1)], with_logits=True).logits
    assert (plain - changed).abs().max() > 0.1


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_no_intervention_gives_exactly_the_plain_capture(arch, vocab):
    model = make_model(arch, vocab.size)
    ids, names = _ids(vocab), model.config.state_names()
    plain = capture(model, ids, names, units=[0, 3], with_logits=True, with_final_state=True)
    got = intervene(model, ids, [], names=names, units=[0, 3], with_logits=True, with_final_state=True)
    for name in names:
        assert torch.equal(got.states[name], plain.states[name]), name
    assert torch.equal(got.logits, plain.logits)
    assert all(torch.equal(got.final_state[k], plain.final_state[k]) for k in plain.final_state)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_a_span_acts_only_on_its_positions(arch, vocab):
    model = make_model(arch, vocab.size)
    ids, names = _ids(vocab), model.config.state_names()
    start, end = 12, 20
    plain = capture(model, ids, names, with_logits=True)
    got = intervene(model, ids, [_intervention("h", "clamp", start=start, end=end)], names=names, with_logits=True)
    h = got.states["layers.0.h"][0]  # (T, H)
    for name in names:  # before the span: the plain numbers, bit for bit
        assert torch.equal(got.states[name][:, :start], plain.states[name][:, :start]), name
    assert torch.equal(got.logits[:, :start], plain.logits[:, :start])
    assert torch.all(h[start:end, [1, 5]] == 0.7)  # inside: exactly the value
    assert not torch.any(h[end:, [1, 5]] == 0.7)  # after: the unit runs free again
    assert (got.logits[:, end:] - plain.logits[:, end:]).abs().max() > 1e-3  # ... but the change lives on


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_two_interventions_compose(arch, vocab):
    model = make_model(arch, vocab.size)
    ids, means = _ids(vocab), _means(model)
    gate = state_kinds(arch)[-1]
    pair = [_intervention(gate, "mean", layer=0, start=5, end=25),
            _intervention("h", "clamp", layer=1, start=15, end=35, units=(2,))]
    _assert_matches_reference(model, ids, pair, means)


def test_the_later_of_two_interventions_on_one_unit_wins(vocab):
    model = make_model("lstm", vocab.size)
    ids = _ids(vocab)
    first = Intervention(0, "c", [3, 4], "clamp", 2.0, start=0, end=30)
    second = Intervention(0, "c", [3], "clamp", -1.0, start=10, end=20)
    got = intervene(model, ids, [first, second], names=["layers.0.c"]).states["layers.0.c"][0]  # (T, H)
    assert torch.all(got[10:20, 3] == -1.0) and torch.all(got[:10, 3] == 2.0) and torch.all(got[20:30, 3] == 2.0)
    assert torch.all(got[:30, 4] == 2.0)
    _assert_matches_reference(model, ids, [first, second], {})


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_streams_side_by_side_equal_single_runs(arch, vocab):
    model = make_model(arch, vocab.size)
    ids, means, names = _ids(vocab), _means(model), ["layers.0.h", "layers.1.h"]
    sets = [[]] + [s for u in range(3) for s in ([_intervention("h", "zero", units=(u,))],
                                                      [_intervention("h", "mean", layer=1, units=(u,), start=9)])]
    together = intervene_streams(model, ids, sets, names=names, means=means, with_logits=True)
    for b, interventions in enumerate(sets):
        alone = intervene(model, ids, interventions, names=names, means=means, with_logits=True)
        for name in names:
            assert (together.states[name][b] - alone.states[name][0]).abs().max() < TOL, (b, name)
        assert (together.logits[b] - alone.logits[0]).abs().max() < TOL


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_streams_that_share_the_lower_layers_equal_single_runs(arch, vocab):
    # every intervention in layer 1: layer 0 runs once for all streams, also across two chunks
    model = make_model(arch, vocab.size)
    ids, means, names = _ids(vocab), _means(model), ["layers.0.h", "layers.1.h"]
    sets = [[]] + [[_intervention("h", op, layer=1, units=(u,), start=9)] for u in range(3) for op in ("zero", "mean")]
    first = intervene_streams(model, ids[:20], sets, names=names, units=[1, 3], means=means, with_logits=True,
                              with_final_state=True)
    second = intervene_streams(model, ids[20:], sets, names=names, units=[1, 3], means=means, with_logits=True,
                               state=first.final_state, offset=20)
    for b, interventions in enumerate(sets):
        alone = intervene(model, ids, interventions, names=names, units=[1, 3], means=means, with_logits=True)
        for name in names:
            joined = torch.cat([first.states[name][b], second.states[name][b]])
            assert joined.shape == alone.states[name][0].shape
            assert (joined - alone.states[name][0]).abs().max() < TOL, (b, name)
        assert (torch.cat([first.logits[b], second.logits[b]]) - alone.logits[0]).abs().max() < TOL


def test_a_text_in_chunks_equals_one_call(vocab):
    model = make_model("lstm", vocab.size)
    ids, names = _ids(vocab), ["layers.1.c"]
    ivs = [_intervention("c", "clamp", start=10, end=30)]
    whole = intervene(model, ids, ivs, names=names, with_logits=True)
    first = intervene(model, ids[:17], ivs, names=names, with_logits=True, with_final_state=True)
    second = intervene(model, ids[17:], ivs, names=names, with_logits=True, state=first.final_state, offset=17)
    joined = torch.cat([first.states["layers.1.c"], second.states["layers.1.c"]], dim=1)
    assert (joined - whole.states["layers.1.c"]).abs().max() < TOL
    assert (torch.cat([first.logits, second.logits], dim=1) - whole.logits).abs().max() < TOL


@pytest.mark.parametrize("intervention, message", [
    (Intervention(2, "h", [0], "zero"), "layer 2 is out of range; the model has layers 0 to 1"),
    (Intervention(0, "c", [0], "zero"), "unknown state 'c' for a gru model; valid states: h, gates.r"),
    (Intervention(0, "h", [0], "double"), "unknown op 'double'; valid ops: zero, mean, clamp"),
    (Intervention(0, "h", [8], "zero"), r"units \[8\] out of range; the model has units 0 to 7"),
    (Intervention(0, "h", [], "zero"), "units is empty"),
    (Intervention(0, "h", [1, 1], "zero"), "units lists a unit more than once"),
    (Intervention(0, "h", [0], "clamp"), "clamp needs a value"),
    (Intervention(0, "h", [0], "zero", 1.0), "zero takes no value"),
    (Intervention(0, "h", [0], "clamp", float("nan")), "value must be a finite number"),
    (Intervention(0, "h", [0], "mean"), "mean needs the unit means of layers.0.h"),
    (Intervention(0, "h", [0], "zero", start=-1), "start -1 is negative"),
    (Intervention(0, "h", [0], "zero", start=5, end=5), r"start 5 is not before end 5; the span is \[start, end\)"),
    (Intervention(0, "h", [0], "zero", start=40), "start 40 is outside the text: positions are 0 to 39"),
    (Intervention(0, "h", [0], "zero", end=41), "end 41 is outside the text: end is 1 to 40"),
])
def test_check_says_what_is_allowed(intervention, message, vocab):
    config = make_model("gru", vocab.size).config
    with pytest.raises(ValueError, match=r"^interventions\[1\]: " + message):
        check([Intervention(0, "h", [0], "zero"), intervention], config, means=None, length=40)


def test_the_build_stores_each_units_mean_and_add_means_rewrites_only_them(tmp_path):
    from safetensors.torch import load_file

    from app.cells.means import add_means
    from app.cells.store import UNITS_FILE, load_store
    from app.engine.checkpoint import load_model_dir, save_tensors
    from tests.api_fixtures import build_models_dir

    directory = build_models_dir(tmp_path, analysed=("lstm",)) / "tiny-lstm"
    store, loaded = load_store(directory), load_model_dir(directory)
    names = loaded.model.config.state_names()
    built = store.means
    assert set(built) == set(names) and all(built[n].shape == (8,) for n in names)
    ids = torch.from_numpy(loaded.vocab.encode(store.sample).ids)
    one_pass = capture(loaded.model, ids, names).states
    for name in names:  # the mean of the states the model has reading the sample once
        assert (built[name].double() - one_pass[name][0].double().mean(dim=0)).abs().max() < 1e-6, name

    older = {k: v for k, v in store.tensors.items() if not k.endswith(".mean")}  # an analysis from before means
    save_tensors(directory / UNITS_FILE, older)
    add_means(directory)
    after = load_file(str(directory / UNITS_FILE))
    assert set(after) == set(older) | {f"{n}.mean" for n in names}
    assert all(torch.equal(after[k], v) for k, v in older.items())
    assert all(torch.equal(after[f"{n}.mean"], built[n]) for n in names)  # what a rebuild stores
