"""The report where users get it: `GET /reconciliation` (admin) and `ledgerbridge reconcile`, both over the real API
app or CLI code with the test world's connections (tokens in Redis, requests routed to the simulators)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx

from app.main import create_app
from app.reconcile_cli import run
from flows.orders import ORDERS
from tests.harness import World
from tests.reconcile.corpus import CASES, PERIOD, place


@asynccontextmanager
async def _api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """The real API app; its process is the world's, whose connectors run on the simulators' clocks."""
    app = create_app(world.settings, configure_logs=False, http=world.http)
    async with app.router.lifespan_context(app) as state:
        app_state = {**dict(state or {}), "process": world.process}

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": app_state}, receive, send)

        token = world.settings.admin.token.get_secret_value() if world.settings.admin.token else ""
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi),
            base_url="https://ledgerbridge.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield client


async def _two_orders_one_transferred(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    done = place(world.ea_sim, CASES[0], 3)
    assert (await world.run(ORDERS, str(done["Id"]))).action == "created"
    return done, place(world.ea_sim, CASES[3], 4)


async def test_api_answers_json_and_csv_and_refuses_a_bad_period(world: World) -> None:
    done, missing = await _two_orders_one_transferred(world)
    params = {"from": PERIOD[0].isoformat(), "to": PERIOD[1].isoformat()}
    async with _api(world) as api:
        body = (await api.get("/reconciliation", params=params)).json()
        assert (body["documents"], body["transferred"], body["findings_by_kind"]) == (2, 1, {"missing": 1})
        assert body["findings"][0]["source_document"] == str(missing["Number"])
        assert {row["side"] for row in body["sums"]} == {"eaccounting", "exact"}
        as_csv = await api.get("/reconciliation", params={**params, "format": "csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert "attachment" in as_csv.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [(r["finding"], r["source_document"]) for r in rows] == [("missing", str(missing["Number"]))]
        backwards = await api.get("/reconciliation", params={"from": "2026-02-01", "to": "2026-01-01"})
        assert backwards.status_code == 422 and "before" in backwards.json()["detail"]
        too_long = await api.get("/reconciliation", params={"from": "2024-01-01", "to": "2026-01-01"})
        assert too_long.status_code == 422
        anonymous = await api.get("/reconciliation", params=params, headers={"Authorization": ""})
        assert anonymous.status_code == 401
    assert str(done["Number"]) not in json.dumps(body["findings"])


def _clients(world: World) -> dict[str, Any]:
    return {"http": world.http, "timing": world.process.timing}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_cli_prints_the_report_with_a_progress_bar_on_a_terminal(world: World) -> None:
    _done, missing = await _two_orders_one_transferred(world)
    out, err = io.StringIO(), _Terminal()
    assert await run(world.settings, *PERIOD, "csv", out, err, **_clients(world)) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["finding"], r["source_document"]) for r in rows] == [("missing", str(missing["Number"]))]
    assert "reconcile [" in err.getvalue() and "2/2 documents" in err.getvalue()
    assert "reconciled 2 documents (1 in Exact)" in err.getvalue()

    quiet, as_json = io.StringIO(), io.StringIO()  # not a terminal: a summary line, no bar
    assert await run(world.settings, *PERIOD, "json", as_json, quiet, **_clients(world)) == 0
    assert json.loads(as_json.getvalue())["findings_by_kind"] == {"missing": 1}
    assert "reconcile [" not in quiet.getvalue()

    refused = io.StringIO()
    assert await run(world.settings, date(2026, 2, 1), date(2026, 1, 1), "csv", io.StringIO(), refused) == 2
    assert "'to' is before 'from'" in refused.getvalue()
