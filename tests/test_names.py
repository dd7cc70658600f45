import pytest

from app.engine.model import ModelConfig
from app.engine.names import StateName, state_kinds, state_names


def test_a_name_and_its_parts_round_trip():
    name = StateName.parse("layers.1.gates.f", "lstm", 2)
    assert (name.layer, name.kind, name.gate) == (1, "gates.f", "f")
    assert str(name) == "layers.1.gates.f"
    assert StateName.parse("layers.0.c").gate is None


def test_unknown_state_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"^unknown state 'layers.0.gates.x'; valid: layers.0..1 with "
                                         r"\['h', 'c', 'gates.i', 'gates.f', 'gates.g', 'gates.o'\]$"):
        StateName.parse("layers.0.gates.x", "lstm", 2)


def test_gru_has_no_cell_state():
    with pytest.raises(ValueError, match=r"unknown state 'layers.0.c'; valid: layers.0..1 with \['h', 'gates.r'"):
        StateName.parse("layers.0.c", "gru", 2)


def test_layer_out_of_range_is_rejected():
    with pytest.raises(ValueError, match=r"valid: layers\.0\.\.1 with"):
        StateName.parse("layers.2.h", "lstm", 2)


@pytest.mark.parametrize("name", ["layers.0", "layers.x.h", "layers.01.h", "layers.-1.h", "layer.0.h",
                                  "layers.0.gates.q", "layers.0.h.x", "layers.\u0661.h", ""])
def test_malformed_names_are_rejected_without_a_model(name):
    with pytest.raises(ValueError, match=r"valid: layers\.<n> with \['h', 'c', 'gates.i'"):
        StateName.parse(name)


def test_every_name_of_a_model_in_a_stable_order():
    assert state_kinds("gru") == ["h", "gates.r", "gates.z", "gates.n"]
    assert [str(n) for n in state_names("rnn", 3)] == ["layers.0.h", "layers.1.h", "layers.2.h"]
    assert [str(n) for n in state_names("lstm", 2, layer=1)] == ["layers.1.h", "layers.1.c", "layers.1.gates.i",
                                                                 "layers.1.gates.f", "layers.1.gates.g",
                                                                 "layers.1.gates.o"]
    config = ModelConfig(vocab_size=5, arch="gru", n_layers=2, hidden_size=4)
    assert config.state_names() == [str(n) for n in state_names("gru", 2)]
    assert all(StateName.parse(n, "gru", 2) == StateName.parse(n) for n in config.state_names())
    assert config.recurrent_state_names(1) == ["layers.1.h"]
