"""Several eAccounting companies behind one host, as the real service serves them: one API URL and one identity
server for every company; the company is chosen by the user on Visma Connect's consent page and bound to the
tokens issued for that consent, so a request reaches the company of the token that sent it.

`create_eaccounting_host(config, companies)` builds one complete simulator per company (`create_eaccounting_app`),
sharing one identity server (codes, tokens), one clock and one rate limiter: the documented limit is counted per
client and endpoint (docs/eaccounting-api.md), not per company, so two companies served to one client share it.

Which company the next consent picks is what the user would click: `POST /_sim/consent-company {"company": name}`
(or `host.select(name)`); by default the first company. The control plane of company n is at `/_sim/companies/{n}/`
(the first company's also at `/_sim/`). A token bound to no company (issued by `issue_tokens`) reaches the first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI

from .app import create_eaccounting_app
from .config import EAccountingSimConfig
from .sim import EAccountingSim

__all__ = ["EAccountingHost", "create_eaccounting_host"]

Scope = dict[str, Any]


class EAccountingHost:
    """An ASGI app dispatching to one simulator per company (see the module docstring)."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self.apps = apps
        self.names = list(apps)
        first = self.sims[0]
        for sim in self.sims[1:]:
            sim.clock, sim.oauth, sim.rate = first.clock, first.oauth, first.rate
        first.oauth.selected_company = self.names[0]

    @property
    def sims(self) -> list[EAccountingSim]:
        return [app.state.sim for app in self.apps.values()]

    def sim(self, company: str) -> EAccountingSim:
        sim: EAccountingSim = self.apps[company].state.sim
        return sim

    def select(self, company: str) -> None:
        """The company the next consent picks (what the user clicks on the consent page)."""
        if company not in self.apps:
            raise KeyError(company)
        self.sims[0].oauth.selected_company = company

    def counters(self) -> dict[str, int]:
        """Calls and 429 answers over every company."""
        statuses = [sim.counters()["statuses"] for sim in self.sims]
        return {
            "calls": sum(sum(sim.counters()["calls"].values()) for sim in self.sims),
            "rate_limited": sum(int(s.get("429", 0)) for s in statuses),
        }

    def _company_of(self, scope: Scope) -> str:
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1")
        grant = self.sims[0].oauth.grant_of(header)
        if grant is not None and grant.company in self.apps:
            return grant.company
        return self.names[0]  # unknown or unbound tokens meet the first company's 401 or data

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path == "/_sim/consent-company":
            await self._select(receive, send)
            return
        if scope["type"] == "http" and path.startswith("/_sim/companies/"):
            index, _, rest = path.removeprefix("/_sim/companies/").partition("/")
            if index.isdigit() and int(index) < len(self.names):
                inner = {**scope, "path": f"/_sim/{rest}", "raw_path": f"/_sim/{rest}".encode()}
                await self.apps[self.names[int(index)]](inner, receive, send)
                return
        company = self._company_of(scope) if scope["type"] == "http" and path.startswith("/v2/") else self.names[0]
        await self.apps[company](scope, receive, send)

    async def _select(self, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            self.select(str(json.loads(body or b"{}")["company"]))
            status, answer = 200, {"company": self.sims[0].oauth.selected_company}
        except (KeyError, ValueError, TypeError):
            status, answer = 404, {"detail": f"company must be one of {self.names}"}
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def create_eaccounting_host(config: EAccountingSimConfig | None, companies: Sequence[str | None]) -> EAccountingHost:
    """One host serving `companies` (their names; each seeded like the demo company when `config.seed`; None keeps
    the seeded company's own name)."""
    if not companies:
        raise ValueError("at least one company")
    apps: dict[str, FastAPI] = {}
    for index, given in enumerate(companies):
        app = create_eaccounting_app(config)
        sim: EAccountingSim = app.state.sim
        name = given or str(sim.company.get("Name") or f"Company {index + 1}")
        if sim.company:
            sim.company = {**sim.company, "Name": name}
        apps[name] = app
    return EAccountingHost(apps)
