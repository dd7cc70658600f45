"""Next-character predictions (app/services/predictions.py): the top k, bits, and the top k written as JSON."""
import numpy as np
import orjson
import pytest

from app.engine.vocab import UNKNOWN_INDEX, Vocabulary
from app.services.predictions import next_bits, probabilities, top_dicts, top_json, top_k

VOCAB = Vocabulary.from_text('ab "\n\t\\\u00e9\u65e5\U0001f600z')


def _probs(n=40, seed=0):
    return probabilities(np.random.default_rng(seed).normal(size=(n, VOCAB.size)).astype(np.float32) * 3)


def test_probabilities_are_a_softmax():
    logits = np.random.default_rng(1).normal(size=(5, 7)).astype(np.float32)
    expected = np.exp(logits.astype(np.float64)) / np.exp(logits.astype(np.float64)).sum(-1, keepdims=True)
    assert np.allclose(probabilities(logits), expected, rtol=1e-12, atol=0)


def test_top_k_is_most_probable_first_and_never_the_unknown_symbol():
    probs = _probs()
    probs[0, UNKNOWN_INDEX] = 0.99
    ids, p = top_k(probs, 4)
    assert ids.shape == (40, 4) and UNKNOWN_INDEX not in ids
    assert np.all(np.diff(p, axis=-1) <= 0)
    best = np.argsort(-np.where(np.arange(VOCAB.size) == UNKNOWN_INDEX, -1, probs), axis=-1, kind="stable")[:, :4]
    assert np.array_equal(ids, best)


def test_ties_in_the_top_k_go_to_the_lower_id():
    probs = np.full((1, 6), 1 / 6)
    assert top_k(probs, 3)[0].tolist() == [[1, 2, 3]]


def test_a_tiny_vocabulary_offers_every_known_character():
    probs = probabilities(np.zeros((2, 3), dtype=np.float32))
    assert top_k(probs, 5)[0].shape == (2, 2)


@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_the_json_top_k_is_what_orjson_writes_for_the_dicts(k):
    probs = _probs(seed=k)
    probs[3] = 0.0
    probs[3, 2] = 1.0  # a certain prediction: p 1.0, the rest 0.0
    encoder = top_json(VOCAB)
    expected = top_dicts(probs, VOCAB, k)
    assert orjson.dumps(encoder.lists(*top_k(probs, k))) == orjson.dumps(expected)
    assert [orjson.dumps(row) for row in encoder.each(*top_k(probs, k))] == [orjson.dumps(r) for r in expected]


def test_the_json_top_k_of_no_rows_is_an_empty_list():
    ids, p = top_k(_probs(n=0), 5)
    assert orjson.dumps(top_json(VOCAB).lists(ids, p)) == b"[]" and top_json(VOCAB).each(ids, p) == []


def test_rounded_probabilities_keep_four_decimals():
    probs = np.array([[0.0, 0.123449, 0.876551]])
    assert top_dicts(probs, VOCAB, 2)[0] == [{"char": VOCAB.decode_id(2), "p": 0.8766},
                                             {"char": VOCAB.decode_id(1), "p": 0.1234}]


def test_bits_are_minus_log2_of_the_next_character_and_null_after_the_last():
    probs = np.array([[0.5, 0.25, 0.25], [0.125, 0.875, 0.0], [1.0, 0.0, 0.0]])
    bits = next_bits(probs, np.array([1, 2]))
    assert bits[:2].tolist() == [2.0, np.inf] and np.isnan(bits[2])
