"""Sign-in, sessions and CSRF of the console, over the real app (ASGI) on real Redis."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.console.session import IDLE_SECONDS, MAX_SECONDS
from app.main import create_app

HTML = {"Accept": "text/html"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def console(world: Any, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world.settings, configure_logs=False, http=world.http, console_clock=clock)
    async with app.router.lifespan_context(app) as state:

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": dict(state or {})}, receive, send)

        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
            yield client


def _token(world: Any) -> str:
    return str(world.settings.admin.token.get_secret_value())


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/sign-in", headers=HTML)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    return await client.post("/sign-in", data={"csrf": csrf.group(1), "token": token, "next": "/console/flows"})


async def page_csrf(client: httpx.AsyncClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path, headers=HTML)).text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_pages_send_a_browser_to_sign_in_and_script_gets_401(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        page = await client.get("/console/activity?flow=orders", headers=HTML)
        assert page.status_code == 303
        assert page.headers["location"] == "/sign-in?next=%2Fconsole%2Factivity%3Fflow%3Dorders"
        assert (await client.get("/console/activity")).status_code == 401
        assert (await client.get("/dashboard")).headers["location"] == "/"


async def test_sign_in_sets_a_strict_httponly_expiring_cookie_and_goes_where_the_user_was_going(
    world: Any, clock: Clock
) -> None:
    async with console(world, clock) as client:
        answer = await sign_in(client, _token(world))
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/flows"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("lb_session="))
        attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
        assert {"httponly", "max-age", "path"} <= attributes.keys()
        assert attributes["samesite"].strip().lower() == "samesite=strict"
        assert int(attributes["max-age"].split("=")[1]) == MAX_SECONDS
        assert (await client.get("/console/flows", headers=HTML)).status_code == 200
        # The JSON API keeps its bearer tokens: a session cookie is not an API credential.
        assert (await client.get("/flows")).status_code == 401


async def test_a_wrong_token_or_a_sign_in_without_its_form_is_refused(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        wrong = await sign_in(client, "not-the-token")
        assert wrong.status_code == 401
        assert "That is not the admin token" in wrong.text
        assert "lb_session" not in wrong.headers.get("set-cookie", "")
        forged = await client.post("/sign-in", data={"csrf": "made-up", "token": _token(world)})
        assert forged.status_code == 403
        assert "lb_session" not in forged.headers.get("set-cookie", "")


async def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        await sign_in(client, _token(world))
        before = (await world.engine.configs.get("orders")).config.enabled
        for data in ({"enabled": "false"}, {"enabled": "false", "csrf": "wrong"}):
            refused = await client.post("/console/flows/orders/enabled", data=data, headers=HTML)
            assert refused.status_code == 403
            assert "did not come from this console" in refused.text
        other_site = await client.post(
            "/console/flows/orders/enabled",
            data={"enabled": "false", "csrf": await page_csrf(client, "/console/flows/orders")},
            headers={**HTML, "Origin": "https://evil.example"},
        )
        assert other_site.status_code == 403
        assert (await world.engine.configs.get("orders")).config.enabled == before
        ok = await client.post(
            "/console/flows/orders/enabled",
            data={"enabled": "false", "csrf": await page_csrf(client, "/console/flows/orders")},
        )
        assert ok.status_code == 303
        assert (await world.engine.configs.get("orders")).config.enabled is False
        # Post/redirect/get: the next page says what happened, once.
        assert "The orders flow is disabled." in (await client.get("/console/flows/orders", headers=HTML)).text
        assert "The orders flow is disabled." not in (await client.get("/console/flows/orders", headers=HTML)).text


async def test_an_idle_session_expires(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        await sign_in(client, _token(world))
        clock.now += IDLE_SECONDS - 60
        assert (await client.get("/", headers=HTML)).status_code == 200
        clock.now += IDLE_SECONDS + 1
        expired = await client.get("/", headers=HTML)
        assert expired.status_code == 303
        assert expired.headers["location"] == "/sign-in?next=%2F&expired=1"
        assert "Your session expired" in (await client.get(expired.headers["location"], headers=HTML)).text


async def test_a_busy_session_still_ends_after_its_lifetime(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        await sign_in(client, _token(world))
        while clock.now < 1_800_000_000.0 + MAX_SECONDS - 1800:
            clock.now += 1800
            assert (await client.get("/console/flows", headers=HTML)).status_code == 200
        clock.now += 1801
        assert (await client.get("/console/flows", headers=HTML)).status_code == 303


async def test_sign_out_ends_the_session_also_for_a_copied_cookie(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        await sign_in(client, _token(world))
        copied = client.cookies.get("lb_session")
        out = await client.post("/sign-out", data={"csrf": await page_csrf(client, "/")})
        assert out.status_code == 303
        assert out.headers["location"] == "/sign-in?signed_out=1"
        client.cookies.set("lb_session", str(copied))
        assert (await client.get("/", headers=HTML)).status_code == 303


async def test_redis_holds_no_live_cookie(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        await sign_in(client, _token(world))
        cookie = str(client.cookies.get("lb_session"))
        keys = [k.decode() async for k in world.redis.scan_iter(match="*console:session*")]
        assert len(keys) == 1
        assert cookie not in keys[0]
        assert cookie.encode() not in await world.redis.get(keys[0])


async def test_sign_in_never_redirects_to_another_site(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        form = await client.get("/sign-in?next=//evil.example/", headers=HTML)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        answer = await client.post(
            "/sign-in", data={"csrf": csrf.group(1), "token": _token(world), "next": "https://evil.example/"}
        )
        assert answer.headers["location"] == "/"


async def test_docs_are_served_without_a_cdn(world: Any, clock: Clock) -> None:
    async with console(world, clock) as client:
        docs = (await client.get("/docs")).text
        assert "cdn" not in docs.lower() and "/static/docs/swagger-ui-bundle.js" in docs
        assert (await client.get("/static/docs/swagger-ui-bundle.js")).status_code == 200
        redoc = (await client.get("/redoc")).text
        assert "cdn" not in redoc.lower() and "fonts.googleapis" not in redoc
