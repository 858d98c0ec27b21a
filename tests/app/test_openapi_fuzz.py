"""Property-based run of the whole admin API from its own OpenAPI document: no input may cause a 5xx.

schemathesis generates requests for every operation of `/openapi.json` (valid and invalid bodies, paths and
queries), sends them through the ASGI app with its lifespan running (real Redis, both connectors built but not
connected) and checks that the answer is never a server error and conforms to the documented responses.
"""

from __future__ import annotations

import time

import redis
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import status_code_conformance

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from connectors.keys import Keys

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}


FUZZ = hypothesis_settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _clear(client: redis.Redis, prefix: str) -> None:
    for key in list(client.scan_iter(match=Keys(prefix).everything, count=1000)):
        client.delete(key)


def test_no_input_causes_a_server_error(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis.url)
    _clear(client, settings.redis.key_prefix)
    # A live worker, so /health/ready answers 200 (its 503 without one is tested in test_health.py).
    client.set(Keys.of(settings).worker_heartbeat, repr(time.time() + 3600))
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings, configure_logs=False))
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 20
        for operation in operations:

            @FUZZ
            @given(case=operation.as_strategy())
            def call(case: schemathesis.Case) -> None:
                response = case.call(headers=AUTH)
                where = (case.method, case.formatted_path, response.status_code, response.text[:300])
                assert response.status_code < 500, where
                case.validate_response(response, checks=[status_code_conformance])

            call()
    finally:
        _clear(client, settings.redis.key_prefix)
        client.close()
