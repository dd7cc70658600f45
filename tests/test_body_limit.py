"""CELLX_MAX_BODY_BYTES: a body over the limit is a 413 before it is parsed, documented on every route with a body."""
import json

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def _client(models_dir, limit=1000) -> TestClient:
    return TestClient(create_app(Settings(models_dir=models_dir, max_body_bytes=limit)))


def test_body_over_the_limit_is_a_413_that_gives_the_limit(analysed_models_dir):
    with _client(analysed_models_dir) as client:
        answer = client.post("/api/activations", json={"model": "tiny-lstm", "text": "a" * 2000})
    assert answer.status_code == 413 and "1,000 bytes" in answer.json()["detail"]


def test_chunked_body_over_the_limit_is_a_413(analysed_models_dir):
    body = json.dumps({"model": "tiny-lstm", "text": "a" * 2000}).encode()
    with _client(analysed_models_dir) as client:  # a generator body is sent chunked, without a Content-Length
        answer = client.post("/api/activations", content=(body[i : i + 100] for i in range(0, len(body), 100)),
                             headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_chunked_body_under_the_limit_is_served(analysed_models_dir):
    body = json.dumps({"model": "tiny-lstm", "text": "She said"}).encode()
    with _client(analysed_models_dir) as client:
        answer = client.post("/api/activations", content=(body[i : i + 10] for i in range(0, len(body), 10)),
                             headers={"content-type": "application/json"})
    assert answer.status_code == 200 and answer.json()["chars"] == list("She said")


def test_refusal_carries_the_security_headers(analysed_models_dir):
    with _client(analysed_models_dir) as client:
        answer = client.post("/api/activations", json={"model": "tiny-lstm", "text": "a" * 2000})
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_every_route_with_a_body_documents_the_413(analysed_models_dir):
    with _client(analysed_models_dir) as client:
        paths = client.get("/openapi.json").json()["paths"]
    posts = {path: ops["post"] for path, ops in paths.items() if "post" in ops}
    assert posts and all("CELLX_MAX_BODY_BYTES" in op["responses"]["413"]["description"] for op in posts.values())


def test_shared_descriptions_are_extended_once(analysed_models_dir):
    with _client(analysed_models_dir) as client:
        paths = client.get("/openapi.json").json()["paths"]
    descriptions = [ops["post"]["responses"]["413"]["description"] for ops in paths.values() if "post" in ops]
    assert all(d.count("CELLX_MAX_BODY_BYTES") == 1 for d in descriptions)
