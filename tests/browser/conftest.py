"""Fixtures of the browser suites: the demo world (what `make run` starts) and a fresh Chromium per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.browser.harness import Browser, DemoWorld, browser, demo_world, ensure_chromium

# The demo runs on its own database of the test Redis: other suites flush theirs (tests/conftest.py), and
# tests/app/test_demo.py runs its demo on database 11.
DEMO_DB = int(os.environ.get("BROWSER_REDIS_DB", "10"))


@pytest.fixture(scope="session")
def chromium() -> None:
    ensure_chromium()


@pytest.fixture(scope="package")
def demo(redis_server: str, chromium: None) -> Iterator[DemoWorld]:
    with demo_world(f"{redis_server}/{DEMO_DB}") as world:
        yield world


@pytest.fixture
def page(demo: DemoWorld) -> Iterator[Browser]:
    """A fresh browser (no cookies) on the demo; the test fails on any browser console error."""
    with browser(demo.url) as opened:
        yield opened
        opened.assert_no_console_errors()


@pytest.fixture
def signed_in(page: Browser, demo: DemoWorld) -> Browser:
    page.sign_in(demo.admin_token)
    return page
