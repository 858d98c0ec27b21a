"""Every flow names its records as people know them; the engine stores that label on the activity entry."""

from __future__ import annotations

from typing import Any

from flows.base import RecordLabel
from flows.registry import load_flows

FLOWS = load_flows()


def test_every_shipped_flow_has_a_label() -> None:
    assert all(definition.label is not None for definition in FLOWS.values())


def test_order_label_is_number_and_customer() -> None:
    source = {"Number": 1007, "InvoiceCustomerName": "Jansen BV", "DeliveryCustomerName": "Jansen magazijn"}
    assert FLOWS["orders"].label_text(source) == "order 1007 - Jansen BV"


def test_customer_invoice_label_says_invoice() -> None:
    assert (
        FLOWS["orders"].label_text({"InvoiceNumber": 2041, "CustomerName": "Jansen BV"}) == "invoice 2041 - Jansen BV"
    )


def test_private_persons_name_is_left_out_when_personal_fields_are_redacted() -> None:
    source = {"Number": 1011, "InvoiceCustomerName": "Eva Svensson", "CustomerIsPrivatePerson": True}
    assert FLOWS["orders"].label_text(source) == "order 1011 - Eva Svensson"
    assert FLOWS["orders"].label_text(source, hide_person=True) == "order 1011"


def test_article_stock_customer_and_delivery_labels() -> None:
    assert FLOWS["products"].label_text({"Code": "SKU-0006", "Description": "Filter papers"}) == (
        "article SKU-0006 - Filter papers"
    )
    assert FLOWS["stock"].label_text({"ItemCode": "SKU-0001", "ItemWarehouses": []}) == "stock of SKU-0001"
    # Exact pads account codes with spaces.
    account = {"Code": "             10023", "Name": "Koffiehuis De Molen B.V."}
    assert FLOWS["customers_to_eaccounting"].label_text(account) == "customer 10023 - Koffiehuis De Molen B.V."
    customer = {"CustomerNumber": "10023", "Name": "Jan Jansen", "IsPrivatePerson": True}
    assert FLOWS["customers_to_exact"].label_text(customer, hide_person=True) == "customer 10023"
    delivery = {"DeliveryNumber": 42, "DeliveryAccountName": "Jansen BV"}
    assert FLOWS["shipments"].label_text(delivery) == "delivery 42 - Jansen BV"


def test_a_label_never_fails_a_record() -> None:
    assert FLOWS["orders"].label_text(None) is None
    assert FLOWS["orders"].label_text({}) == "order"
    weird: Any = {"Number": object(), "InvoiceCustomerName": ["not", "text"]}
    assert FLOWS["orders"].label_text(weird) is not None
    assert RecordLabel("delivery", None).text() == "delivery"


async def test_the_engine_stores_the_label_on_the_activity_entry(world: Any) -> None:
    order_id = str(world.ea_sim.create_order("1009", [("SKU-0001", 2)])["Id"])
    number = world.ea_sim.get("orders", order_id)["Number"]
    await world.engine.run_record("orders", order_id, "manual")
    page, _ = await world.engine.activity.query(flow="orders")
    assert [(e.outcome, e.label) for e in page] == [("created", f"order {number} - Koffiehuis De Molen B.V.")]


async def test_a_failed_record_keeps_its_label(world: Any) -> None:
    order_id = str(world.ea_sim.create_order("1009", [("SKU-9999", 1)])["Id"])
    number = world.ea_sim.get("orders", order_id)["Number"]
    await world.engine.run_record("orders", order_id, "manual")
    page, _ = await world.engine.activity.query(flow="orders")
    assert [(e.outcome, e.label) for e in page] == [("failed", f"order {number} - Koffiehuis De Molen B.V.")]
