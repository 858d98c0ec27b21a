"""The mapping editor, in Chromium on the demo: a person edits the orders mapping, sees the dry run change (and a
typo refused), saves, and the next order carries the change; then resets to the shipped default."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.harness import Browser, DemoWorld

EDIT = '{"fields": {"YourRef": {"source": "Number", "transforms": ["to_str", {"prefix": "WEB-"}]}}}'
TYPO = '{"fields": {"YuorRef": {"const": "x"}}}'


def _payload_text(page: Browser) -> str:
    return str(page.driver.find_element(By.ID, "dry-payload").text)


def _type(page: Browser, text: str) -> None:
    box = page.field("Changes (JSON)")
    box.clear()
    box.send_keys(text)


def _transferred(demo: DemoWorld, order_id: str, seconds: float = 240) -> dict[str, Any]:
    """The activity entry of the order's successful run, once the worker has run it."""
    auth = {"Authorization": f"Bearer {demo.admin_token}"}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entries = httpx.get(f"{demo.url}/logs", params={"flow": "orders", "source_id": order_id}, headers=auth).json()
        done = [e for e in entries["items"] if e["outcome"] in ("created", "failed")]
        if done:
            return dict(done[0])
        time.sleep(1)
    raise AssertionError(f"order {order_id} was not transferred within {seconds} s")


def _dry_run_shows(page: Browser, text: str, *, click: bool = True, seconds: float = 180) -> None:
    """Dry-run until the result shows `text`. In the demo the worker keeps the Exact division's 60 calls a minute
    busy; a dry run that finds the minute spent says so ("rate budget exhausted"), and a person tries again."""
    deadline = time.monotonic() + seconds
    while True:
        if click:
            page.click(page.button("Dry run"))
        click = True

        def answered() -> str | None:
            result = page.text(page.driver.find_element(By.ID, "mapping-result"))
            busy = "busy" in (page.driver.find_element(By.ID, "mapping-result").get_attribute("class") or "")
            if busy:
                return None
            if text in result:
                return "shown"
            return "retry" if "Could not read from exact" in result else None

        if page.until(answered, f"{text!r} or a spent rate budget in the dry run") == "shown":
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the dry run did not show {text!r} within {seconds} s")
        time.sleep(5)


def _first_created(demo: DemoWorld, seconds: float = 180) -> None:
    auth = {"Authorization": f"Bearer {demo.admin_token}"}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        query = {"flow": "orders", "outcome": "created", "limit": 1}
        if httpx.get(f"{demo.url}/logs", params=query, headers=auth).json()["items"]:
            return
        time.sleep(1)
    raise AssertionError("the demo transferred no order")


def test_edit_the_orders_mapping_see_the_dry_run_change_save_and_the_next_order_carries_it(
    signed_in: Browser, demo: DemoWorld
) -> None:
    page = signed_in
    _first_created(demo)  # the demo's first orders have run (a fresh demo takes a poll or two)
    page.open("/console/flows/orders")
    page.click(page.link("edit the orders mapping"))
    page.wait_text("Your changes")
    page.wait_text("Saved changes against the shipped default")

    # A recent order that went through, dry-run with the shipped default first.
    choices = Select(page.field("Dry run on"))
    created = next(o for o in choices.options if "(created)" in o.text)
    number = re.search(r"order (\d+)", created.text)
    assert number is not None, created.text
    choices.select_by_visible_text(created.text)
    _dry_run_shows(page, "Would send")  # answered in place
    before = _payload_text(page)
    assert f"WEB-{number.group(1)}" not in before
    assert "SalesOrderLines" in before

    # A typo in a target field is refused, naming the field and the real one.
    _type(page, TYPO)
    page.wait_text("has no field 'YuorRef' (did you mean 'YourRef'?)", within="#mapping-result")
    page.forget_errors("422")  # the refusal is the point

    # The edit: the dry run follows as the text changes.
    _type(page, EDIT)  # the dry run follows the text by itself (asked for again while Exact's minute is spent)
    _dry_run_shows(page, f'"YourRef": "WEB-{number.group(1)}"', click=False)
    page.wait_text("Valid: the mapping compiles", within="#mapping-result")
    assert "YourRef" in page.text(page.driver.find_element(By.CSS_SELECTOR, "#mapping-result table.diff"))
    page.screenshots("mapping-editor-dry-run")

    # Save: the next order carries the change.
    page.click(page.button("Save mapping"))
    page.wait_text("Mapping orders_to_exact_sales_order saved: the next records use it.")
    page.wait_text("changed", within="table.diff")
    new = httpx.post(
        f"{demo.ea_url}/_sim/orders",
        json={"customer_number": "1009", "rows": [{"article_number": "SKU-0002", "quantity": 2}]},
    )
    new.raise_for_status()
    order = new.json()
    # Run it now (a poll's records are paced on the division's rate budget, which the pages before spent).
    httpx.post(
        f"{demo.url}/flows/orders/run",
        json={"record_id": order["Id"]},
        headers={"Authorization": f"Bearer {demo.admin_token}"},
    ).raise_for_status()
    entry = _transferred(demo, order["Id"])
    assert entry["outcome"] == "created", entry
    assert entry["target_payload"]["YourRef"] == f"WEB-{order['Number']}"
    page.open(f"/console/activity?flow=orders&q={order['Number']}")
    page.wait_text(f"order {order['Number']}")
    page.click(page.driver.find_element(By.CSS_SELECTOR, "li.row details summary"))
    page.wait_text(f"WEB-{order['Number']}")

    # Reset to the shipped default.
    page.open("/console/flows/orders/mapping")
    page.click(page.button("Reset to the shipped default"))
    page.wait_text("Mapping orders_to_exact_sales_order is the shipped default again.")
    page.wait_text("None: the shipped default as it is.")
    page.screenshots("mapping-editor")
