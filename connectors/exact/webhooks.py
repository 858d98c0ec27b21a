"""Exact Online webhook callbacks: the `HashCode` check on the raw body and the payload model.

The body is `{"Content": {...}, "HashCode": "<64 uppercase hex>"}`. `HashCode` is HMAC-SHA256 over the **raw text of
the Content object**, braces included, keyed with the app's webhook secret (one per registered app, not the client
secret), as uppercase hex (docs/exact-online-api.md §8.3). Re-serialising the parsed JSON changes the text (Exact
writes `"\\/Date(…)\\/"` with escaped slashes, .NET-style), which is why users who hashed `json_encode` output
failed (§11.9). So the Content text is located in the raw bytes by scanning the JSON structure: whitespace and key
order do not matter, nothing is re-encoded, and a body that is not one well-formed object with exactly one
`Content` and one `HashCode` member is refused. The comparison is constant-time.

The empty validation POST Exact sends right after a subscription is created is the route's business (it must
answer 200 unsigned); `verify_signature` refuses an empty body like any other unsigned one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.exact.wire import ExactDateTime

__all__ = [
    "IngestEvent",
    "SignedBody",
    "WebhookContent",
    "WebhookPayload",
    "content_text",
    "parse_webhook",
    "read_exact_layout",
    "verify_signature",
]

_HASH = re.compile(rb"[0-9A-F]{64}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_WS = b" \t\r\n"
_LITERAL_END = b",}] \t\r\n"


class _Malformed(ValueError):
    pass


def _skip_ws(raw: bytes, i: int) -> int:
    while i < len(raw) and raw[i] in _WS:
        i += 1
    return i


def _end_of_string(raw: bytes, i: int) -> int:
    """`raw[i]` is an opening quote; the index just after the closing one (a quote after an odd number of
    backslashes is escaped). Searches with bytes.find rather than stepping byte by byte: the endpoint is open."""
    start = i + 1
    while True:
        quote = raw.find(b'"', start)
        if quote < 0:
            raise _Malformed("unterminated string")
        slashes = 0
        while quote - slashes - 1 >= start and raw[quote - slashes - 1] == 0x5C:
            slashes += 1
        if slashes % 2 == 0:
            return quote + 1
        start = quote + 1


_STRUCTURE = re.compile(rb'["{}\[\]]')


def _end_of_value(raw: bytes, i: int) -> int:
    """The index just after the JSON value starting at `raw[i]` (UTF-8 never has ASCII bytes inside a character)."""
    if i >= len(raw):
        raise _Malformed("value expected")
    if raw[i] == 0x22:
        return _end_of_string(raw, i)
    if raw[i] in b"{[":
        depth = 0
        while (found := _STRUCTURE.search(raw, i)) is not None:
            i = found.start()
            byte = raw[i]
            if byte == 0x22:
                i = _end_of_string(raw, i)
                continue
            if byte in b"{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise _Malformed("unbalanced brackets")
    start = i
    while i < len(raw) and raw[i] not in _LITERAL_END:
        i += 1
    if i == start:
        raise _Malformed("value expected")
    return i


def _members(raw: bytes) -> dict[str, list[bytes]]:
    """The top-level members of the JSON object in `raw`, as raw value bytes (repeated keys all kept)."""
    i = _skip_ws(raw, 0)
    if i >= len(raw) or raw[i] != 0x7B:
        raise _Malformed("not a JSON object")
    members: dict[str, list[bytes]] = {}
    i = _skip_ws(raw, i + 1)
    if i < len(raw) and raw[i] == 0x7D:
        return members
    while True:
        if i >= len(raw) or raw[i] != 0x22:
            raise _Malformed("member name expected")
        end = _end_of_string(raw, i)
        name = json.loads(raw[i:end])
        i = _skip_ws(raw, end)
        if i >= len(raw) or raw[i] != 0x3A:
            raise _Malformed("':' expected")
        i = _skip_ws(raw, i + 1)
        end = _end_of_value(raw, i)
        members.setdefault(name, []).append(raw[i:end])
        i = _skip_ws(raw, end)
        if i < len(raw) and raw[i] == 0x2C:
            i = _skip_ws(raw, i + 1)
            continue
        if i < len(raw) and raw[i] == 0x7D:
            if _skip_ws(raw, i + 1) != len(raw):
                raise _Malformed("data after the object")
            return members
        raise _Malformed("',' or '}' expected")


def content_text(raw_body: bytes) -> bytes | None:
    """The raw bytes of the body's one top-level `Content` object, or None when the body has no such member."""
    try:
        found = _members(raw_body).get("Content", [])
    except (_Malformed, ValueError):
        return None
    if len(found) != 1 or not found[0].startswith(b"{"):
        return None
    return found[0]


# The layout Exact sends: `{"Content":{...},"HashCode":"<64 uppercase hex>"}`, no whitespace between the members.
_EXACT_LAYOUT = re.compile(rb'\{"Content":(\{.*\}),"HashCode":"([0-9A-F]{64})"\}', re.DOTALL)


@dataclass(frozen=True, slots=True)
class SignedBody:
    """A body read in Exact's own layout: the parsed `Content`, its raw text and the `HashCode` it came with."""

    content: dict[str, Any]
    content_text: bytes
    hash_code: str

    def signed_with(self, secret: str) -> bool:
        """True when `hash_code` is the uppercase-hex HMAC-SHA256 of `content_text` under `secret` (constant-time)."""
        if not secret:
            return False
        expected = hmac.new(secret.encode("utf-8"), self.content_text, hashlib.sha256).hexdigest().upper()
        return hmac.compare_digest(expected, self.hash_code)


def read_exact_layout(raw_body: bytes) -> SignedBody | None:
    """The body read at once when it is laid out exactly as Exact writes it, else None (then parse it and use
    `verify_signature`, which takes any layout).

    Only a body that is one JSON object with exactly one `Content` object and one `HashCode` member can match: the
    pattern fixes everything outside the Content text, and that text must parse as one whole JSON object on its own
    (so it cannot end early and hide another member). One regular expression and one parse of the Content replace
    the parse of the whole body and the scan of its structure: most of the signature check's cost per event.
    """
    found = _EXACT_LAYOUT.fullmatch(raw_body)
    if found is None:
        return None
    try:
        content = json.loads(found[1])
    except (ValueError, RecursionError):  # not JSON on its own: the caller's full parse says what is wrong
        return None
    if not isinstance(content, dict):  # pragma: no cover - the text starts with '{' and parsed whole
        return None
    return SignedBody(content, found[1], found[2].decode("ascii"))


def verify_signature(raw_body: bytes, secret: str) -> bool:
    """True when `HashCode` is the uppercase-hex HMAC-SHA256 of the raw `Content` text under `secret`.

    Never raises: a malformed body, a missing or repeated member, a lowercase or non-hex hash, or an empty secret
    is simply not valid.
    """
    if not secret or not raw_body:
        return False
    try:
        json.loads(raw_body)  # well-formed JSON first, so the scan below sees what a parser sees
        members = _members(raw_body)
    except (_Malformed, ValueError):
        return False
    contents, hashes = members.get("Content", []), members.get("HashCode", [])
    if len(contents) != 1 or len(hashes) != 1 or not contents[0].startswith(b"{"):
        return False
    try:
        given = json.loads(hashes[0])
    except ValueError:
        return False
    if not isinstance(given, str) or _HASH.fullmatch(given.encode()) is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), contents[0], hashlib.sha256).hexdigest().upper()
    return hmac.compare_digest(expected, given)


# Exact's `/Date(ms)/` (optionally with an offset), within the years a datetime holds (13 digits: up to 2286).
_EXACT_DATE = r"^/Date\(-?\d{1,13}([+-]\d{4})?\)/$"


class WebhookEvent(BaseModel):
    """The fields of a callback's `Content` both readers share: `Topic`, `Division`, `Action` and `Key` (a record's
    GUID), checked. `EventCreatedOn` is each reader's own: `IngestEvent` checks its form, `WebhookContent` reads it
    as a time.

    `Action` is compared case-insensitively (`Update`, `Delete`; older documentation writes `UPDATE`, and whether
    creations come as `Create` is unsure (§8.3 (?))): `is_delete` is the one distinction a receiver needs.
    `ExactOnlineEndpoint` may be absolute or host-relative (?); `Division` is the division the event belongs to.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    topic: str = Field(alias="Topic")
    client_id: str | None = Field(None, alias="ClientId")
    division: int = Field(alias="Division")
    action: str = Field(alias="Action")
    key: str = Field(alias="Key")
    exact_online_endpoint: str | None = Field(None, alias="ExactOnlineEndpoint")
    event_created_on: Any = Field(None, alias="EventCreatedOn")

    @field_validator("key")
    @classmethod
    def _guid(cls, value: str) -> str:
        # Every topic's Key is the GUID of a record (docs/exact-online-api.md §8.3): anything else would reach a
        # flow's fetch as a filter literal (`guid'...'`) and fail there as a bug instead of here as a bad request.
        if _GUID.fullmatch(value) is None:
            raise ValueError("must be a GUID")
        return value

    @property
    def is_delete(self) -> bool:
        return self.action.strip().lower() == "delete"


class IngestEvent(WebhookEvent):
    """The API's check of an event at ingest: `EventCreatedOn` is checked in pydantic-core (Exact's `/Date(ms)/`
    form, or an ISO 8601 date-time, a real one) but not converted to an Amsterdam time: nothing at ingest reads it,
    and the conversion was a third of the check's cost."""

    event_created_on: Annotated[str, Field(pattern=_EXACT_DATE)] | datetime | None = Field(None, alias="EventCreatedOn")

    @field_validator("event_created_on", mode="before")
    @classmethod
    def _not_a_bare_number(cls, value: Any) -> Any:
        # pydantic reads a string of digits as a Unix time; `WebhookContent` (and Exact) do not.
        if isinstance(value, str) and value.lstrip("+-").isdigit():
            raise ValueError("must be /Date(milliseconds)/ or an ISO 8601 date-time")
        return value


class WebhookContent(WebhookEvent):
    """The `Content` of a callback. Only keys: fetch the record through `ExactOnlineEndpoint` (or by `Key`)."""

    event_created_on: ExactDateTime | None = Field(None, alias="EventCreatedOn")


class WebhookPayload(BaseModel):
    """A whole callback body; verify it with `verify_signature` on the raw bytes first."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    content: WebhookContent = Field(alias="Content")
    hash_code: str | None = Field(None, alias="HashCode")


def parse_webhook(raw: bytes | str | dict[str, Any]) -> WebhookPayload:
    """The payload model of a callback body (raw bytes, text, or already parsed JSON).

    Raises:
        ValueError: the body is not JSON or not a webhook payload (pydantic's ValidationError is a ValueError).
    """
    data = json.loads(raw) if isinstance(raw, bytes | str) else raw
    return WebhookPayload.model_validate(data)
