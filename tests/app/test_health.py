from __future__ import annotations

import asyncio

from arq.connections import ArqRedis
from fastapi.testclient import TestClient

from app.devredis import start_local_redis
from app.main import create_app
from app.settings import Settings
from app.worker import build_worker
from connectors.keys import Keys


def test_live_answers_even_when_redis_is_unreachable() -> None:
    settings = Settings(_env_file=None, demo=True, redis={"url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(settings, configure_logs=False)) as client:
        assert client.get("/health/live").json() == {"status": "ok"}
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["redis", "worker"]


async def test_ready_503_without_worker_heartbeat(settings: Settings, redis: ArqRedis) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["worker"]
    assert body["checks"] == {"redis": "ok", "worker": "no heartbeat seen"}


async def test_ready_503_with_stale_heartbeat(settings: Settings, redis: ArqRedis) -> None:
    await redis.set(Keys(settings.redis.key_prefix).worker_heartbeat, "1000.0")
    with TestClient(create_app(settings, configure_logs=False)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert "old" in response.json()["checks"]["worker"]


async def test_ready_200_with_running_worker_and_ping_job(settings: Settings, redis: ArqRedis) -> None:
    worker = build_worker(settings, configure_logs=False, handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    try:
        job = await redis.enqueue_job("ping", "hello", _queue_name=settings.redis.queue_name)
        assert job is not None
        assert await job.result(timeout=10) == "hello"
        assert await redis.get(Keys(settings.redis.key_prefix).worker_heartbeat) is not None
        with TestClient(create_app(settings, configure_logs=False)) as client:
            response = client.get("/health/ready")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "checks": {"redis": "ok", "worker": "ok"}, "failing": []}
    finally:
        await worker.close()
        task.cancel()


def test_ready_503_when_redis_goes_down(settings: Settings) -> None:
    local = start_local_redis()
    cfg = settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": local.url})})
    try:
        with TestClient(create_app(cfg, configure_logs=False)) as client:
            assert client.get("/health/ready").json()["checks"]["redis"] == "ok"
            local.stop()
            response = client.get("/health/ready")
    finally:
        local.stop()
    assert response.status_code == 503
    assert "redis" in response.json()["failing"]
    assert response.json()["checks"]["redis"].startswith("unreachable")


def test_request_id_is_echoed(settings: Settings) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        response = client.get("/health/live", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
