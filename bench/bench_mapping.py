"""Benchmark: a realistic eAccounting order with 10 rows mapped with `orders_to_exact_sales_order` on one core.

The record is the one the orders flow hands to the mapper: the API's JSON parsed with exact decimals into the
connector's `Order` model and dumped back as wire JSON (`flows.base.source_record`), so amounts arrive as decimal
text ("20.99"). The same order with amounts as JSON floats (a raw `json.loads`) is timed too.

Prints records/s and µs/record. Target (issue 5): at least 20,000 records/s. Not a test: figures vary by machine.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a plain script from any directory, even before the editable install knows the `mapping` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
mapping = importlib.import_module("mapping")


def order(rows: int = 10) -> dict[str, Any]:
    """An order as eAccounting's v2 /orders returns it (OrderApi / OrderRowApi field names)."""
    return {
        "Id": "6f1a1b0e-3f2c-4c55-9d8e-0a1b2c3d4e5f",
        "Number": 10234,
        "CustomerId": "0c4e7d51-2b3a-4e0f-8a4b-5d6e7f8a9b0c",
        "CurrencyCode": "EUR",
        "Amount": 1234.56,
        "VatAmount": 259.26,
        "RoundingsAmount": 0.0,
        "Status": 2,
        "OrderDate": "2026-11-20T00:00:00",
        "DeliveryDate": "2026-11-25T00:00:00",
        "YourReference": "PO-77812",
        "OurReference": "Webshop",
        "InvoiceCustomerName": "Bakkerij De Gouden Korst B.V.",
        "InvoiceAddress1": "Dorpsstraat 12",
        "InvoicePostalCode": "1234 AB",
        "InvoiceCity": "Utrecht",
        "InvoiceCountryCode": "NL",
        "DeliveryCustomerName": "Bakkerij De Gouden Korst",
        "DeliveryAddress1": "Industrieweg 4",
        "DeliveryAddress2": None,
        "DeliveryPostalCode": "1234 CD",
        "DeliveryCity": "Utrecht",
        "DeliveryCountryCode": "NL",
        "DeliveryMethodCode": "POSTNL",
        "EuThirdParty": False,
        "CustomerIsPrivatePerson": False,
        "RotReducedInvoicingType": 0,
        "ReverseChargeOnConstructionServices": False,
        "ModifiedUtc": "2026-11-20T09:31:12.503Z",
        "ShippingAmount": 6.95,
        "Rows": [
            {
                "LineNumber": i,
                "ArticleId": f"a0000000-0000-4000-8000-{i:012d}",
                "ArticleNumber": f"SKU-{1000 + i}",
                "IsTextRow": False,
                "Text": f"Article {1000 + i} flour 25 kg",
                "UnitPrice": 19.99 + i,
                "DiscountPercentage": 0.05 if i % 3 == 0 else 0.0,
                "Quantity": 1.0 + i,
                "WorkCostType": 0,
                "IsWorkCost": False,
                "EligibleForReverseChargeOnVat": False,
                "CostCenterItemId1": None,
            }
            for i in range(rows)
        ],
    }


def as_the_flow_passes_it(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` through the eAccounting connector's parsing and the flow's `source_record`, as in production."""
    from connectors.eaccounting import Order
    from flows.base import source_record

    parsed = json.loads(json.dumps(raw), parse_float=Decimal)
    record: dict[str, Any] = source_record(Order.model_validate(parsed))
    record["ShippingAmount"] = parsed["ShippingAmount"]  # a web-shop field the 2018 description lacks
    return record


def timed(compiled: Any, record: dict[str, Any], lookups: dict[str, Any], n: int = 20_000) -> float:
    """Best µs per record over 5 runs of `n` (after a warm-up)."""
    for _ in range(2000):
        compiled.map(record, lookups=lookups)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            compiled.map(record, lookups=lookups)
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> None:
    spec = mapping.merge_overrides(
        mapping.load_default("orders_to_exact_sales_order"),
        {
            "value_maps": {
                "vat_code_by_country": {"table": {"NL": "2", "BE": "5", "DE": "5"}},
                "shipping_method_by_delivery_method": {"table": {"POSTNL": "9a2d6c1e-0000-4000-8000-000000000001"}},
            }
        },
    )
    compiled = mapping.compile_mapping(spec)
    floats = order(10)
    record = as_the_flow_passes_it(floats)
    lookups = {
        "accounts_by_customer_id": {record["CustomerId"]: "e1e1e1e1-0000-4000-8000-000000000001"},
        "items_by_code": {
            **{f"SKU-{1000 + i}": f"b0000000-0000-4000-8000-{i:012d}" for i in range(10)},
            "SHIPPING": "b0000000-0000-4000-8000-999999999999",
        },
    }
    for source in (record, floats):
        result = compiled.map(source, lookups=lookups)
        assert (
            result.payload is not None and len(result.payload["SalesOrderLines"]) == 10
        )  # the flow adds the shipping line, not the mapping (2.0.0)
    assert compiled.map(record, lookups=lookups).payload == compiled.map(floats, lookups=lookups).payload
    per_record_us = timed(compiled, record, lookups)
    print(f"orders_to_exact_sales_order, 10 rows: {1e6 / per_record_us:,.0f} records/s on one core")
    print(f"  {per_record_us:.1f} µs/record (best of 5 runs of 20,000); target >= 20,000 records/s")
    float_us = timed(compiled, floats, lookups)
    print(f"  amounts as JSON floats instead of decimal text: {1e6 / float_us:,.0f} records/s ({float_us:.1f} µs)")
    start = time.perf_counter()
    for _ in range(1000):
        compiled.dry_run(record, lookups=lookups)
    print(f"  dry run with trace: {(time.perf_counter() - start) / 1000 * 1e6:.1f} µs/record")
    start = time.perf_counter()
    for _ in range(20):
        mapping.compile_mapping(spec)
    print(f"  compile: {(time.perf_counter() - start) / 20 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
