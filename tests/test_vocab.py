import pytest

from app.engine.vocab import UNKNOWN_INDEX, Vocabulary


def test_vocabulary_keeps_whitespace_as_symbols():
    vocab = Vocabulary.from_text("a b\n\tc")
    assert {" ", "\n", "\t"} <= set(vocab.chars)


def test_encode_decode_round_trip(vocab):
    text = 'She said, "hello"\n'
    ids = vocab.encode(text).ids
    assert "".join(vocab.decode_id(int(i)) for i in ids) == text


def test_unknown_characters_keep_positions_and_are_reported(vocab):
    text = "a€b日c"
    encoded = vocab.encode(text)
    assert len(encoded.ids) == len(text)
    assert encoded.unknown == [1, 3]
    assert encoded.ids[1] == UNKNOWN_INDEX and encoded.ids[3] == UNKNOWN_INDEX


def test_vocabulary_json_round_trip(vocab):
    assert Vocabulary.from_json(vocab.to_json()) == vocab


def test_vocabulary_rejects_duplicate_characters():
    with pytest.raises(ValueError, match="distinct"):
        Vocabulary(("a", "a"))
