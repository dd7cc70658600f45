"""The API keeps the contract its OpenAPI document states: schemathesis, every check, in process.

Schemathesis generates requests from /openapi.json (examples, boundary and negative cases, then
random ones) and checks every answer: no 5xx, only documented statuses, bodies and headers as
documented, schema-valid requests accepted, schema-violating ones rejected, a correct `Allow`
on a 405. The examples per operation are bounded and derandomised, so the run is fast and the
same each time.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.main import create_app
from app.settings import Settings
from tests.api_fixtures import build_models_dir

# Small limits, so that the 413s and the long-text paths are reachable by generated requests.
SETTINGS = Settings(models_dir="unset", max_text_length=2000, max_values=20_000, max_rank_chars=2000,
                    rank_wait_s=1)
APP = create_app(SETTINGS)
# Read from the app object: from_asgi would fetch it through a lifespan started now, before the models exist.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP

@pytest.fixture(scope="module", autouse=True)
def served_models(tmp_path_factory):
    # The app loads its models in the lifespan, which schemathesis starts at the first request.
    SETTINGS.models_dir = build_models_dir(tmp_path_factory.mktemp("models"))


@schema.parametrize()
@settings(max_examples=30, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case):
    case.call_and_validate()
