import json

import pytest

from tests.api_fixtures import client, models_dir  # noqa: F401 (fixtures)


def _sample(client, **body):
    request = {"model": "tiny-lstm", "prime": "He said", "length": 30, "seed": 3, "units": [0, 2], **body}
    return client.post("/api/sample", json=request)


def test_sample_streams_one_line_per_generated_character(client):
    response = _sample(client)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["length"] == 30 and lines[0]["name"] == "layers.1.c"
    assert [line["i"] for line in lines[1:]] == list(range(30))
    assert all(len(line["values"]) == 2 and 0 < line["p"] <= 1 for line in lines[1:])


def test_same_seed_same_sample(client):
    assert _sample(client).text == _sample(client).text
    assert _sample(client).text != _sample(client, seed=4).text


@pytest.mark.parametrize("body, needle", [
    ({"temperature": 0}, "temperature"),
    ({"temperature": -1}, "temperature"),
    ({"length": 0}, "length"),
    ({"length": 5001}, "length"),
    ({"state": "gates.r"}, "valid states"),
    ({"model": "nope"}, "available models"),
    ({"seed": False}, "seed: Input should be a valid integer"),
    ({"seed": "3"}, "seed: Input should be a valid integer"),
    ({"seed": 2**53}, "seed: Input should be less than or equal to 9007199254740991"),
    ({"length": True}, "length: Input should be a valid integer"),
    ({"temperature": "1"}, "temperature: Input should be a valid number"),
    ({"temperature": True}, "temperature: Input should be a valid number"),
    ({"prime": 5}, "prime: Input should be a valid string"),
])
def test_bad_sample_requests_are_rejected(client, body, needle):
    response = _sample(client, **body)
    assert 400 <= response.status_code < 500 and needle in response.json()["detail"]


def test_an_integer_is_a_valid_temperature_and_a_whole_float_a_valid_seed(client):
    assert _sample(client, temperature=1, seed=3.0).text == _sample(client, temperature=1.0, seed=3).text
