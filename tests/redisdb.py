"""Suites that may run next to others on one Redis server (several sessions, several worktrees) use their own
database: each suite's conftest sets `redis_url = own_database("TEST_<SUITE>_REDIS_DB", n)`."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest


def own_database(variable: str, default: int) -> Callable[[str], str]:
    """A `redis_url` fixture on database `$variable` (default `default`) of the session's Redis server."""
    number = int(os.environ.get(variable, str(default)))

    @pytest.fixture
    def redis_url(redis_server: str) -> str:
        return f"{redis_server}/{number}"

    return redis_url
