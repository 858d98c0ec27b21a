"""GET /logs, /logs/{id}, /dead-letters and /metrics through an app whose lifespan sets state like app.main's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.activity import ActivityLog, DeadLetters
from app.main import connect_redis
from app.metrics import Metrics
from app.routes import logs, metrics
from app.scope import Process
from app.settings import DEMO_ADMIN_TOKEN, Settings
from app.state import AppState
from connectors.keys import Keys
from tests.engine.flowkit import ECHO
from tests.engine_activity.conftest import make_entry
from tests.engine_activity.promparse import parse

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}


def build_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AppState]:
        redis = connect_redis(settings)
        # The flows the entries below name: a flow filter must name a flow of the link (GET /flows).
        process = Process(settings, redis, {name: replace(ECHO, name=name) for name in ("customers", "invoices")})
        try:
            yield AppState(settings=settings, redis=redis, keys=process.keys, process=process)
        finally:
            await process.aclose()
            await redis.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(logs.router)
    app.include_router(metrics.router)
    return app


@pytest.fixture
def client(settings: Settings, redis: Any) -> Iterator[TestClient]:
    with TestClient(build_app(settings)) as c:
        yield c


def activity(redis: Any, settings: Settings) -> ActivityLog:
    return ActivityLog(
        redis, Keys.of(settings).for_link("default"), retention_seconds=settings.retention.activity_log_days * 86400
    )


@pytest.mark.parametrize("path", ["/logs", "/logs/0000000000001-ab", "/dead-letters", "/metrics"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
async def test_admin_token_required(client: TestClient, path: str, headers: dict[str, str]) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_list_filter_page_and_get(client: TestClient, redis: Any, settings: Settings) -> None:
    log = activity(redis, settings)
    ids = []
    for i in range(5):
        outcome = "failed" if i % 2 else "created"
        ids.append(await log.add(make_entry(flow="customers", source_id=f"acc-{i}", outcome=outcome)))
    await log.add(make_entry(flow="invoices", source_id="inv-1"))

    page = client.get("/logs", params={"flow": "customers", "limit": 2}, headers=AUTH).json()
    assert len(page["items"]) == 2 and page["next"] == page["items"][-1]["id"]
    seen = [e["id"] for e in page["items"]]
    while page["next"]:
        page = client.get("/logs", params={"flow": "customers", "limit": 2, "before": page["next"]}, headers=AUTH)
        page = page.json()
        seen += [e["id"] for e in page["items"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 5

    failed = client.get("/logs", params={"flow": "customers", "outcome": "failed"}, headers=AUTH).json()
    assert sorted(e["source_id"] for e in failed["items"]) == ["acc-1", "acc-3"]
    by_source = client.get("/logs", params={"source_id": "acc-2"}, headers=AUTH).json()
    assert [e["id"] for e in by_source["items"]] == [ids[2]]
    future = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    assert client.get("/logs", params={"since": future}, headers=AUTH).json() == {"items": [], "next": None}

    one = client.get(f"/logs/{ids[0]}", headers=AUTH)
    assert one.status_code == 200
    assert one.json()["source_id"] == "acc-0" and one.json()["source_payload"] == {"Name": "Acme BV"}
    assert client.get("/logs/0000000000001-ab", headers=AUTH).status_code == 404
    assert client.get("/logs/not-an-id", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"before": "junk"}, {"since": "yesterday"}, {"outcome": "exploded"}],
)
async def test_bad_query_is_422(client: TestClient, params: dict[str, Any]) -> None:
    assert client.get("/logs", params=params, headers=AUTH).status_code == 422


async def test_dead_letters_route(client: TestClient, redis: Any, settings: Settings) -> None:
    dead = DeadLetters(redis, Keys.of(settings).for_link("default"))
    await dead.add("customers", "acc-1", log_id="l1", error={"message": "boom"}, trigger="poll")
    await dead.add("invoices", "inv-1", log_id="l2", error={"message": "bad"}, trigger="webhook")
    everything = client.get("/dead-letters", headers=AUTH).json()["items"]
    assert sorted((d["flow"], d["source_id"]) for d in everything) == [("customers", "acc-1"), ("invoices", "inv-1")]
    only = client.get("/dead-letters", params={"flow": "invoices"}, headers=AUTH).json()["items"]
    assert [(d["source_id"], d["log_id"], d["error"]) for d in only] == [("inv-1", "l2", {"message": "bad"})]


async def test_metrics_route(client: TestClient, redis: Any, settings: Settings) -> None:
    keys = Keys.of(settings).for_link("default")
    await Metrics(redis, keys).job_finished("customers", "created", 0.2)
    await DeadLetters(redis, keys).add("invoices", "inv-1", log_id="l", error={}, trigger="poll")
    await redis.zadd(settings.redis.queue_name, {"job-a": 1, "job-b": 2, "job-c": 3})

    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples, _, _ = parse(response.text)
    assert ("ledgerbridge_queue_depth", {}, 3.0) in samples
    assert ("ledgerbridge_dead_letters", {"link": "default", "flow": "invoices"}, 1.0) in samples
    assert ("ledgerbridge_jobs_total", {"link": "default", "flow": "customers", "outcome": "created"}, 1.0) in samples
