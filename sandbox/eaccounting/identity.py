"""Visma Connect as the eAccounting integration sees it: `/connect/authorize` and `/connect/token`.

The authorize endpoint consents at once (there is no user) and redirects back with `code` and `state`.
The token endpoint takes form-encoded `authorization_code` and `refresh_token` grants, with the client
authenticated by HTTP Basic or by `client_id`/`client_secret` in the form (IdentityServer accepts both),
and answers errors the RFC 6749 way (`{"error": "invalid_grant"}`, HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote, urlencode

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .http import fault_response, json_response
from .sim import EAccountingSim
from .state import OAuthError

__all__ = ["KNOWN_SCOPES", "add_identity_routes"]

KNOWN_SCOPES = frozenset(
    {
        "ea:api",
        "ea:sales",
        "ea:sales_readonly",
        "ea:accounting",
        "ea:accounting_readonly",
        "ea:purchase",
        "ea:purchase_readonly",
        "offline_access",
        "openid",
        "profile",
        "email",
        "vls:api",
    }
)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _redirect(uri: str, params: dict[str, str]) -> Response:
    joiner = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{joiner}{urlencode(params)}", status_code=302)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id"), form.get("client_secret")


def add_identity_routes(app: FastAPI, sim: EAccountingSim) -> None:
    """Register the identity endpoints on the app."""

    async def authorize(request: Request) -> Response:
        fault = sim.take_fault("GET", request.url.path)
        if fault is not None:
            sim.count("GET /connect/authorize", fault.status)
            return fault_response(fault, oauth=True)
        response = _authorize(sim, dict(request.query_params))
        sim.count("GET /connect/authorize", response.status_code)
        return response

    async def token(request: Request) -> Response:
        fault = sim.take_fault("POST", request.url.path)
        if fault is not None:
            sim.count("POST /connect/token", fault.status)
            return fault_response(fault, oauth=True)
        try:
            response = await _token(sim, request)
        except OAuthError as exc:
            body = {"error": exc.error, "error_description": exc.description}
            response = json_response(body, exc.status, _NO_STORE)
        sim.count("POST /connect/token", response.status_code)
        return response

    async def discovery(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return json_response(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/connect/authorize",
                "token_endpoint": f"{base}/connect/token",
                "scopes_supported": sorted(KNOWN_SCOPES),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }
        )

    app.add_route("/connect/authorize", authorize, methods=["GET"], include_in_schema=False)
    app.add_route("/connect/token", token, methods=["POST"], include_in_schema=False)
    app.add_route("/.well-known/openid-configuration", discovery, methods=["GET"], include_in_schema=False)


def _authorize(sim: EAccountingSim, query: dict[str, str]) -> Response:
    client_id = query.get("client_id")
    redirect_uri = query.get("redirect_uri")
    if client_id != sim.config.client_id:
        return json_response({"error": "unauthorized_client", "error_description": "Unknown client"}, 400)
    if not redirect_uri or (sim.config.redirect_uri is not None and redirect_uri != sim.config.redirect_uri):
        return json_response({"error": "invalid_request", "error_description": "Invalid redirect_uri"}, 400)
    state = {"state": query["state"]} if "state" in query else {}
    if query.get("response_type") != "code":
        return _redirect(redirect_uri, {"error": "unsupported_response_type", **state})
    scopes = frozenset(query.get("scope", "").split())
    if not scopes or not scopes <= KNOWN_SCOPES:
        return _redirect(redirect_uri, {"error": "invalid_scope", **state})
    code = sim.oauth.new_code(client_id, redirect_uri, scopes)
    return _redirect(redirect_uri, {"code": code, "scope": " ".join(sorted(scopes)), **state})


async def _token(sim: EAccountingSim, request: Request) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The token request must be application/x-www-form-urlencoded")
    # Parsed by hand: Starlette's form parser needs python-multipart, which the project does not ship.
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    client_id, secret = _client_credentials(request, form)
    if client_id != sim.config.client_id or secret != sim.config.client_secret:
        raise OAuthError("invalid_client", "Client authentication failed")
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        if not form.get("code"):
            raise OAuthError("invalid_request", "code is missing")
        body = sim.oauth.redeem_code(client_id, form["code"], form.get("redirect_uri"))
    elif grant_type == "refresh_token":
        if not form.get("refresh_token"):
            raise OAuthError("invalid_request", "refresh_token is missing")
        body = sim.oauth.redeem_refresh(client_id, form["refresh_token"], form.get("scope"))
    elif not grant_type:
        raise OAuthError("invalid_request", "grant_type is missing")
    else:
        raise OAuthError("unsupported_grant_type", f"Grant type '{grant_type}' is not supported")
    return json_response(body, 200, _NO_STORE)
