"""Recorded-requests contract tests: every request our two clients sent at the wire during the flow and connector
suites names only endpoints, query fields and body fields the vendors' own descriptions list.

The requests come from the session's wire log (tests/contract/wirelog.py): these tests run last, so under `make test`
they see what every other test sent. When the session did not run all the flow and connector suites (a subset was
asked for), they run those suites in a child pytest first and check what it sent. Nothing here reads our models or
the simulators' tables: the references are the vendors' files (tests/contract/exact.py, tests/contract/eaccounting.py).
Tests that make a client send something unlisted on purpose carry `@pytest.mark.wire_unchecked` and are left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from tests.contract.eaccounting import Contract
from tests.contract.exact import ExactReference, filter_properties
from tests.contract.wirelog import LOG_VARIABLE, Entry, WireLog, suites_covered, wire_log

ROOT = Path(__file__).resolve().parents[2]
SUITES = ("flows_*", "connectors_*")
_IDS = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    """The session's requests if it ran every flow and connector suite; else those of a child run of them."""
    log = wire_log()
    missing = suites_covered(log.collected, ROOT, SUITES)
    if not missing:
        return log.entries
    target = tmp_path_factory.mktemp("wire") / "requests.jsonl"
    suites = sorted({str(p.relative_to(ROOT)) for pattern in SUITES for p in ROOT.glob(f"tests/{pattern}")})
    env = {**os.environ, LOG_VARIABLE: str(target)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *suites, "-q", "-x", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"the flow and connector suites failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    return WireLog.load(target)


def _report(problems: dict[str, list[str]]) -> str:
    lines = [f"{len(problems)} distinct problem(s):"]
    for problem, tests in sorted(problems.items()):
        lines.append(f"- {problem}  ({len(tests)}x, e.g. {tests[0]})")
    return "\n".join(lines)


def _check(entries: list[Entry], api: str, problems_of: object) -> tuple[int, dict[str, list[str]], set[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    checked = 0
    paths: set[str] = set()
    for entry in entries:
        if entry.api != api or entry.exempt:
            continue
        checked += 1
        request = entry.request()
        paths.add(f"{request.method} {request.url.path}")
        for problem in problems_of(request):  # type: ignore[operator]
            found[_IDS.sub("{id}", problem)].append(entry.test)
    return checked, found, paths


def test_every_exact_request_names_only_endpoints_and_fields_of_the_reference(entries: list[Entry]) -> None:
    reference = ExactReference()
    checked, problems, _ = _check(entries, "exact", reference.problems)
    assert checked > 500, f"only {checked} Exact requests were recorded: is the wire log wired in?"
    assert not problems, _report(problems)


def test_every_eaccounting_request_conforms_to_the_2020_description(entries: list[Entry]) -> None:
    contract = Contract(base_path="")
    checked, problems, _ = _check(entries, "eaccounting", lambda r: contract.problems(_local(r)))
    assert checked > 500, f"only {checked} eAccounting requests were recorded: is the wire log wired in?"
    assert not problems, _report(problems)


def _local(request: httpx.Request) -> httpx.Request:
    """The request with its path cut to `/v2/…` (the API base URL may carry a prefix)."""
    path = request.url.path
    at = path.find("/v2/")
    return (
        request
        if at <= 0
        else httpx.Request(request.method, request.url.copy_with(path=path[at:]), content=request.content)
    )


# -- the checkers themselves must be able to fail -----------------------------------------------------------------


def _exact(method: str, resource: str, params: dict[str, str] | None = None, json: object = None) -> httpx.Request:
    return httpx.Request(method, f"https://start.exactonline.nl/api/v1/123/{resource}", params=params, json=json)


def test_the_exact_checker_refuses_what_the_reference_does_not_list() -> None:
    ref = ExactReference()
    guid = "guid'3fa85f64-5717-4562-b3fc-2c963f66afa6'"
    assert ref.problems(_exact("GET", "crm/Accounts", {"$select": "ID,Name,Email", "$filter": "Email eq 'a'"})) == []
    assert ref.problems(httpx.Request("GET", "https://start.exactonline.nl/api/v1/current/Me")) == []
    assert ref.problems(_exact("GET", f"salesorder/SalesOrders({guid})", {"$expand": "SalesOrderLines"})) == []
    assert ref.problems(_exact("GET", "crm/Accounts/$count", {"$filter": "Blocked eq false"})) == []
    good_order = {"OrderedBy": "x", "SalesOrderLines": [{"Item": "y", "Quantity": 1, "CostCenter": "100"}]}
    assert ref.problems(_exact("POST", "salesorder/SalesOrders", json=good_order)) == []
    # An endpoint the reference does not have; bulk/Logistics/Items is picqer's subclass the file does not list.
    assert ref.problems(_exact("GET", "crm/Acounts"))
    assert ref.problems(_exact("GET", "bulk/Logistics/Items", {"$select": "ID"}))
    # Fields that exist elsewhere but not on this endpoint.
    assert any("IsPurchase" in p for p in ref.problems(_exact("GET", "crm/Accounts", {"$select": "ID,IsPurchase"})))
    assert any(
        "CurrentStock" in p
        for p in ref.problems(_exact("GET", "sync/Inventory/ItemWarehouses", {"$select": "Timestamp,CurrentStock"}))
    )
    assert ref.problems(_exact("GET", "sync/Inventory/StockPositions", {"$select": "Timestamp,CurrentStock"})) == []
    assert ref.problems(_exact("GET", "logistics/Units", {"$select": "ID,Modified"}))
    assert ref.problems(_exact("GET", "crm/Accounts", {"$filter": f"Costcenter eq {guid}"}))
    assert ref.problems(_exact("GET", "crm/Accounts", {"$orderby": "Modifiedd desc"}))
    assert ref.problems(_exact("GET", "salesorder/SalesOrders", {"$select": "SalesOrderLines/Colour"}))
    assert ref.problems(_exact("POST", "crm/Accounts", json={"Name": "x", "Costcenter": "100"}))
    bad_line = {"OrderedBy": "x", "SalesOrderLines": [{"Item": "y", "Colour": "red"}]}
    assert any("Colour" in p for p in ref.problems(_exact("POST", "salesorder/SalesOrders", json=bad_line)))
    assert ref.problems(_exact("GET", "crm/Accounts", {"sort": "Name"}))
    assert ref.problems(_exact("GET", "read/logistics/StockPosition", {"itemId": guid})) == []


def test_filter_properties_skips_literals_operators_and_functions() -> None:
    text = (
        "(Code eq 'a''b' or trim(Name) eq 'x') and Timestamp gt 12L and ID eq guid'abc' and Modified ge datetime'2026'"
    )
    assert filter_properties(text) == ["Code", "Name", "Timestamp", "ID", "Modified"]
    assert filter_properties("Modified desc, Code") == ["Modified", "Code"]


def test_the_eaccounting_checker_refuses_fields_the_answer_lacks_and_bare_dates() -> None:
    contract = Contract()

    def req(method: str, path: str, params: dict[str, str] | None = None, json: object = None) -> httpx.Request:
        return httpx.Request(method, f"http://eaccounting.test{path}", params=params, json=json)

    assert (
        contract.problems(req("GET", "/v2/articles", {"$filter": "Number eq 'A' and ChangedUtc gt 2026-01-01"})) == []
    )
    assert contract.problems(req("GET", "/v2/articles", {"$filter": "Colour eq 'red'"}))
    assert contract.problems(req("GET", "/v2/articles", {"$orderby": "Colour"}))
    assert contract.problems(req("GET", "/v2/customers", {"$filter": "ModifiedUtc gt 2026-01-01T00:00:00Z"}))
    assert contract.problems(req("GET", "/v2/vatcodes", {"$page": "2"})) == []  # paged since (eaccounting-facts.md)
    body = {"VoucherDate": "2026-03-02", "VoucherText": "x", "Rows": [{"AccountNumber": 1930, "DebitAmount": 1}]}
    assert any("VoucherDate" in p for p in contract.problems(req("POST", "/v2/vouchers", json=body)))
    body["VoucherDate"] = "2026-03-02T00:00:00"
    assert not any("VoucherDate" in p for p in contract.problems(req("POST", "/v2/vouchers", json=body)))
