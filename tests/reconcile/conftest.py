"""The reconciliation report in the shared test world (tests/harness.py): both simulators, real connectors, Redis."""

from __future__ import annotations

from tests.redisdb import own_database

redis_url = own_database("TEST_RECONCILE_REDIS_DB", 3)
