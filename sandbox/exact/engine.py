"""Writes: validation of POST/PUT bodies, Exact's business rules, derived fields, stock, webhook events.

Strictness (reference §4.7, §9): unknown properties are rejected with WCF Data Services' message, mandatory
properties and lines are checked, every GUID or code reference must exist in the division, read-only
properties are ignored (OData ignores computed properties), and header+lines are created in one POST.
Every mutation stamps a fresh rowversion `Timestamp` and queues webhook events for subscribed topics.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.exact.clock import SimClock
from sandbox.exact.entities import ENTITIES, EntitySpec
from sandbox.exact.errors import ExactApiError, bad_request, not_found
from sandbox.exact.store import DivisionState, Record, Store
from sandbox.exact.wire import FieldError, coerce

__all__ = ["Emit", "Engine", "money"]

Emit = Callable[[int, str, str, str, str], None]  # division, topic, action, key, resource path "crm/Accounts(guid'…')"

CENT = Decimal("0.01")
ZERO = Decimal(0)
STATUS_TEXT = {12: "Open", 20: "Partial", 21: "Complete", 45: "Cancelled"}
INVOICE_TYPES = {8020: "Sales invoice", 8021: "Credit note", 8023: "Direct sales invoice", 8024: "Direct credit note"}
SALES_JOURNAL_TYPE = 20


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_vat(vat_type: str | None, percentage: Decimal, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(amount excluding VAT, VAT) of a document line's amount under a VAT code, the VAT rounded to the cent per line
    (Exact shows a VAT amount on every line; the document's VAT is the sum of its lines').

    By the code's `Type`: E (excluding) adds `Percentage` on top of the amount; I (including) takes it out of an
    amount that includes it (the line's AmountFC then includes VAT); B (0 %, only the base) and N (no VAT) charge none.
    """
    if vat_type == "I":
        vat = money(amount * percentage / (1 + percentage))
        return amount - vat, vat
    if vat_type in ("B", "N"):
        return amount, ZERO
    return amount, money(amount * percentage)


def _unknown_property(spec: EntitySpec, name: str) -> ExactApiError:
    return bad_request(
        f"The property '{name}' does not exist on type '{spec.type_name}'. "
        "Make sure to only use property names that are defined by the type."
    )


class Engine:
    """Creates, updates and deletes records of one simulator; `emit` queues webhook events."""

    def __init__(self, clock: SimClock, rng: random.Random, user_id: str, emit: Emit) -> None:
        self.clock = clock
        self.rng = rng
        self.user_id = user_id
        self.emit = emit

    # --- helpers ------------------------------------------------------------------------------------

    def new_guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def parse_body(self, spec: EntitySpec, body: Any, *, for_update: bool = False) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object")
        values: dict[str, Any] = {}
        nav = spec.lines.nav if spec.lines else None
        for name, raw in body.items():
            if name == "__metadata":
                continue
            if name == nav:
                if for_update:
                    raise bad_request(f"{name}: lines cannot be changed through the header; use {spec.lines.entity}")  # type: ignore[union-attr]
                values[name] = raw
                continue
            if name not in spec.kinds:
                raise _unknown_property(spec, name)
            if name in spec.readonly:
                continue
            try:
                values[name] = coerce(spec.kinds[name], name, raw)
            except FieldError as exc:
                raise bad_request(str(exc)) from None
        return values

    @staticmethod
    def require(spec: EntitySpec, values: dict[str, Any], skip: str | None = None) -> None:
        for name in spec.required:
            if name == skip:
                continue
            value = values.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise bad_request(f"Mandatory field is missing: {name}")

    @staticmethod
    def _check_refs(div: DivisionState, spec: EntitySpec, values: dict[str, Any]) -> None:
        for name, target in spec.refs.items():
            value = values.get(name)
            if value is None or value == "":
                continue
            if target.startswith("code:"):
                store = div.store(target[5:])
                if store.by_code_get(value) is None:
                    raise bad_request(f"{name}: code '{value}' does not exist in {target[5:]}")
            elif div.store(target).get(value) is None:
                raise bad_request(f"{name}: '{value}' does not exist in {target}")

    def _stamp(self, div: DivisionState, record: Record, *, created: bool) -> None:
        now = self.clock.now()
        if created:
            record["Created"] = now
            record["Creator"] = self.user_id
            record["Division"] = div.division
        record["Modified"] = now
        record["Modifier"] = self.user_id
        record["Timestamp"] = div.next_timestamp()

    def blank(self, spec: EntitySpec) -> Record:
        return dict.fromkeys(spec.modeled)

    def _event(self, div: DivisionState, spec: EntitySpec, action: str, key: str) -> None:
        if spec.topic:
            self.emit(div.division, spec.topic, action, key, f"{spec.path}(guid'{key}')")

    def save(self, div: DivisionState, spec: EntitySpec, record: Record, *, created: bool = False) -> None:
        """Stamp and store; used by the engine and by `/_sim` helpers acting like a user in Exact's UI."""
        self._stamp(div, record, created=created)
        div.store(spec.name).put(record)

    # --- generic entry points -----------------------------------------------------------------------

    def create(self, div: DivisionState, spec: EntitySpec, body: Any) -> Record:
        values = self.parse_body(spec, body)
        lines_raw: list[dict[str, Any]] = []
        line_spec: EntitySpec | None = None
        if spec.lines is not None:
            line_spec = ENTITIES[spec.lines.entity]
            raw = values.pop(spec.lines.nav, None)
            if raw is None:
                raise bad_request(f"Mandatory field is missing: {spec.lines.nav}")
            if not isinstance(raw, list) or not raw:
                raise bad_request(f"{spec.lines.nav}: at least one line is required")
            lines_raw = raw
        self.require(spec, values)
        self._check_refs(div, spec, values)
        lines: list[dict[str, Any]] = []
        if line_spec is not None and spec.lines is not None:
            for index, raw_line in enumerate(lines_raw):
                try:
                    line_values = self.parse_body(line_spec, raw_line)
                    if line_values.get(spec.lines.parent_field) is not None:
                        raise bad_request(f"{spec.lines.parent_field}: set by the header in a deep insert")
                    self.require(line_spec, line_values, skip=spec.lines.parent_field)
                    self._check_refs(div, line_spec, line_values)
                except ExactApiError as exc:
                    raise bad_request(f"{spec.lines.nav}[{index}].{exc.message}") from None
                lines.append(line_values)
        record = self.blank(spec)
        record.update(values)
        record[spec.key] = self.new_guid()
        hook = getattr(self, f"_create_{spec.name}", None)
        line_records: list[Record] = []
        if hook is not None:
            line_records = hook(div, record, lines) or []
        self.save(div, spec, record, created=True)
        if line_spec is not None and spec.lines is not None:
            store = div.store(line_spec.name)
            for line in line_records:
                self.save(div, line_spec, line, created=True)
                store.children[record[spec.key]].append(line["ID"])
        self._after_create(div, spec, record, line_records)
        self._event(div, spec, "Create", record[spec.key])
        return record

    def update(self, div: DivisionState, spec: EntitySpec, key: str, body: Any) -> Record:
        store = div.store(spec.name)
        record = store.get(key)
        if record is None:
            raise not_found(f"{spec.name}({key}) does not exist")
        values = self.parse_body(spec, body, for_update=True)
        for name in spec.immutable:
            if name in values and values[name] != record.get(name):
                raise bad_request(f"{name}: cannot be changed after creation")
        self._check_refs(div, spec, values)
        hook = getattr(self, f"_update_{spec.name}", None)
        updated = dict(record)
        updated.update(values)
        if hook is not None:
            hook(div, record, updated, values)
        self.save(div, spec, updated)
        self._event(div, spec, "Update", key)
        self.after_line_change(div, spec, updated)
        return updated

    def delete(self, div: DivisionState, spec: EntitySpec, key: str) -> None:
        store = div.store(spec.name)
        record = store.get(key)
        if record is None:
            raise not_found(f"{spec.name}({key}) does not exist")
        hook = getattr(self, f"_delete_{spec.name}", None)
        if hook is not None:
            hook(div, record)
        if spec.lines is not None:
            line_store = div.store(spec.lines.entity)
            for line_key in line_store.children.pop(key, []):
                line_store.remove(line_key)
                self._log_deleted(div, ENTITIES[spec.lines.entity], line_key)
        store.remove(key)
        self._log_deleted(div, spec, key)
        self._event(div, spec, "Delete", key)
        self.after_line_change(div, spec, record)

    def _log_deleted(self, div: DivisionState, spec: EntitySpec, key: str) -> None:
        if spec.deleted_type is None:
            return
        div.deleted.append(
            {
                "Timestamp": div.next_timestamp(),
                "ID": self.new_guid(),
                "EntityKey": key,
                "EntityType": spec.deleted_type,
                "DeletedBy": self.user_id,
                "DeletedDate": self.clock.now(),
                "Division": div.division,
            }
        )

    def _after_create(self, div: DivisionState, spec: EntitySpec, record: Record, lines: list[Record]) -> None:
        if spec.name == "SalesOrders":
            for line in lines:
                self.adjust_stock(div, line["Item"], record["WarehouseID"], planned_out=line["Quantity"])
        elif spec.name == "SalesInvoices" and record["Type"] in (8023, 8024):
            sign = -1 if record["Type"] == 8023 else 1
            for line in lines:
                if line.get("Item"):
                    self.adjust_stock(div, line["Item"], record["Warehouse"], current=sign * line["Quantity"])
        elif spec.name == "GoodsDeliveries":
            orders: set[str] = set()
            so_lines = div.store("SalesOrderLines")
            for line in lines:
                so_line = so_lines.records[line["SalesOrderLineID"]]
                qty = line["QuantityDelivered"]
                updated = dict(so_line)
                updated["QuantityDelivered"] = (so_line["QuantityDelivered"] or ZERO) + qty
                status = 21 if updated["QuantityDelivered"] >= so_line["Quantity"] else 20
                updated["DeliveryStatus"] = status
                self.save(div, ENTITIES["SalesOrderLines"], updated)
                orders.add(so_line["OrderID"])
                order = div.store("SalesOrders").records[so_line["OrderID"]]
                warehouse = record["Warehouse"] or order["WarehouseID"]
                self.adjust_stock(div, line["Item"], warehouse, current=-qty, planned_out=-qty)
            for order_id in sorted(orders):
                self.refresh_order(div, order_id)
                self.emit(div.division, "SalesOrders", "Update", order_id, f"salesorder/SalesOrders(guid'{order_id}')")

    # --- stock --------------------------------------------------------------------------------------

    def item_warehouse(self, div: DivisionState, item_id: str, warehouse_id: str) -> Record:
        """The ItemWarehouse row of (item, warehouse), created on first use like Exact does on a stock movement."""
        store = div.store("ItemWarehouses")
        index_key = f"{item_id}|{warehouse_id}"
        key = store.by_code.get(index_key)
        if key is not None:
            return store.records[key]
        item = div.store("Items").records[item_id]
        warehouse = div.store("Warehouses").records[warehouse_id]
        record = self.blank(ENTITIES["ItemWarehouses"])
        record.update(
            {
                "ID": self.new_guid(),
                "Item": item_id,
                "ItemCode": item["Code"],
                "ItemDescription": item["Description"],
                "Warehouse": warehouse_id,
                "WarehouseCode": warehouse["Code"],
                "CurrentStock": ZERO,
                "PlannedStockIn": ZERO,
                "PlannedStockOut": ZERO,
                "ProjectedStock": ZERO,
                "ReservedStock": ZERO,
                "SafetyStock": ZERO,
                "ReorderPoint": ZERO,
                "MaximumStock": ZERO,
            }
        )
        self.save(div, ENTITIES["ItemWarehouses"], record, created=True)
        store.by_code[index_key] = record["ID"]
        store.children[item_id].append(record["ID"])
        return record

    def adjust_stock(
        self,
        div: DivisionState,
        item_id: str,
        warehouse_id: str | None,
        *,
        current: Decimal = ZERO,
        planned_out: Decimal = ZERO,
        planned_in: Decimal = ZERO,
        set_current: Decimal | None = None,
    ) -> Record | None:
        item = div.store("Items").get(item_id)
        if item is None or not item.get("IsStockItem"):
            return None
        if warehouse_id is None:
            warehouse_id = self.main_warehouse(div)
        row = dict(self.item_warehouse(div, item_id, warehouse_id))
        row["CurrentStock"] = set_current if set_current is not None else row["CurrentStock"] + current
        row["PlannedStockOut"] += planned_out
        row["PlannedStockIn"] += planned_in
        row["ProjectedStock"] = row["CurrentStock"] + row["PlannedStockIn"] - row["PlannedStockOut"]
        self.save(div, ENTITIES["ItemWarehouses"], row)
        self._event(div, ENTITIES["ItemWarehouses"], "Update", row["ID"])
        # Items.Stock is the total over warehouses.
        total = sum((r["CurrentStock"] for r in self.item_warehouses(div, item_id)), ZERO)
        if item.get("Stock") != total:
            updated = dict(item)
            updated["Stock"] = total
            self.save(div, ENTITIES["Items"], updated)
        return row

    @staticmethod
    def item_warehouses(div: DivisionState, item_id: str) -> list[Record]:
        store = div.store("ItemWarehouses")
        return [store.records[key] for key in store.children.get(item_id, []) if key in store.records]

    @staticmethod
    def main_warehouse(div: DivisionState) -> str:
        for record in div.store("Warehouses").records.values():
            if record.get("Main"):
                return str(record["ID"])
        raise bad_request("Warehouse: the division has no main warehouse")

    # --- Accounts / Contacts / Items -----------------------------------------------------------------

    def _create_Accounts(self, div: DivisionState, record: Record, _lines: list[Any]) -> None:
        store = div.store("Accounts")
        code = record.get("Code")
        if code is None or not code.strip():
            highest = max((int(c) for c in (k.strip() for k in store.by_code) if c.isdigit()), default=0)
            code = str(highest + 1)
        code = code.strip()
        if len(code) > 18:
            raise bad_request("Code: at most 18 characters")
        padded = code.rjust(18)  # Reference §4.4: 18 characters, right-aligned with leading spaces.
        if padded in store.by_code:
            raise bad_request(f"Code: '{code}' already exists")
        record["Code"] = padded
        record["Type"] = record.get("Type") or "A"
        for flag in ("IsSales", "IsSupplier", "IsPurchase", "Blocked"):
            record[flag] = bool(record.get(flag))

    def _update_Accounts(self, div: DivisionState, old: Record, new: Record, values: dict[str, Any]) -> None:
        if "Code" in values:
            code = (values["Code"] or "").strip()
            if not code or len(code) > 18:
                raise bad_request("Code: 1 to 18 characters")
            padded = code.rjust(18)
            existing = div.store("Accounts").by_code.get(padded)
            if existing is not None and existing != old["ID"]:
                raise bad_request(f"Code: '{code}' already exists")
            new["Code"] = padded
        if "Name" in values and not (values["Name"] or "").strip():
            raise bad_request("Mandatory field is missing: Name")

    def _contact_fields(self, div: DivisionState, record: Record) -> None:
        if not (record.get("FirstName") or record.get("LastName")):
            raise bad_request("Mandatory field is missing: LastName (FirstName or LastName is required)")
        account = div.store("Accounts").records[record["Account"]]
        record["AccountName"] = account["Name"]
        record["AccountIsCustomer"] = account.get("Status") == "C"
        record["FullName"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
        record["IsMainContact"] = bool(record.get("IsMainContact"))

    def _create_Contacts(self, div: DivisionState, record: Record, _lines: list[Any]) -> None:
        self._contact_fields(div, record)

    def _update_Contacts(self, div: DivisionState, _old: Record, new: Record, _values: dict[str, Any]) -> None:
        self._contact_fields(div, new)

    def _item_fields(self, div: DivisionState, record: Record, old: Record | None) -> None:
        code = record.get("Code")
        if code is None or not code.strip():
            raise bad_request("Mandatory field is missing: Code")
        existing = div.store("Items").by_code.get(code)
        if existing is not None and (old is None or existing != old["ID"]):
            raise bad_request(f"Code: item '{code}' already exists")
        if len(record.get("Description") or "") > 60:
            raise bad_request("Description: at most 60 characters")
        barcode = record.get("Barcode")
        if barcode and not barcode.isdigit():
            raise bad_request("Barcode: only digits are allowed")
        for flag in ("IsSalesItem", "IsPurchaseItem", "IsStockItem", "IsFractionAllowedItem"):
            record[flag] = bool(record.get(flag))
        record["IsSerialItem"] = bool(record.get("IsSerialItem"))
        record["IsBatchItem"] = bool(record.get("IsBatchItem"))
        record["IsWebshopItem"] = record.get("IsWebshopItem") or 0
        groups = div.store("ItemGroups")
        group = groups.get(record["ItemGroup"]) if record.get("ItemGroup") else None
        if group is None:
            group = next((g for g in groups.records.values() if g.get("IsDefault")), None)
        if group is not None:
            record["ItemGroup"] = group["ID"]
            record["ItemGroupCode"] = group["Code"]
            record["ItemGroupDescription"] = group["Description"]
        unit = div.store("Units").by_code_get(record.get("Unit") or "pc")
        if unit is not None:
            record["Unit"] = unit["Code"]
            record["UnitDescription"] = unit["Description"]
            record["UnitType"] = unit.get("Type")
        vat = div.store("VATCodes").by_code_get(record.get("SalesVatCode") or "")
        record["SalesVatCodeDescription"] = vat["Description"] if vat else None
        for price in ("CostPriceStandard", "CostPriceNew", "StandardSalesPrice"):
            if record.get(price) is None:
                record[price] = ZERO
        record["AverageCost"] = record.get("CostPriceStandard")
        if record.get("Stock") is None:
            record["Stock"] = ZERO

    def _create_Items(self, div: DivisionState, record: Record, _lines: list[Any]) -> None:
        self._item_fields(div, record, None)

    def _update_Items(self, div: DivisionState, old: Record, new: Record, _values: dict[str, Any]) -> None:
        self._item_fields(div, new, old)

    def _create_ItemGroups(self, div: DivisionState, record: Record, _lines: list[Any]) -> None:
        if div.store("ItemGroups").by_code_get(record["Code"]) is not None:
            raise bad_request(f"Code: item group '{record['Code']}' already exists")
        record["IsDefault"] = 1 if record.get("IsDefault") else 0

    # --- sales orders -------------------------------------------------------------------------------

    def _price_line(self, div: DivisionState, line: Record, item: Record | None, vat_default: str | None) -> None:
        quantity: Decimal = line["Quantity"] if line.get("Quantity") is not None else Decimal(1)
        if item is not None and not item.get("IsFractionAllowedItem") and quantity != quantity.to_integral_value():
            raise bad_request(f"Quantity: item {item['Code']} does not allow fractions")
        line["Quantity"] = quantity
        if line.get("UnitPrice") is None:
            line["UnitPrice"] = item["StandardSalesPrice"] if item is not None else ZERO
        discount = line.get("Discount") or ZERO
        if not ZERO <= discount <= 1:
            raise bad_request("Discount: a fraction between 0 and 1 (0.1 = 10 %)")
        line["Discount"] = discount
        # The line amount is quantity x price x (1 - discount), rounded once to the cent; NetPrice is shown rounded.
        line["NetPrice"] = money(line["UnitPrice"] * (1 - discount))
        line["AmountFC"] = money(quantity * line["UnitPrice"] * (1 - discount))
        line["AmountDC"] = line["AmountFC"]
        code = line.get("VATCode") or (item.get("SalesVatCode") if item else None) or vat_default
        if code is None:
            raise bad_request("VATCode: Mandatory (no default on the item or account)")
        vat = div.store("VATCodes").by_code_get(code)
        if vat is None:
            raise bad_request(f"VATCode: code '{code}' does not exist in VATCodes")
        line["VATCode"] = code
        line["VATPercentage"] = vat["Percentage"]

    @staticmethod
    def _line_vat(div: DivisionState, line: Record, amount: Decimal) -> tuple[Decimal, Decimal]:
        """`line_vat` under the line's VAT code (none: no VAT)."""
        vat = div.store("VATCodes").by_code_get(line.get("VATCode") or "")
        if vat is None:
            return amount, ZERO
        return line_vat(vat.get("Type"), vat.get("Percentage") or ZERO, amount)

    def _new_line(self, spec_name: str, values: dict[str, Any]) -> Record:
        line = self.blank(ENTITIES[spec_name])
        line.update(values)
        line["ID"] = self.new_guid()
        return line

    def _order_line(self, div: DivisionState, order: Record, values: dict[str, Any], number: int) -> Record:
        line = self._new_line("SalesOrderLines", values)
        item = div.store("Items").records[line["Item"]]
        if not item.get("IsSalesItem"):
            raise bad_request(f"Item: {item['Code']} is not a sales item")
        account = div.store("Accounts").records[order["OrderedBy"]]
        self._price_line(div, line, item, account.get("SalesVATCode"))
        line["VATAmount"] = self._line_vat(div, line, line["AmountFC"])[1]
        line["OrderID"] = order["OrderID"]
        line["OrderNumber"] = order["OrderNumber"]
        line["LineNumber"] = number
        line["ItemCode"] = item["Code"]
        line["ItemDescription"] = item["Description"]
        line["Description"] = line.get("Description") or item["Description"]
        line["UnitCode"] = line.get("UnitCode") or item.get("Unit")
        line["DeliveryDate"] = line.get("DeliveryDate") or order["DeliveryDate"]
        line["QuantityDelivered"] = ZERO
        line["QuantityInvoiced"] = ZERO
        line["DeliveryStatus"] = 12
        line["InvoiceStatus"] = 12
        line["OrderStatus"] = 12
        return line

    def _create_SalesOrders(self, div: DivisionState, record: Record, lines: list[dict[str, Any]]) -> list[Record]:
        account = div.store("Accounts").records[record["OrderedBy"]]
        if account.get("Blocked"):
            raise bad_request("OrderedBy: the account is blocked")
        if record.get("OrderNumber") is not None:
            taken = any(o["OrderNumber"] == record["OrderNumber"] for o in div.store("SalesOrders").records.values())
            if taken:
                raise bad_request(f"OrderNumber: {record['OrderNumber']} already exists")
            div.numbers["SalesOrders"] = max(div.numbers["SalesOrders"], record["OrderNumber"])
        else:
            record["OrderNumber"] = div.next_number("SalesOrders", 1)
        now = self.clock.now()
        record["OrderDate"] = record.get("OrderDate") or now
        record["DeliveryDate"] = record.get("DeliveryDate") or record["OrderDate"]
        record["DeliverTo"] = record.get("DeliverTo") or record["OrderedBy"]
        record["InvoiceTo"] = record.get("InvoiceTo") or record["OrderedBy"]
        accounts = div.store("Accounts").records
        record["OrderedByName"] = account["Name"]
        record["DeliverToName"] = accounts[record["DeliverTo"]]["Name"]
        record["InvoiceToName"] = accounts[record["InvoiceTo"]]["Name"]
        record["PaymentCondition"] = record.get("PaymentCondition") or account.get("PaymentConditionSales")
        condition = div.store("PaymentConditions").by_code_get(record["PaymentCondition"] or "")
        record["PaymentConditionDescription"] = condition["Description"] if condition else None
        record["ShippingMethod"] = record.get("ShippingMethod") or account.get("ShippingMethod")
        shipping = div.store("ShippingMethods").get(record["ShippingMethod"] or "")
        record["ShippingMethodDescription"] = shipping["Description"] if shipping else None
        record["WarehouseID"] = record.get("WarehouseID") or self.main_warehouse(div)
        record["WarehouseCode"] = div.store("Warehouses").records[record["WarehouseID"]]["Code"]
        record["Currency"] = record.get("Currency") or "EUR"
        if record.get("ApprovalStatus") is None:
            record["ApprovalStatus"] = 1
        record["ApprovalStatusDescription"] = {0: "Awaiting approval", 1: "Automatic", 2: "Approved"}.get(
            record["ApprovalStatus"]
        )
        if record["ApprovalStatusDescription"] is None:
            raise bad_request("ApprovalStatus: 0, 1 or 2")
        record["Discount"] = record.get("Discount") or ZERO
        out = [self._order_line(div, record, values, number) for number, values in enumerate(lines, start=1)]
        self._order_totals(div, record, out)
        return out

    @staticmethod
    def _order_totals(div: DivisionState, order: Record, lines: list[Record]) -> None:
        """Header totals from the lines: AmountFCExclVat (net), AmountFC (gross). AmountDC equals AmountFC: the
        simulator keeps no exchange rates, so a foreign-currency document's DC amounts are not converted (?)."""
        excl = sum((Engine._line_vat(div, line, line["AmountFC"])[0] for line in lines), ZERO)
        vat = sum((line["VATAmount"] for line in lines), ZERO)
        order["AmountFCExclVat"] = excl
        order["AmountFC"] = excl + vat
        order["AmountDC"] = excl + vat
        order["AmountDiscount"] = sum(
            (money(line["Quantity"] * line["UnitPrice"]) - line["AmountFC"] for line in lines), ZERO
        )
        delivery = Engine._roll_status([line["DeliveryStatus"] for line in lines])
        invoice = Engine._roll_status([line["InvoiceStatus"] for line in lines])
        order["DeliveryStatus"] = delivery
        order["DeliveryStatusDescription"] = STATUS_TEXT[delivery]
        order["InvoiceStatus"] = invoice
        order["InvoiceStatusDescription"] = STATUS_TEXT[invoice]
        if order.get("Status") != 45:
            # Simplification: the order is Partial/Complete as its deliveries are.
            order["Status"] = delivery
        order["StatusDescription"] = STATUS_TEXT[order["Status"]]

    @staticmethod
    def _roll_status(statuses: list[int]) -> int:
        if not statuses or all(s == 12 for s in statuses):
            return 12
        if all(s == 21 for s in statuses):
            return 21
        return 20

    def order_lines(self, div: DivisionState, order_id: str) -> list[Record]:
        store = div.store("SalesOrderLines")
        return [store.records[key] for key in store.children.get(order_id, []) if key in store.records]

    def refresh_order(self, div: DivisionState, order_id: str) -> Record:
        order = dict(div.store("SalesOrders").records[order_id])
        self._order_totals(div, order, self.order_lines(div, order_id))
        self.save(div, ENTITIES["SalesOrders"], order)
        return order

    @staticmethod
    def _check_order_open(order: Record) -> None:
        if order.get("Status") in (21, 45):
            raise bad_request(f"Sales order {order['OrderNumber']} is {STATUS_TEXT[order['Status']].lower()}")

    def _update_SalesOrders(self, _div: DivisionState, old: Record, _new: Record, _values: dict[str, Any]) -> None:
        self._check_order_open(old)  # Reference §9.1: completed orders can't be updated via the API.

    def _delete_SalesOrders(self, div: DivisionState, record: Record) -> None:
        lines = self.order_lines(div, record["OrderID"])
        if any(line["QuantityDelivered"] for line in lines):
            raise bad_request(f"Sales order {record['OrderNumber']} has deliveries and cannot be deleted")
        for line in lines:
            self.adjust_stock(div, line["Item"], record["WarehouseID"], planned_out=-line["Quantity"])

    def create_order_line(self, div: DivisionState, body: Any) -> Record:
        """POST salesorder/SalesOrderLines: add a line to an existing, open order."""
        spec = ENTITIES["SalesOrderLines"]
        values = self.parse_body(spec, body)
        self.require(spec, values)
        self._check_refs(div, spec, values)
        order = div.store("SalesOrders").records[values["OrderID"]]
        self._check_order_open(order)
        number = max((line["LineNumber"] for line in self.order_lines(div, order["OrderID"])), default=0) + 1
        line = self._order_line(div, order, values, number)
        self.save(div, spec, line, created=True)
        div.store("SalesOrderLines").children[order["OrderID"]].append(line["ID"])
        self.adjust_stock(div, line["Item"], order["WarehouseID"], planned_out=line["Quantity"])
        self.refresh_order(div, order["OrderID"])
        self._event(div, ENTITIES["SalesOrders"], "Update", order["OrderID"])
        return line

    def _update_SalesOrderLines(self, div: DivisionState, old: Record, new: Record, values: dict[str, Any]) -> None:
        order = div.store("SalesOrders").records[old["OrderID"]]
        self._check_order_open(order)
        if new["Quantity"] < (old["QuantityDelivered"] or ZERO):
            raise bad_request("Quantity: less than the quantity already delivered")
        item = div.store("Items").records[new["Item"]]
        account = div.store("Accounts").records[order["OrderedBy"]]
        if "UnitPrice" not in values and "Discount" not in values and "Quantity" not in values:
            return
        self._price_line(div, new, item, account.get("SalesVATCode"))
        new["VATAmount"] = self._line_vat(div, new, new["AmountFC"])[1]
        self.adjust_stock(div, new["Item"], order["WarehouseID"], planned_out=new["Quantity"] - old["Quantity"])

    def _delete_SalesOrderLines(self, div: DivisionState, record: Record) -> None:
        if record["QuantityDelivered"]:
            raise bad_request("The line has deliveries and cannot be deleted")
        order = div.store("SalesOrders").records[record["OrderID"]]
        self._check_order_open(order)
        if len(self.order_lines(div, record["OrderID"])) == 1:
            raise bad_request("A sales order needs at least one line")
        div.store("SalesOrderLines").children[record["OrderID"]].remove(record["ID"])
        self.adjust_stock(div, record["Item"], order["WarehouseID"], planned_out=-record["Quantity"])

    def after_line_change(self, div: DivisionState, line_spec: EntitySpec, record: Record) -> None:
        if line_spec.name == "SalesOrderLines":
            order_id = record["OrderID"]
            if order_id in div.store("SalesOrders").records:
                self.refresh_order(div, order_id)
                self._event(div, ENTITIES["SalesOrders"], "Update", order_id)

    # --- goods deliveries ---------------------------------------------------------------------------

    def _create_GoodsDeliveries(self, div: DivisionState, record: Record, lines: list[dict[str, Any]]) -> list[Record]:
        so_lines = div.store("SalesOrderLines").records
        orders = div.store("SalesOrders").records
        account: str | None = None
        out: list[Record] = []
        pending: dict[str, Decimal] = {}
        for number, values in enumerate(lines, start=1):
            so_line = so_lines[values["SalesOrderLineID"]]
            order = orders[so_line["OrderID"]]
            prefix = f"GoodsDeliveryLines[{number - 1}]."
            if order.get("Status") in (21, 45):
                raise bad_request(f"{prefix}SalesOrderLineID: order {order['OrderNumber']} is not open")
            if account is not None and order["DeliverTo"] != account:
                raise bad_request(f"{prefix}SalesOrderLineID: all lines must be delivered to the same account")
            account = order["DeliverTo"]
            qty: Decimal = values["QuantityDelivered"]
            already = (so_line["QuantityDelivered"] or ZERO) + pending.get(so_line["ID"], ZERO)
            if qty <= 0:
                raise bad_request(f"{prefix}QuantityDelivered: must be greater than 0")
            if already + qty > so_line["Quantity"]:
                raise bad_request(f"{prefix}QuantityDelivered: exceeds the quantity still to deliver")
            pending[so_line["ID"]] = pending.get(so_line["ID"], ZERO) + qty
            line = self._new_line("GoodsDeliveryLines", values)
            line.update(
                {
                    "LineNumber": number,
                    "SalesOrderNumber": order["OrderNumber"],
                    "SalesOrderLineNumber": so_line["LineNumber"],
                    "Item": so_line["Item"],
                    "ItemCode": so_line["ItemCode"],
                    "ItemDescription": so_line["ItemDescription"],
                    "QuantityOrdered": so_line["Quantity"],
                    "TrackingNumber": values.get("TrackingNumber") or record.get("TrackingNumber"),
                    "DeliveryDate": record["DeliveryDate"],
                }
            )
            out.append(line)
        first_order = orders[so_lines[lines[0]["SalesOrderLineID"]]["OrderID"]]
        number = div.next_number("GoodsDeliveries", 1)
        record["DeliveryNumber"] = number
        record["EntryNumber"] = number
        record["DeliveryAccount"] = account
        delivery_account = div.store("Accounts").records[account] if account else None
        record["DeliveryAccountCode"] = delivery_account["Code"] if delivery_account else None
        record["DeliveryAccountName"] = delivery_account["Name"] if delivery_account else None
        record["Warehouse"] = record.get("Warehouse") or first_order["WarehouseID"]
        record["WarehouseCode"] = div.store("Warehouses").records[record["Warehouse"]]["Code"]
        self._shipping_fields(div, record)
        for line in out:
            line["EntryID"] = record["EntryID"]
        return out

    @staticmethod
    def _shipping_fields(div: DivisionState, record: Record) -> None:
        # Reference §9.6: ShippingMethod is not copied from the order; set it on POST or it stays empty.
        shipping = div.store("ShippingMethods").get(record.get("ShippingMethod") or "")
        record["ShippingMethodCode"] = shipping["Code"] if shipping else None
        record["ShippingMethodDescription"] = shipping["Description"] if shipping else None

    def _update_GoodsDeliveries(self, div: DivisionState, _old: Record, new: Record, _values: dict[str, Any]) -> None:
        self._shipping_fields(div, new)

    # --- invoices and entries -----------------------------------------------------------------------

    def _sales_journal(self, div: DivisionState, code: str, name: str) -> None:
        journal = div.store("Journals").by_code_get(code)
        if journal is None or journal.get("Type") != SALES_JOURNAL_TYPE:
            raise bad_request(f"{name}: '{code}' is not a sales journal")

    def _due_date(self, div: DivisionState, start: datetime, condition_code: str | None) -> datetime:
        condition = div.store("PaymentConditions").by_code_get(condition_code or "")
        days = condition["PaymentDays"] if condition and condition.get("PaymentDays") is not None else 0
        return start + timedelta(days=days)

    def _create_SalesInvoices(self, div: DivisionState, record: Record, lines: list[dict[str, Any]]) -> list[Record]:
        self._sales_journal(div, record["Journal"], "Journal")
        record["Type"] = record.get("Type") or 8020
        if record["Type"] not in INVOICE_TYPES:
            raise bad_request(f"Type: {record['Type']} is not one of 8020, 8021, 8023, 8024")
        direct = record["Type"] in (8023, 8024)
        if direct and not record.get("Warehouse"):
            raise bad_request("Mandatory field is missing: Warehouse (required for direct sales invoices 8023/8024)")
        account = div.store("Accounts").records[record["OrderedBy"]]
        record["OrderedByName"] = account["Name"]
        record["InvoiceTo"] = record.get("InvoiceTo") or record["OrderedBy"]
        record["DeliverTo"] = record.get("DeliverTo") or record["OrderedBy"]
        record["InvoiceDate"] = record.get("InvoiceDate") or self.clock.now()
        record["PaymentCondition"] = record.get("PaymentCondition") or account.get("PaymentConditionSales")
        record["DueDate"] = record.get("DueDate") or self._due_date(
            div, record["InvoiceDate"], record["PaymentCondition"]
        )
        record["Currency"] = record.get("Currency") or "EUR"
        record["InvoiceNumber"] = div.next_number("SalesInvoices", 26_000_001)
        record["Status"] = 20
        record["StatusDescription"] = "Open"
        items = div.store("Items").records
        out: list[Record] = []
        for number, values in enumerate(lines, start=1):
            prefix = f"SalesInvoiceLines[{number - 1}]."
            line = self._new_line("SalesInvoiceLines", values)
            item = items.get(line["Item"]) if line.get("Item") else None
            if direct and item is None:
                raise bad_request(f"{prefix}Item: Mandatory on direct sales invoices")
            try:
                self._price_line(div, line, item, account.get("SalesVATCode"))
            except ExactApiError as exc:
                raise bad_request(prefix + exc.message) from None
            if line.get("GLAccount") is None and item is not None:
                group = div.store("ItemGroups").get(item.get("ItemGroup") or "")
                line["GLAccount"] = item.get("GLRevenue") or (group or {}).get("GLRevenue")
            if line.get("GLAccount") is None:
                raise bad_request(f"{prefix}Mandatory field is missing: GLAccount")
            line["VATAmountFC"] = self._line_vat(div, line, line["AmountFC"])[1]
            line["InvoiceID"] = record["InvoiceID"]
            line["LineNumber"] = number
            line["ItemCode"] = item["Code"] if item else None
            line["Description"] = line.get("Description") or (item["Description"] if item else None)
            line["UnitCode"] = line.get("UnitCode") or (item.get("Unit") if item else None)
            out.append(line)
        excl = sum((self._line_vat(div, line, line["AmountFC"])[0] for line in out), ZERO)
        vat = sum((line["VATAmountFC"] for line in out), ZERO)
        record["AmountFCExclVat"] = excl
        record["VATAmountFC"] = vat
        record["AmountFC"] = excl + vat
        record["AmountDC"] = excl + vat
        return out

    def _update_SalesInvoices(self, _div: DivisionState, old: Record, _new: Record, _values: dict[str, Any]) -> None:
        if old.get("Status") == 50:
            raise bad_request(f"Sales invoice {old['InvoiceNumber']} is processed and cannot be changed")

    def _delete_SalesInvoices(self, _div: DivisionState, record: Record) -> None:
        if record.get("Status") == 50:
            raise bad_request(f"Sales invoice {record['InvoiceNumber']} is processed and cannot be deleted")

    def _create_SalesEntries(self, div: DivisionState, record: Record, lines: list[dict[str, Any]]) -> list[Record]:
        self._sales_journal(div, record["Journal"], "Journal")
        record["Type"] = record.get("Type") or 20
        if record["Type"] not in (20, 21):
            raise bad_request("Type: 20 (sales entry) or 21 (credit note)")
        account = div.store("Accounts").records[record["Customer"]]
        record["CustomerName"] = account["Name"]
        record["EntryDate"] = record.get("EntryDate") or self.clock.now()
        record["PaymentCondition"] = record.get("PaymentCondition") or account.get("PaymentConditionSales")
        record["DueDate"] = record.get("DueDate") or self._due_date(
            div, record["EntryDate"], record["PaymentCondition"]
        )
        record["Currency"] = record.get("Currency") or "EUR"
        record["EntryNumber"] = div.next_number("SalesEntries", 25_000_001)
        record["Status"] = 20
        gl_accounts = div.store("GLAccounts").records
        vat_codes = div.store("VATCodes")
        out: list[Record] = []
        for number, values in enumerate(lines, start=1):
            line = self._new_line("SalesEntryLines", values)
            code = line.get("VATCode") or gl_accounts[line["GLAccount"]].get("VATCode")
            vat = vat_codes.by_code_get(code) if code else None
            line["VATCode"] = code
            line["VATPercentage"] = vat["Percentage"] if vat else ZERO
            if line.get("VATAmountFC") is None:
                line["VATAmountFC"] = self._line_vat(div, line, line["AmountFC"])[1]
            line["EntryID"] = record["EntryID"]
            line["LineNumber"] = number
            out.append(line)
        excl = sum((self._line_vat(div, line, line["AmountFC"])[0] for line in out), ZERO)
        vat_total = sum((line["VATAmountFC"] for line in out), ZERO)
        record["VATAmountFC"] = vat_total
        record["AmountFC"] = excl + vat_total
        record["AmountDC"] = excl + vat_total
        return out

    def _create_GeneralJournalEntries(
        self, div: DivisionState, record: Record, lines: list[dict[str, Any]]
    ) -> list[Record]:
        journal = div.store("Journals").by_code_get(record["JournalCode"])
        record["JournalDescription"] = journal["Description"] if journal else None
        record["Type"] = record.get("Type") or 90
        if record["Type"] not in (10, 90):
            raise bad_request("Type: 10 (opening balance) or 90 (other)")
        now = self.clock.now()
        record["FinancialYear"] = record.get("FinancialYear") or now.year
        record["FinancialPeriod"] = record.get("FinancialPeriod") or now.month
        record["Currency"] = record.get("Currency") or "EUR"
        record["EntryNumber"] = div.next_number("GeneralJournalEntries", 90_000_001)
        record["Status"] = 20
        record["Reversal"] = bool(record.get("Reversal"))
        out: list[Record] = []
        for number, values in enumerate(lines, start=1):
            line = self._new_line("GeneralJournalEntryLines", values)
            if line.get("AmountVATFC") is not None and not line.get("VATCode"):
                raise bad_request(f"GeneralJournalEntryLines[{number - 1}].AmountVATFC: needs a VATCode")
            line["EntryID"] = record["EntryID"]
            line["LineNumber"] = number
            line["Date"] = line.get("Date") or now
            out.append(line)
        return out

    # --- small helpers used by the API layer --------------------------------------------------------

    @staticmethod
    def line_store(div: DivisionState, spec: EntitySpec) -> Store | None:
        return div.store(spec.lines.entity) if spec.lines else None
