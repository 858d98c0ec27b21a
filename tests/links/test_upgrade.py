"""Upgrading an installation from before links: a Redis the single-administration code wrote (legacy_v1.json)
becomes link `default`, keeping its cross-references, cursors, configs, activity log, dead letters and tokens."""

from __future__ import annotations

import json
from typing import Any

import httpx
from arq.connections import ArqRedis
from redis.asyncio import Redis

from app.activity import ActivityLog
from app.scope import Process
from app.settings import Settings
from app.upgrade import SCHEMA, Legacy, upgrade
from app.worker import build_worker
from app.xref import text_of
from connectors.keys import DEFAULT_LINK, Keys
from flows.registry import load_flows
from flows.stock_index import StockState
from tests.links.legacy import Loaded, load_legacy


def _text(row: dict[str, Any]) -> str:
    return str(row["value"]["text"])


async def _upgraded(settings: Settings, redis: ArqRedis) -> tuple[Loaded, Process]:
    loaded = await load_legacy(redis, settings.redis.key_prefix)
    assert await upgrade(redis, settings, legacy=Legacy(queue=loaded.queue, arq_prefix=loaded.arq_prefix))
    process = Process(settings, redis, load_flows(), http=httpx.AsyncClient())
    await process.ready()
    return loaded, process


async def test_a_single_link_installation_becomes_link_default_with_all_its_data(
    settings: Settings, redis: ArqRedis
) -> None:
    loaded, process = await _upgraded(settings, redis)
    try:
        links = await process.links()
        assert [link.id for link in links] == [DEFAULT_LINK]
        assert links[0].exact_connection == links[0].eaccounting_connection == "default"
        engine = process.engine(links[0])

        orders = await engine.configs.get("orders")
        assert orders.config.enabled and orders.options.statuses == [2]
        assert not (await engine.configs.get("customers_to_exact")).config.enabled

        cursors = loaded.keys("cursor:")
        assert len(cursors) == 5
        for row in cursors:
            flow = row["key"].removeprefix("lb:cursor:")
            assert text_of(await redis.get(engine.keys.cursor(flow))) == _text(row)

        links_checked = 0
        for row in loaded.keys("xref:"):
            if not row["key"].endswith(":s2t"):
                continue
            kind = row["key"].removeprefix("lb:xref:").removesuffix(":s2t")
            for source_id, cell in row["value"].items():
                assert await engine.xref.target(kind, source_id) == cell["text"]
                links_checked += 1
        assert links_checked >= 40  # articles, customers, orders, deliveries

        entries = len(loaded.keys("log:e:"))
        log = ActivityLog(redis, engine.keys, retention_seconds=14 * 86400, clock=lambda: loaded.generated_at + 60)
        page, _ = await log.query(limit=500)
        assert len(page) == entries > 50
        assert {e.flow for e in page} >= {"orders", "products", "stock", "shipments"}

        dead = await engine.dead_letters.list("orders")
        assert len(dead) == 1 and "SKU-9999" in dead[0].error["message"]
        assert await StockState(redis, engine.keys).has_index()
        assert await redis.exists(engine.keys.flow_state("shipments", "so_by_number"))
        metrics = await engine.metrics.render(queue_depth=None, dead_letters={})
        assert 'ledgerbridge_jobs_total{link="default",flow="orders",outcome="created"}' in metrics

        # Connections were the installation's and stay so: both still connected, with the tokens of then.
        status = await engine.eaccounting.auth_status()
        assert status["connected"] is True
        assert (await engine.exact.auth_status())["connected"] is True

        # Nothing is left in the old layout; installation-wide keys kept their names.
        prefix = settings.redis.key_prefix
        left = [k.decode() async for k in redis.scan_iter(match=f"{prefix}:*")]
        assert not [k for k in left if Keys.legacy_link_key(prefix, k)]
        assert [k for k in left if k.startswith(f"{prefix}:webhook:seen:")]
        assert text_of(await redis.get(Keys(prefix).schema)) == str(SCHEMA)
    finally:
        await process.aclose()


async def test_the_upgrade_runs_once_and_a_second_start_finds_it_done(settings: Settings, redis: ArqRedis) -> None:
    loaded, process = await _upgraded(settings, redis)
    await process.aclose()
    assert await upgrade(redis, settings) is None
    engine = await Process(settings, redis, load_flows(), http=httpx.AsyncClient()).engine_of(DEFAULT_LINK)
    assert engine is not None
    assert len(await engine.dead_letters.list()) == 1
    assert loaded.keys("flowcfg:")


async def test_a_fresh_installation_starts_with_link_default_on_exact_division(
    settings: Settings, redis: ArqRedis
) -> None:
    exact = settings.exact.model_copy(update={"division": 7654321})
    configured = settings.model_copy(update={"exact": exact})
    report = await upgrade(redis, configured)
    assert report is not None and report.moved_keys == 0 and report.links == [DEFAULT_LINK]
    process = Process(configured, redis, load_flows(), http=httpx.AsyncClient())
    link = await process.link(DEFAULT_LINK)
    assert link is not None and link.division == 7654321
    stored = json.loads(text_of(await redis.hget(Keys.of(configured).links, DEFAULT_LINK)) or "{}")
    assert stored["division"] == 7654321
    await process.aclose()


async def test_a_job_queued_before_the_upgrade_runs_after_it_as_link_default(
    settings: Settings, redis: ArqRedis
) -> None:
    loaded, process = await _upgraded(settings, redis)
    await process.aclose()
    queued = next(row for row in loaded.document["keys"] if row["key"] == loaded.document["queue"])
    ((job_id, _),) = queued["value"]
    job_id = settings.redis.key_prefix + job_id.removeprefix("lb")
    record = job_id.rsplit(":", 1)[1]
    # The job and its arq data moved to the current queue and under the prefix; the old queue is empty.
    assert await redis.zrange(settings.redis.queue_name, 0, -1) == [job_id.encode()]
    assert await redis.zcard(loaded.queue) == 0
    raw = Redis(connection_pool=redis.connection_pool)
    assert await raw.exists(Keys.of(settings).arq_job(job_id))

    # No network here: both systems answer 404, so the run ends quickly; what matters is that it ran, as default.
    offline = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(404, json={})))
    worker = build_worker(settings, burst=True, configure_logs=False, flows=load_flows(), http=offline, cron=False)
    await worker.async_run()
    await worker.close()
    await offline.aclose()
    engine = await Process(settings, redis, load_flows(), http=httpx.AsyncClient()).engine_of(DEFAULT_LINK)
    assert engine is not None
    entries, _ = await engine.activity.query(source_id=record)
    assert [(e.flow, e.trigger) for e in entries] == [("orders", "manual")]
    assert await redis.zcard(settings.redis.queue_name) == 0
