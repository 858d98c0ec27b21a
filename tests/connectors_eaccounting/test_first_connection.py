"""The usual first-connection failures (community.visma.com knowledge base: "No access to module: api_standard",
"the startup guide has not been completed") reach the operator with what to do: in the activity log entry, the
alert and `GET /connections`; once eAccounting answers again, `/connections` no longer shows the problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from arq.worker import Retry
from structlog.testing import capture_logs

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from connectors.eaccounting.policy import API_MODULE_ACTION, STARTUP_GUIDE_ACTION
from flows.registry import load_flows
from tests.harness import make_world

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}


@pytest.mark.parametrize(
    ("problem", "action"), [("api_module", API_MODULE_ACTION), ("startup_guide", STARTUP_GUIDE_ACTION)]
)
async def test_a_first_connection_failure_says_what_to_do_in_the_log_the_alert_and_connections(
    settings: Settings, redis: ArqRedis, problem: str, action: str
) -> None:
    async with make_world(settings, redis) as world:
        item = str(world.exact_sim.item_by_code("SKU-0001")["ID"]).lower()
        world.ea_sim.access_problem = problem  # type: ignore[assignment]
        with capture_logs() as logs, pytest.raises(Retry):  # a connection problem: retried later
            await world.engine.run_record("stock", item, "manual")
        entries, _ = await world.engine.activity.query(flow="stock", source_id=item)
        assert action in (entries[0].reason or "")
        alerts = [e for e in logs if e["event"] == "alert" and e["kind"] == "connection"]
        assert alerts and action in alerts[0]["alert_message"]

        app = create_app(world.settings, configure_logs=False, flow_definitions=load_flows(), http=world.http)
        async with app.router.lifespan_context(app) as state:

            async def asgi(scope: Any, receive: Any, send: Any) -> None:
                await app({**scope, "state": dict(state or {})}, receive, send)

            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://lb") as api:
                shown = (await api.get("/connections", headers=AUTH)).json()["eaccounting"]
                assert shown["connected"] is True and action in shown["problem"]
                world.ea_sim.access_problem = None  # fixed in eAccounting
                assert await world.engine.run_record("stock", item, "manual") in ("updated", "unchanged")
                assert (await api.get("/connections", headers=AUTH)).json()["eaccounting"]["problem"] is None
