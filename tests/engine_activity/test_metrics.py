"""Metrics counters in Redis and their Prometheus rendering."""

from __future__ import annotations

from typing import Any

from app.metrics import Metrics, normalise_endpoint
from connectors.keys import Keys
from tests.engine_activity.conftest import make_entry
from tests.engine_activity.promparse import parse
from tests.redisdb import RUN_PREFIX


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    """The one sample of `name` with `labels` (every series but the queue depth carries the link, default here)."""
    if name != "ledgerbridge_queue_depth":
        labels = {"link": "default", **labels}
    matches = [v for n, lab, v in samples if n == name and lab == labels]
    assert len(matches) == 1, (name, labels, samples)
    return matches[0]


async def test_counters_add_up_across_instances_and_render(redis: Any) -> None:
    api, worker = (
        Metrics(redis, Keys(RUN_PREFIX, "default")),
        Metrics(redis, Keys(RUN_PREFIX, "default")),
    )  # two processes in real life
    await worker.job_finished("customers", "created", 0.25)
    await worker.job_finished("customers", "created", 0.5)
    await worker.job_finished("invoices", "failed", 1.0)
    await worker.api_call("exact", "/api/v1/123/crm/Accounts(guid'6c3e9b7a-0000-4000-8000-000000000001')", 200)
    await worker.api_call("exact", "/api/v1/456/crm/Accounts(guid'6c3e9b7a-0000-4000-8000-000000000002')", 200)
    await worker.api_call("eaccounting", "/v2/customers", None)
    await worker.ratelimit_wait("exact", 1.5)
    await worker.ratelimit_wait("exact", 0.5)
    await worker.ratelimit_wait("exact", 0)

    text = await api.render(queue_depth=7, dead_letters={"invoices": 2})
    samples, types, helps = parse(text)
    assert types == {
        "ledgerbridge_jobs_total": "counter",
        "ledgerbridge_job_duration_seconds": "summary",
        "ledgerbridge_api_calls_total": "counter",
        "ledgerbridge_ratelimit_wait_seconds_total": "counter",
        "ledgerbridge_poll_records_total": "counter",
        "ledgerbridge_totals_mismatch_total": "counter",
        "ledgerbridge_budget_deferrals_total": "counter",
        "ledgerbridge_queue_depth": "gauge",
        "ledgerbridge_dead_letters": "gauge",
    }
    assert set(helps) == set(types)
    assert value(samples, "ledgerbridge_jobs_total", flow="customers", outcome="created") == 2
    assert value(samples, "ledgerbridge_jobs_total", flow="invoices", outcome="failed") == 1
    assert value(samples, "ledgerbridge_job_duration_seconds_sum", flow="customers") == 0.75
    assert value(samples, "ledgerbridge_job_duration_seconds_count", flow="customers") == 2
    accounts = "/api/v1/{id}/crm/Accounts({id})"
    assert value(samples, "ledgerbridge_api_calls_total", system="exact", endpoint=accounts, status="200") == 2
    assert value(
        samples, "ledgerbridge_api_calls_total", system="eaccounting", endpoint="/v2/customers", status="error"
    )
    assert value(samples, "ledgerbridge_ratelimit_wait_seconds_total", system="exact") == 2.0
    assert value(samples, "ledgerbridge_queue_depth") == 7
    assert value(samples, "ledgerbridge_dead_letters", flow="invoices") == 2


async def test_label_values_are_escaped(redis: Any) -> None:
    metrics = Metrics(redis, Keys(RUN_PREFIX, "default"))
    nasty = 'we"ird\\flow\nname'
    await metrics.job_finished(nasty, "failed", 0.1)
    text = await metrics.render(queue_depth=None, dead_letters={nasty: 1})
    assert 'flow="we\\"ird\\\\flow\\nname"' in text
    samples, types, _ = parse(text)
    assert value(samples, "ledgerbridge_jobs_total", flow=nasty, outcome="failed") == 1
    assert value(samples, "ledgerbridge_dead_letters", flow=nasty) == 1
    assert "ledgerbridge_queue_depth" not in types  # unknown depth is left out, not reported as 0


async def test_record_entry_counts_the_job_and_its_calls(redis: Any) -> None:
    metrics = Metrics(redis, Keys(RUN_PREFIX, "default"))
    calls = [
        {"system": "exact", "method": "GET", "endpoint": "/api/v1/1/salesinvoice/SalesInvoices", "status": 200},
        {"system": "eaccounting", "method": "POST", "endpoint": "/v2/customerinvoices", "status": 429},
        {"system": "eaccounting", "method": "POST", "endpoint": "/v2/customerinvoices", "status": 201},
    ]
    await metrics.record_entry(make_entry(flow="invoices", outcome="updated", duration_ms=1500.0, api_calls=calls))
    samples, _, _ = parse(await metrics.render(queue_depth=0, dead_letters={}))
    assert value(samples, "ledgerbridge_jobs_total", flow="invoices", outcome="updated") == 1
    assert value(samples, "ledgerbridge_job_duration_seconds_sum", flow="invoices") == 1.5
    ea = {"system": "eaccounting", "endpoint": "/v2/customerinvoices"}
    assert value(samples, "ledgerbridge_api_calls_total", **ea, status="429") == 1
    assert value(samples, "ledgerbridge_api_calls_total", **ea, status="201") == 1
    exact = "/api/v1/{id}/salesinvoice/SalesInvoices"
    assert value(samples, "ledgerbridge_api_calls_total", system="exact", endpoint=exact, status="200") == 1


async def test_rate_limit_waits_count_as_waiting_not_as_calls(redis: Any) -> None:
    metrics = Metrics(redis, Keys(RUN_PREFIX, "default"))
    calls = [
        {"system": "exact", "method": "WAIT", "endpoint": "logistics/Items", "status": None, "duration_ms": 2500.0},
        {"system": "exact", "method": "GET", "endpoint": "logistics/Items", "status": 200, "duration_ms": 12.0},
    ]
    await metrics.record_entry(make_entry(flow="products", api_calls=calls))
    await metrics.poll_page("products", 1000, calls[:1])
    samples, _, _ = parse(await metrics.render(queue_depth=0, dead_letters={}))
    assert value(samples, "ledgerbridge_ratelimit_wait_seconds_total", system="exact") == 5.0
    calls_total = [s for s in samples if s[0] == "ledgerbridge_api_calls_total"]
    assert [(labels["status"], v) for _, labels, v in calls_total] == [("200", 1)]


async def test_poll_pages_count_the_records_they_enqueued(redis: Any) -> None:
    metrics = Metrics(redis, Keys(RUN_PREFIX, "default"))
    for records in (1000, 1000, 417):
        await metrics.poll_page("products", records, [])
    samples, _, _ = parse(await metrics.render(queue_depth=None, dead_letters={}))
    assert value(samples, "ledgerbridge_poll_records_total", flow="products") == 2417


def test_normalise_endpoint() -> None:
    assert normalise_endpoint("/v2/customers/6c3e9b7a-0000-4000-8000-000000000001?x=1") == "/v2/customers/{id}"
    assert normalise_endpoint("/api/v1/3/logistics/Items(guid'abc')") == "/api/v1/{id}/logistics/Items({id})"
    assert normalise_endpoint("/v2/articles") == "/v2/articles"
