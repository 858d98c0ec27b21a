"""The engine's guarantees, end to end through Redis, arq workers and the API (with a flow over Redis hashes)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import httpx

from app.engine import JOB_RUN_RECORD, enqueue_record
from app.settings import Settings
from connectors.keys import Keys
from tests.engine.conftest import Drain, EchoKey

SECRET = "demo-exact-webhook-secret"


async def _source(redis: Any, k: EchoKey, record_id: str, **fields: str) -> None:
    await redis.hset(k(f"src:{record_id}"), mapping=fields)


async def _targets(redis: Any, k: EchoKey) -> list[dict[str, Any]]:
    return [json.loads(await redis.get(found)) async for found in redis.scan_iter(match=k("tgt:t*"))]


def _webhook(key: str, *, topic: str = "Items", created: int = 1) -> bytes:
    content = json.dumps(
        {
            "Topic": topic,
            "ClientId": "00000000-0000-4000-8000-00000000e1a1",
            "Division": 1234567,
            "Action": "Update",
            "Key": key,
            "ExactOnlineEndpoint": f"/api/v1/1234567/logistics/Items(guid'{key}')",
            "EventCreatedOn": f"/Date({created})/",
        },
        separators=(",", ":"),
    )
    digest = hmac.new(SECRET.encode(), content.encode(), hashlib.sha256).hexdigest().upper()
    return ('{"Content":' + content + ',"HashCode":"' + digest + '"}').encode()


async def test_a_record_is_created_once_and_a_rerun_changes_nothing(
    k: EchoKey, engine_settings: Settings, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    await _source(redis, k, "a", value="one")
    assert await enqueue_record(redis, engine_settings, "echo", "a", "manual")
    await drain()
    assert await _targets(redis, k) == [{"source_id": "a", "value": "one"}]
    await enqueue_record(redis, engine_settings, "echo", "a", "manual")
    await drain()
    assert len(await _targets(redis, k)) == 1
    logs = (await api.get("/logs", params={"flow": "echo"})).json()["items"]
    assert [e["outcome"] for e in logs] == ["unchanged", "created"]
    assert logs[1]["source_payload"] == {"id": "a", "value": "one"}
    assert logs[1]["target_payload"] == {"source_id": "a", "value": "one"}


async def test_webhook_delivered_three_times_and_two_workers_racing_make_one_target(
    k: EchoKey, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    key = "6f1c2e8a-0000-4000-8000-000000000001"
    await _source(redis, k, key, value="v")
    body = _webhook(key)
    answers = [await api.post("/webhooks/exact", content=body) for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 200, 200]
    assert answers[1].json()["status"] == "duplicate"
    # Another event for the same record (a new change) collapses into the queued job.
    assert (await api.post("/webhooks/exact", content=_webhook(key, created=2))).status_code == 202
    await drain(workers=2)
    assert await _targets(redis, k) == [{"source_id": key, "value": "v"}]
    assert int(await redis.get(k("writes"))) == 1


async def test_webhook_validation_signature_and_shape(api: httpx.AsyncClient, engine_settings: Settings) -> None:
    assert (await api.post("/webhooks/exact", content=b"")).status_code == 200  # Exact's subscription handshake
    assert (await api.post("/webhooks/exact", content=b"{not json")).status_code == 400
    assert (await api.post("/webhooks/exact", content=b'{"Content": 1}')).status_code == 400
    tampered = _webhook("6f1c2e8a-0000-4000-8000-000000000002").replace(b'"Update"', b'"Delete"')
    assert (await api.post("/webhooks/exact", content=tampered)).status_code == 401
    unknown = await api.post(
        "/webhooks/exact", content=_webhook("6f1c2e8a-0000-4000-8000-000000000003", topic="Quotations")
    )
    assert unknown.status_code == 200 and unknown.json()["status"] == "ignored"
    big = b'{"Content":{"x":"' + b"a" * engine_settings.engine.webhook_max_body_bytes + b'"},"HashCode":"X"}'
    assert (await api.post("/webhooks/exact", content=big)).status_code == 413


async def test_a_crash_between_target_write_and_link_leaves_no_duplicate(
    k: EchoKey, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    await _source(redis, k, "c", value="x")
    await redis.set(k("fail:c"), "crash-after-write:1")
    await api.post("/flows/echo/run", json={"record_id": "c"})
    await drain()
    assert await _targets(redis, k) == [{"source_id": "c", "value": "x"}]
    outcomes = [e["outcome"] for e in (await api.get("/logs", params={"source_id": "c"})).json()["items"]]
    assert outcomes == ["unchanged", "retrying"]


async def test_burst_of_changes_during_a_run_gives_at_most_two_writes_and_the_last_value(
    k: EchoKey, engine_settings: Settings, redis: Any, drain: Drain
) -> None:
    await _source(redis, k, "b", value="0")
    await redis.set(k("hold:b"), "0.2")  # each run takes a while, as one with API calls does
    await enqueue_record(redis, engine_settings, "echo", "b", "webhook")

    async def burst() -> bool:
        # Wait until the run holds the record lock, then change the record 50 times while it runs.
        seen = False
        for _ in range(5000):
            if await redis.exists(Keys.of(engine_settings).for_link("default").lock("echo", "b")):
                seen = True
                break
            await asyncio.sleep(0.001)
        for i in range(1, 51):
            await _source(redis, k, "b", value=str(i))
            await enqueue_record(redis, engine_settings, "echo", "b", "webhook")
        return seen

    _, seen = await asyncio.gather(drain(), burst())
    await drain()
    assert seen  # the burst did arrive while the first run was going
    writes = int(await redis.get(k("writes")))
    assert 1 <= writes <= 2
    assert await _targets(redis, k) == [{"source_id": "b", "value": "50"}]


async def test_two_jobs_of_one_record_on_two_workers_never_run_at_once(
    k: EchoKey, engine_settings: Settings, redis: Any, drain: Drain
) -> None:
    """Two jobs for one record can exist (a run's follow-up next to a new trigger): the record lock serialises
    them (the second is deferred while the first holds it), and the second finds nothing to change."""
    await _source(redis, k, "r", value="v")
    await redis.set(k("hold:r"), "0.3")
    keys = Keys.of(engine_settings).for_link("default")
    for job_id in (keys.record_job("echo", "r"), keys.followup_job("echo", "r")):
        await redis.enqueue_job(
            JOB_RUN_RECORD, "echo", "r", "manual", None, _job_id=job_id, _queue_name=engine_settings.redis.queue_name
        )
    await drain(workers=2)
    assert int(await redis.get(k("maxrun:r"))) == 1
    assert int(await redis.get(k("writes"))) == 1
    assert await _targets(redis, k) == [{"source_id": "r", "value": "v"}]


async def test_a_run_that_takes_too_long_is_cut_off_logged_and_retried(
    k: EchoKey, engine_settings: Settings, redis: Any, http: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    from app.worker import build_worker
    from tests.engine.flowkit import FLOWS

    engine = engine_settings.engine.model_copy(update={"run_timeout_seconds": 0.5})
    quick = engine_settings.model_copy(update={"engine": engine})
    await _source(redis, k, "s", value="v")
    await redis.set(k("fail:s"), "slow:1")
    await enqueue_record(redis, quick, "echo", "s", "manual")
    for _ in range(20):
        worker = build_worker(quick, burst=True, configure_logs=False, flows=FLOWS, http=http, cron=False)
        await worker.async_run()
        await worker.close()
        if await redis.zcard(quick.redis.queue_name) == 0:
            break
    logs = (await api.get("/logs", params={"source_id": "s"})).json()["items"]
    assert [e["outcome"] for e in logs] == ["created", "retrying"]
    assert "took longer than" in logs[1]["reason"]


async def test_transient_failures_are_retried_and_permanent_ones_dead_lettered_then_replayed(
    k: EchoKey, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    await _source(redis, k, "t", value="t")
    await _source(redis, k, "p", value="p")
    await _source(redis, k, "ok", value="ok")
    await redis.set(k("fail:t"), "transient:2")
    await redis.set(k("fail:p"), "permanent")
    for record in ("t", "p", "ok"):
        await api.post("/flows/echo/run", json={"record_id": record})
    await drain()
    values = sorted(t["value"] for t in await _targets(redis, k))
    assert values == ["ok", "t"]  # the failing record blocked nobody
    t_log = [e["outcome"] for e in (await api.get("/logs", params={"source_id": "t"})).json()["items"]]
    assert t_log == ["created", "retrying", "retrying"]
    dead = (await api.get("/dead-letters")).json()["items"]
    assert [(d["flow"], d["source_id"]) for d in dead] == [("echo", "p")]
    assert "marked broken" in json.dumps(dead[0]["error"])
    # Fix the cause, replay: it succeeds and leaves the dead-letter list.
    await redis.delete(k("fail:p"))
    assert (await api.post("/flows/echo/retry-failed")).json() == {"queued": 1}
    await drain()
    assert sorted(t["value"] for t in await _targets(redis, k)) == ["ok", "p", "t"]
    assert (await api.get("/dead-letters")).json() == {"items": []}
    entry = (await api.get("/logs", params={"source_id": "p"})).json()["items"][0]
    assert entry["outcome"] == "created" and entry["trigger"] == "retry" and entry["replay_of"]


async def test_transient_failures_beyond_max_tries_are_dead_lettered(
    k: EchoKey, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    await _source(redis, k, "z", value="z")
    await redis.set(k("fail:z"), "transient:99")
    await api.post("/flows/echo/run", json={"record_id": "z"})
    await drain()
    outcomes = [e["outcome"] for e in (await api.get("/logs", params={"source_id": "z"})).json()["items"]]
    assert outcomes == ["failed", "retrying", "retrying"]  # max_tries = 3
    entry_id = (await api.get("/logs", params={"source_id": "z"})).json()["items"][0]["id"]
    await redis.delete(k("fail:z"))
    assert (await api.post(f"/logs/{entry_id}/retry")).status_code == 202
    await drain()
    assert [t["value"] for t in await _targets(redis, k)] == ["z"]


async def test_polling_enqueues_every_changed_record_and_advances_the_cursor(
    k: EchoKey, engine_settings: Settings, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    for i in range(5):
        await _source(redis, k, f"r{i}", value=str(i))
    assert (await api.post("/flows/echo/run")).status_code == 202
    await drain()
    assert sorted(t["value"] for t in await _targets(redis, k)) == ["0", "1", "2", "3", "4"]
    assert await redis.get(Keys.of(engine_settings).for_link("default").cursor("echo")) == b"5"
    flows = (await api.get("/flows")).json()
    assert flows[0]["name"] == "echo" and flows[0]["cursor"] == "5"


async def test_flow_config_is_validated_and_the_old_one_kept(
    k: EchoKey, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    bad = await api.put("/flows/echo/config", json={"enabled": True, "options": {"uppercase": "maybe"}})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["options", "uppercase"]
    typo = await api.put("/flows/echo/config", json={"enabled": True, "optoins": {}})
    assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["optoins"]
    assert (await api.get("/flows/echo/config")).json()["options"] == {"uppercase": False}
    good = await api.put("/flows/echo/config", json={"enabled": True, "options": {"uppercase": True}})
    assert good.status_code == 200
    await _source(redis, k, "u", value="shout")
    await api.post("/flows/echo/run", json={"record_id": "u"})
    await drain()
    assert await _targets(redis, k) == [{"source_id": "u", "value": "SHOUT"}]


async def test_admin_api_requires_the_token(api: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/flows"), ("GET", "/logs"), ("POST", "/flows/echo/run"), ("GET", "/connections")]:
        response = await api.request(method, path, headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 401, path
    assert (await api.get("/flows/nope/config")).status_code == 404


async def test_a_since_the_poller_cannot_read_is_logged_not_a_crash(
    k: EchoKey, engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    from app.scope import Process
    from tests.engine.flowkit import FLOWS

    process = Process(engine_settings, redis, FLOWS, http=http)
    engine = process.engine(process.default_link())
    await _source(redis, k, "a", value="1")
    assert await engine.poll_flow("echo", since="not-a-cursor") == 0  # the echo poller's cursor is a number
    assert await redis.get(engine.keys.cursor("echo")) is None  # nothing advanced
    await redis.delete(engine.keys.last_poll("echo"))
    assert await engine.poll_flow("echo") == 1  # the next poll works


async def test_a_run_interrupted_by_redis_going_away_runs_again_and_is_nobodys_failure(
    k: EchoKey, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    # Redis's connection fails in the middle of the run (twice, more than max_tries - 1 would allow as failures):
    # that is not the record's failure, so it is neither dead-lettered as a bug nor counted as a try.
    await _source(redis, k, "r", value="r")
    await redis.set(k("fail:r"), "redis-away:3")
    await api.post("/flows/echo/run", json={"record_id": "r"})
    await drain()
    assert [t["value"] for t in await _targets(redis, k)] == ["r"]
    log = (await api.get("/logs", params={"source_id": "r"})).json()["items"]
    assert [(e["outcome"], e["attempt"]) for e in log] == [("created", 1)]
    assert (await api.get("/dead-letters")).json() == {"items": []}


async def test_a_running_record_holds_its_lock_and_job_marker_as_leases_not_for_minutes(
    k: EchoKey, engine_settings: Settings, redis: Any, drain: Drain, api: httpx.AsyncClient
) -> None:
    # What a worker killed now would leave behind must lapse within ENGINE__LEASE_SECONDS, not ENGINE__LOCK_SECONDS
    # (the record lock) or arq's job timeout + 10 s (its in-progress marker); renewals keep them while it lives.
    from arq.constants import in_progress_key_prefix

    lease = engine_settings.engine.lease_seconds
    assert engine_settings.engine.lock_seconds > 2 * lease
    keys = Keys.of(engine_settings).for_link("default")
    await _source(redis, k, "l", value="l")
    await redis.set(k("hold:l"), str(lease * 1.5))  # longer than a lease: it must be renewed to be kept
    await api.post("/flows/echo/run", json={"record_id": "l"})
    running = asyncio.create_task(drain())
    seen: list[tuple[int, int]] = []
    while not running.done():
        lock = await redis.pttl(keys.lock("echo", "l"))
        marker = await redis.pttl(in_progress_key_prefix + keys.record_job("echo", "l"))
        if lock > 0 and marker > 0:
            seen.append((lock, marker))
        await asyncio.sleep(0.1)
    await running
    assert seen, "the run was never seen holding its lock"
    assert all(lock <= lease * 1000 and marker <= lease * 1000 for lock, marker in seen)
    assert [t["value"] for t in await _targets(redis, k)] == ["l"]
