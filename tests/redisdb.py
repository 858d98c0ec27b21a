"""Suites may use a database number of their own on the session's Redis server: each suite's conftest sets
`redis_url = own_database("TEST_<SUITE>_REDIS_DB", n)`. Nothing flushes a database: every test run writes under
its own key prefix and removes its own keys (tests/conftest.py), so any Redis, shared or not, is safe."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

import pytest

# This test run's key prefix: every key the service writes in a test is under it (tests/conftest.py removes them).
RUN_PREFIX = f"lbtest-{os.getpid()}-{secrets.token_hex(3)}"


def own_database(variable: str, default: int) -> Callable[[str], str]:
    """A `redis_url` fixture on database `$variable` (default `default`) of the session's Redis server."""
    number = int(os.environ.get(variable, str(default)))

    @pytest.fixture
    def redis_url(redis_server: str) -> str:
        return f"{redis_server}/{number}"

    return redis_url
