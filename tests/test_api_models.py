from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.api_fixtures import client, models_dir  # noqa: F401 (fixtures)


def test_list_models_describes_each_model(client):
    models = {m["name"]: m for m in client.get("/api/models").json()}
    assert set(models) == {"tiny-lstm", "tiny-gru", "tiny-rnn"}
    lstm = models["tiny-lstm"]
    assert (lstm["arch"], lstm["layers"], lstm["hidden_size"]) == ("lstm", 2, 8)
    assert lstm["states"] == ["h", "c", "gates.i", "gates.f", "gates.g", "gates.o"]
    assert (lstm["test_bpc"], lstm["ngram_test_bpc"], lstm["corpus"]) == (3.5, 3.9, "tiny")
    assert lstm["has_cells"] and not models["tiny-rnn"]["has_cells"]


def test_gru_states_are_h_and_its_gates(client):
    gru = client.get("/api/models/tiny-gru").json()
    assert gru["states"] == ["h", "gates.r", "gates.z", "gates.n"]


def test_model_detail_has_vocabulary_and_card(client):
    detail = client.get("/api/models/tiny-rnn").json()
    assert "\n" in detail["vocab"] and " " in detail["vocab"]
    assert detail["card"] == "# tiny-rnn\n"


def test_unknown_model_is_404_naming_available_models(client):
    response = client.get("/api/models/nope")
    assert response.status_code == 404
    assert "tiny-lstm" in response.json()["detail"]


def test_healthz_lists_served_models(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and "tiny-gru" in body["models"]


def test_broken_model_directory_is_skipped_and_reported(models_dir, tmp_path):
    import shutil

    root = tmp_path / "models"
    shutil.copytree(models_dir, root)
    (root / "tiny-gru" / "model.safetensors").write_bytes(b"garbage")
    with TestClient(create_app(Settings(models_dir=root))) as c:
        health = c.get("/healthz").json()
        assert "tiny-gru" in health["failed"] and "model.safetensors" in health["failed"]["tiny-gru"]
        assert c.post("/api/activations", json={"model": "tiny-lstm", "text": "ab"}).status_code == 200


def test_openapi_documents_every_request_field(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ActivationsRequest"]["properties"]
    assert all(field.get("description") for field in schema.values())


def test_openapi_documents_every_error_status_with_the_error_body(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
            if method == "post":
                assert {"400", "422"} <= set(errors), (method, path)
            if "/{name}" in path or method == "post":
                assert "404" in errors, (method, path)
            for response in errors.values():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)


def test_openapi_bounds_are_json_schema_keywords(client):
    def keys(node):
        if isinstance(node, dict):
            yield from node
            for value in node.values():
                yield from keys(value)
        elif isinstance(node, list):
            for value in node:
                yield from keys(value)

    document = client.get("/openapi.json").json()
    # pydantic's own names for bounds, which JSON Schema calls minimum, maximum, exclusiveMinimum, ...
    assert not {"ge", "le", "gt", "lt"} & set(keys(document["components"]["schemas"]))


def test_unknown_path_is_a_json_404_pointing_at_the_docs(client):
    response = client.get("/api/nope")
    assert response.status_code == 404 and response.json() == {"detail": "no such path: /api/nope; "
                                                                         "the API is listed at /docs"}


def test_plotly_is_served_locally(client):
    response = client.get("/vendor/plotly.min.js")
    assert response.status_code == 200 and b"plotly" in response.content[:2000].lower()


def test_page_has_strict_content_security_policy(client):
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy


def test_api_docs_page_uses_local_assets_only(client):
    page = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower() and "https://" not in page
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
