"""Every route but the webhook refuses a request body over `ADMIN__MAX_BODY_BYTES` (issue 18): 413 with a short
`detail` (a short page for a browser's form), one `http.refused` line and no traceback; a declared Content-Length
over the limit before the route runs or reads anything, a chunked body as soon as it passes the limit. The webhook
keeps its own limit, bodiless requests pass untouched, and the largest config a person writes fits well within."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from arq.connections import ArqRedis
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

import mapping
from app.bodylimit import DEFAULT_MAX_BODY_BYTES
from app.devredis import free_port
from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from flows.countries import ISO_3166_ALPHA2
from flows.limits import MAX_ENTRIES
from tests.console.pages import csrf, signed_in
from tests.engine.conftest import running_api

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
LIMIT = 4096
TOO_LARGE = {"detail": f"request body larger than {LIMIT} bytes (ADMIN__MAX_BODY_BYTES)"}


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin": settings.admin.model_copy(update={"max_body_bytes": LIMIT})})


@pytest.fixture
async def api(small: Settings, redis: ArqRedis) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(create_app(small, configure_logs=False)) as client:
        client.headers.update(AUTH)
        await client.get("/flows")  # the process's first use upgrades (and logs) once
        yield client


def _config(size: int) -> bytes:
    """A valid orders config of exactly `size` bytes (JSON padded with spaces)."""
    text = json.dumps({"options": {"vat_code_by_country": {"BE": "4"}}})
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def _one_refusal(logs: list[dict[str, Any]]) -> dict[str, Any]:
    assert [entry["event"] for entry in logs] == ["http.refused"], logs
    assert len(repr(logs[0])) < 300 and "exc_info" not in logs[0]
    assert logs[0]["status"] == 413 and logs[0]["limit"] == LIMIT
    return logs[0]


async def test_a_declared_length_over_the_limit_is_413_before_the_route_runs(api: httpx.AsyncClient) -> None:
    before = (await api.get("/flows/orders/config")).json()
    with capture_logs() as logs:
        answer = await api.put(
            "/flows/orders/config", content=_config(LIMIT + 1), headers={"content-type": "application/json"}
        )
    assert answer.status_code == 413 and answer.json() == TOO_LARGE
    assert answer.headers["x-request-id"]  # the request-line middleware still wraps it
    assert _one_refusal(logs)["declared"] == LIMIT + 1
    assert (await api.get("/flows/orders/config")).json()["version"] == before["version"]
    # A route that reads no body does not run either (FastAPI's own limit would pause the link, then answer 413).
    paused = await api.post("/links/default/pause", content=b"x" * (LIMIT + 1))
    assert paused.status_code == 413
    assert (await api.get("/links/default")).json()["paused"] is False


async def test_a_body_at_the_limit_is_read_as_usual(api: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        answer = await api.put(
            "/flows/orders/config", content=_config(LIMIT), headers={"content-type": "application/json"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["config"]["options"] == {"vat_code_by_country": {"BE": "4"}}
    assert [entry["event"] for entry in logs] == ["http.request"]


async def _send_chunked(app: Any, state: Any, path: str, parts: list[bytes]) -> tuple[int, bytes, int]:
    """PUT `parts` as the messages of a body without Content-Length, straight to the app (httpx's ASGI transport
    reads a whole body before it sends it, in this suite: tests/contract/wirelog.py); returns the status, the
    answer's body, and how many parts the app asked for."""
    asked = 0
    answer: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if asked > len(parts):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": parts[asked - 1], "more_body": asked < len(parts)}

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    headers = [(b"authorization", AUTH["Authorization"].encode()), (b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [*headers, (b"transfer-encoding", b"chunked")],
        "server": ("lb", 80),
        "client": ("127.0.0.1", 1),
        "state": dict(state),
    }
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
    return answer[0]["status"], body, asked


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(small: Settings, redis: ArqRedis) -> None:
    head, tail = b'{"options": {"vat_code_by_country": {"BE": "4"}}', b"}"
    app = create_app(small, configure_logs=False)
    async with app.router.lifespan_context(app) as state:
        with capture_logs() as logs:
            status, body, asked = await _send_chunked(
                app, state, "/flows/orders/config", [head, *[b" " * 1024] * 100, tail]
            )
        assert status == 413 and json.loads(body) == TOO_LARGE
        assert asked == 5  # the head and four KiB: past 4096 bytes, nothing more is read
        assert _one_refusal(logs)["received"] == len(head) + 4 * 1024
        # Within the limit a body without Content-Length is read whole, and stored.
        status, body, _ = await _send_chunked(app, state, "/flows/orders/config", [head, b" " * 1024, tail])
        assert status == 200, body
        assert json.loads(body)["config"]["options"] == {"vat_code_by_country": {"BE": "4"}}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/links"), ("PATCH", "/links/default"), ("PUT", "/flows/orders/mappings/orders_to_exact_sales_order")],
)
async def test_every_admin_route_with_a_body_is_bounded(api: httpx.AsyncClient, method: str, path: str) -> None:
    with capture_logs() as logs:
        answer = await api.request(method, path, json={"title": "x" * LIMIT})
    assert answer.status_code == 413 and answer.json() == TOO_LARGE
    _one_refusal(logs)


async def test_the_webhook_keeps_its_own_limit(api: httpx.AsyncClient, small: Settings) -> None:
    body = b'{"Content": {"Topic": "Items"}, "HashCode": "' + b"A" * (LIMIT * 2) + b'"}'
    assert len(body) < small.engine.webhook_max_body_bytes
    with capture_logs() as logs:
        answer = await api.post("/webhooks/exact", content=body)
    assert answer.status_code == 401  # read and checked by the webhook, not refused for its size
    assert [entry["event"] for entry in logs] == ["webhook.refused"]
    over = await api.post("/webhooks/exact", content=b" " * (small.engine.webhook_max_body_bytes + 1))
    assert over.status_code == 413 and "ADMIN__" not in over.text


async def test_bodiless_requests_pass_untouched(api: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        assert (await api.get("/health/live")).status_code == 200
        assert (await api.get("/flows")).status_code == 200
    assert [entry["event"] for entry in logs] == ["http.request", "http.request"]


async def test_the_largest_config_a_person_writes_fits_the_default_limit(settings: Settings, redis: ArqRedis) -> None:
    """The orders flow with every country in its VAT table, 500 payment terms, and the mapping editor's overrides:
    500 shipping methods and 500 cost centres (GUID -> GUID / code), revenue accounts for every country, and
    every field of the mapping rewritten: well under a tenth of the default limit."""
    guid = "6f1c2e8a-0000-4000-8000-{:012d}"
    config = {
        "options": {
            "vat_code_by_country": dict.fromkeys(sorted(ISO_3166_ALPHA2), "21"),
            "payment_condition_by_terms": {str(n): f"{n % 90:02d}" for n in range(MAX_ENTRIES)},
        },
        "mapping_overrides": {
            "orders_to_exact_sales_order": {
                "fields": mapping.load_default_document("orders_to_exact_sales_order")["fields"],
                "value_maps": {
                    "shipping_method_by_delivery_method": {
                        "table": {f"M{n:04d}": guid.format(n) for n in range(MAX_ENTRIES)}
                    },
                    "cost_center_by_cost_center_item": {
                        "table": {guid.format(n): f"CC{n:04d}" for n in range(MAX_ENTRIES)}
                    },
                },
            },
            "orders_to_exact_sales_invoice": {
                "value_maps": {"revenue_account_by_country": {"table": dict.fromkeys(sorted(ISO_3166_ALPHA2), "8000")}}
            },
        },
    }
    body = json.dumps(config, indent=2).encode()
    assert len(body) < DEFAULT_MAX_BODY_BYTES // 10
    async with running_api(create_app(settings, configure_logs=False)) as api:
        answer = await api.put(
            "/flows/orders/config", content=body, headers={**AUTH, "content-type": "application/json"}
        )
    assert answer.status_code == 200, answer.text[:500]


def test_a_console_form_over_the_limit_gets_a_short_page_and_changes_nothing(small: Settings, redis: ArqRedis) -> None:
    page = "/console/flows/customers_to_exact"
    browser = {"accept": "text/html,application/xhtml+xml"}
    with TestClient(create_app(small, configure_logs=False)) as client:
        token = signed_in(client, page, "Settings")
        form = {"csrf": token, "field:vat_code_by_country": "", "opt:vat_code_by_country": '{"NL": "2"}'}
        with capture_logs() as logs:
            refused = client.post(f"{page}/options", data={**form, "padding": "x" * LIMIT}, headers=browser)
        assert refused.status_code == 413
        assert refused.headers["content-type"].startswith("text/html")
        assert "Not saved" in refused.text and f"larger than {LIMIT} bytes" in refused.text
        assert len(refused.content) < 500
        _one_refusal(logs)
        assert client.get("/flows/customers_to_exact/config", headers=AUTH).json()["config"]["options"] == {}
        # The setup wizard's forms too; and the same form within the limit is saved.
        wizard = client.post("/console/setup/tables", data={"csrf": token, "x": "y" * LIMIT}, headers=browser)
        assert wizard.status_code == 413 and "Not saved" in wizard.text
        saved = client.post(
            f"{page}/options", data={**form, "csrf": csrf(client.get(page).text)}, follow_redirects=True
        )
        assert saved.status_code == 200 and "Settings saved" in saved.text


async def _raw_request(port: int, head: bytes, body: bytes) -> bytes:
    """Send `head` and `body` (and nothing more: the body never ends) and read the answer up to its end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)  # a guard against a hang, not a measure
    finally:
        writer.close()


async def test_a_real_server_answers_413_without_waiting_for_the_body(small: Settings, redis: ArqRedis) -> None:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(small, configure_logs=False), host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.02)
        auth = f"Authorization: Bearer {DEMO_ADMIN_TOKEN}\r\n".encode()
        # 50 MB declared, none sent: answered at once, the body never read.
        head = b"PUT /flows/orders/config HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 50000000\r\n\r\n"
        with capture_logs() as logs:
            answer = await _raw_request(port, head, b"")
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert answer.endswith(json.dumps(TOO_LARGE).encode())
        _one_refusal(logs)
        # Chunked, passing the limit and never finished: the answer comes once the limit is passed.
        head = b"PUT /flows/orders/config HTTP/1.1\r\nHost: x\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\n"
        chunk = b"400\r\n" + b" " * 1024 + b"\r\n"
        with capture_logs() as logs:
            answer = await _raw_request(port, head, chunk * 6)
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert _one_refusal(logs)["received"] > LIMIT  # the server hands over what arrived, in its own pieces
    finally:
        server.should_exit = True
        await task
