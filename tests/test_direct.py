"""Direct output effect of a top-layer h unit (app/engine/direct.py) on a hand-set output layer."""
import torch

from app.engine.direct import direct_effect
from app.engine.vocab import UNKNOWN_INDEX, Vocabulary
from tests.conftest import make_model


def _model_with_column(column):
    vocab = Vocabulary(("a", "b", "c", "d"))
    model = make_model("lstm", vocab.size, hidden=3)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.weight[:, 1] = torch.tensor(column)
    return model, vocab


def test_direct_effect_orders_the_column_of_the_unit():
    # ids: 0 unknown, 1 "a", 2 "b", 3 "c", 4 "d"
    model, vocab = _model_with_column([0.0, 0.5, -2.0, 1.5, -0.25])
    effect = direct_effect(model, vocab, unit=1, k=2)
    assert effect.raises == [("c", 1.5), ("a", 0.5)]
    assert effect.lowers == [("b", -2.0), ("d", -0.25)]


def test_direct_effect_leaves_out_the_unknown_symbol():
    model, vocab = _model_with_column([9.0, 0.5, -2.0, 1.5, -0.25])
    effect = direct_effect(model, vocab, unit=1, k=10)
    assert len(effect.raises) == vocab.size - 1 and effect.raises[0] == ("c", 1.5)
    assert all(ch != vocab.decode_id(UNKNOWN_INDEX) for ch, _ in effect.raises + effect.lowers)
