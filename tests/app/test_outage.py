"""Redis goes away and comes back (SIGKILL and restart of a Redis with AOF): the worker stays up and resumes on its
own, the API answers 503 with Retry-After meanwhile (webhooks included, so Exact retries), and /health/ready says
why."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from app.main import create_app
from app.redis import connect_redis
from app.settings import Settings
from app.worker import build_worker
from sandbox.exact.webhooks import build_body
from tests.chaos.procs import RedisProcess

WEBHOOK_SECRET = "demo-exact-webhook-secret"


def _webhook(key: str) -> bytes:
    content = {
        "Topic": "Items",
        "ClientId": "00000000-0000-4000-8000-00000000e1a1",
        "Division": 1234567,
        "Action": "Update",
        "Key": key,
        "ExactOnlineEndpoint": f"/api/v1/1234567/logistics/Items(guid'{key}')",
        "EventCreatedOn": "/Date(1700000000000)/",
    }
    return build_body(content, WEBHOOK_SECRET)


async def test_worker_and_api_ride_out_a_redis_kill_and_restart(
    settings: Settings, redis_process: RedisProcess
) -> None:
    cfg = settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": redis_process.url})})
    redis = connect_redis(cfg)
    worker = build_worker(cfg, configure_logs=False, handle_signals=False, cron=False)
    running = asyncio.create_task(worker.async_run())
    try:
        job = await redis.enqueue_job("ping", "before", _queue_name=cfg.redis.queue_name)
        assert job is not None
        assert await job.result(timeout=20) == "before"

        redis_process.kill()
        await asyncio.sleep(2.0)  # the worker's loop meets the outage several times
        assert not running.done(), running.exception() if running.done() else None

        with TestClient(create_app(cfg, configure_logs=False)) as client:
            hook = client.post(
                "/webhooks/exact",
                content=_webhook("11111111-1111-4111-8111-111111111111"),
                headers={"Content-Type": "application/json"},
            )
            ready = client.get("/health/ready")
            logs = client.get("/logs", headers={"Authorization": "Bearer demo-admin-token"})
        assert hook.status_code == 503, hook.text
        assert int(hook.headers["Retry-After"]) > 0
        assert "Redis" in hook.json()["detail"]
        assert logs.status_code == 503
        assert ready.status_code == 503
        assert int(ready.headers["Retry-After"]) > 0
        assert "redis" in ready.json()["failing"]
        assert ready.json()["checks"]["redis"].startswith("unreachable: ConnectionError")

        redis_process.start()  # same port, same AOF
        job = await redis.enqueue_job("ping", "after", _queue_name=cfg.redis.queue_name)
        assert job is not None
        assert await job.result(timeout=30) == "after"
        assert not running.done()
        assert worker.outages >= 1
        assert worker.outage_since is None  # it noticed Redis was back
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
        await redis.aclose()
