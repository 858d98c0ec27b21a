"""ActivityLog and DeadLetters against a real Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.activity import ENTRY_ID_RE, ActivityLog, DeadLetters, is_personal_key, redact_payload
from app.logging import REDACTED
from connectors.keys import Keys
from tests.engine_activity.conftest import Clock, make_entry
from tests.redisdb import RUN_PREFIX

DAY = 86400
KEYS = Keys(RUN_PREFIX, "default")


def make_log(redis: Any, clock: Clock, *, days: int = 14, personal: bool = False) -> ActivityLog:
    return ActivityLog(redis, KEYS, retention_seconds=days * DAY, redact_personal=personal, clock=clock)


async def test_add_assigns_time_ordered_id_and_get_round_trips(redis: Any, clock: Clock) -> None:
    log = make_log(redis, clock)
    entry = make_entry(api_calls=[{"system": "exact", "method": "GET", "endpoint": "/crm/Accounts", "status": 200}])
    first = await log.add(entry)
    clock.advance(0.001)
    second = await log.add(make_entry(source_id="acc-2"))
    assert ENTRY_ID_RE.match(first) and ENTRY_ID_RE.match(second)
    assert first.startswith(f"{int(clock.now * 1000) - 1:013d}-")
    assert first < second
    assert entry.id == first

    got = await log.get(first)
    assert got is not None
    assert got.model_dump() == entry.model_dump()
    assert await log.get("0000000000000-abc") is None
    assert await log.get("../../etc") is None


async def test_same_millisecond_ids_are_unique(redis: Any, clock: Clock) -> None:
    log = make_log(redis, clock)
    ids = {await log.add(make_entry()) for _ in range(20)}
    assert len(ids) == 20
    page, cursor = await log.query(limit=500)
    assert [e.id for e in page] == sorted(ids, reverse=True)
    assert cursor is None


async def test_query_filters(redis: Any, clock: Clock) -> None:
    log = make_log(redis, clock)
    rows = [
        ("customers", "acc-1", "created"),
        ("customers", "acc-1", "updated"),
        ("customers", "acc-2", "failed"),
        ("invoices", "acc-1", "failed"),  # same source id in another flow
        ("invoices", "inv-9", "skipped"),
    ]
    ids: dict[tuple[str, str, str], str] = {}
    for flow, source_id, outcome in rows:
        ids[(flow, source_id, outcome)] = await log.add(make_entry(flow=flow, source_id=source_id, outcome=outcome))
        clock.advance(1)

    async def found(**filters: Any) -> list[tuple[str, str, str]]:
        page, _ = await log.query(**filters)
        return [(e.flow, e.source_id, e.outcome) for e in page]

    assert await found() == list(reversed(rows))
    assert await found(flow="customers") == [rows[2], rows[1], rows[0]]
    assert await found(outcome="failed") == [rows[3], rows[2]]
    assert await found(flow="invoices", outcome="failed") == [rows[3]]
    assert await found(source_id="acc-1") == [rows[3], rows[1], rows[0]]
    assert await found(flow="customers", source_id="acc-1") == [rows[1], rows[0]]
    assert await found(flow="customers", source_id="acc-1", outcome="updated") == [rows[1]]
    assert await found(flow="nope") == []

    # Time range (inclusive), on the time the entry was written: rows 1..3 were written at T0+1 .. T0+3.
    t0 = clock.now - len(rows)
    since = datetime.fromtimestamp(t0 + 1, tz=UTC)
    until = datetime.fromtimestamp(t0 + 3, tz=UTC)
    assert await found(since=since, until=until) == [rows[3], rows[2], rows[1]]
    assert await found(since=until, until=since) == []
    # A naive datetime is read as UTC.
    assert await found(since=since.replace(tzinfo=None), flow="invoices") == [rows[4], rows[3]]


async def test_cursor_paging_walks_everything_once(redis: Any, clock: Clock) -> None:
    log = make_log(redis, clock)
    written = []
    for i in range(23):
        written.append(await log.add(make_entry(source_id=f"r{i}")))
        if i % 3 == 0:  # several entries share a millisecond: the cursor must not skip or repeat them
            clock.advance(0.001)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = await log.query(limit=5, before=cursor)
        pages += 1
        assert len(page) <= 5
        seen.extend(e.id for e in page)
        if cursor is None:
            break
        assert cursor == page[-1].id
    assert seen == sorted(written, reverse=True)
    assert pages == 5
    with pytest.raises(ValueError):
        await log.query(before="not-a-cursor")


async def test_entries_expire_with_retention_and_indexes_are_trimmed(redis: Any, clock: Clock) -> None:
    log = make_log(redis, clock, days=2)
    old = await log.add(make_entry(source_id="old", outcome="failed"))
    ttl = await redis.ttl(KEYS.log_entry(old))
    assert 2 * DAY - 5 <= ttl <= 2 * DAY
    index_keys = [k.decode() for k in await redis.keys(KEYS.log_index_pattern)]
    assert len(index_keys) == 6
    for key in index_keys:
        assert 0 < await redis.ttl(key) <= 2 * DAY

    # Two days and a bit later a new entry (another flow, outcome and source) trims the shared indexes.
    clock.advance(2 * DAY + 1)
    new = await log.add(make_entry(flow="invoices", source_id="new", outcome="created"))
    assert await redis.zrange(KEYS.log_index("all"), 0, -1) == [new.encode()]
    # The old entry's own indexes are not written to; the query bound still hides it...
    page, _ = await log.query(source_id="old")
    assert page == []
    assert await redis.zcard(KEYS.log_index("s", "old")) == 1
    # ...and purge_expired removes it from every index.
    removed = await log.purge_expired()
    assert removed == 5  # flow, outcome, flow+outcome, source, flow+source (the global index was trimmed on write)
    assert await redis.zcard(KEYS.log_index("s", "old")) == 0
    assert await log.counts() == {
        "total": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "failed": 0,
        "retrying": 0,
    }


async def test_query_skips_index_members_whose_entry_expired(redis: Any, clock: Clock) -> None:
    log = make_log(redis, clock)
    ids = []
    for i in range(4):
        ids.append(await log.add(make_entry(source_id=f"r{i}")))
        clock.advance(0.001)
    await redis.delete(KEYS.log_entry(ids[3]), KEYS.log_entry(ids[2]))  # as if their TTL had run out
    page, cursor = await log.query(limit=1)
    assert [e.id for e in page] == [ids[1]]
    assert cursor == ids[1]
    page, cursor = await log.query(limit=1, before=cursor)
    assert [e.id for e in page] == [ids[0]] and cursor is None


SECRET_PAYLOAD: dict[str, Any] = {
    "Name": "Jan Jansen",
    "IsPrivatePerson": True,
    "EmailAddress": "jan@example.nl",
    "Phone": "+31 6 1234 5678",
    "MobilePhone": "0612345678",
    "InvoiceAddress1": "Kerkstraat 1",
    "street_name": "Kerkstraat",
    "PostalCode": "1234 AB",
    "ZipCode": "1234",
    "first_name": "Jan",
    "LastName": "Jansen",
    "City": "Utrecht",
    "CustomerNumber": "1001",
    "access_token": "at-123",
    "client_secret": "cs-456",
    "Password": "hunter2",
    "headers": {"Authorization": "Bearer abc.def"},
    "note": "called with Bearer xyz.uvw",
    "Contacts": [{"FirstName": "Piet", "Email": "piet@example.nl", "IsPrivatePerson": False, "Name": "Contoso"}],
    "webhookSecretValue": "s3",
}


async def test_secrets_are_always_redacted_personal_fields_only_when_configured(redis: Any, clock: Clock) -> None:
    plain = make_log(redis, clock)
    private = make_log(redis, clock, personal=True)
    err = {"type": "AuthError", "message": "refresh failed", "details": {"refresh_token": "rt-1"}}
    a = await plain.add(make_entry(source_payload=SECRET_PAYLOAD, target_payload=[SECRET_PAYLOAD], error=err))
    b = await private.add(make_entry(source_payload=SECRET_PAYLOAD))

    stored = await redis.get(KEYS.log_entry(a)) + await redis.get(KEYS.log_entry(b))
    for secret in (b"at-123", b"cs-456", b"hunter2", b"abc.def", b"xyz.uvw", b"rt-1", b's3"'):
        assert secret not in stored

    kept = await plain.get(a)
    assert kept is not None
    src = kept.source_payload
    assert src["access_token"] == src["client_secret"] == src["Password"] == REDACTED
    assert src["headers"]["Authorization"] == REDACTED
    assert src["EmailAddress"] == "jan@example.nl" and src["Name"] == "Jan Jansen"  # personal kept: not configured
    assert kept.target_payload[0]["Password"] == REDACTED
    assert kept.error is not None and kept.error["details"]["refresh_token"] == REDACTED
    assert kept.error["message"] == "refresh failed"

    masked = await private.get(b)
    assert masked is not None
    src = masked.source_payload
    for field in (
        "Name",
        "EmailAddress",
        "Phone",
        "MobilePhone",
        "InvoiceAddress1",
        "street_name",
        "PostalCode",
        "ZipCode",
        "first_name",
        "LastName",
        "access_token",
    ):
        assert src[field] == REDACTED, field
    assert src["City"] == "Utrecht" and src["CustomerNumber"] == "1001" and src["IsPrivatePerson"] is True
    contact = src["Contacts"][0]
    assert contact["FirstName"] == contact["Email"] == REDACTED
    assert contact["Name"] == "Contoso"  # a company name is not personal data
    assert masked.source_id == "acc-1" and masked.flow == "customers"  # identifiers survive


def test_personal_key_matching() -> None:
    for key in ("EmailAddress", "email", "e-mail", "Phone2", "mobile", "AddressLine1", "DeliveryStreet", "zip_code"):
        assert is_personal_key(key), key
    for key in ("Name", "City", "Amount", "CustomerNumber", "Id"):
        assert not is_personal_key(key), key
    assert redact_payload({"a": [{"b": {"EMAIL": "x"}}]}, personal=True) == {"a": [{"b": {"EMAIL": REDACTED}}]}
    assert redact_payload({"EMAIL": None}, personal=True) == {"EMAIL": None}


async def test_dead_letters_add_replace_remove(redis: Any, clock: Clock) -> None:
    dead = DeadLetters(redis, KEYS, clock=clock)
    await dead.add("customers", "acc-1", log_id="l1", error={"message": "boom", "token": "t"}, trigger="webhook")
    clock.advance(60)
    await dead.add("customers", "acc-2", log_id="l2", error={"message": "bad"}, trigger="poll")
    clock.advance(1)
    await dead.add("invoices", "inv-1", log_id="l3", error={"message": "x"}, trigger="poll")
    clock.advance(60)
    newest = await dead.add("customers", "acc-1", log_id="l4", error={"message": "boom again"}, trigger="retry")

    assert newest.failures == 2
    letters = await dead.list("customers")
    assert [(d.source_id, d.log_id) for d in letters] == [("acc-1", "l4"), ("acc-2", "l2")]  # once, newest wins
    assert letters[0].error == {"message": "boom again"}
    assert letters[0].failed_at == datetime.fromtimestamp(clock.now, tz=UTC)
    assert [d.source_id for d in await dead.list()] == ["acc-1", "inv-1", "acc-2"]
    assert await dead.count_by_flow() == {"customers": 2, "invoices": 1}

    first = await dead.get("customers", "acc-2")
    assert first is not None and first.error == {"message": "bad"}
    assert await dead.remove("customers", "acc-2") is True
    assert await dead.remove("customers", "acc-2") is False
    assert await dead.remove("invoices", "inv-1") is True
    assert await dead.get("customers", "acc-2") is None
    assert await dead.count_by_flow() == {"customers": 1}
    assert await dead.list("invoices") == []


async def test_dead_letter_error_secrets_are_masked(redis: Any, clock: Clock) -> None:
    dead = DeadLetters(redis, KEYS, clock=clock)
    await dead.add(
        "c", "1", log_id="l", error={"details": {"client_secret": "cs"}, "message": "Bearer abc"}, trigger="x"
    )
    raw = await redis.hget(KEYS.dead("c"), "1")
    assert b'cs"' not in raw and b"abc" not in raw
