"""The console's "done when": from the console alone, a person who ran `make run` sees both systems connected,
watches orders arrive, finds why order 1007 failed, fixes it in the Exact simulator, retries it and sees it succeed.

This module's name sorts before the other browser tests', so the story runs on the fresh demo, as that person's does.
"""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By

from tests.browser.harness import Browser, DemoWorld

ORDER_1007 = "order 1007 - Brasserie Le Sablon SRL"


def _row(page: Browser, label: str, outcome: str) -> object:
    for row in page.driver.find_elements(By.CSS_SELECTOR, "li.row"):
        head = row.find_element(By.CSS_SELECTOR, ".row-head").text
        if label in head and outcome in head:
            return row
    return None


def test_a_person_fixes_order_1007_from_the_console_alone(page: Browser, demo: DemoWorld) -> None:
    # Signing in: the console asks for the admin token first.
    page.open("/")
    page.wait_text("Admin token")
    page.fill("Admin token", demo.admin_token)
    page.click(page.button("Sign in"))

    # Both systems connected, in words.
    page.wait_text(re.compile(r"connected to Exact division 1234567 - \S+"), within=".conn.ok")
    page.wait_text("connected to eAccounting")
    assert "refresh token unused for" in page.text()
    page.screenshots("story-1-overview")

    # Orders arrive: the activity log names them as people know them.
    page.click(page.link("Activity"))
    page.wait_reloading(re.compile(r"order 10\d\d - .+"))
    page.screenshots("story-2-activity")

    # Why did order 1007 fail? Filter the failures of the orders flow.
    page.field("Flow").send_keys("orders")
    page.field("Outcome").send_keys("failed")
    page.click(page.button("Show"))
    page.until(lambda: "outcome=failed" in page.path, "the filtered page")
    # The page does not redraw under the reader: like a person, reload until order 1007 has run (a slow machine
    # may show the first orders before it).
    page.wait_reloading(ORDER_1007, seconds=180)
    page.wait_text("SKU SKU-9999 does not exist in Exact")
    page.wait_text("SKU SKU-9999 is not an Exact item")
    row = page.until(lambda: _row(page, ORDER_1007, "failed"), "order 1007's failed row")

    # Details open in place, source and target side by side, with the API calls made.
    page.click(row.find_element(By.TAG_NAME, "summary"))  # type: ignore[attr-defined]
    details = row.find_element(By.TAG_NAME, "details")  # type: ignore[attr-defined]
    page.until(lambda: "API calls" in details.text, "the details to open in place")
    assert "eaccounting (source)" in details.text and "exact (sent)" in details.text
    page.screenshots("story-3-failure-details")

    # The problems page says what to do, and in the demo links to the simulator's item form.
    page.click(page.link("Problems"))
    page.wait_text("SKU SKU-9999 is not an Exact item: create it in Exact")
    page.screenshots("story-4-problems")
    page.click(page.link("Create SKU-9999 in the Exact simulator"))
    page.wait_text("New item")
    assert page.field("Item code").get_attribute("value") == "SKU-9999"
    page.fill("Description", "Limited edition grinder")
    page.fill("Sales price (excl. VAT)", "129.00")
    page.click(page.button("Create item"))
    page.wait_text("Item SKU-9999 created")
    page.screenshots("story-5-exact-simulator")
    page.click(page.link("Back to ledgerbridge"))
    page.wait_text("Records that need you")

    # Retry from the activity log: the row says what happened, in place.
    page.open("/console/activity?flow=orders&outcome=failed&q=1007")
    row = page.until(lambda: _row(page, ORDER_1007, "failed"), "order 1007's failed row")
    page.click(page.button(f"Retry {ORDER_1007}", within=row))  # type: ignore[arg-type]
    page.until(lambda: "Succeeded: created" in row.text, "the retry's result in the row", 180)  # type: ignore[attr-defined]
    page.screenshots("story-6-retried")

    # Afterwards the failed run shows the later success instead of a Retry button, and nothing is left to fix.
    page.open("/console/activity?q=1007")
    page.wait_text("Later succeeded")
    failed = page.until(lambda: _row(page, ORDER_1007, "failed"), "the old failed row")
    assert "Later succeeded" in failed.text  # type: ignore[attr-defined]
    assert not [b for b in failed.find_elements(By.TAG_NAME, "button") if b.is_displayed()]  # type: ignore[attr-defined]
    assert _row(page, ORDER_1007, "created") is not None
    page.open("/console/problems")
    page.wait_text("Nothing to fix")
