"""The setup wizard's "done when": from a fresh demo world (simulators running, nothing connected or configured), a
person goes through the whole wizard in the console and the first order arrives in the Exact simulator with the VAT
and total eAccounting charged; no config is written by hand.

The fresh demo runs on a Redis database of its own (the connected demo of the other browser tests uses another).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.harness import Browser, DemoWorld, browser, demo_world

FRESH_DB = int(os.environ.get("BROWSER_FRESH_REDIS_DB", "12"))
DIVISION = 1234567


@pytest.fixture(scope="module")
def fresh_demo(redis_server: str, chromium: None) -> Iterator[DemoWorld]:
    with demo_world(f"{redis_server}/{FRESH_DB}", fresh=True) as world:
        yield world


@pytest.fixture
def person(fresh_demo: DemoWorld) -> Iterator[Browser]:
    with browser(fresh_demo.url) as opened:
        yield opened
        opened.assert_no_console_errors()


def _exact_order(world: DemoWorld, order_id: str) -> dict[str, Any]:
    """The sales order as Exact's API gives it (the simulator's token stands in for a consent)."""
    token = httpx.post(f"{world.exact_url}/_sim/token", timeout=10).json()["access_token"]
    for _ in range(5):  # the flows spend the same division's minute limit: a 429 waits for the minute's reset
        response = httpx.get(
            f"{world.exact_url}/api/v1/{DIVISION}/salesorder/SalesOrders",
            params={
                "$filter": f"OrderID eq guid'{order_id}'",
                "$select": "OrderID,OrderNumber,Description,AmountFC,AmountFCExclVat",
            },
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=10,
        )
        if response.status_code != 429:
            break
        reset_ms = float(response.headers.get("X-RateLimit-Minutely-Reset", (time.time() + 5) * 1000))
        time.sleep(min(max(reset_ms / 1000 - time.time(), 0.5), 61.0))
    response.raise_for_status()
    rows = response.json()["d"]
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    assert len(rows) == 1, rows
    row: dict[str, Any] = rows[0]
    return row


def test_a_person_sets_up_a_fresh_installation_to_the_first_order(person: Browser, fresh_demo: DemoWorld) -> None:
    page = person
    page.sign_in(fresh_demo.admin_token)

    # A fresh installation: the overview offers the setup.
    page.wait_text("Set up this administration")
    page.screenshots("setup-0-overview")
    page.click(page.link("Start the setup"))

    # 1. Exact: connect, then choose the division; nothing is chosen for the person.
    page.wait_text("1. Connect Exact Online")
    page.wait_text("paused while you set it up")
    page.click(page.button("Connect Exact Online"))
    page.wait_text("Exact Online is connected. Choose the division")
    division = Select(page.field("Exact division"))
    assert division.first_selected_option.get_attribute("value") == ""
    options = [o.text for o in division.options]
    assert any(o.startswith(f"{DIVISION} - ") and "last opened in Exact" in o for o in options), options
    assert any(o.startswith("7654321 - ") for o in options), options
    page.screenshots("setup-1-exact")
    division.select_by_value(str(DIVISION))
    page.click(page.button("Use this division"))

    # 2. eAccounting: the usual first-connection refusal is explained, then fixed and checked again.
    page.wait_text(f"Exact division {DIVISION} chosen")
    httpx.post(f"{fresh_demo.ea_url}/_sim/settings", json={"access_problem": "api_module"}, timeout=10)
    page.click(page.button("Connect eAccounting"))
    page.wait_text("eAccounting refuses the company")
    page.wait_text("Apps and extensions")
    page.screenshots("setup-2-eaccounting-refused")
    httpx.post(f"{fresh_demo.ea_url}/_sim/settings", json={"clear_access_problem": True}, timeout=10)
    page.click(page.button("Check again"))
    page.wait_text(re.compile(r"eAccounting company .+ is connected"))

    # 3. Flows: the safe defaults are ticked, each explained.
    page.wait_text("3. Choose the flows")
    assert page.field("orders").is_selected() and not page.field("customers_to_exact").is_selected()
    assert "Safe default" in page.text()
    page.screenshots("setup-3-flows")
    page.click(page.button("Save flows"))

    # 4. Reference tables from both systems: unmapped values listed, one mapped by the person.
    page.wait_text("4. Reference tables")
    page.wait_text("Unmapped: no Exact shipping method is sent for it")
    assert "Exact VAT code" in page.text()
    method = Select(page.field("PostNL Pakket (PNP)"))
    method.select_by_index(1)
    chosen_method = method.first_selected_option.get_attribute("value")
    page.screenshots("setup-4-tables")
    page.click(page.button("Save reference tables"))

    # 5. Dry run: the three most recent orders, source and what would be sent side by side.
    page.wait_text("Reference tables saved")
    page.wait_text("5. Dry run")
    runs = page.driver.find_elements(By.CSS_SELECTOR, "article.dry-run")
    assert len(runs) == 3, page.text()[:2000]
    for run in runs:
        assert "eAccounting (source)" in run.text and "Exact (would be sent)" in run.text
    page.screenshots("setup-5-dry-run")
    page.click(page.button("Looks right, continue"))

    # 6. Enable from a start date, the back-fill previewed first.
    page.wait_text("6. Enable")
    start = (datetime.now(UTC).date() - timedelta(days=60)).isoformat()
    page.driver.execute_script("arguments[0].value = arguments[1];", page.field("Start date"), start)
    page.click(page.button("Preview the back-fill"))
    preview = page.wait_text(re.compile(r"\d+ orders? dated from .*: \d+ to transfer, 0 already in Exact"))
    assert "to transfer" in preview
    page.screenshots("setup-6-enable")
    page.click(page.button(f"Enable from {start}"))
    page.wait_text("Setup finished")
    page.wait_text("Enabled. Orders dated from")

    # The first order arrives; its record says it was created.
    page.click(page.link("Open the activity"))
    page.wait_reloading(re.compile(r"order 10\d\d - .+"), seconds=180)
    page.screenshots("setup-7-first-orders")

    # In the Exact simulator: the sales order with eAccounting's net and VAT to the cent.
    headers = {"Authorization": f"Bearer {fresh_demo.admin_token}"}
    entries: list[dict[str, Any]] = []

    def created() -> list[dict[str, Any]] | None:
        answer = httpx.get(
            f"{fresh_demo.url}/logs", params={"flow": "orders", "outcome": "created"}, headers=headers, timeout=10
        )
        found = [e for e in answer.json()["items"] if e.get("target_id")]
        return found or None

    entries = page.until(created, "an order created in Exact", 180)
    entry = entries[-1]
    source = entry["source_payload"]
    exact = _exact_order(fresh_demo, entry["target_id"])
    net, vat = Decimal(str(source["Amount"])), Decimal(str(source["VatAmount"]))
    rounding = Decimal(str(source.get("RoundingsAmount") or 0))
    assert Decimal(str(exact["AmountFCExclVat"])) == net + rounding
    assert Decimal(str(exact["AmountFC"])) == net + rounding + vat
    assert exact["Description"] == f"eAccounting order {source['Number']}"
    assert chosen_method
